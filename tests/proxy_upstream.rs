//! Proxy acceptance tests for the upstream side: failures (502/504/503), single flight,
//! streamed pass-through with Range, path validation, gzip, health and metrics.
mod proxy_support;

use std::convert::Infallible;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hlsplice::packager::{Fault, PackagerConfig};
use hlsplice::server::ServerConfig;
use http::{Method, Request, Response as HttpResponse, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use proxy_support::fake_upstream::*;
use proxy_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_is_502() {
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = temp_dir("down");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{closed}"), dir.clone())).await;
    let client = client();
    for path in ["/live/demo/video.m3u8", "/live/demo/video_1.ts"] {
        let response = get(&client, proxy.addr, path, &[]).await;
        assert_eq!(response.status, StatusCode::BAD_GATEWAY, "{path}");
        assert!(
            response.text().contains("upstream unreachable"),
            "{}",
            response.text()
        );
        assert_eq!(
            response.headers["content-type"],
            "text/plain; charset=utf-8"
        );
    }
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_stalled_is_504_and_blocked_reload_503() {
    let h = Harness::start_with("stall", classic(), |c| ServerConfig {
        upstream_timeout_ms: 300,
        ..c
    })
    .await;
    let playlist = h.playlist("/live/demo/video.m3u8").await;
    let newest = msn_of(&last_segment(&playlist));
    h.packager.set_fault(Fault::Stall);

    let started = Instant::now();
    let response = h.get("/live/demo/video.m3u8").await;
    assert_eq!(
        response.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        response.text()
    );
    assert!(response.text().contains("300 ms"), "{}", response.text());
    assert!(started.elapsed() < Duration::from_secs(2));

    // Blocking reload: at most 3 x target duration (1 s), then 503 (RFC 8216bis §6.2.5.2).
    let started = Instant::now();
    let response = h
        .get(&format!("/live/demo/video.m3u8?_HLS_msn={}", newest + 1))
        .await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        response.text()
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    // Upstream errors keep their status.
    h.packager.set_fault(Fault::Status(404));
    assert_eq!(
        h.get("/live/demo/video.m3u8").await.status,
        StatusCode::NOT_FOUND
    );
    h.packager.set_fault(Fault::None);
    assert_eq!(h.get("/live/demo/video.m3u8").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_upstream_answer_is_502() {
    let (addr, _) =
        tiny_upstream(|_req| async { HttpResponse::new(body(b"<html>not a playlist</html>")) })
            .await;
    let dir = temp_dir("invalid");
    let config = ServerConfig {
        api_tokens: vec!["t".to_owned()],
        ..ServerConfig::new(format!("http://{addr}"), dir.clone())
    };
    let proxy = Proxy::start(config).await;
    let response = get(&client(), proxy.addr, "/live/x/video.m3u8", &[]).await;
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(response.text().contains("rejected"), "{}", response.text());
    // Not a playlist, so no stream became known.
    let auth = [("authorization", "Bearer t")];
    let streams = request(
        &client(),
        proxy.addr,
        Method::GET,
        "/api/v1/streams",
        &auth,
        None,
    )
    .await;
    assert_eq!(streams.status, StatusCode::OK, "{}", streams.text());
    assert!(!streams.text().contains("live/x"), "{}", streams.text());
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A media playlist the rewriter cannot mark (here: no EXT-X-PROGRAM-DATE-TIME, so a break has
/// no program time to be placed by) is served as the packager wrote it, not turned into a 502
/// for every player of the stream — also when the stream has a break (made while its playlists
/// still had program dates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmarkable_media_playlist_is_served_unchanged() {
    const NO_PDT: &[u8] = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n\
#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:4.000,\nseg7.ts\n#EXTINF:4.000,\nseg8.ts\n";
    const WITH_PDT: &[u8] = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n\
#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:00:00.000Z\n#EXTINF:4.000,\n\
seg7.ts\n#EXTINF:4.000,\nseg8.ts\n";
    let dated = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let answer = Arc::clone(&dated);
    let (addr, _) = tiny_upstream(move |_req| {
        let with_pdt = answer.load(Ordering::SeqCst);
        async move { HttpResponse::new(body(if with_pdt { WITH_PDT } else { NO_PDT })) }
    })
    .await;
    let dir = temp_dir("unmarkable");
    let config = ServerConfig {
        api_tokens: vec!["t".to_owned()],
        ..ServerConfig::new(format!("http://{addr}"), dir.clone())
    };
    let proxy = Proxy::start(config).await;
    let first = get(&client(), proxy.addr, "/live/nopdt/video.m3u8", &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());

    let auth = [("authorization", "Bearer t")];
    let created = request(
        &client(),
        proxy.addr,
        Method::POST,
        "/api/v1/streams/live/nopdt/breaks",
        &auth,
        Some(r#"{"duration_ms":8000,"start":"2030-01-01T01:00:00Z"}"#.to_owned()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    dated.store(false, Ordering::SeqCst);

    // The timeline now has a break the rewriter cannot place: still 200, bytes unchanged.
    let second = get(&client(), proxy.addr, "/live/nopdt/video.m3u8", &[]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(second.body.as_ref(), NO_PDT);
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_for_200_concurrent_blocking_clients() {
    let h = Harness::start("single-flight", PackagerConfig::default()).await;
    let playlist = h.playlist("/ll/demo/video.m3u8").await;
    let next = msn_of(&last_segment(&playlist)) + 1;
    let before = h.packager.upstream_requests();
    let coalesced_before = h.metric("hlsplice_coalesced_requests_total").await;

    let path = format!("/ll/demo/video.m3u8?_HLS_msn={next}&_HLS_part=0");
    let mut clients = Vec::new();
    for _ in 0..200 {
        let client = h.client.clone();
        let addr = h.proxy_addr();
        let path = path.clone();
        clients.push(tokio::spawn(
            async move { get(&client, addr, &path, &[]).await },
        ));
    }
    // Wait until all 200 are inside the proxy, joined on one upstream request.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.metric("hlsplice_coalesced_requests_total").await < coalesced_before + 199.0 {
        assert!(Instant::now() < deadline, "clients did not all arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.packager.upstream_requests(), before + 1);
    h.advance_ms(250);
    let mut bodies = std::collections::HashSet::new();
    for client in clients {
        let response = client.await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        bodies.insert(response.body);
    }
    assert_eq!(bodies.len(), 1, "every client got the same rendering");
    assert_eq!(
        h.packager.upstream_requests(),
        before + 1,
        "200 blocking clients cost one upstream request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_streams_with_range_and_upstream_headers() {
    let h = Harness::start("pass-through", classic()).await;
    let playlist = h.playlist("/live/demo/video.m3u8").await;
    let segment = format!("/live/demo/{}", last_segment(&playlist));
    let whole = h.get(&segment).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert!(whole.body.len() > 188, "a real TS segment");
    assert_eq!(
        whole.headers["cache-control"], "max-age=3600",
        "segments keep the upstream's Cache-Control"
    );
    let ranged = get(
        &h.client,
        h.proxy_addr(),
        &segment,
        &[("range", "bytes=188-375")],
    )
    .await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.body, whole.body.slice(188..376));
    assert_eq!(
        ranged.headers["content-range"],
        format!("bytes 188-375/{}", whole.body.len())
    );

    // Streaming: the first chunk reaches the client while the upstream is still sending.
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let (addr, _) = tiny_upstream(move |_req| {
        let rx = rx.clone();
        async move {
            let rx = rx.lock().await.take();
            let mut response = HttpResponse::new(ChannelBody(rx).boxed());
            response
                .headers_mut()
                .insert("connection", "keep-alive, x-hop".parse().unwrap());
            response.headers_mut().insert("x-hop", "1".parse().unwrap());
            response
                .headers_mut()
                .insert("x-kept", "1".parse().unwrap());
            response
        }
    })
    .await;
    let dir = temp_dir("stream");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{addr}"), dir.clone())).await;
    let request = Request::get(format!("http://{}/live/x/seg_1.m4s", proxy.addr))
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let client = client();
    tx.send(Bytes::from_static(b"first")).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), client.request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().get("x-hop").is_none(),
        "headers named in Connection are hop-by-hop"
    );
    assert!(response.headers().get("x-kept").is_some());
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        frame.into_data().unwrap(),
        Bytes::from_static(b"first"),
        "not buffered until the end"
    );
    tx.send(Bytes::from_static(b"second")).await.unwrap();
    drop(tx);
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, Bytes::from_static(b"second"));
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_validated_before_anything_goes_upstream() {
    let (addr, count) = tiny_upstream(|_req| async { HttpResponse::new(body(b"x")) }).await;
    let dir = temp_dir("paths");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{addr}"), dir.clone())).await;
    let client = client();
    for path in [
        "/live/%2e%2e/secret.m3u8",
        "/live/..%2fsecret.ts",
        "/live/%252e%252e/x.ts",
        "/live//x.m3u8",
        "/live/./x.ts",
    ] {
        let response = get(&client, proxy.addr, path, &[]).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            response.text()
        );
    }
    // Raw requests a client library would normalize: absolute-form and dot segments.
    for raw in [
        "GET http://evil.example/live/x.m3u8 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        "GET /live/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{raw:?} -> {answer}");
    }
    let post = request(
        &client,
        proxy.addr,
        Method::POST,
        "/live/x/seg.ts",
        &[],
        Some(String::new()),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "nothing reached the upstream"
    );
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_health_and_metrics() {
    let h = Harness::start("gzip", classic()).await;
    let plain = h.playlist("/live/demo/video.m3u8").await;
    let zipped = get(
        &h.client,
        h.proxy_addr(),
        "/live/demo/video.m3u8",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert_eq!(zipped.headers["vary"], "Accept-Encoding");
    assert_eq!(
        zipped.headers["cache-control"], "max-age=0",
        "half of a 1 s target duration, whole seconds"
    );
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    let master = h.get("/live/demo/master.m3u8").await;
    assert_eq!(master.status, StatusCode::OK);
    assert!(
        master.text().contains("#EXT-X-STREAM-INF"),
        "multivariant passes through"
    );
    assert_eq!(master.headers["cache-control"], "max-age=5", "upstream's");

    let health = h.get("/healthz").await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok\n")
    );
    let metrics = h.get("/metrics").await.text();
    for needle in [
        "hlsplice_requests_total{route=\"playlist\",status=\"200\"} 3",
        "hlsplice_upstream_latency_seconds_count 3",
        "hlsplice_upstream_latency_seconds_bucket{le=\"+Inf\"} 3",
        "hlsplice_coalesced_requests_total 0",
        "hlsplice_playlist_cache_hits_total 1",
        "hlsplice_active_breaks 0",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_refreshes_never_get_a_finished_request_answer() {
    // A request that arrives after an identical upstream request finished must not be handed
    // that (older) answer: every refresh after a clock step shows the new segment.
    let h = Harness::start("fresh", classic()).await;
    let mut newest = msn_of(&last_segment(&h.playlist("/live/demo/video.m3u8").await));
    for _ in 0..30 {
        h.advance_ms(1000);
        let playlist = h.playlist("/live/demo/video.m3u8").await;
        let now = msn_of(&last_segment(&playlist));
        assert_eq!(now, newest + 1, "stale playlist:\n{playlist}");
        newest = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_encoded_upstream_playlists_are_decoded() {
    use std::io::Write as _;
    const PLAYLIST: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
        #EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.0,\ns7.ts\n#EXTINF:2.0,\ns8.ts\n";
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(PLAYLIST.as_bytes()).unwrap();
    let zipped = Bytes::from(encoder.finish().unwrap());
    let (addr, _) = tiny_upstream(move |_req| {
        let zipped = zipped.clone();
        async move {
            let mut response = HttpResponse::new(http_body_util::Full::new(zipped).boxed());
            response
                .headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
            response
        }
    })
    .await;
    let dir = temp_dir("gzip-upstream");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{addr}"), dir.clone())).await;
    let response = get(&client(), proxy.addr, "/live/z/index.m3u8", &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.text(),
        PLAYLIST,
        "no breaks: the playlist passes unchanged"
    );
    assert_eq!(
        response.headers["cache-control"], "max-age=1",
        "half of a 2 s target duration"
    );
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// An upstream for the pass-through deadlines: `/head/..` never answers, `/stall/..` sends one
/// chunk and then nothing (the connection stays open), `/steady/..` sends six chunks 150 ms apart.
async fn slow_upstream() -> SocketAddr {
    let (addr, _) = tiny_upstream(|req| async move {
        let path = req.uri().path().to_owned();
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        if path.starts_with("/head/") {
            tokio::time::sleep(Duration::from_secs(30)).await;
        } else if path.starts_with("/stall/") {
            tokio::spawn(async move {
                let _ = tx.send(Bytes::from_static(b"first")).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(tx);
            });
        } else {
            tokio::spawn(async move {
                for _ in 0..6 {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let _ = tx.send(Bytes::from_static(b"chunk")).await;
                }
            });
        }
        HttpResponse::new(ChannelBody(Some(rx)).boxed())
    })
    .await;
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_waits_for_upstream_headers_at_most_the_timeout() {
    let addr = slow_upstream().await;
    let dir = temp_dir("head-stall");
    let proxy = Proxy::start(ServerConfig {
        upstream_timeout_ms: 300,
        ..ServerConfig::new(format!("http://{addr}"), dir.clone())
    })
    .await;
    let started = Instant::now();
    let response = get(&client(), proxy.addr, "/head/x/seg_1.ts", &[]).await;
    assert_eq!(response.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(response.text().contains("300 ms"), "{}", response.text());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_segment_body_is_aborted_after_the_idle_timeout() {
    let addr = slow_upstream().await;
    let dir = temp_dir("body-stall");
    let proxy = Proxy::start(ServerConfig {
        upstream_timeout_ms: 300,
        ..ServerConfig::new(format!("http://{addr}"), dir.clone())
    })
    .await;
    let client = client();

    // Slow but steady (900 ms in all, never 300 ms without a byte): delivered whole.
    let steady = get(&client, proxy.addr, "/steady/x/seg_1.ts", &[]).await;
    assert_eq!(steady.status, StatusCode::OK);
    assert_eq!(
        steady.body.len(),
        6 * 5,
        "the idle timeout is not a total deadline"
    );

    // One chunk, then silence: the client gets the chunk, then a truncated transfer.
    let request = Request::get(format!("http://{}/stall/x/seg_1.ts", proxy.addr))
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), client.request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"first"));
    let started = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the proxy must not hold a stalled body open");
    assert!(
        matches!(next, Some(Err(_))),
        "a stalled body ends as an error, not as a complete body: {next:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    let metrics = get(&client, proxy.addr, "/metrics", &[]).await.text();
    assert!(
        metrics.contains("hlsplice_upstream_body_timeouts_total 1\n"),
        "{metrics}"
    );
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Renders and cache hits since the last call, from `/metrics`.
async fn render_counts(h: &Harness, last: &mut (f64, f64)) -> (u64, u64) {
    let now = (
        h.metric("hlsplice_playlist_renders_total").await,
        h.metric("hlsplice_playlist_cache_hits_total").await,
    );
    let delta = ((now.0 - last.0) as u64, (now.1 - last.1) as u64);
    *last = now;
    delta
}

/// Players of one LL-HLS playlist asking for full reloads, delta updates and blocking reloads
/// of different targets, interleaved, at one clock: each distinct (upstream target, bytes,
/// timeline version) is rendered once, and every repeat is a cache hit — the renderings do
/// not evict each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_full_delta_and_blocking_reloads_are_each_rendered_once() {
    const LL_VIDEO: &str = "/ll/demo/video.m3u8";
    let h = Harness::start("render-cache", PackagerConfig::default()).await;
    let full = h.playlist(LL_VIDEO).await;
    let newest = msn_of(&last_segment(&full));
    let mut last = (0.0, 0.0);
    render_counts(&h, &mut last).await;

    let skip = format!("{LL_VIDEO}?_HLS_skip=YES");
    let skip_v2 = format!("{LL_VIDEO}?_HLS_skip=v2"); // asked upstream as YES: same target
    let msn = format!("{LL_VIDEO}?_HLS_msn={newest}");
    let msn_part = format!("{LL_VIDEO}?_HLS_msn={newest}&_HLS_part=0");
    let targets = [LL_VIDEO, skip.as_str(), msn.as_str(), msn_part.as_str()];
    let mut answers = std::collections::HashMap::new();
    for round in 0..3 {
        for path in targets.iter().copied().chain([skip_v2.as_str()]) {
            let text = h.playlist(path).await;
            let key = if path == skip_v2 { skip.as_str() } else { path };
            let first = answers.entry(key).or_insert_with(|| text.clone());
            assert_eq!(
                *first, text,
                "round {round}: {path} changed at a fixed clock"
            );
        }
    }
    assert!(answers[skip.as_str()].contains("#EXT-X-SKIP:"));
    assert!(!answers[LL_VIDEO].contains("#EXT-X-SKIP:"));
    // The first full reload was rendered before counting.
    assert_eq!(
        render_counts(&h, &mut last).await,
        (3, 12),
        "renders and cache hits: one rendering per distinct target"
    );

    // A new timeline version: each target is rendered once more, then shared again.
    let (status, created) = h
        .api(
            Method::POST,
            "/api/v1/streams/ll/demo/breaks",
            Some(serde_json::json!({"duration_ms": 2000, "start": "2026-01-01T01:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    render_counts(&h, &mut last).await;
    for _ in 0..3 {
        for path in targets {
            h.playlist(path).await;
        }
    }
    assert_eq!(render_counts(&h, &mut last).await, (4, 8));

    // A stream of distinct blocking targets cannot grow the cache without bound, and the
    // full playlist is still rendered once when it comes back after them.
    for back in 0..10 {
        for part in 0..2 {
            let msn = newest - back;
            h.playlist(&format!("{LL_VIDEO}?_HLS_msn={msn}&_HLS_part={part}"))
                .await;
        }
    }
    render_counts(&h, &mut last).await;
    h.playlist(LL_VIDEO).await;
    h.playlist(LL_VIDEO).await;
    assert_eq!(render_counts(&h, &mut last).await.0, 1);
}

/// The upstream's CORS headers survive the rewrite: browser players on another origin
/// (hls.js, video.js) read rewritten playlists as they read the packager's own. Checked on
/// the first rendering and on cache hits, plain and gzip, GET and HEAD; other upstream headers
/// are still replaced by the proxy's own. A preflight (`OPTIONS`) goes upstream with its
/// CORS request headers and comes back as the upstream answered it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_cors_headers_are_kept_on_rewritten_playlists() {
    const PLAYLIST: &[u8] = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.0,\ns7.ts\n#EXTINF:2.0,\ns8.ts\n";
    // One more segment, published once the test has asked for a break at the live edge.
    const NEXT: &[u8] = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.0,\ns7.ts\n#EXTINF:2.0,\ns8.ts\n\
#EXTINF:2.0,\ns9.ts\n";
    let advanced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let published = advanced.clone();
    let (addr, _) = tiny_upstream(move |req| {
        let next = published.load(Ordering::SeqCst);
        async move {
            let mut response = if req.method() == Method::OPTIONS {
                let mut preflight = HttpResponse::new(body(b""));
                *preflight.status_mut() = StatusCode::NO_CONTENT;
                // What the upstream was asked, echoed so the test sees it arrived.
                for name in [
                    "origin",
                    "access-control-request-method",
                    "access-control-request-headers",
                ] {
                    if let Some(value) = req.headers().get(name) {
                        let echoed = format!("x-seen-{name}");
                        preflight.headers_mut().insert(
                            http::HeaderName::from_bytes(echoed.as_bytes()).unwrap(),
                            value.clone(),
                        );
                    }
                }
                preflight
                    .headers_mut()
                    .insert("access-control-allow-methods", "GET, HEAD".parse().unwrap());
                preflight
            } else {
                HttpResponse::new(body(if next { NEXT } else { PLAYLIST }))
            };
            let h = response.headers_mut();
            h.insert(
                "access-control-allow-origin",
                "https://player.example".parse().unwrap(),
            );
            h.append(
                "access-control-expose-headers",
                "Content-Length, Age".parse().unwrap(),
            );
            h.append("access-control-expose-headers", "Date".parse().unwrap());
            h.insert("access-control-allow-credentials", "true".parse().unwrap());
            h.insert("timing-allow-origin", "*".parse().unwrap());
            h.insert("content-type", "text/plain".parse().unwrap());
            h.insert("x-packager-only", "1".parse().unwrap());
            response
        }
    })
    .await;
    let dir = temp_dir("cors");
    let config = ServerConfig {
        api_tokens: vec!["t".to_owned()],
        ..ServerConfig::new(format!("http://{addr}"), dir.clone())
    };
    let proxy = Proxy::start(config).await;
    let client = client();
    let path = "/live/cors/index.m3u8";
    let cache_hits = || async {
        let metrics = get(&client, proxy.addr, "/metrics", &[]).await.text();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("hlsplice_playlist_cache_hits_total "))
            .and_then(|v| v.parse::<u64>().ok())
            .expect("cache hit counter")
    };
    let assert_cors = |what: &str, response: &Response| {
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{what}: {}",
            response.text()
        );
        let h = &response.headers;
        assert_eq!(
            h["access-control-allow-origin"], "https://player.example",
            "{what}"
        );
        let exposed: Vec<_> = h.get_all("access-control-expose-headers").iter().collect();
        assert_eq!(exposed, ["Content-Length, Age", "Date"], "{what}");
        assert_eq!(h["access-control-allow-credentials"], "true", "{what}");
        assert_eq!(h["timing-allow-origin"], "*", "{what}");
        assert_eq!(h["content-type"], "application/vnd.apple.mpegurl", "{what}");
        assert!(!h.contains_key("x-packager-only"), "{what}");
    };

    let unmarked = get(&client, proxy.addr, path, &[]).await;
    assert_cors("no break yet", &unmarked);
    assert_eq!(unmarked.body.as_ref(), PLAYLIST);
    // A break the playlist shows, so what follows really is a rewrite, not the upstream bytes.
    let auth = [("authorization", "Bearer t")];
    let created = request(
        &client,
        proxy.addr,
        Method::POST,
        "/api/v1/streams/live/cors/breaks",
        &auth,
        Some(r#"{"duration_ms":3000,"start":"now"}"#.to_owned()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    advanced.store(true, Ordering::SeqCst);

    let hits_before = cache_hits().await;
    let first = get(&client, proxy.addr, path, &[]).await;
    assert_cors("first rendering", &first);
    assert!(first.text().contains("SCTE35-OUT"), "{}", first.text());
    assert_ne!(first.body.as_ref(), PLAYLIST);
    let first_hits = cache_hits().await;

    let again = get(&client, proxy.addr, path, &[]).await;
    assert_cors("cache hit", &again);
    assert_eq!(again.body, first.body);
    let zipped = get(&client, proxy.addr, path, &[("accept-encoding", "gzip")]).await;
    assert_cors("gzip", &zipped);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    let zipped_again = get(&client, proxy.addr, path, &[("accept-encoding", "gzip")]).await;
    assert_cors("gzip again", &zipped_again);
    assert_eq!(zipped_again.body, zipped.body);
    let head = request(&client, proxy.addr, Method::HEAD, path, &[], None).await;
    assert_cors("HEAD", &head);
    assert_eq!(
        cache_hits().await,
        first_hits + 4,
        "the later four answers were cache hits (first rendering: {} hits before, {first_hits} after)",
        hits_before
    );

    // Preflight, for a playlist and for a segment: the upstream's answer, its CORS request
    // headers delivered.
    for target in [path, "/live/cors/s8.ts"] {
        let preflight = request(
            &client,
            proxy.addr,
            Method::OPTIONS,
            target,
            &[
                ("origin", "https://player.example"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "range"),
            ],
            None,
        )
        .await;
        assert_eq!(preflight.status, StatusCode::NO_CONTENT, "{target}");
        let h = &preflight.headers;
        assert_eq!(h["x-seen-origin"], "https://player.example", "{target}");
        assert_eq!(h["x-seen-access-control-request-method"], "GET", "{target}");
        assert_eq!(
            h["x-seen-access-control-request-headers"], "range",
            "{target}"
        );
        assert_eq!(h["access-control-allow-methods"], "GET, HEAD", "{target}");
        assert_eq!(
            h["access-control-allow-origin"], "https://player.example",
            "{target}"
        );
    }
    // A plain segment GET never carries the preflight headers upstream.
    let segment = get(
        &client,
        proxy.addr,
        "/live/cors/s8.ts",
        &[("origin", "https://player.example")],
    )
    .await;
    assert_eq!(segment.status, StatusCode::OK);
    assert!(!segment.headers.contains_key("x-seen-origin"));
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The proxy's own error answers on playlist and media paths carry the CORS headers the
/// upstream last sent with a playlist, when they allow the request's origin: a browser player
/// then reads the 502 (and retries) instead of seeing a network error. Nothing is granted that
/// the upstream did not grant: another origin gets no CORS headers on the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_error_answers_repeat_the_upstream_cors_headers() {
    const PLAYLIST: &[u8] = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n\
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.0,\ns7.ts\n";
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let breaks = broken.clone();
    let (addr, _) = tiny_upstream(move |_req| {
        let broken = breaks.load(Ordering::SeqCst);
        async move {
            if broken {
                // Not a playlist, and no CORS headers: the proxy answers 502 itself.
                return HttpResponse::new(body(b"<html>maintenance</html>"));
            }
            let mut response = HttpResponse::new(body(PLAYLIST));
            let h = response.headers_mut();
            h.insert(
                "access-control-allow-origin",
                "https://player.example".parse().unwrap(),
            );
            h.insert("access-control-allow-credentials", "true".parse().unwrap());
            response
        }
    })
    .await;
    let dir = temp_dir("cors-errors");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{addr}"), dir.clone())).await;
    let client = client();
    let path = "/live/cors/index.m3u8";
    let from = |origin: &'static str| [("origin", origin)];

    // Before any playlist came back, there is nothing to repeat.
    broken.store(true, Ordering::SeqCst);
    let early = get(&client, proxy.addr, path, &from("https://player.example")).await;
    assert_eq!(early.status, StatusCode::BAD_GATEWAY, "{}", early.text());
    assert!(
        early.headers.get("access-control-allow-origin").is_none(),
        "{:?}",
        early.headers
    );

    broken.store(false, Ordering::SeqCst);
    let ok = get(&client, proxy.addr, path, &from("https://player.example")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());

    broken.store(true, Ordering::SeqCst);
    for failing in [path, "/live/cors/../index.m3u8"] {
        let error = get(
            &client,
            proxy.addr,
            failing,
            &from("https://player.example"),
        )
        .await;
        assert!(error.status.is_client_error() || error.status.is_server_error());
        assert_eq!(
            error.headers["access-control-allow-origin"], "https://player.example",
            "{failing}: {:?}",
            error.headers
        );
        assert_eq!(error.headers["access-control-allow-credentials"], "true");
    }
    let error = get(&client, proxy.addr, path, &from("https://player.example")).await;
    assert_eq!(error.status, StatusCode::BAD_GATEWAY, "{}", error.text());
    // Another origin was not allowed by the upstream, and is not by the proxy.
    let other = get(
        &client,
        proxy.addr,
        path,
        &from("https://elsewhere.example"),
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_GATEWAY);
    assert!(
        other.headers.get("access-control-allow-origin").is_none(),
        "{:?}",
        other.headers
    );
    // The API is not for browsers: its errors carry none.
    let api = get(
        &client,
        proxy.addr,
        "/api/v1/streams",
        &from("https://player.example"),
    )
    .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.headers.get("access-control-allow-origin").is_none());
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `/healthz` says when the upstream does not answer (a probe when no request has said so
/// recently) and comes back to 200 by itself once it answers again; `/livez` stays 200
/// throughout (a restart would not cure it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_follows_the_upstream_and_livez_does_not() {
    // A port nobody listens on yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = temp_dir("reach");
    let proxy = Proxy::start(ServerConfig::new(format!("http://{port}"), dir.clone())).await;
    let client = client();
    // No request yet: the health check probes, and finds nobody.
    let health = get(&client, proxy.addr, "/healthz", &[]).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        health.text().starts_with("upstream not answering"),
        "{}",
        health.text()
    );
    let live = get(&client, proxy.addr, "/livez", &[]).await;
    assert_eq!(
        (live.status, live.text().as_str()),
        (StatusCode::OK, "ok\n")
    );

    // The upstream comes up on that port: within a probe interval and a bit, 200.
    let listener = TcpListener::bind(port).await.unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, Infallible>(
                    HttpResponse::builder()
                        .status(StatusCode::NOT_FOUND)
                        .body(body(b""))
                        .unwrap(),
                )
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let started = Instant::now();
    loop {
        let health = get(&client, proxy.addr, "/healthz", &[]).await;
        if health.status == StatusCode::OK {
            assert_eq!(health.text(), "ok\n", "a 404 is the upstream answering");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still {} after 3 s: {}",
            health.status,
            health.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
