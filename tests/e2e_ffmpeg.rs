//! End to end against a real packager: ffmpeg writes a rolling live HLS stream with
//! PROGRAM-DATE-TIME into a temporary folder, a tiny static file server serves it, and the
//! built `hlsplice serve` sits in front. Through the OvenMediaEngine-style API the test starts
//! breaks and checks what the proxy serves over many refreshes: CUE-OUT on the first segment
//! published after the request, CONT on the following ones, CUE-IN after the duration, the
//! DATERANGE pair, an early IN, tags never changing once published, SIGKILL + restart mid-break
//! keeping the break; and ffprobe reads the stream through the proxy.
//!
//! Every playlist the proxy served is saved to `$HLSPLICE_E2E_OUT` (default
//! `target/tmp/e2e-playlists/`) with `breaks.json`, for the player-parser oracles in
//! tests/clients/. Without ffmpeg the test says so and passes, unless `HLSPLICE_REQUIRE_FFMPEG`
//! is set (CI).
#![cfg(unix)]

mod e2e_support;
mod ffmpeg_support;
mod proxy_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::{start_ffmpeg, start_file_server, start_proxy};
use ffmpeg_support::ffmpeg_available;
use proxy_support::Api;

const TOKEN: &str = "e2e-token";
const PLAYLIST: &str = "/live/e2e/index.m3u8";
const OME: &str = "/v1/vhosts/default/apps/live/streams/e2e:sendEvent";

/// One media segment of a served playlist with the marker tags right before it.
#[derive(Clone, Debug, PartialEq)]
struct Segment {
    uri: String,
    pdt: Option<chrono::DateTime<chrono::Utc>>,
    markers: Vec<String>,
}

const MARKERS: [&str; 5] = [
    "#EXT-X-CUE-OUT:",
    "#EXT-X-CUE-OUT-CONT",
    "#EXT-X-CUE-IN",
    "#EXT-X-DATERANGE:",
    "#EXT-OATCLS-SCTE35",
];

fn parse(playlist: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut markers = Vec::new();
    let mut pdt = None;
    for line in playlist.lines().map(str::trim_end) {
        if let Some(t) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            // ffmpeg writes `+0000` offsets, which RFC 3339 parsing refuses.
            pdt = chrono::DateTime::parse_from_rfc3339(t)
                .or_else(|_| chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc));
        } else if MARKERS.iter().any(|m| line.starts_with(m)) {
            markers.push(line.to_owned());
        } else if !line.is_empty() && !line.starts_with('#') {
            out.push(Segment {
                uri: line.to_owned(),
                pdt: pdt.take(),
                markers: std::mem::take(&mut markers),
            });
        }
    }
    out
}

fn has(segment: &Segment, prefix: &str) -> bool {
    segment.markers.iter().any(|m| m.starts_with(prefix))
}

/// Polls the proxy, saves every playlist it serves and checks published tags never change.
struct Watcher {
    api: Api,
    addr: SocketAddr,
    out: PathBuf,
    saved: usize,
    /// Everything ever published, by segment URI, as first seen.
    published: HashMap<String, Segment>,
    order: Vec<String>,
}

impl Watcher {
    async fn refresh(&mut self) -> Vec<Segment> {
        let (status, body) = self.api.get(self.addr, PLAYLIST).await;
        assert_eq!(status, 200, "playlist through the proxy: {body}");
        assert!(body.starts_with("#EXTM3U"), "{body}");
        self.saved += 1;
        let file = self
            .out
            .join(format!("live_e2e_index_{:04}.m3u8", self.saved));
        std::fs::write(&file, &body).expect("save playlist");
        let segments = parse(&body);
        for (i, s) in segments.iter().enumerate() {
            match self.published.get(&s.uri) {
                // The window's first segment may lose tags of a break that began before it.
                Some(seen) if i > 0 => assert_eq!(
                    seen.markers,
                    s.markers,
                    "tags of {} changed between refreshes (saved in {})",
                    s.uri,
                    file.display()
                ),
                Some(_) => {}
                None => {
                    self.order.push(s.uri.clone());
                    self.published.insert(s.uri.clone(), s.clone());
                }
            }
        }
        segments
    }

