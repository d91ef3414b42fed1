//! A stream at the upstream's root, end to end: ffmpeg writes `stream.m3u8` and its segments at
//! the root of the folder a static file server serves, `hlsplice serve` sits in front, and the
//! API addresses the playlist's stream by the name the README gives it, `/` (`%2F` in an API
//! path, or left empty). A break made through it is served as markers in `/stream.m3u8`.
//!
//! ffmpeg runs for about ten seconds. Without ffmpeg the test fails.
#![cfg(unix)]

mod e2e_support;
mod proxy_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::{start_ffmpeg, start_file_server, start_proxy};
use proxy_support::Api;
use serde_json::Value;

const TOKEN: &str = "e2e-root-token";
const PLAYLIST: &str = "/stream.m3u8";

fn require_ffmpeg() {
    let runs = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "e2e_ffmpeg_root needs ffmpeg on the PATH (apt-get install -y ffmpeg)"
    );
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Each media segment's URI with the tag lines since the previous one.
fn segments(playlist: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut tags = Vec::new();
    for line in playlist.lines().map(str::trim_end) {
        if line.starts_with('#') {
            tags.push(line.to_owned());
        } else if !line.is_empty() {
            out.push((line.to_owned(), std::mem::take(&mut tags)));
        }
    }
    out
}

/// The segment whose tags hold the DATERANGE `id` carrying `attribute` (SCTE35-OUT or -IN)
/// and a tag starting with `cue`; `None` when no segment does.
fn segment_with(playlist: &str, id: &str, attribute: &str, cue: &str) -> Option<String> {
    let id = format!("ID=\"{id}\"");
    segments(playlist)
        .into_iter()
        .find(|(_, tags)| {
            tags.iter().any(|t| {
                t.starts_with("#EXT-X-DATERANGE:") && t.contains(&id) && t.contains(attribute)
            }) && tags.iter().any(|t| t.starts_with(cue))
        })
        .map(|(uri, _)| uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_at_the_upstream_root_is_the_stream_named_slash() {
    require_ffmpeg();
    let work =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let hls = work.join("hls");
    let _ffmpeg = start_ffmpeg(&hls, "stream.m3u8");
    let files = start_file_server(hls.clone()).await;
    let (_proxy, addr) = start_proxy(files, &work.join("data"), TOKEN);
    let api = Api::bearer(TOKEN);

    // ffmpeg needs a few seconds before its playlist exists and holds a few segments.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = api.get(addr, PLAYLIST).await;
        if status == 200 && segments(&body).len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ffmpeg's playlist never came through the proxy: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Listed under its name, `/`.
    let (status, body) = api.get(addr, "/api/v1/streams").await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<Value> = json(&body)["streams"]
        .as_array()
        .expect("a stream list")
        .iter()
        .map(|s| s["stream"].clone())
        .collect();
    assert_eq!(names, [Value::from("/")], "{body}");

    // A break through `%2F`; the same request through the empty name is the same break.
    let (_, before) = api.get(addr, PLAYLIST).await;
    let create = r#"{"duration_ms": 3000, "request_id": "root-1"}"#;
    let (status, body) = api.post(addr, "/api/v1/streams/%2F/breaks", create).await;
    assert_eq!(status, 201, "{body}");
    let created = json(&body);
    assert_eq!(created["stream"], "/", "{body}");
    let id = created["id"].as_u64().expect("an id");
    let daterange_id = created["daterange_id"].as_str().expect("a DATERANGE ID");
    let (status, body) = api.post(addr, "/api/v1/streams//breaks", create).await;
    assert_eq!(
        status, 200,
        "the idempotent repeat by the empty name: {body}"
    );
    assert_eq!(json(&body)["id"], id, "{body}");
    for path in [
        format!("/api/v1/streams/%2F/breaks/{id}"),
        format!("/api/v1/streams//breaks/{id}"),
        format!("/api/v1/streams/%2f/breaks/{id}"),
    ] {
        let (status, body) = api.get(addr, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(json(&body)["id"], id, "{path}: {body}");
    }
    let (status, body) = api.get(addr, "/api/v1/streams//breaks").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["breaks"][0]["id"], id, "{body}");
    for path in ["/api/v1/streams/%2F/policy", "/api/v1/streams//policy"] {
        let (status, body) = api.get(addr, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The playlist's own name is not the stream's.
    let (status, body) = api.get(addr, "/api/v1/streams/stream/breaks").await;
    assert_eq!(status, 404, "{body}");

    // The break as markers in /stream.m3u8: the OUT (DATERANGE with SCTE35-OUT, CUE-OUT), then
    // the IN three seconds later.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (out, played) = loop {
        let (status, playlist) = api.get(addr, PLAYLIST).await;
        assert_eq!(status, 200, "{playlist}");
        let out = segment_with(&playlist, daterange_id, "SCTE35-OUT=", "#EXT-X-CUE-OUT:");
        let back = segment_with(&playlist, daterange_id, "SCTE35-IN=", "#EXT-X-CUE-IN");
        if let (Some(out), Some(_)) = (out, back) {
            break (out, playlist);
        }
        assert!(
            Instant::now() < deadline,
            "no OUT and IN of break {id} in {PLAYLIST}:\n{playlist}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let order: Vec<String> = segments(&played).into_iter().map(|(uri, _)| uri).collect();
    let back = segment_with(&played, daterange_id, "SCTE35-IN=", "#EXT-X-CUE-IN").unwrap();
    let (out_at, in_at) = (
        order.iter().position(|u| *u == out).unwrap(),
        order.iter().position(|u| *u == back).unwrap(),
    );
    assert!(
        in_at
            .checked_sub(out_at)
            .is_some_and(|n| (2..=4).contains(&n)),
        "a 3 s break over 1 s segments: OUT on {out}, IN on {back}:\n{played}"
    );
    assert!(
        segments(&before).iter().all(|(uri, _)| *uri != out),
        "the OUT went on {out}, published before the break was asked for:\n{before}"
    );
    let (status, body) = api
        .get(addr, &format!("/api/v1/streams/%2F/breaks/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["state"], "ended", "{body}");
    let _ = std::fs::remove_dir_all(&work);
}
