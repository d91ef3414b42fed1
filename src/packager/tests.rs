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
    assert!(pl.contains("URI=\"video_8.0.m4s\",INDEPENDENT=YES"));
    // Segment 7 starts 3.75 s before the end of the hinted part (§6.2.2: at most 3 s).
    assert!(!pl.contains("video_7.0.m4s"), "parts only near the edge");
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

/// What a client reads from an LL-HLS media playlist about its parts: each segment with its
/// program time, its listed parts' durations and its EXTINF (`None` for the one in progress).
#[derive(Debug)]
struct ListedSegment {
    msn: u64,
    start: DateTime<Utc>,
    parts: Vec<f64>,
    duration: Option<f64>,
}

impl ListedSegment {
    fn complete(&self) -> bool {
        self.duration.is_some()
    }

    /// Where the segment's listed media ends.
    fn end(&self) -> DateTime<Utc> {
        let listed = self.duration.unwrap_or_else(|| self.parts.iter().sum());
        self.start + chrono::Duration::microseconds((listed * 1e6).round() as i64)
    }
}

/// Parses the playlist's segments, as a client would, from its own lines (PROGRAM-DATE-TIME,
/// EXT-X-PART, EXTINF, URI); the parts after the last URI form the segment in progress.
fn listed_segments(pl: &str) -> (u64, Vec<ListedSegment>) {
    let mut target = 0;
    let mut msn = 0;
    let mut out = Vec::new();
    let mut start = None;
    let mut parts = Vec::new();
    let mut duration = None;
    let mut hinted = false;
    for line in pl.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target = v.parse().expect("target duration");
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            msn = v.parse().expect("media sequence");
        } else if let Some(v) = line.strip_prefix("#EXT-X-SKIP:SKIPPED-SEGMENTS=") {
            let v = v.split(',').next().unwrap_or(v);
            msn += v.parse::<u64>().expect("skipped segments");
        } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            start = Some(
                DateTime::parse_from_rfc3339(v)
                    .expect("program time")
                    .with_timezone(&Utc),
            );
        } else if let Some(v) = line.strip_prefix("#EXT-X-PART:DURATION=") {
            let d = v.split(',').next().unwrap_or(v);
            parts.push(d.parse::<f64>().expect("part duration"));
        } else if line.starts_with("#EXT-X-PRELOAD-HINT:TYPE=PART,") {
            hinted = true;
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            duration = Some(v.trim_end_matches(',').parse::<f64>().expect("EXTINF"));
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push(ListedSegment {
                msn,
                start: start.take().expect("a program time per segment"),
                parts: std::mem::take(&mut parts),
                duration: Some(duration.take().expect("an EXTINF per segment")),
            });
            msn += 1;
        }
    }
    // The segment in progress: its program time comes with its first part; before that, the
    // preload hint alone announces it, and it starts where the last complete segment ends.
    let in_progress =
        start.or_else(|| hinted.then(|| out.last().map(ListedSegment::end)).flatten());
    if let Some(start) = in_progress {
        out.push(ListedSegment {
            msn,
            start,
            parts,
            duration: None,
        });
    }
    (target, out)
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    to.signed_duration_since(from)
        .num_microseconds()
        .expect("micros") as f64
        / 1e6
}