    /// Refreshes every 300 ms until `done` holds for the published segments (in order).
    async fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&[Segment]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            self.refresh().await;
            let all: Vec<Segment> = self
                .order
                .iter()
                .filter_map(|u| self.published.get(u).cloned())
                .collect();
            if done(&all) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; published: {all:#?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    fn segments_after(&self, known: &[String]) -> Vec<Segment> {
        self.order
            .iter()
            .filter(|u| !known.contains(u))
            .filter_map(|u| self.published.get(u).cloned())
            .collect()
    }
}

/// Posts an OvenMediaEngine cue event; returns the URIs published before the request.
async fn ome_event(w: &mut Watcher, body: &str) -> Vec<String> {
    w.refresh().await;
    let before = w.order.clone();
    let (status, answer) = w.api.post(w.addr, OME, body).await;
    assert_eq!(status, 200, "sendEvent {body}: {answer}");
    assert!(answer.contains("\"statusCode\":200"), "{answer}");
    before
}

/// Checks one finished break among the segments published after its OUT request: OUT on the
/// first, CONT until the IN, the DATERANGE pair, and the IN `expect_s` seconds after the OUT.
fn check_break(after: &[Segment], expect_s: f64, tolerance_s: f64) -> (String, String) {
    let first = after.first().expect("segments after the OUT");
    assert!(
        has(first, "#EXT-X-CUE-OUT:"),
        "CUE-OUT not on the first new segment: {after:#?}"
    );
    let out_range = first
        .markers
        .iter()
        .find(|m| m.starts_with("#EXT-X-DATERANGE:") && m.contains("SCTE35-OUT="))
        .unwrap_or_else(|| panic!("no DATERANGE with SCTE35-OUT on {first:?}"))
        .clone();
    let id = attribute(&out_range, "ID").expect("DATERANGE ID");
    let in_at = after
        .iter()
        .position(|s| has(s, "#EXT-X-CUE-IN"))
        .expect("a CUE-IN");
    for s in &after[1..in_at] {
        assert!(has(s, "#EXT-X-CUE-OUT-CONT"), "no CONT on {s:?}");
        assert!(!has(s, "#EXT-X-CUE-OUT:"), "second OUT on {s:?}");
    }
    let in_segment = &after[in_at];
    let in_range = in_segment
        .markers
        .iter()
        .find(|m| m.starts_with("#EXT-X-DATERANGE:") && m.contains("SCTE35-IN="))
        .unwrap_or_else(|| panic!("no DATERANGE with SCTE35-IN on {in_segment:?}"))
        .clone();
    assert_eq!(
        attribute(&in_range, "ID"),
        Some(id.clone()),
        "DATERANGE pair IDs differ"
    );
    let (Some(a), Some(b)) = (first.pdt, in_segment.pdt) else {
        panic!("segments without PROGRAM-DATE-TIME");
    };
    let took = (b - a).num_milliseconds() as f64 / 1000.0;
    assert!(
        (took - expect_s).abs() <= tolerance_s,
        "IN {took} s after the OUT, expected {expect_s} s"
    );
    (id, in_segment.uri.clone())
}

