//! Client connections, bounded (issue 10 §2): `max_connections` (the longest idle connection is
//! closed for a new one; with every connection busy the new one is closed at once), the header
//! and body read timeouts against slow clients, the keep-alive idle timeout, and the open-file
//! limit raised at start-up.
mod proxy_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hlsplice::server::ServerConfig;
use http::{Request, Response as HttpResponse, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use proxy_support::fake_upstream::*;
use proxy_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One client connection, held explicitly (a pooled client would open others behind our back).
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// Ends when the server closes the connection.
    task: JoinHandle<()>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Conn { sender, task }
    }

    /// `GET path` on this connection: the status and body, or why it failed.
    async fn get(&mut self, path: &str) -> Result<(StatusCode, String), String> {
        let answer = async {
            self.sender.ready().await.map_err(|e| e.to_string())?;
            let request = Request::get(path)
                .header("host", "proxy")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
        };
        tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .unwrap_or_else(|_| Err("no answer within 10 s".to_owned()))
    }

    async fn metric(&mut self, name: &str) -> f64 {
        let (status, text) = self.get("/metrics").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    }

    fn is_open(&self) -> bool {
        !self.task.is_finished()
    }

    /// Waits up to `limit` for the server to close the connection.
    async fn closed_within(self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.task).await.is_ok()
    }
}

fn start(upstream: SocketAddr, tweak: impl FnOnce(ServerConfig) -> ServerConfig) -> ServerConfig {
    let dir = temp_dir("connections");
    tweak(ServerConfig {
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::new(format!("http://{upstream}"), dir)
    })
}

async fn static_upstream() -> SocketAddr {
    tiny_upstream(|_req| async { HttpResponse::new(body(MEDIA_PLAYLIST.as_bytes())) })
        .await
        .0
}

