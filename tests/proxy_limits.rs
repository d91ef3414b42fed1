//! What clients can make the proxy do, bounded (issue 10 §2, §5): which playlist directories
//! become streams (`stream_patterns`, `max_streams`, records only with a stream's first change),
//! how far an API call's live-edge refresh fans out, how far ahead a break may be scheduled,
//! and a request with two `Authorization` headers.
mod proxy_support;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use hlsplice::server::store::{BreakStore, RedbStore};
use http::{Method, Response as HttpResponse, StatusCode};
use proxy_support::fake_upstream::*;
use proxy_support::*;
use serde_json::{Value, json};

/// An upstream answering [`MEDIA_PLAYLIST`] for every path.
async fn static_upstream() -> SocketAddr {
    tiny_upstream(|_req| async { HttpResponse::new(body(MEDIA_PLAYLIST.as_bytes())) })
        .await
        .0
}

async fn metric(proxy: SocketAddr, name: &str) -> f64 {
    let text = get(&client(), proxy, "/metrics", &[]).await.text();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// The stream keys `GET /api/v1/streams` lists.
async fn listed(api: &Api, proxy: SocketAddr) -> Vec<String> {
    let (status, text) = api.get(proxy, "/api/v1/streams?limit=1000").await;
    assert_eq!(status, 200, "{text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    value["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stream"].as_str().unwrap().to_owned())
        .collect()
}

/// The stream records in a stopped proxy's store.
fn stored_streams(dir: &std::path::Path) -> Vec<String> {
    let store = RedbStore::open(dir).unwrap();
    store.stream_keys(None, 100_000).unwrap()
}

fn config(upstream: SocketAddr, dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::new(format!("http://{upstream}"), dir.to_path_buf())
    }
}

const BREAK: &str = r#"{"duration_ms":4000}"#;

/// With `stream_patterns = ["live/*"]`, a playlist under `other/x/` is served exactly as the
/// upstream wrote it and is no stream: not listed, no break can be made in it, no record in
/// the store, counted as refused. A playlist under `live/` is a stream, recorded from its
/// first playlist because a pattern named it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_outside_the_stream_patterns_are_proxied_unmarked_and_make_no_stream() {
    let dir = temp_dir("patterns");
    let proxy = Proxy::start(ServerConfig {
        stream_patterns: vec!["live/*".to_owned()],
        ..config(static_upstream().await, &dir)
    })
    .await;
    let (client, api) = (client(), Api::bearer(TOKEN));
    for _ in 0..3 {
        let other = get(&client, proxy.addr, "/other/x/video.m3u8", &[]).await;
        assert_eq!(other.status, StatusCode::OK, "{}", other.text());
        assert_eq!(other.text(), MEDIA_PLAYLIST, "the upstream's bytes");
    }
    let live = get(&client, proxy.addr, "/live/a/video.m3u8", &[]).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text());

    let (status, text) = api
        .post(proxy.addr, "/api/v1/streams/other/x/breaks", BREAK)
        .await;
    assert_eq!(status, 404, "{text}");
    let (status, text) = api
        .post(proxy.addr, "/api/v1/streams/live/a/breaks", BREAK)
        .await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(listed(&api, proxy.addr).await, ["live/a"]);
    assert_eq!(
        metric(proxy.addr, "hlsplice_streams_refused_total").await,
        3.0
    );
    assert_eq!(metric(proxy.addr, "hlsplice_streams").await, 1.0);
    proxy.stop().await;
    assert_eq!(stored_streams(&dir), ["live/a"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// `max_streams = 2`: a third stream's playlist is proxied unmarked (the upstream's bytes, no
/// break can be made in it) and counted; once the idle streams have left memory, it becomes a
/// stream by itself, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_streams_playlists_are_proxied_unmarked_until_a_stream_leaves_memory() {
    let dir = temp_dir("max-streams");
    let proxy = Proxy::start(ServerConfig {
        max_streams: 2,
        stream_idle_ms: 1_000,
        housekeeping_ms: 200,
        ..config(static_upstream().await, &dir)
    })
    .await;
    let (client, api) = (client(), Api::bearer(TOKEN));
    for path in ["/live/a/video.m3u8", "/live/b/video.m3u8"] {
        assert_eq!(
            get(&client, proxy.addr, path, &[]).await.status,
            StatusCode::OK
        );
    }
    let third = get(&client, proxy.addr, "/live/c/video.m3u8", &[]).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text());
    assert_eq!(third.text(), MEDIA_PLAYLIST);
    assert_eq!(
        metric(proxy.addr, "hlsplice_streams_refused_total").await,
        1.0
    );
    assert_eq!(metric(proxy.addr, "hlsplice_streams").await, 2.0);
    let (status, text) = api
        .post(proxy.addr, "/api/v1/streams/live/c/breaks", BREAK)
        .await;
    assert_eq!(status, 404, "live/c is no stream: {text}");

    // a and b go idle and leave memory; then c is admitted.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(proxy.addr, "hlsplice_streams").await > 0.0 {
        assert!(Instant::now() < deadline, "idle streams never left memory");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let third = get(&client, proxy.addr, "/live/c/video.m3u8", &[]).await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(metric(proxy.addr, "hlsplice_streams").await, 1.0);
    assert_eq!(
        metric(proxy.addr, "hlsplice_streams_refused_total").await,
        1.0
    );
    let (status, text) = api
        .post(proxy.addr, "/api/v1/streams/live/c/breaks", BREAK)
        .await;
    assert_eq!(status, 201, "{text}");
    proxy.stop().await;
    assert_eq!(stored_streams(&dir), ["live/c"], "recorded with its break");
    let _ = std::fs::remove_dir_all(dir);
}

