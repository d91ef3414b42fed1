//! The interstitial family through the proxy: the asset-list route the playlists point to, its two
//! sources (the fixed ads, an ad decision server on loopback), the fallback when the ad server
//! fails, what is checked in its answers, `_HLS_start_offset`, the bounded cache, single-flight
//! decisions and their bound, a break's own ads (and that they survive a restart), CORS and the
//! rest of the `/hlsplice/` namespace. The packager runs on a ManualClock; the ad decision server
//! is a small hyper server in this file whose answer depends on its path.
mod proxy_support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hlsplice::hls::{AdAsset, AdDecisionTemplate, Markers};
use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use proxy_support::*;
use serde_json::{Value, json};

const VIDEO: &str = "/live/demo/video.m3u8";
const AUDIO: &str = "/live/demo/audio.m3u8";

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

/// The ad server's good answer: a relative URI (resolved against the ad server), an absolute one,
/// and members the proxy passes on.
const GOOD_ANSWER: &str = r#"{"ASSETS":[{"URI":"ads/first.m3u8","DURATION":10,"X-AD-ID":"first"},{"URI":"https://cdn.example/second.m3u8","DURATION":5.5}],"SKIP-CONTROL":{"OFFSET":5}}"#;

/// An ad decision server on loopback: `/ok` answers [`GOOD_ANSWER`], `/pause` the same after
/// 300 ms, `/slow` after 3 s, `/status` 500, `/invalid` broken JSON, `/empty` no assets, `/big`
/// 40 KiB, `/negative` a negative duration. Every request target is recorded.
struct AdServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl AdServer {
    async fn start() -> AdServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let target = req.uri().to_string();
                        seen.lock().unwrap().push(target);
                        let (status, body) = match req.uri().path() {
                            "/ok" => (200, GOOD_ANSWER.to_owned()),
                            "/pause" => {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                                (200, GOOD_ANSWER.to_owned())
                            }
                            "/slow" => {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                                (200, GOOD_ANSWER.to_owned())
                            }
                            "/status" => (500, GOOD_ANSWER.to_owned()),
                            "/invalid" => (200, "{\"ASSETS\": [".to_owned()),
                            "/empty" => (200, r#"{"ASSETS":[]}"#.to_owned()),
                            "/negative" => (
                                200,
                                r#"{"ASSETS":[{"URI":"/a.m3u8","DURATION":-1}]}"#.to_owned(),
                            ),
                            "/big" => (
                                200,
                                format!(
                                    r#"{{"ASSETS":[{{"URI":"/a.m3u8","DURATION":1,"X":"{}"}}]}}"#,
                                    "x".repeat(40 * 1024)
                                ),
                            ),
                            _ => (404, String::new()),
                        };
                        let mut response = http::Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        AdServer { addr, requests }
    }

