use super::*;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn packager(config: PackagerConfig) -> (Arc<ManualClock>, Packager) {
    let clock = Arc::new(ManualClock::new(t0()));
    let p = Packager::new(config, clock.clone());
    (clock, p)
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn classic_window_sequence_and_pdt() {
    let (clock, p) = packager(PackagerConfig::default());
    let pl = p.media_playlist(Flavor::Classic, Rendition::Video, None);
    let l = lines(&pl);
    assert!(l.contains(&"#EXT-X-TARGETDURATION:1"));
    assert!(l.contains(&"#EXT-X-MEDIA-SEQUENCE:0"));
    assert_eq!(
        l.iter()
            .filter(|x| x.starts_with("#EXTINF:1.00000,"))
            .count(),
        10
    );
    assert!(l.contains(&"#EXT-X-PROGRAM-DATE-TIME:2025-12-31T23:59:50.000Z"));
    assert_eq!(l.last(), Some(&"video_9.ts"));
    assert!(!pl.contains("EXT-X-PART"));
    // Segment 8 is the first of the second loop of an 8-segment clip.
    let disc = l.iter().position(|x| *x == "#EXT-X-DISCONTINUITY");
    assert_eq!(disc.and_then(|i| l.get(i + 3)), Some(&"video_8.ts"));

    clock.advance(Duration::from_millis(999));
    assert_eq!(
        p.media_playlist(Flavor::Classic, Rendition::Video, None),
        pl
    );
    clock.advance(Duration::from_millis(1));
    let pl2 = p.media_playlist(Flavor::Classic, Rendition::Video, None);
    assert!(pl2.contains("#EXT-X-MEDIA-SEQUENCE:1\n"));
    assert!(pl2.ends_with("video_10.ts\n"));

    // After the window slides past segment 8, the discontinuity sequence counts it.
    clock.advance(Duration::from_secs(9));
    let pl3 = p.media_playlist(Flavor::Classic, Rendition::Video, None);
    assert!(pl3.contains("#EXT-X-MEDIA-SEQUENCE:10\n"), "{pl3}");
    assert!(pl3.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{pl3}");
}

#[test]
fn audio_durations_differ_by_a_few_ms_and_stay_aligned() {
    let (_clock, p) = packager(PackagerConfig::default());
    let pl = p.media_playlist(Flavor::Classic, Rendition::Audio, None);
    let durations: Vec<f64> = pl
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|d| d.trim_end_matches(',').parse().ok())
        .collect();
    assert!(!durations.is_empty());
    assert!(durations.iter().any(|d| (d - 1.0).abs() > 0.001));
    assert!(durations.iter().all(|d| (d - 1.0).abs() < 0.022));
    let audio_pdt = pl
        .lines()
        .filter(|l| l.starts_with("#EXT-X-PROGRAM-DATE-TIME"))
        .count();
    assert_eq!(audio_pdt, durations.len());
}

#[test]
fn ll_parts_hints_and_reports() {
    let (clock, p) = packager(PackagerConfig::default());
    clock.advance(Duration::from_millis(600));
    let pl = p.media_playlist(Flavor::LowLatency, Rendition::Video, None);
    assert!(pl.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,"));
    assert!(pl.contains("PART-HOLD-BACK=0.750"));
    assert!(pl.contains("#EXT-X-PART-INF:PART-TARGET=0.250\n"));
    assert!(pl.contains("#EXT-X-MAP:URI=\"video_init.mp4\"\n"));
    // Two parts of segment 10 are done; the third is hinted.
    assert!(pl.contains("#EXT-X-PART:DURATION=0.25000,URI=\"video_10.1.m4s\"\n"));
    assert!(pl.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"video_10.2.m4s\"\n"));
    assert!(pl.contains("#EXT-X-RENDITION-REPORT:URI=\"audio.m3u8\",LAST-MSN=10,LAST-PART="));
    assert!(pl.contains("video_9.m4s\n"));
    assert!(pl.contains("URI=\"video_7.0.m4s\",INDEPENDENT=YES"));
    assert!(!pl.contains("video_6.0.m4s"), "parts only near the edge");
}

#[test]
fn ll_delta_update_skips_old_segments() {
    let (_clock, p) = packager(PackagerConfig::default());
    let full = p.media_playlist(Flavor::LowLatency, Rendition::Video, None);
    let delta = p.media_playlist(Flavor::LowLatency, Rendition::Video, Some(Skip::Segments));
    assert!(
        delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"),
        "{delta}"
    );
    assert!(!delta.contains("video_3.m4s"));
    assert!(delta.contains("video_4.m4s"));
    assert!(full.contains("video_3.m4s"));
    let v2 = p.media_playlist(
        Flavor::LowLatency,
        Rendition::Video,
        Some(Skip::SegmentsAndDateranges),
    );
    assert!(v2.contains("RECENTLY-REMOVED-DATERANGES=\"\""));
    // Classic playlists never skip.
    let classic = p.media_playlist(Flavor::Classic, Rendition::Video, Some(Skip::Segments));
    assert!(!classic.contains("EXT-X-SKIP"));
}

#[tokio::test]
async fn blocking_wait_wakes_on_advance() {
    let (clock, p) = packager(PackagerConfig::default());
    let p = Arc::new(p);
    assert_eq!(p.last_msn(Flavor::LowLatency, Rendition::Video), Some(9));
    let waiter = {
        let p = p.clone();
        tokio::spawn(async move {
            p.wait_for(Flavor::LowLatency, Rendition::Video, 10, Some(1))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished());
    clock.advance(Duration::from_millis(250));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished(), "part 1 ends at 500 ms");
    clock.advance(Duration::from_millis(250));
    let done = tokio::time::timeout(Duration::from_secs(2), waiter).await;
    assert!(matches!(done, Ok(Ok(Ok(())))));
    // Too far ahead: answered at once.
    assert!(matches!(
        p.wait_for(Flavor::LowLatency, Rendition::Video, 13, None)
            .await,
        Err(PlaylistError::TooFarAhead { .. })
    ));
}

#[tokio::test]
async fn blocking_wait_times_out() {
    let config = PackagerConfig {
        block_timeout: Duration::from_millis(50),
        ..PackagerConfig::default()
    };
    let (_clock, p) = packager(config);
    assert_eq!(
        p.wait_for(Flavor::LowLatency, Rendition::Video, 10, None)
            .await,
        Err(PlaylistError::Timeout)
    );
}

#[tokio::test]
async fn serves_over_http_with_blocking_reload() {
    let (clock, p) = packager(PackagerConfig::default());
    let p = Arc::new(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(p.clone(), listener, async {
        let _ = stop_rx.await;
    }));

    let (status, body) = get(addr, "/live/demo/master.m3u8").await;
    assert_eq!(status, 200);
    assert!(body.contains("audio.m3u8") && body.contains("video.m3u8"));
    let (status, _) = get(addr, "/live/demo/nope.m3u8").await;
    assert_eq!(status, 404);
    let (status, _) = get(addr, "/ll/demo/video.m3u8?_HLS_part=1").await;
    assert_eq!(status, 400);

    let blocked = tokio::spawn(get(addr, "/ll/demo/video.m3u8?_HLS_msn=10&_HLS_part=0"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!blocked.is_finished());
    clock.advance(Duration::from_millis(250));
    let (status, body) = tokio::time::timeout(Duration::from_secs(2), blocked)
        .await
        .expect("woken")
        .expect("task");
    assert_eq!(status, 200);
    assert!(body.contains("URI=\"video_10.0.m4s\""), "{body}");
    // master, the 400 and the blocking one; the unknown path is not a playlist.
    assert_eq!(p.upstream_requests(), 3);
    let media_before = p.media_requests();

    // Absurd numbers are answered, never a panic.
    let max = u64::MAX;
    for path in [
        format!("/ll/demo/video.m3u8?_HLS_msn={max}&_HLS_part={max}"),
        format!("/ll/demo/video_{max}.3.m4s"),
        format!("/ll/demo/audio_{max}.m4s"),
        format!("/live/demo/video_{max}.ts"),
    ] {
        let (status, _) = get(addr, &path).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
    }
    // Media bytes: a published TS segment, an fMP4 part, a range of the init section.
    let (status, body) = get(addr, "/live/demo/video_3.ts").await;
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    assert_eq!(get(addr, "/ll/demo/audio_9.2.m4s").await.0, 200);
    assert_eq!(
        get(addr, "/live/demo/video_99.ts").await.0,
        404,
        "not yet published"
    );

    p.set_fault(Fault::Status(500));
    assert_eq!(get(addr, "/live/demo/video.m3u8").await.0, 500);
    p.set_fault(Fault::None);
    assert_eq!(get(addr, "/live/demo/video.m3u8").await.0, 200);
    assert!(p.media_requests() >= media_before + 6);

    let _ = stop_tx.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(stopped, Ok(Ok(()))));
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Every answer — playlists, media, errors, injected faults — may be read by a page of any
/// origin, and a CORS preflight is answered without touching the stream.
#[tokio::test]
async fn every_answer_allows_any_origin() {
    let (_clock, p) = packager(PackagerConfig::default());
    let p = Arc::new(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(p.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    let cases = [
        ("GET", "/live/demo/master.m3u8", 200),
        ("GET", "/live/demo/video.m3u8", 200),
        ("HEAD", "/ll/demo/audio.m3u8", 200),
        ("GET", "/live/demo/video_3.ts", 200),
        ("GET", "/ll/demo/video_init.mp4", 200),
        ("GET", "/ll/demo/audio_9.2.m4s", 200),
        ("GET", "/live/demo/video_99.ts", 404),
        ("GET", "/elsewhere", 404),
        ("POST", "/live/demo/video.m3u8", 405),
        ("OPTIONS", "/ll/demo/video.m3u8", 204),
    ];
    for (method, path, expected) in cases {
        let head = response_head(addr, method, path).await;
        assert!(
            head.starts_with(&format!("HTTP/1.1 {expected} ")),
            "{method} {path}: {head}"
        );
        assert!(
            head.contains("\r\naccess-control-allow-origin: *\r\n"),
            "{method} {path}: {head}"
        );
    }
    let preflight = response_head(addr, "OPTIONS", "/live/demo/video_3.ts").await;
    assert!(
        preflight.contains("\r\naccess-control-allow-methods: GET, HEAD, OPTIONS\r\n"),
        "{preflight}"
    );
    assert!(
        preflight.contains("\r\naccess-control-allow-headers: Range\r\n"),
        "{preflight}"
    );
    p.set_fault(Fault::Status(503));
    let faulted = response_head(addr, "GET", "/live/demo/video.m3u8").await;
    assert!(faulted.starts_with("HTTP/1.1 503 "), "{faulted}");
    assert!(
        faulted.contains("\r\naccess-control-allow-origin: *\r\n"),
        "{faulted}"
    );
    // master, video, audio and the faulted one: the preflight is not a playlist request.
    assert_eq!(p.upstream_requests(), 4);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}

/// The status line and headers of `method path`, header names as hyper writes them (lower case).
async fn response_head(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nOrigin: http://player.test\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split_once("\r\n\r\n")
        .map_or(text.clone(), |(head, _)| head.to_owned() + "\r\n")
}