/// 500 distinct unauthenticated playlist paths, no patterns, `max_streams = 50`: all are
/// served, at most 50 streams are in memory, the other 450 are counted as refused, the API
/// lists 50, and the store holds no record at all (a stream is recorded with its first change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_distinct_paths_are_bounded_by_max_streams_and_record_nothing() {
    const PATHS: usize = 500;
    const MAX: usize = 50;
    let dir = temp_dir("many-paths");
    let proxy = Proxy::start(ServerConfig {
        max_streams: MAX,
        ..config(static_upstream().await, &dir)
    })
    .await;
    let client = client();
    let mut requests = tokio::task::JoinSet::new();
    let mut failed = Vec::new();
    for i in 0..PATHS {
        if requests.len() >= 50
            && let Some(done) = requests.join_next().await
        {
            failed.extend(done.unwrap());
        }
        let (client, addr) = (client.clone(), proxy.addr);
        requests.spawn(async move {
            let path = format!("/junk/{i}/video.m3u8");
            let response = get(&client, addr, &path, &[]).await;
            (response.status != StatusCode::OK).then_some((path, response.status))
        });
    }
    while let Some(done) = requests.join_next().await {
        failed.extend(done.unwrap());
    }
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(metric(proxy.addr, "hlsplice_streams").await, MAX as f64);
    assert_eq!(
        metric(proxy.addr, "hlsplice_streams_refused_total").await,
        (PATHS - MAX) as f64
    );
    assert_eq!(listed(&Api::bearer(TOKEN), proxy.addr).await.len(), MAX);
    proxy.stop().await;
    assert_eq!(stored_streams(&dir), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(dir);
}

