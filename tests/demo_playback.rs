//! The demo plays through the proxy: the built-in packager (system clock) with `server::run` in
//! front of it on loopback, an ad break started through the API on each stream, then ffprobe and
//! ffmpeg read `/live/demo/master.m3u8` (classic, MPEG-TS) and `/ll/demo/master.m3u8` (LL-HLS,
//! fMP4) through the proxy while the playlists carry the break's markers. ffmpeg talks to the
//! proxy through a byte-for-byte relay that counts `#EXT-X-CUE-OUT` in what the proxy sent it, so
//! the test knows ffmpeg itself was served the markers.
//!
//! Skipped (with a message) when ffmpeg/ffprobe are missing, unless HLSPLICE_REQUIRE_FFMPEG=1.
//! hls.js is not run here: its loader needs Media Source Extensions, which Node does not have.
mod ffmpeg_support;
mod proxy_support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use hlsplice::packager::{self, Packager, PackagerConfig, SystemClock};
use hlsplice::server::{self, ServerConfig};

use ffmpeg_support::ffmpeg_available;
use proxy_support::Api;

const TOKEN: &str = "playback-test-token";
/// What the relay looks for in the proxy's responses (matches CUE-OUT and CUE-OUT-CONT).
const MARKER: &[u8] = b"#EXT-X-CUE-OUT";
/// A TCP relay on loopback in front of `target`: bytes pass through unchanged both ways; every
/// occurrence of [`MARKER`] in the target's responses is counted in `seen`.
async fn relay(target: SocketAddr, seen: Arc<AtomicUsize>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind relay");
    let addr = listener.local_addr().expect("relay addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut upstream_read, mut upstream_write) = upstream.into_split();
                let requests = async {
                    let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
                    let _ = upstream_write.shutdown().await;
                };
                let responses = async {
                    // The previous chunk's tail, so a marker split across reads is still seen.
                    let mut window = Vec::with_capacity(16 * 1024 + MARKER.len());
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match upstream_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        window.extend_from_slice(&buf[..n]);
                        let found = window
                            .windows(MARKER.len())
                            .filter(|w| *w == MARKER)
                            .count();
                        seen.fetch_add(found, Ordering::Relaxed);
                        let keep = MARKER.len() - 1;
                        let drop = window.len().saturating_sub(keep);
                        window.drain(..drop);
                    }
                    let _ = client_write.shutdown().await;
                };
                tokio::join!(requests, responses);
            });
        }
    });
    addr
}

/// ffprobe's streams as (codec_type, codec_name).
fn streams(url: &str) -> Vec<(String, String)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "10000000"])
        .args(["-show_streams", "-of", "compact=p=0", url])
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {url} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let field = |name: &str| {
                line.split('|')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .unwrap_or("")
                    .to_owned()
            };
            (field("codec_type"), field("codec_name"))
        })
        .collect()
}

/// Decodes 4 s of `url` with ffmpeg into the null muxer; returns the decoded duration in seconds
/// (`out_time_us` of ffmpeg's last progress report) and the number of video frames.
fn decode(url: &str) -> (f64, u64) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats", "-v", "error"])
        .args(["-rw_timeout", "10000000", "-i", url])
        .args(["-t", "4", "-f", "null", "-progress", "pipe:1", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {url} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let progress = String::from_utf8_lossy(&out.stdout);
    let last = |key: &str| {
        progress
            .lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .filter_map(|v| v.trim().parse::<i64>().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no {key} in ffmpeg's progress:\n{progress}"))
    };
    let seconds = last("out_time_us") as f64 / 1e6;
    let frames = u64::try_from(last("frame")).unwrap_or(0);
    (seconds, frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_both_streams_through_the_proxy_during_a_break() {
    if !ffmpeg_available("demo_playback") {
        return;
    }
    let started = Instant::now();
    let packager = Arc::new(Packager::new(
        PackagerConfig::default(),
        Arc::new(SystemClock),
    ));
    let packager_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = packager_listener.local_addr().expect("addr");
    let (stop_packager, packager_stopped) = tokio::sync::oneshot::channel::<()>();
    let packager_task = tokio::spawn(packager::serve(
        packager.clone(),
        packager_listener,
        async {
            let _ = packager_stopped.await;
        },
    ));

    let data = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("playback-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy = listener.local_addr().expect("addr");
    let config = ServerConfig {
        upstream: format!("http://{upstream}"),
        listen: proxy,
        data_dir: data.clone(),
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::default()
    };
    let (stop_proxy, proxy_stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy_task = tokio::spawn(server::run(config, listener, async {
        let _ = proxy_stopped.await;
    }));
    let api = Api::bearer(TOKEN);

    // A break long enough to cover every ffmpeg run below, on each stream, through the native API
    // (the stream becomes known to the proxy with its first playlist request).
    for flavor in ["live", "ll"] {
        for rendition in ["video", "audio"] {
            let path = format!("/{flavor}/demo/{rendition}.m3u8");
            let (status, body) = api.get(proxy, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
        let (status, body) = api
            .post(
                proxy,
                &format!("/api/v1/streams/{flavor}/demo/breaks"),
                r#"{"duration_ms":60000,"start":"now"}"#,
            )
            .await;
        assert_eq!(status, 201, "{flavor}: {body}");
    }
    // The break shows in both streams before ffmpeg starts reading.
    let deadline = Instant::now() + Duration::from_secs(8);
    for flavor in ["live", "ll"] {
        let path = format!("/{flavor}/demo/video.m3u8");
        loop {
            let (status, body) = api.get(proxy, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            if body.contains("#EXT-X-CUE-OUT:") {
                break;
            }
            assert!(Instant::now() < deadline, "{path}: no CUE-OUT yet:\n{body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    for flavor in ["live", "ll"] {
        let seen = Arc::new(AtomicUsize::new(0));
        let front = relay(proxy, seen.clone()).await;
        let url = format!("http://{front}/{flavor}/demo/master.m3u8");
        let t = Instant::now();
        let (found, (seconds, frames)) = tokio::task::spawn_blocking(move || {
            let found = streams(&url);
            (found, decode(&url))
        })
        .await
        .expect("join");
        eprintln!(
            "{flavor}: streams {found:?}, decoded {seconds:.3} s / {frames} video frames, \
             {} markers served, {:.1} s",
            seen.load(Ordering::Relaxed),
            t.elapsed().as_secs_f64()
        );
        assert!(
            found.iter().any(|(k, n)| k == "video" && n == "h264"),
            "{flavor}: {found:?}"
        );
        assert!(
            found.iter().any(|(k, n)| k == "audio" && n == "aac"),
            "{flavor}: {found:?}"
        );
        assert!(seconds >= 3.0, "{flavor}: decoded only {seconds} s");
        assert!(frames > 0, "{flavor}: no video frames decoded");
        assert!(
            seen.load(Ordering::Relaxed) > 0,
            "{flavor}: the proxy served ffmpeg no playlist with #EXT-X-CUE-OUT"
        );
    }
    assert!(packager.media_requests() > 0);
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());

    let _ = stop_proxy.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), proxy_task).await;
    let _ = stop_packager.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), packager_task).await;
    let _ = std::fs::remove_dir_all(&data);
}