fn attribute(line: &str, name: &str) -> Option<String> {
    let rest = line.split_once(':')?.1;
    let start = rest.find(&format!("{name}="))? + name.len() + 1;
    let value = &rest[start..];
    let value = if let Some(quoted) = value.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        value.split(',').next()?
    };
    Some(value.to_owned())
}

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("HLSPLICE_E2E_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-playlists"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create output dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_packager_through_hlsplice_serve() {
    if !ffmpeg_available("e2e_ffmpeg") {
        return;
    }
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let hls = work.join("hls");
    let data = work.join("data");
    std::fs::create_dir_all(&hls).expect("work dir");
    let out = out_dir();

    let _ffmpeg = start_ffmpeg(&hls.join("live/e2e"), "index.m3u8");
    let files = start_file_server(hls.clone()).await;
    let (proxy, addr) = start_proxy(files, &data, TOKEN);
    let mut w = Watcher {
        api: Api::basic(TOKEN),
        addr,
        out: out.clone(),
        saved: 0,
        published: HashMap::new(),
        order: Vec::new(),
    };

    // ffmpeg needs a few seconds before its playlist exists and holds a few segments.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = w.api.get(addr, PLAYLIST).await;
        if status == 200 && parse(&body).len() >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ffmpeg's playlist never appeared: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Break 1: 4 s, ends by itself.
    let known = ome_event(
        &mut w,
        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":4000}]}"#,
    )
    .await;
    w.until("the first break's CUE-IN", Duration::from_secs(20), |all| {
        all.iter()
            .skip(known.len())
            .any(|s| has(s, "#EXT-X-CUE-IN"))
    })
    .await;
    let (id1, _) = check_break(&w.segments_after(&known), 4.0, 0.5);

    // Break 2: 30 s planned, ended early by an IN after about two segments.
    let known = ome_event(
        &mut w,
        r#"{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":4242,"type":"out","duration":30000}]}"#,
    )
    .await;
    w.until("the second break's CONT", Duration::from_secs(15), |all| {
        all.iter()
            .skip(known.len())
            .filter(|s| has(s, "#EXT-X-CUE-OUT-CONT"))
            .count()
            >= 1
    })
    .await;
    let before_in = ome_event(
        &mut w,
        r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
    )
    .await;
    w.until("the early CUE-IN", Duration::from_secs(15), |all| {
        all.iter()
            .skip(known.len())
            .any(|s| has(s, "#EXT-X-CUE-IN"))
    })
    .await;
    let after2 = w.segments_after(&known);
    let in_at = after2
        .iter()
        .position(|s| has(s, "#EXT-X-CUE-IN"))
        .unwrap_or(usize::MAX);
    let early_in_segment = w.segments_after(&before_in).first().map(|s| s.uri.clone());
    assert_eq!(
        after2.get(in_at).map(|s| s.uri.clone()),
        early_in_segment,
        "the early IN is not on the first segment published after the IN request"
    );
    let took = after2.len().min(in_at);
    let (id2, _) = check_break(&after2, took as f64, 0.6);
    assert_ne!(id1, id2);
    assert!(after2.iter().take(in_at + 1).any(|s| {
        s.markers
            .iter()
            .any(|m| m.contains("DURATION=30") || m.contains("Duration=30"))
    }));

    // Break 3: SIGKILL the proxy mid-break, restart it on the same data dir.
    let known = ome_event(
        &mut w,
        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":5000}]}"#,
    )
    .await;
    w.until(
        "the third break's OUT and a CONT",
        Duration::from_secs(15),
        |all| {
            all.iter()
                .skip(known.len())
                .any(|s| has(s, "#EXT-X-CUE-OUT-CONT"))
        },
    )
    .await;
    let mut proxy = proxy;
    // Child::kill is SIGKILL on Unix: no shutdown path runs.
    proxy.0.kill().expect("SIGKILL the proxy");
    let _ = proxy.0.wait();
    let (_proxy, addr) = start_proxy(files, &data, TOKEN);
    w.addr = addr;
    w.until(
        "the third break's CUE-IN after the restart",
        Duration::from_secs(20),
        |all| {
            all.iter()
                .skip(known.len())
                .any(|s| has(s, "#EXT-X-CUE-IN"))
        },
    )
    .await;
    let (id3, _) = check_break(&w.segments_after(&known), 5.0, 0.5);
    assert!(id3 != id1 && id3 != id2);
    // A few more refreshes after the IN: nothing published changes.
    for _ in 0..4 {
        w.refresh().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The breaks as the API reports them, for the client oracles.
    let basic_list = w.api.get(addr, "/api/v1/streams/live/e2e/breaks").await;
    assert_eq!(basic_list.0, 200, "{}", basic_list.1);
    std::fs::write(out.join("breaks.json"), &basic_list.1).expect("save breaks.json");
    // The last playlist, under a stable name.
    let (_, last) = w.api.get(addr, PLAYLIST).await;
    std::fs::write(out.join("live_e2e_index_last.m3u8"), &last).expect("save");

    // ffprobe reads the stream through the proxy.
    let url = format!("http://{addr}{PLAYLIST}");
    let probe = tokio::task::spawn_blocking(move || {
        Command::new("ffprobe")
            .args(["-v", "error", "-rw_timeout", "10000000"])
            .args([
                "-show_entries",
                "stream=codec_type,codec_name",
                "-of",
                "csv=p=0",
                &url,
            ])
            .output()
    })
    .await
    .expect("join")
    .expect("ffprobe runs");
    let streams = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert!(
        streams.contains("h264,video") && streams.contains("aac,audio"),
        "{streams}"
    );
    eprintln!(
        "e2e_ffmpeg: {} playlists saved in {}",
        w.saved,
        out.display()
    );
    let _ = std::fs::remove_dir_all(&work);
}