/// 50 rendition playlists of one stream rendered (and a multivariant playlist naming the
/// first as the primary): one API POST refreshes the live edge from at most 8 of them
/// (`MAX_REFRESH_PATHS`), the primary and the most recently rendered among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_call_refreshes_at_most_eight_renditions() {
    const MULTIVARIANT: &str = "#EXTM3U\n\
#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.4d401f,mp4a.40.2\"\nr0.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS=\"avc1.4d401f,mp4a.40.2\"\nr1.m3u8\n";
    let fetched: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let counts = fetched.clone();
    let (addr, _) = tiny_upstream(move |req| {
        let path = req.uri().path().to_owned();
        *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
        async move {
            if path.ends_with("/master.m3u8") {
                HttpResponse::new(body(MULTIVARIANT.as_bytes()))
            } else {
                HttpResponse::new(body(MEDIA_PLAYLIST.as_bytes()))
            }
        }
    })
    .await;
    let dir = temp_dir("refresh-fan-out");
    let proxy = Proxy::start(config(addr, &dir)).await;
    let client = client();
    assert_eq!(
        get(&client, proxy.addr, "/live/s/master.m3u8", &[])
            .await
            .status,
        StatusCode::OK
    );
    for i in 0..50 {
        let path = format!("/live/s/r{i}.m3u8");
        let response = get(&client, proxy.addr, &path, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
    }
    let before = fetched.lock().unwrap().clone();
    let (status, text) = Api::bearer(TOKEN)
        .post(proxy.addr, "/api/v1/streams/live/s/breaks", BREAK)
        .await;
    assert_eq!(status, 201, "{text}");
    let refreshed: BTreeSet<String> = fetched
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, n)| before.get(*path) != Some(n))
        .map(|(path, _)| path.clone())
        .collect();
    let requests: u64 =
        fetched.lock().unwrap().values().sum::<u64>() - before.values().sum::<u64>();
    assert!(
        (1..=8).contains(&requests) && refreshed.len() as u64 == requests,
        "{requests} upstream requests for one API call: {refreshed:?}"
    );
    for expected in ["/live/s/r0.m3u8", "/live/s/r49.m3u8"] {
        assert!(
            refreshed.contains(expected),
            "{expected} (primary; most recent) not refreshed: {refreshed:?}"
        );
    }
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `max_schedule_ahead_hours = 1`: a break starting more than an hour past the live edge (one
/// millisecond more, or in year 9999) answers 422 naming the latest start allowed and the
/// setting, and changes nothing; a break at that latest start, or half an hour ahead, is
/// created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaks_past_max_schedule_ahead_hours_are_refused_with_422() {
    let h = Harness::start_with(
        "schedule-ahead",
        PackagerConfig {
            part_ms: None,
            ..PackagerConfig::default()
        },
        |c| ServerConfig {
            max_schedule_ahead_hours: 1,
            ..c
        },
    )
    .await;
    h.playlist("/live/demo/video.m3u8").await;
    let (status, streams) = h.api(Method::GET, "/api/v1/streams", None).await;
    assert_eq!(status, StatusCode::OK);
    let edge = streams["streams"][0]["live_edge"]
        .as_str()
        .expect("a live edge");
    let edge = chrono::DateTime::parse_from_rfc3339(edge)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let latest = edge + chrono::Duration::hours(1);

    for start in [
        rfc3339(latest + chrono::Duration::milliseconds(1)),
        "9999-12-31T23:59:00Z".to_owned(),
    ] {
        let (status, refused) = h
            .create_break("live/demo", json!({"duration_ms": 30000, "start": start}))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{start}: {refused}"
        );
        let message = refused["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("too far ahead")
                && message.contains(&rfc3339(latest))
                && message.contains("max_schedule_ahead_hours"),
            "{start}: {refused}"
        );
    }
    assert!(
        h.breaks("live/demo").await.is_empty(),
        "nothing was created"
    );
    for start in [latest, edge + chrono::Duration::minutes(30)] {
        let (status, created) = h
            .create_break(
                "live/demo",
                json!({"duration_ms": 30000, "start": rfc3339(start)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    assert_eq!(h.breaks("live/demo").await.len(), 2);
}

/// Without a live edge (the stream's playlists carry no EXT-X-PROGRAM-DATE-TIME) how far ahead a
/// start is cannot be checked: a break at a program time is refused (503), not accepted for
/// year 9999.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_live_edge_a_break_at_a_program_time_is_refused() {
    let (upstream, _) = tiny_upstream(|_req| async {
        HttpResponse::new(body(
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg_1.ts\n",
        ))
    })
    .await;
    let dir = temp_dir("no-edge");
    let proxy = Proxy::start(ServerConfig {
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::new(format!("http://{upstream}"), dir.clone())
    })
    .await;
    let client = client();
    let served = get(&client, proxy.addr, "/live/x/video.m3u8", &[]).await;
    assert_eq!(served.status, StatusCode::OK);
    let refused = request(
        &client,
        proxy.addr,
        Method::POST,
        "/api/v1/streams/live/x/breaks",
        &[("authorization", &format!("Bearer {TOKEN}"))],
        Some(r#"{"duration_ms":30000,"start":"9999-12-31T23:59:00Z"}"#.to_owned()),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert!(
        refused
            .text()
            .contains("live edge of stream live/x is not known"),
        "{}",
        refused.text()
    );
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Two `Authorization` headers are ambiguous (servers disagree on which counts): 400, for
/// reads and writes alike, even when both carry the right token; one header is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_two_authorization_headers_is_refused_with_400() {
    let dir = temp_dir("two-auth");
    let proxy = Proxy::start(config(static_upstream().await, &dir)).await;
    let client = client();
    assert_eq!(
        get(&client, proxy.addr, "/live/a/video.m3u8", &[])
            .await
            .status,
        StatusCode::OK
    );
    let bearer = format!("Bearer {TOKEN}");
    let one = [("authorization", bearer.as_str())];
    let two = [
        ("authorization", bearer.as_str()),
        ("authorization", "Bearer someone-else"),
    ];
    let same_twice = [
        ("authorization", bearer.as_str()),
        ("authorization", bearer.as_str()),
    ];
    for headers in [&two[..], &same_twice[..]] {
        for (method, body) in [(Method::GET, None), (Method::POST, Some(BREAK.to_owned()))] {
            let response = request(
                &client,
                proxy.addr,
                method.clone(),
                "/api/v1/streams/live/a/breaks",
                headers,
                body,
            )
            .await;
            assert_eq!(
                response.status,
                StatusCode::BAD_REQUEST,
                "{method}: {}",
                response.text()
            );
            assert!(
                response
                    .text()
                    .contains("more than one Authorization header"),
                "{}",
                response.text()
            );
        }
    }
    let (status, text) = Api::bearer(TOKEN)
        .get(proxy.addr, "/api/v1/streams/live/a/breaks")
        .await;
    assert_eq!(
        (status, text.contains(r#""breaks":[]"#)),
        (200, true),
        "{text}"
    );
    let created = request(
        &client,
        proxy.addr,
        Method::POST,
        "/api/v1/streams/live/a/breaks",
        &one,
        Some(BREAK.to_owned()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