    /// A decision URL template of this server for `path`.
    fn template(&self, path: &str) -> String {
        format!(
            "http://{}{path}?break={{break_id}}&stream={{stream}}&duration={{duration}}&offset={{start_offset}}",
            self.addr
        )
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn fixed_ads() -> Vec<AdAsset> {
    vec![
        "4=/hlsplice/ad/ad.m3u8".parse().unwrap(),
        "6=https://cdn.example/b.m3u8".parse().unwrap(),
    ]
}

fn interstitial_config(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        dialect: Markers::BOTH | Markers::INTERSTITIAL,
        ad_assets: fixed_ads(),
        ad_decision_timeout_ms: 1_000,
        ..config
    }
}

/// Makes the stream known (both renditions fetched once) and creates a break starting now;
/// returns its id.
async fn break_now(h: &Harness, duration_ms: u64, ads: Option<Value>) -> u64 {
    h.playlist(VIDEO).await;
    h.playlist(AUDIO).await;
    let mut body = json!({"duration_ms": duration_ms, "start": "now"});
    if let Some(ads) = ads {
        body["ads"] = ads;
    }
    let (status, created) = h.create_break("live/demo", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_u64().expect("an id")
}

/// GET of an asset list: status, the JSON (Null when not JSON) and the response.
async fn asset_list(h: &Harness, target: &str) -> (StatusCode, Value, proxy_support::Response) {
    let response = h.get(target).await;
    let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, value, response)
}

/// The fixed ads filled into a 20 s break, as answered by the proxy at `addr`.
fn fixed_fill_20s(addr: SocketAddr) -> Value {
    let ad = format!("http://{addr}/hlsplice/ad/ad.m3u8");
    json!({"ASSETS": [
        {"URI": ad, "DURATION": 4.0},
        {"URI": "https://cdn.example/b.m3u8", "DURATION": 6.0},
        {"URI": ad, "DURATION": 4.0},
        {"URI": "https://cdn.example/b.m3u8", "DURATION": 6.0},
    ]})
}

fn metric_line(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
}

async fn metrics(h: &Harness) -> String {
    h.get("/metrics").await.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rendition_points_to_the_asset_list_which_fills_the_break_with_the_fixed_ads() {
    let h = Harness::start_with("ints-fixed", classic(), interstitial_config).await;
    let id = break_now(&h, 20_000, None).await;
    // Two segments: the audio grid (AAC frames) reaches the decided start a little later.
    h.advance_ms(2000);
    let (video, audio) = (h.playlist(VIDEO).await, h.playlist(AUDIO).await);
    let lists = |playlist: &str| -> Vec<String> {
        playlist
            .lines()
            .filter_map(|l| l.split("X-ASSET-LIST=\"").nth(1))
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect()
    };
    let expected = format!("../../hlsplice/assets/live/demo/{id}.json");
    assert_eq!(lists(&video), [expected.as_str()], "{video}");
    assert_eq!(lists(&audio), [expected.as_str()], "{audio}");

    let path = format!("/hlsplice/assets/live/demo/{id}.json");
    let (status, list, response) = asset_list(&h, &format!("{path}?_HLS_primary_id=abc")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // 4 + 6 + 4 + 6 = 20 s: the list repeated while the next ad fits; relative URIs resolved
    // against the request.
    assert_eq!(list, fixed_fill_20s(h.proxy_addr()));
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.headers["cache-control"], "no-store");
    // The packager allows any origin on its playlists: so does the asset list.
    assert_eq!(response.headers["access-control-allow-origin"], "*");
    let head = request(&h.client, h.proxy_addr(), Method::HEAD, &path, &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        response.body.len().to_string().as_str()
    );
    // A joining player's offset does not change a fixed list (players skip what is past).
    let (_, joined, _) = asset_list(&h, &format!("{path}?_HLS_start_offset=9.5")).await;
    assert_eq!(joined, list);
    let text = metrics(&h).await;
    assert_eq!(
        metric_line(&text, "hlsplice_asset_lists_total{source=\"static\"}"),
        3.0
    );
    assert_eq!(
        metric_line(&text, "hlsplice_asset_list_cache_hits_total"),
        2.0
    );
    assert_eq!(
        metric_line(&text, "hlsplice_asset_list_start_offset_total"),
        1.0
    );
    assert_eq!(metric_line(&text, "hlsplice_asset_list_cache_entries"), 1.0);
    assert!(text.contains("hlsplice_requests_total{route=\"asset_list\",status=\"200\"} 3"));

    // The built-in ad the list names is served under /hlsplice/ad/.
    let ad = h.get("/hlsplice/ad/ad.m3u8").await;
    assert_eq!(ad.status, StatusCode::OK);
    assert!(ad.text().contains("#EXT-X-ENDLIST"));
    let segment = h.get("/hlsplice/ad/ad_3.ts").await;
    assert_eq!(segment.status, StatusCode::OK);
    assert_eq!(segment.headers["content-type"], "video/mp2t");
    assert_eq!(segment.body[0], 0x47);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_is_the_proxys_own_and_refuses_what_is_not_there() {
    let h = Harness::start_with("ints-refuse", classic(), interstitial_config).await;
    let id = break_now(&h, 10_000, None).await;
    for (target, status) in [
        ("/hlsplice/assets/live/demo/99.json", StatusCode::NOT_FOUND),
        ("/hlsplice/assets/live/other/1.json", StatusCode::NOT_FOUND),
        ("/hlsplice/assets/live/demo/x.json", StatusCode::NOT_FOUND),
        (
            "/hlsplice/assets/live/../demo/1.json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/hlsplice/assets/live/demo/1.json?_HLS_start_offset=-2",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/hlsplice/assets/live/demo/1.json?_HLS_start_offset=soon",
            StatusCode::BAD_REQUEST,
        ),
        ("/hlsplice/ad/ad_9.ts", StatusCode::NOT_FOUND),
        // Never forwarded: the packager would answer these with 404 too, but the proxy's own
        // text says whose they are.
        ("/hlsplice/live/demo/video.m3u8", StatusCode::NOT_FOUND),
        ("/hlsplice", StatusCode::NOT_FOUND),
    ] {
        let response = h.get(target).await;
        assert_eq!(response.status, status, "{target}: {}", response.text());
    }
    let reserved = h.get("/hlsplice/live/demo/video.m3u8").await.text();
    assert!(reserved.contains("the proxy's own"), "{reserved}");
    let post = request(
        &h.client,
        h.proxy_addr(),
        Method::POST,
        &format!("/hlsplice/assets/live/demo/{id}.json"),
        &[],
        Some("{}".to_owned()),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    // A CORS preflight is answered here, with what a GET would allow.
    let preflight = request(
        &h.client,
        h.proxy_addr(),
        Method::OPTIONS,
        &format!("/hlsplice/assets/live/demo/{id}.json"),
        &[("origin", "https://player.example")],
        None,
    )
    .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers["access-control-allow-methods"],
        "GET, HEAD"
    );
    // A cancelled break has no asset list.
    let (status, later) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 5000, "start": "2026-01-02T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    let later_id = later["id"].as_u64().unwrap();
    let (status, _) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live/demo/breaks/{later_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cancelled = h
        .get(&format!("/hlsplice/assets/live/demo/{later_id}.json"))
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::NOT_FOUND,
        "{}",
        cancelled.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ad_decision_servers_answer_is_checked_and_passed_on_and_cached_per_offset_second() {
    let ads = AdServer::start().await;
    let template: AdDecisionTemplate = ads.template("/ok").parse().unwrap();
    let h = Harness::start_with("ints-decision", classic(), move |c| ServerConfig {
        ad_decision_url: Some(template),
        ..interstitial_config(c)
    })
    .await;
    let id = break_now(&h, 20_000, None).await;
    let path = format!("/hlsplice/assets/live/demo/{id}.json");
    let (status, list, _) = asset_list(&h, &path).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list,
        json!({
            "ASSETS": [
                {"URI": format!("http://{}/ads/first.m3u8", ads.addr), "DURATION": 10.0, "X-AD-ID": "first"},
                {"URI": "https://cdn.example/second.m3u8", "DURATION": 5.5},
            ],
            "SKIP-CONTROL": {"OFFSET": 5},
        })
    );
    assert_eq!(
        ads.requests(),
        [format!(
            "/ok?break={id}&stream=live%2Fdemo&duration=20.000&offset=0"
        )]
    );
    // Cached: the same break and offset second asks nobody.
    assert_eq!(asset_list(&h, &path).await.1, list);
    assert_eq!(ads.requests().len(), 1);
    // A player joining 7.8 s into the break: the ad server learns the offset (whole seconds)...
    let (_, joined, _) = asset_list(&h, &format!("{path}?_HLS_start_offset=7.8")).await;
    assert_eq!(joined, list);
    assert_eq!(
        ads.requests().last().unwrap(),
        &format!("/ok?break={id}&stream=live%2Fdemo&duration=20.000&offset=7")
    );
    // ...and another in the same second is answered from the cache.
    asset_list(
        &h,
        &format!("{path}?_HLS_primary_id=z&_HLS_start_offset=7.01"),
    )
    .await;
    assert_eq!(ads.requests().len(), 2);
    // An offset past the break is the break's end (the keys a client can make stay bounded).
    asset_list(&h, &format!("{path}?_HLS_start_offset=99999")).await;
    asset_list(&h, &format!("{path}?_HLS_start_offset=20.5")).await;
    assert_eq!(ads.requests().len(), 3);
    assert!(
        ads.requests()[2].ends_with("&offset=20"),
        "{:?}",
        ads.requests()
    );
    let text = metrics(&h).await;
    assert_eq!(
        metric_line(&text, "hlsplice_asset_lists_total{source=\"decision\"}"),
        6.0
    );
    assert_eq!(
        metric_line(&text, "hlsplice_ad_decision_requests_total"),
        3.0
    );
    assert_eq!(
        metric_line(&text, "hlsplice_asset_list_start_offset_total"),
        4.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_ad_decision_server_gets_the_fixed_ads_answered_logged_and_counted() {
    let ads = AdServer::start().await;
    // Nothing listens here.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let h = Harness::start_with("ints-fallback", classic(), |c| ServerConfig {
        ad_decision_timeout_ms: 500,
        ..interstitial_config(c)
    })
    .await;
    h.playlist(VIDEO).await;
    let mut start = 0u64;
    for (path, reason) in [
        ("/slow", "timeout"),
        ("/status", "status"),
        ("/invalid", "invalid"),
        ("/empty", "invalid"),
        ("/negative", "invalid"),
        ("/big", "body"),
        ("/missing", "status"),
        ("unreachable", "unreachable"),
    ] {
        let template = if path == "unreachable" {
            format!("http://{closed}/x?b={{break_id}}")
        } else {
            ads.template(path)
        };
        // One break each, a minute apart, scheduled ahead (their asset lists exist already).
        start += 60;
        let at = (t0() + chrono::Duration::seconds(3600 + start as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (status, created) = h
            .create_break(
                "live/demo",
                json!({"duration_ms": 20_000, "start": at, "ads": {"decision_url": template}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_u64().unwrap();
        let target = format!("/hlsplice/assets/live/demo/{id}.json");
        let started = std::time::Instant::now();
        let (status, list, _) = asset_list(&h, &target).await;
        assert_eq!(status, StatusCode::OK, "{path}: {list}");
        assert_eq!(list, fixed_fill_20s(h.proxy_addr()), "{path}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{path}: the deadline bounds the wait ({:?})",
            started.elapsed()
        );
        let text = metrics(&h).await;
        let failures = metric_line(
            &text,
            &format!("hlsplice_ad_decision_failures_total{{reason=\"{reason}\"}}"),
        );
        assert!(
            failures >= 1.0,
            "{path}: no {reason} failure counted:\n{text}"
        );
        // A fallback is not cached: the next request asks the ad server again.
        let asked = ads.requests().len();
        asset_list(&h, &target).await;
        if path != "unreachable" {
            assert_eq!(ads.requests().len(), asked + 1, "{path}");
        }
    }
    let text = metrics(&h).await;
    assert_eq!(
        metric_line(&text, "hlsplice_asset_lists_total{source=\"fallback\"}"),
        16.0
    );
    assert_eq!(
        metric_line(
            &text,
            "hlsplice_ad_decision_failures_total{reason=\"invalid\"}"
        ),
        6.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fixed_ads_a_failed_decision_is_a_503() {
    let ads = AdServer::start().await;
    let template: AdDecisionTemplate = ads.template("/status").parse().unwrap();
    let h = Harness::start_with("ints-no-fallback", classic(), move |c| ServerConfig {
        dialect: Markers::INTERSTITIAL,
        ad_decision_url: Some(template),
        ..c
    })
    .await;
    let id = break_now(&h, 10_000, None).await;
    let response = h
        .get(&format!("/hlsplice/assets/live/demo/{id}.json"))
        .await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.text().contains("no ad_assets"),
        "{}",
        response.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaks_own_ads_override_the_servers_and_are_stored_with_it() {
    let ads = AdServer::start().await;
    let mut h = Harness::start_with("ints-override", classic(), interstitial_config).await;
    let own = json!({"assets": [{"uri": "https://ads.example/own.m3u8", "duration": 7}]});
    let id = break_now(&h, 15_000, Some(own.clone())).await;
    let (status, shown) = h
        .api(
            Method::GET,
            &format!("/api/v1/streams/live/demo/breaks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown["ads"],
        json!({"assets": [{"uri": "https://ads.example/own.m3u8", "duration": 7.0}]})
    );
    let own_list = json!({"ASSETS": [
        {"URI": "https://ads.example/own.m3u8", "DURATION": 7.0},
        {"URI": "https://ads.example/own.m3u8", "DURATION": 7.0},
    ]});
    let path = format!("/hlsplice/assets/live/demo/{id}.json");
    assert_eq!(asset_list(&h, &path).await.1, own_list);
    // A break with an ad decision server of its own.
    let later = (t0() + chrono::Duration::hours(2)).to_rfc3339();
    let (status, created) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 8000, "start": later, "ads": {"decision_url": ads.template("/ok")}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let decided_id = created["id"].as_u64().unwrap();
    let (_, decided, _) =
        asset_list(&h, &format!("/hlsplice/assets/live/demo/{decided_id}.json")).await;
    assert_eq!(decided["ASSETS"][0]["X-AD-ID"], "first");
    assert_eq!(ads.requests().len(), 1);
    assert!(ads.requests()[0].contains("duration=8.000"));

    // Stored with the break: after a restart (the cache is gone) the same lists.
    h.restart_proxy().await;
    assert_eq!(asset_list(&h, &path).await.1, own_list);
    let (_, again, _) =
        asset_list(&h, &format!("/hlsplice/assets/live/demo/{decided_id}.json")).await;
    assert_eq!(again, decided);
    assert_eq!(ads.requests().len(), 2);

    // Bad ads are refused with the field named, and nothing is created.
    for bad in [
        json!({"assets": []}),
        json!({"assets": [{"uri": "ftp://x/a.m3u8", "duration": 5}]}),
        json!({"assets": [{"uri": "/a.m3u8", "duration": 0}]}),
        json!({"assets": [{"uri": "/a.m3u8"}]}),
        json!({"decision_url": "https://ads.example/{break_id}"}),
        json!({"decision_url": "http://ads.example/{nope}"}),
        json!({"assets": [{"uri": "/a.m3u8", "duration": 5}], "decision_url": "http://a/"}),
        json!("assets"),
    ] {
        let at = (t0() + chrono::Duration::hours(5)).to_rfc3339();
        let (status, refused) = h
            .create_break(
                "live/demo",
                json!({"duration_ms": 8000, "start": at, "ads": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {refused}");
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .starts_with("ads must be"),
            "{refused}"
        );
    }
    assert_eq!(h.breaks("live/demo").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_holds_at_most_asset_list_cache_entries_the_least_recently_used_leaving() {
    let ads = AdServer::start().await;
    let template: AdDecisionTemplate = ads.template("/ok").parse().unwrap();
    let h = Harness::start_with("ints-cache", classic(), move |c| ServerConfig {
        ad_decision_url: Some(template),
        asset_list_cache_entries: 2,
        ..interstitial_config(c)
    })
    .await;
    let id = break_now(&h, 60_000, None).await;
    let at =
        |offset: u32| format!("/hlsplice/assets/live/demo/{id}.json?_HLS_start_offset={offset}");
    for offset in [1, 2] {
        asset_list(&h, &at(offset)).await;
    }
    assert_eq!(ads.requests().len(), 2);
    // 1 used again; 3 is new: 2, the least recently used, leaves.
    asset_list(&h, &at(1)).await;
    asset_list(&h, &at(3)).await;
    assert_eq!(ads.requests().len(), 3);
    asset_list(&h, &at(1)).await;
    assert_eq!(ads.requests().len(), 3, "1 stayed");
    asset_list(&h, &at(2)).await;
    assert_eq!(ads.requests().len(), 4, "2 was evicted");
    // Far past the capacity, it stays at it.
    for offset in 10..40 {
        asset_list(&h, &at(offset)).await;
    }
    let text = metrics(&h).await;
    assert_eq!(metric_line(&text, "hlsplice_asset_list_cache_entries"), 2.0);
    assert_eq!(
        metric_line(&text, "hlsplice_asset_list_cache_evictions_total"),
        (4 + 30 - 2) as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_decision_and_decisions_in_flight_are_bounded() {
    let ads = AdServer::start().await;
    let template: AdDecisionTemplate = ads.template("/pause").parse().unwrap();
    let h = Harness::start_with("ints-flight", classic(), move |c| ServerConfig {
        ad_decision_url: Some(template),
        ..interstitial_config(c)
    })
    .await;
    let id = break_now(&h, 120_000, None).await;
    let addr = h.proxy_addr();
    let get_all = |targets: Vec<String>| {
        let client = client();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for target in targets {
                let client = client.clone();
                tasks.spawn(async move { get(&client, addr, &target, &[]).await.text() });
            }
            let mut answers = Vec::new();
            while let Some(answer) = tasks.join_next().await {
                answers.push(answer.unwrap());
            }
            answers
        }
    };
    // Twenty players at once, same break and second: one decision.
    let same = vec![format!("/hlsplice/assets/live/demo/{id}.json"); 20];
    let answers = get_all(same).await;
    assert!(
        answers.iter().all(|a| a.contains("first.m3u8")),
        "{answers:?}"
    );
    assert_eq!(ads.requests().len(), 1);
    // 70 distinct seconds at once: 64 decisions run, the rest get the fixed ads at once.
    let distinct: Vec<String> = (1..=70)
        .map(|s| format!("/hlsplice/assets/live/demo/{id}.json?_HLS_start_offset={s}"))
        .collect();
    let answers = get_all(distinct).await;
    let fixed = answers
        .iter()
        .filter(|a| a.contains("/hlsplice/ad/ad.m3u8"))
        .count();
    let decided = answers.iter().filter(|a| a.contains("first.m3u8")).count();
    assert_eq!(fixed + decided, 70, "{answers:?}");
    assert!(
        fixed >= 6 && decided >= 1,
        "fixed {fixed}, decided {decided}"
    );
    assert!(ads.requests().len() <= 1 + 64, "{}", ads.requests().len());
    let text = metrics(&h).await;
    assert_eq!(
        metric_line(
            &text,
            "hlsplice_ad_decision_failures_total{reason=\"busy\"}"
        ),
        fixed as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_family_without_any_ads_is_refused_at_start() {
    let dir = temp_dir("ints-noads");
    let config = ServerConfig {
        dialect: Markers::BOTH | Markers::INTERSTITIAL,
        ..ServerConfig::new("http://127.0.0.1:9", &dir)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = hlsplice::server::run(config, listener, async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ad_assets") && err.contains("ad_decision_url"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