/// RFC 8216bis §6.2.2: EXT-X-PART tags go once they are more than three target durations from
/// the end of the playlist. At every part boundary (and just before each) over more than a loop
/// of the clip, in both renditions: no listed part starts more than three target durations
/// before the playlist's end; at most three segments carry parts or the preload hint, counting
/// the one in progress (hls-parser's strict reading of the same rule for segments of one
/// target duration); the parts listed are a suffix of whole segments; and the newest complete
/// segment keeps its parts, so PART-HOLD-BACK (three parts) from the end is covered by parts.
#[test]
fn ll_parts_leave_within_three_target_durations() {
    let (_clock, p) = packager(PackagerConfig::default());
    let start = p.elapsed_at(t0());
    let part = 250 * TICKS_PER_MS;
    let mut checked = 0;
    for rendition in [Rendition::Video, Rendition::Audio] {
        let g = p.grid(Flavor::LowLatency, rendition);
        for step in 0..(12 * 4) {
            for elapsed in [start + step * part, start + (step + 1) * part - 1] {
                let pl = p.media_playlist_at(Flavor::LowLatency, rendition, None, elapsed);
                let (target, segments) = listed_segments(&pl);
                let end = segments
                    .iter()
                    .map(ListedSegment::end)
                    .max()
                    .expect("segments");
                let limit = 3.0 * target as f64;
                for s in segments.iter().filter(|s| !s.parts.is_empty()) {
                    let from_end = seconds_between(s.start, end);
                    assert!(
                        from_end <= limit + 1e-6,
                        "{rendition:?} at {elapsed}: segment {} has parts starting {from_end:.3} s \
                         before the end (limit {limit} s)\n{pl}",
                        s.msn
                    );
                }
                let with_parts: Vec<&ListedSegment> = segments
                    .iter()
                    .filter(|s| !s.parts.is_empty() || !s.complete())
                    .collect();
                assert!(
                    with_parts.len() <= 3,
                    "{rendition:?} at {elapsed}: {} segments carry parts\n{pl}",
                    with_parts.len()
                );
                let first_with_parts = segments
                    .iter()
                    .position(|s| !s.parts.is_empty())
                    .unwrap_or(segments.len());
                for s in &segments[first_with_parts..] {
                    if s.complete() {
                        assert_eq!(
                            s.parts.len() as u64,
                            g.parts_per_segment(),
                            "{rendition:?} at {elapsed}: segment {} lists only some parts\n{pl}",
                            s.msn
                        );
                    }
                }
                let newest_complete = segments.iter().rev().find(|s| s.complete());
                assert!(
                    newest_complete.is_some_and(|s| !s.parts.is_empty()),
                    "{rendition:?} at {elapsed}: the newest complete segment lost its parts\n{pl}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 12 * 4 * 2);
}

/// Removing parts earlier changes nothing a client relies on: at every part boundary, a
/// blocking reload's part is listed, each rendition report names a part the other rendition's
/// playlist lists at the same moment, and a delta update lists exactly the parts of the full
/// playlist.
#[test]
fn ll_hints_reports_and_delta_updates_agree_with_the_listed_parts() {
    let (_clock, p) = packager(PackagerConfig::default());
    let start = p.elapsed_at(t0());
    let part = 250 * TICKS_PER_MS;
    for step in 0..(10 * 4) {
        let elapsed = start + step * part;
        for rendition in [Rendition::Video, Rendition::Audio] {
            let pl = p.media_playlist_at(Flavor::LowLatency, rendition, None, elapsed);
            let g = p.grid(Flavor::LowLatency, rendition);
            // The newest published part, as a blocking reload for it would be answered.
            let complete = g.complete_segments(elapsed);
            let done = g.complete_parts(complete, elapsed);
            let (msn, last) = if done > 0 {
                (complete, done - 1)
            } else {
                (complete - 1, g.parts_per_segment() - 1)
            };
            let name = rendition.name();
            assert!(
                pl.contains(&format!("URI=\"{name}_{msn}.{last}.m4s\"")),
                "{rendition:?} at {elapsed}: newest part {msn}.{last} not listed\n{pl}"
            );
            assert!(
                pl.contains(&format!(
                    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{name}_{complete}.{done}.m4s\"\n"
                )),
                "{rendition:?} at {elapsed}\n{pl}"
            );
            let report = pl
                .lines()
                .find_map(|l| l.strip_prefix("#EXT-X-RENDITION-REPORT:"))
                .expect("rendition report");
            let attr = |key: &str| -> u64 {
                report
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(key))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{key} in {report}"))
            };
            let other = rendition.other();
            let other_pl = p.media_playlist_at(Flavor::LowLatency, other, None, elapsed);
            let reported = format!(
                "URI=\"{}_{}.{}.m4s\"",
                other.name(),
                attr("LAST-MSN="),
                attr("LAST-PART=")
            );
            assert!(
                other_pl.contains(&reported),
                "{rendition:?} at {elapsed}: reports {reported}, not listed in\n{other_pl}"
            );
            for skip in [Skip::Segments, Skip::SegmentsAndDateranges] {
                let delta = p.media_playlist_at(Flavor::LowLatency, rendition, Some(skip), elapsed);
                assert!(delta.contains("#EXT-X-SKIP:"), "{delta}");
                let parts = |s: &str| -> Vec<String> {
                    s.lines()
                        .filter(|l| l.starts_with("#EXT-X-PART:"))
                        .map(str::to_owned)
                        .collect()
                };
                assert_eq!(parts(&delta), parts(&pl), "{rendition:?} at {elapsed}");
            }
        }
    }
}
