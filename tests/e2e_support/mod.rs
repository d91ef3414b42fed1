//! What the end-to-end tests with ffmpeg share: ffmpeg writing live HLS into a folder, a static
//! file server over it (the upstream), and the built `hlsplice serve` in front.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

const BIN: &str = env!("CARGO_BIN_EXE_hlsplice");

/// Kills the child on drop, so a failing assertion leaves no ffmpeg or proxy behind.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts ffmpeg writing a live HLS stream (1 s segments with PROGRAM-DATE-TIME, a window of
/// ten) into `out` as `playlist` and `seg_<n>.ts`.
pub fn start_ffmpeg(out: &Path, playlist: &str) -> Reaper {
    std::fs::create_dir_all(out).expect("create hls dir");
    let child = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args([
            "-g",
            "25",
            "-keyint_min",
            "25",
            "-sc_threshold",
            "0",
            "-b:v",
            "150k",
        ])
        .args(["-c:a", "aac", "-b:a", "48k"])
        .args(["-f", "hls", "-hls_time", "1", "-hls_list_size", "10"])
        .args(["-hls_flags", "delete_segments+program_date_time"])
        .arg("-hls_segment_filename")
        .arg(out.join("seg_%d.ts"))
        .arg(out.join(playlist))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn ffmpeg");
    Reaper(child)
}

/// A static file server over `root` (GET only, no `..`).
pub async fn start_file_server(root: PathBuf) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind file server");
    let addr = listener.local_addr().expect("addr");
    let root = Arc::new(root);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let root = root.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    let root = root.clone();
                    async move { Ok::<_, std::convert::Infallible>(serve_file(&root, req.uri().path())) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn serve_file(root: &Path, path: &str) -> http::Response<Full<Bytes>> {
    let relative = path.trim_start_matches('/');
    let found = if relative.split('/').any(|p| p == ".." || p.is_empty()) {
        None
    } else {
        std::fs::read(root.join(relative)).ok()
    };
    let mut response =
        http::Response::new(Full::new(Bytes::from(found.clone().unwrap_or_default())));
    if found.is_none() {
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return response;
    }
    let content_type = if path.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl"
    } else {
        "video/mp2t"
    };
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

/// Starts `hlsplice serve` with one API token; returns it with the address it logged.
pub fn start_proxy(upstream: SocketAddr, data_dir: &Path, token: &str) -> (Reaper, SocketAddr) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--api-token", token])
        .arg("--upstream")
        .arg(format!("http://{upstream}"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--dialect", "both"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hlsplice serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listen=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("hlsplice serve did not log its address");
    (Reaper(child), addr.parse().expect("listen address"))
}
