//! Splice accuracy through the proxy: the primary (video) rendition decides when a break starts
//! and ends, so the SCTE-35 times follow its boundaries exactly; and in real time, with clients
//! polling every rendition, no marker is ever inserted before content an earlier answer already
//! listed (LL-HLS parts included).
mod proxy_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hlsplice::packager::{self, Packager, PackagerConfig, SystemClock};
use hlsplice::server::ServerConfig;
use http::StatusCode;
use proxy_support::*;
use serde_json::json;
use tokio::net::TcpListener;

fn date(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// The program date of segment `uri` in `playlist`, and its EXTINF duration in ms.
fn segment_date(playlist: &str, uri: &str) -> Option<(DateTime<Utc>, i64)> {
    let mut pdt = None;
    let mut extinf = None;
    for line in playlist.lines() {
        if let Some(d) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            pdt = d.parse().ok();
        } else if let Some(d) = line.strip_prefix("#EXTINF:") {
            let secs: f64 = d.trim_end_matches(',').parse().ok()?;
            extinf = Some((secs * 1000.0).round() as i64);
        } else if line == uri {
            return Some((pdt?, extinf?));
        } else if !line.starts_with('#') {
            pdt = None;
        }
    }
    None
}

/// With the multivariant playlist seen, the video rendition decides even when only the audio
/// rendition (whose AAC-aligned boundaries are a few ms off the video's) is being polled:
/// START-DATE is a video segment's PDT exactly, the first CUE-OUT-CONT's ElapsedTime is the
/// first video segment's duration, and DURATION is the planned one.
async fn video_decides(flavor: &str, config: PackagerConfig) {
    let h = Harness::start(&format!("video-decides-{flavor}"), config).await;
    let master = h.playlist(&format!("/{flavor}/demo/master.m3u8")).await;
    assert!(master.contains("video.m3u8"), "{master}");
    let audio_path = format!("/{flavor}/demo/audio.m3u8");
    let video_path = format!("/{flavor}/demo/video.m3u8");
    h.playlist(&audio_path).await;
    h.advance_ms(333);
    let (status, b) = h
        .create_break(&format!("{flavor}/demo"), json!({"duration_ms": 6000}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let id = b["id"].as_u64().unwrap();
    // Only audio is polled; the proxy has the video rendition decide.
    for _ in 0..40 {
        h.advance_ms(250);
        h.playlist(&audio_path).await;
    }
    let listed = h.breaks(&format!("{flavor}/demo")).await;
    let b = listed.iter().find(|b| b["id"] == id).unwrap();
    assert_eq!(b["state"], "ended", "{b}");
    let start = date(&b["decided_start"]);
    let end = date(&b["decided_end"]);
    assert_eq!(
        (end - start).num_milliseconds(),
        6000,
        "DURATION is the planned duration on video boundaries: {b}"
    );
    let video = h.playlist(&video_path).await;
    let out_uri = segments(&video)
        .into_iter()
        .find(|(_, tags)| tags.iter().any(|t| t.contains("SCTE35-OUT=")))
        .map(|(uri, _)| uri)
        .unwrap_or_else(|| panic!("no OUT in the window:\n{video}"));
    let (pdt, first_duration) = segment_date(&video, &out_uri).unwrap();
    assert_eq!(pdt, start, "START-DATE is a video segment's PDT:\n{video}");
    let first_cont = video
        .lines()
        .find(|l| l.starts_with("#EXT-X-CUE-OUT-CONT:"))
        .unwrap_or_else(|| panic!("no CONT:\n{video}"));
    let elapsed = format!(
        "ElapsedTime={}.{:03},",
        first_duration / 1000,
        first_duration % 1000
    );
    assert!(
        first_cont.contains(&elapsed),
        "the first CONT counts the first video segment ({elapsed}): {first_cont}"
    );
    assert!(
        video.contains("DURATION=6.000,"),
        "the closing DATERANGE has the planned duration:\n{video}"
    );
    let audio = h.playlist(&audio_path).await;
    assert_eq!(dateranges(&audio), dateranges(&video), "same tags in audio");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_video_rendition_decides_classic() {
    video_decides(
        "live",
        PackagerConfig {
            part_ms: None,
            ..PackagerConfig::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_video_rendition_decides_ll_hls() {
    video_decides("ll", PackagerConfig::default()).await;
}

/// Without a multivariant playlist the proxy does not know which rendition is primary: the
/// first rendition rendered when a decision is due decides (documented), here the audio one,
/// whose boundaries are AAC-aligned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_multivariant_playlist_any_rendition_decides() {
    let h = Harness::start(
        "no-master",
        PackagerConfig {
            part_ms: None,
            ..PackagerConfig::default()
        },
    )
    .await;
    h.playlist("/live/demo/audio.m3u8").await;
    h.advance_ms(333);
    let (status, b) = h
        .create_break("live/demo", json!({"duration_ms": 6000}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    h.advance_ms(2000);
    let audio = h.playlist("/live/demo/audio.m3u8").await;
    let listed = h.breaks("live/demo").await;
    let start = date(&listed[0]["decided_start"]);
    let out_uri = segments(&audio)
        .into_iter()
        .find(|(_, tags)| tags.iter().any(|t| t.contains("SCTE35-OUT=")))
        .map(|(uri, _)| uri)
        .unwrap_or_else(|| panic!("no OUT:\n{audio}"));
    assert_eq!(segment_date(&audio, &out_uri).unwrap().0, start, "{audio}");
}

/// Lines of one rendition's answers: content (segment URIs and parts) and marker lines seen so
/// far, to tell a marker newly inserted before content already published.
#[derive(Default)]
struct PublicationOrder {
    content: HashSet<String>,
    markers: HashSet<String>,
    answers: usize,
    /// Distinct DATERANGE OUT and IN tags seen (so the test knows breaks really happened).
    outs: usize,
    ins: usize,
}

fn is_content(line: &str) -> bool {
    (!line.starts_with('#') && !line.is_empty()) || line.starts_with("#EXT-X-PART:")
}

impl PublicationOrder {
    /// Checks one answer: a marker line no earlier answer had must not come before a content
    /// line an earlier answer had. (A marker line repeated byte for byte — a DATERANGE that
    /// moved to the top of the window as its segment slid out — is not new.)
    fn check(&mut self, what: &str, playlist: &str) {
        let mut pending_new: Vec<&str> = Vec::new();
        for line in playlist.lines() {
            if is_marker(line) {
                if !self.markers.contains(line) {
                    pending_new.push(line);
                }
            } else if is_content(line) {
                assert!(
                    pending_new.is_empty() || !self.content.contains(line),
                    "{what}, answer {}: {pending_new:?} inserted before {line}, which an earlier answer listed:\n{playlist}",
                    self.answers
                );
                pending_new.clear();
            }
        }
        for line in playlist.lines() {
            if is_marker(line) {
                if self.markers.insert(line.to_owned()) {
                    if line.contains("SCTE35-OUT=") {
                        self.outs += 1;
                    } else if line.contains("SCTE35-IN=") {
                        self.ins += 1;
                    }
                }
            } else if is_content(line) {
                self.content.insert(line.to_owned());
            }
        }
        self.answers += 1;
    }
}

/// Real time, the demo's packager on the system clock: every rendition of both streams polled
/// every 50 ms while breaks start and end (planned INs, an early IN, an IN right after an OUT)
/// through both APIs; no answer ever inserts a marker line before content an earlier answer
/// listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_marker_is_ever_inserted_before_published_content_in_real_time() {
    let packager = Arc::new(Packager::new(
        PackagerConfig::default(),
        Arc::new(SystemClock),
    ));
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    tokio::spawn(packager::serve(packager, upstream, std::future::pending()));
    let dir = temp_dir("realtime-publication");
    let proxy = Proxy::start(ServerConfig {
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::new(format!("http://{upstream_addr}"), dir.clone())
    })
    .await;
    let addr = proxy.addr;
    let client = client();
    for flavor in ["ll", "live"] {
        for path in ["master", "video", "audio"] {
            let r = get(&client, addr, &format!("/{flavor}/demo/{path}.m3u8"), &[]).await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pollers = Vec::new();
    for flavor in ["ll", "live"] {
        for rendition in ["video", "audio"] {
            let (client, stop) = (client.clone(), Arc::clone(&stop));
            let path = format!("/{flavor}/demo/{rendition}.m3u8");
            pollers.push(tokio::spawn(async move {
                let mut order = PublicationOrder::default();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = get(&client, addr, &path, &[]).await;
                    assert_eq!(r.status, StatusCode::OK, "{path}");
                    order.check(&path, &r.text());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (path, order)
            }));
        }
    }

    let api = Api::bearer(TOKEN);
    let ome = Api::basic(TOKEN);
    let send = |flavor: &str| format!("/v1/vhosts/default/apps/{flavor}/streams/demo:sendEvent");
    let pause = |ms| tokio::time::sleep(Duration::from_millis(ms));
    for flavor in ["ll", "live"] {
        // A 2 s break with its planned IN.
        let (status, body) = api
            .post(
                addr,
                &format!("/api/v1/streams/{flavor}/demo/breaks"),
                r#"{"duration_ms":2000}"#,
            )
            .await;
        assert_eq!(status, 201, "{flavor}: {body}");
    }
    pause(3500).await;
    for flavor in ["ll", "live"] {
        // An OvenMediaEngine OUT, ended early a little later.
        let (status, body) = ome
            .post(
                addr,
                &send(flavor),
                r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":20000}]}"#,
            )
            .await;
        assert_eq!(status, 200, "{flavor}: {body}");
    }
    pause(2600).await;
    for flavor in ["ll", "live"] {
        let (status, body) = ome
            .post(
                addr,
                &send(flavor),
                r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
            )
            .await;
        assert_eq!(status, 200, "{flavor}: {body}");
    }
    pause(2500).await;
    for flavor in ["ll", "live"] {
        // An OUT and at once an IN: cancelled if nothing was published, else the next boundary.
        for body in [
            r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":20000}]}"#,
            r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
        ] {
            let (status, answer) = ome.post(addr, &send(flavor), body).await;
            assert_eq!(status, 200, "{flavor}: {answer}");
        }
    }
    pause(2500).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for poller in pollers {
        let (path, order) = poller.await.unwrap();
        assert!(order.answers > 100, "{path}: {} answers", order.answers);
        assert!(
            order.outs >= 2 && order.ins >= 2,
            "{path}: breaks seen: {} OUTs, {} INs",
            order.outs,
            order.ins
        );
    }
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
