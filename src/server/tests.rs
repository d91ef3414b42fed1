//! End-to-end tests of what a failed store commit leaves behind, through HTTP: the proxy runs
//! with a [`FailingStore`] in front of its redb store, the clock-driven packager upstream.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::store::{BreakStore, FailingStore};
use super::{ServerConfig, run_with_store};
use crate::packager::{self, ManualClock, Packager, PackagerConfig};

const TOKEN: &str = "t";

struct Setup {
    proxy: SocketAddr,
    clock: Arc<ManualClock>,
    failing: Arc<FailingStore>,
    client: Client<HttpConnector, Full<Bytes>>,
    dir: std::path::PathBuf,
    _stop: (oneshot::Sender<()>, oneshot::Sender<()>),
}

async fn setup(name: &str) -> Setup {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = Arc::new(ManualClock::new(start));
    let config = PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    };
    let packager = Arc::new(Packager::new(config, clock.clone()));
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let (stop_packager, stopped) = oneshot::channel::<()>();
    tokio::spawn(packager::serve(packager, upstream, async move {
        let _ = stopped.await;
    }));

    let dir = std::env::temp_dir().join(format!("hlsplice-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ServerConfig {
        api_tokens: vec![TOKEN.to_owned()],
        // Named: the stream is recorded from its first playlist.
        stream_patterns: vec!["live/*".to_owned()],
        ..ServerConfig::new(format!("http://{upstream_addr}"), dir.clone())
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let (stop_proxy, stopped) = oneshot::channel::<()>();
    let (handed, failing) = oneshot::channel();
    tokio::spawn(run_with_store(
        config,
        listener,
        async move {
            let _ = stopped.await;
        },
        move |store: Arc<dyn BreakStore>| {
            let failing = Arc::new(FailingStore::new(store));
            let _ = handed.send(Arc::clone(&failing));
            failing as Arc<dyn BreakStore>
        },
    ));
    Setup {
        proxy,
        clock,
        failing: failing.await.unwrap(),
        client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        dir,
        _stop: (stop_packager, stop_proxy),
    }
}

impl Setup {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.proxy))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), self.client.request(request))
            .await
            .unwrap()
            .unwrap();
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    }

    async fn breaks(&self) -> Vec<Value> {
        let (status, body) = self
            .call(Method::GET, "/api/v1/streams/live/demo/breaks", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let list: Value = serde_json::from_slice(&body).unwrap();
        list["breaks"].as_array().cloned().unwrap()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const VIDEO: &str = "/live/demo/video.m3u8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_changes_nothing_and_playlists_keep_being_served() {
    let s = setup("failing-store").await;
    let (status, _) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK, "the live edge is known");
    // The new media playlist path is committed in the background: let it land first, so the
    // injected failure below hits the API's commit.
    for _ in 0..200 {
        if s.failing.commits.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        s.failing.commits.load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // API: the commit fails → 500, and the break does not exist.
    let create = serde_json::json!({"duration_ms": 3000, "start": "now", "request_id": "r1"});
    s.failing.fail_next(1);
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/streams/live/demo/breaks",
            Some(create.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body:?}");
    assert!(s.breaks().await.is_empty(), "a 5xx left a break behind");
    let (status, playlist) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK);
    s.clock.advance(Duration::from_millis(1000));
    let (status, playlist_after) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK);
    for text in [&playlist, &playlist_after] {
        let text = String::from_utf8_lossy(text);
        assert!(
            !text.contains("CUE-OUT") && !text.contains("DATERANGE"),
            "{text}"
        );
    }

    // The next request creates exactly one; its repeat returns it.
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/streams/live/demo/breaks",
            Some(create.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body:?}");
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/streams/live/demo/breaks",
            Some(create),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.breaks().await.len(), 1);

    // Rendering: the first segment after the request decides the start; that commit fails →
    // the playlist is served all the same, without the undecided break (a store problem is not
    // a playlist outage), and nothing was decided.
    s.clock.advance(Duration::from_millis(1000));
    s.failing.fail_next(1);
    let (status, body) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK);
    let served = String::from_utf8_lossy(&body).into_owned();
    assert!(
        !served.contains("CUE-OUT") && !served.contains("DATERANGE"),
        "{served}"
    );
    let breaks = s.breaks().await;
    assert!(breaks[0]["decided_start"].is_null(), "{breaks:?}");
    assert_eq!(breaks[0]["state"], "scheduled");
    let newest = served.lines().last().unwrap().to_owned();

    // The segment it listed was published without the OUT, so the break cannot start there:
    // the next request decides nothing until a new segment comes.
    let (status, again) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&again).contains("CUE-OUT"));

    // The next segment decides it, committed once and served.
    s.clock.advance(Duration::from_millis(1000));
    let commits = s.failing.commits.load(std::sync::atomic::Ordering::SeqCst);
    let (status, body) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&body).into_owned();
    let after_out = text
        .split("#EXT-X-CUE-OUT:")
        .nth(1)
        .unwrap_or_else(|| panic!("no OUT: {text}"));
    let out_segment = after_out.lines().find(|l| !l.starts_with('#')).unwrap();
    assert_ne!(
        out_segment, newest,
        "not on the segment already published: {text}"
    );
    let breaks = s.breaks().await;
    assert_eq!(breaks[0]["state"], "active", "{breaks:?}");
    assert_eq!(
        s.failing.commits.load(std::sync::atomic::Ordering::SeqCst),
        commits + 1,
        "the decision was committed once"
    );
    // Cached and committed: served again without another commit.
    let (status, again) = s.call(Method::GET, VIDEO, None).await;
    assert_eq!((status, &again), (StatusCode::OK, &body));
    assert_eq!(
        s.failing.commits.load(std::sync::atomic::Ordering::SeqCst),
        commits + 1
    );
}