/// `max_connections = 3` with three idle keep-alive connections: a fourth is served, and the
/// one idle the longest is closed for it; the other two stay usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_the_longest_idle_connection_is_closed_for_a_new_one() {
    let config = start(static_upstream().await, |c| ServerConfig {
        max_connections: Some(3),
        ..c
    });
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut conn = Conn::open(proxy.addr).await;
        assert_eq!(conn.get("/healthz").await.unwrap().0, StatusCode::OK);
        open.push(conn);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut fourth = Conn::open(proxy.addr).await;
    let started = Instant::now();
    assert_eq!(fourth.get("/healthz").await.unwrap().0, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
    let oldest = open.remove(0);
    assert!(
        oldest.closed_within(Duration::from_secs(2)).await,
        "the longest idle connection was not closed"
    );
    for conn in &mut open {
        assert!(conn.is_open());
        assert_eq!(conn.get("/healthz").await.unwrap().0, StatusCode::OK);
    }
    assert_eq!(
        fourth
            .metric("hlsplice_connections_closed_idle_total")
            .await,
        1.0
    );
    assert_eq!(
        fourth.metric("hlsplice_connections_refused_total").await,
        0.0
    );
    drop((open, fourth));
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `max_connections = 2`, both with a request in flight (the upstream holds it): a third
/// connection is closed at once, without an answer; once the requests are answered, a new
/// connection is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_connection_busy_a_new_one_is_closed_at_once() {
    let (release, released) = watch::channel(false);
    let (upstream, upstream_requests) = tiny_upstream(move |_req| {
        let mut released = released.clone();
        async move {
            let _ = released.wait_for(|r| *r).await;
            HttpResponse::new(body(MEDIA_PLAYLIST.as_bytes()))
        }
    })
    .await;
    let config = start(upstream, |c| ServerConfig {
        max_connections: Some(2),
        upstream_timeout_ms: 10_000,
        ..c
    });
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut busy = Vec::new();
    for path in ["/live/a/video.m3u8", "/live/b/video.m3u8"] {
        let mut conn = Conn::open(proxy.addr).await;
        busy.push(tokio::spawn(async move {
            let answer = conn.get(path).await;
            (answer, conn)
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while upstream_requests.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the requests never reached upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let mut third = Conn::open(proxy.addr).await;
    let refused = third.get("/healthz").await;
    assert!(refused.is_err(), "served past max_connections: {refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    release.send_replace(true);
    let mut conns = Vec::new();
    for held in busy {
        let (answer, conn) = held.await.unwrap();
        assert_eq!(answer.unwrap().0, StatusCode::OK);
        conns.push(conn);
    }
    let mut fourth = Conn::open(proxy.addr).await;
    assert_eq!(fourth.get("/healthz").await.unwrap().0, StatusCode::OK);
    assert_eq!(
        fourth.metric("hlsplice_connections_refused_total").await,
        1.0
    );
    drop((conns, fourth));
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads what the server sends until it closes the connection (or `limit` passes): the bytes,
/// and when the connection ended.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Instant>) {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (
        String::from_utf8_lossy(&answer).into_owned(),
        read.ok().map(|()| Instant::now()),
    )
}

/// `header_read_timeout_ms = 300`: a client that sends half of its request headers and then
/// nothing is disconnected after about 300 ms, unanswered; complete requests are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_dropped_after_header_read_timeout() {
    let config = start(static_upstream().await, |c| ServerConfig {
        header_read_timeout_ms: 300,
        ..c
    });
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut slow = TcpStream::connect(proxy.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nAccept: */")
        .await
        .unwrap();
    let sent = Instant::now();
    let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    let closed = closed.expect("the connection was not closed within 3 s") - sent;
    assert!(
        closed >= Duration::from_millis(250) && closed < Duration::from_millis(1500),
        "{closed:?}"
    );
    assert!(!answer.contains(" 200 "), "{answer}");

    let mut conn = Conn::open(proxy.addr).await;
    assert_eq!(conn.get("/healthz").await.unwrap().0, StatusCode::OK);
    drop(conn);
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `body_read_timeout_ms = 500`: an authenticated POST whose body trickles in a byte every
/// 100 ms (never idle for long, but two seconds in all) answers 408 after about 500 ms; the
/// same request sent at once is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_api_body_gets_408_after_body_read_timeout() {
    const BODY: &[u8] = br#"{"duration_ms":4000}"#;
    let config = start(static_upstream().await, |c| ServerConfig {
        body_read_timeout_ms: 500,
        ..c
    });
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut conn = Conn::open(proxy.addr).await;
    assert_eq!(
        conn.get("/live/a/video.m3u8").await.unwrap().0,
        StatusCode::OK
    );

    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/v1/streams/live/a/breaks HTTP/1.1\r\nHost: proxy\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        BODY.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let sent = Instant::now();
    let trickle = tokio::spawn(async move {
        for byte in BODY {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
        }
        writer
    });
    let answered = tokio::time::timeout(Duration::from_secs(3), async {
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            Instant::now(),
        )
    })
    .await;
    let (answer, at) = answered.expect("no answer within 3 s");
    let took = at - sent;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    drop(trickle);

    let (status, text) = Api::bearer(TOKEN)
        .post(
            proxy.addr,
            "/api/v1/streams/live/a/breaks",
            std::str::from_utf8(BODY).unwrap(),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    drop(conn);
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `keepalive_idle_ms = 300` (header read timeout left at 10 s): a keep-alive connection with
/// no request is closed after about 300 ms (checked every housekeeping tick, 100 ms here),
/// while one sending a request every 100 ms stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_keepalive_idle_ms() {
    let config = start(static_upstream().await, |c| ServerConfig {
        keepalive_idle_ms: 300,
        housekeeping_ms: 1_000,
        ..c
    });
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut idle = Conn::open(proxy.addr).await;
    let mut active = Conn::open(proxy.addr).await;
    assert_eq!(idle.get("/healthz").await.unwrap().0, StatusCode::OK);
    let since = Instant::now();
    let closed = tokio::spawn(async move {
        let closed = idle.closed_within(Duration::from_secs(3)).await;
        (closed, since.elapsed())
    });
    for _ in 0..8 {
        assert_eq!(active.get("/healthz").await.unwrap().0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(active.is_open(), "a connection in use was closed");
    let (closed, after) = closed.await.unwrap();
    assert!(closed, "the idle connection was not closed within 3 s");
    assert!(
        after >= Duration::from_millis(250) && after < Duration::from_millis(1500),
        "{after:?}"
    );
    drop(active);
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// At start-up the soft open-file limit is raised to the hard limit (lowered here first, so
/// the test sees the proxy raise it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start_up() {
    use rlimit::Resource;
    let (_, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    let lowered = (hard / 2).clamp(1024.min(hard - 1), hard - 1);
    rlimit::setrlimit(Resource::NOFILE, lowered, hard).unwrap();
    assert_eq!(rlimit::getrlimit(Resource::NOFILE).unwrap().0, lowered);
    let config = start(static_upstream().await, |c| c);
    let dir = config.data_dir.clone();
    let proxy = Proxy::start(config).await;
    let mut conn = Conn::open(proxy.addr).await;
    assert_eq!(conn.get("/healthz").await.unwrap().0, StatusCode::OK);
    assert_eq!(rlimit::getrlimit(Resource::NOFILE).unwrap(), (hard, hard));
    drop(conn);
    proxy.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
