//! `hlsplice serve` as a process, for the tests that kill it: the built binary started on a
//! data directory in front of an upstream, its address read from its startup log line, and the
//! built-in packager on a manual clock as that upstream.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hlsplice::packager::{self, ManualClock, Packager, PackagerConfig};
use tokio::net::TcpListener;

use crate::proxy_support::{TOKEN, t0};

pub const BIN: &str = env!("CARGO_BIN_EXE_hlsplice");

/// Starts `hlsplice serve` configured through environment variables (API tokens `other` and
/// [`TOKEN`]) and returns it with the address it listens on (read from its startup log line).
/// Panics when it does not log that line within 20 s: it could not start (a data directory it
/// cannot open, say).
pub fn spawn_serve(upstream: SocketAddr, data_dir: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("HLSPLICE_UPSTREAM", format!("http://{upstream}"))
        .env("HLSPLICE_DATA_DIR", data_dir)
        .env("HLSPLICE_API_TOKENS", format!("other,{TOKEN}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listen=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serve did not log its address");
    (child, addr.parse().unwrap())
}

/// The built-in packager on a manual clock starting at [`t0`], serving on loopback (until the
/// test's runtime ends): the clock and the address.
pub async fn packager_upstream(config: PackagerConfig) -> (Arc<ManualClock>, SocketAddr) {
    let clock = Arc::new(ManualClock::new(t0()));
    let packager = Arc::new(Packager::new(config, clock.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(packager::serve(packager, listener, std::future::pending()));
    (clock, upstream)
}
