//! A real `redis-server` (the OS package) for tests: each one on a free loopback port in its
//! own temporary directory, killed when dropped.
//!
//! A test that needs it FAILS when `redis-server` cannot be found (`apt-get install
//! redis-server`; `.ci/run` installs it), unless `HLSPLICE_SKIP_REDIS=1` says to skip the
//! Redis tests on this machine. `HLSPLICE_REDIS_SERVER` names another binary.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that lets the Redis tests be skipped where no Redis is installed.
pub const SKIP_ENV: &str = "HLSPLICE_SKIP_REDIS";

/// How the server persists what it acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing on disk (`save ""`, `appendonly no`).
    None,
    /// `appendonly yes`, `appendfsync always`: every acknowledged write is on disk.
    AofAlways,
}

/// A running (or stopped) `redis-server`.
pub struct RedisServer {
    binary: PathBuf,
    pub port: u16,
    dir: PathBuf,
    persistence: Persistence,
    child: Option<Child>,
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HLSPLICE_REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts a server, or `None` when `redis-server` is missing and [`SKIP_ENV`] is set.
    ///
    /// # Panics
    /// When `redis-server` is missing (and the tests are not told to skip), or does not start.
    pub fn start(persistence: Persistence) -> Option<RedisServer> {
        let Some(binary) = binary() else {
            if std::env::var_os(SKIP_ENV).is_some_and(|v| v == "1") {
                eprintln!("redis-server not found and {SKIP_ENV}=1: skipping this Redis test");
                return None;
            }
            panic!(
                "redis-server not found (apt-get install redis-server, or set HLSPLICE_REDIS_SERVER); \
                 set {SKIP_ENV}=1 to skip the Redis tests on this machine"
            );
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hlsplice-redis-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            binary,
            port: 0,
            dir,
            persistence,
            child: None,
        };
        // A port found free may be taken before the server binds it: try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.launch() {
                return Some(server);
            }
        }
        panic!("redis-server did not start (see {})", server.dir.display());
    }

    fn launch(&mut self) -> bool {
        let mut command = Command::new(&self.binary);
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"));
        match self.persistence {
            Persistence::None => {
                command.args(["--appendonly", "no"]);
            }
            Persistence::AofAlways => {
                command.args(["--appendonly", "yes", "--appendfsync", "always"]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return true;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A connection to the server (for tests that look at what it stores).
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_millis(500))
    }

    /// Whether the server answers PING.
    pub fn ping(&self) -> bool {
        self.connection()
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con))
            .is_ok_and(|answer| answer == "PONG")
    }

    /// Kills the server at once (SIGKILL: nothing flushed that was not already).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (its AOF, if any, is replayed).
    ///
    /// # Panics
    /// When it does not come back.
    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if self.launch() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not restart on port {}", self.port);
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
