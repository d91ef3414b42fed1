//! Shared harness for the proxy integration tests: a clock-driven packager (crate::packager)
//! on loopback, the proxy in front of it, and a small HTTP client.
#![allow(dead_code)]

pub mod fake_upstream;
pub mod simulation;
pub mod small_fs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hlsplice::packager::{self, ManualClock, Packager, PackagerConfig};
use hlsplice::server::{self, ServerConfig};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-token";

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hlsplice-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub type TestClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(HttpConnector::new())
}

/// A running proxy.
pub struct Proxy {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), server::ServeError>>>,
}

impl Proxy {
    pub async fn start(config: ServerConfig) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(config, listener, async move {
            let _ = stopped.await;
        }));
        Proxy {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Drops the proxy without a graceful shutdown, as if killed: its task (and with it its
    /// listener, store connections and background tasks) is aborted.
    pub async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops the proxy and waits until it has closed its store.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        }
    }
}

/// Packager + proxy.
pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub packager: Arc<Packager>,
    pub upstream: SocketAddr,
    pub data_dir: PathBuf,
    pub proxy: Option<Proxy>,
    pub client: TestClient,
    packager_stop: Option<oneshot::Sender<()>>,
}

impl Harness {
    pub async fn start(name: &str, config: PackagerConfig) -> Harness {
        Self::start_with(name, config, |c| c).await
    }

    pub async fn start_with(
        name: &str,
        config: PackagerConfig,
        tweak: impl FnOnce(ServerConfig) -> ServerConfig,
    ) -> Harness {
        let clock = Arc::new(ManualClock::new(t0()));
        let packager = Arc::new(Packager::new(config, clock.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = listener.local_addr().unwrap();
        let (packager_stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(packager::serve(packager.clone(), listener, async move {
            let _ = stopped.await;
        }));
        let data_dir = temp_dir(name);
        let mut harness = Harness {
            clock,
            packager,
            upstream,
            data_dir,
            proxy: None,
            client: client(),
            packager_stop: Some(packager_stop),
        };
        let config = tweak(harness.server_config());
        harness.proxy = Some(Proxy::start(config).await);
        harness
    }

    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            api_tokens: vec![TOKEN.to_owned()],
            max_break_ms: 120_000,
            upstream_timeout_ms: 2_000,
            shutdown_grace_ms: 2_000,
            ..ServerConfig::new(format!("http://{}", self.upstream), self.data_dir.clone())
        }
    }

    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxy.as_ref().expect("proxy running").addr
    }

    /// Stops the proxy and starts a new one on the same data directory.
    pub async fn restart_proxy(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.stop().await;
        }
        self.proxy = Some(Proxy::start(self.server_config()).await);
    }

    /// Drops the running proxy without a graceful shutdown (as if killed) and starts a new
    /// one on the same data directory.
    pub async fn kill_and_restart_proxy(&mut self) {
        if let Some(mut proxy) = self.proxy.take()
            && let Some(task) = proxy.task.take()
        {
            task.abort();
            let _ = task.await;
        }
        self.proxy = Some(Proxy::start(self.server_config()).await);
    }

    /// Stops the packager and waits until it no longer accepts connections (upstream down).
    pub async fn stop_packager(&mut self) {
        if let Some(stop) = self.packager_stop.take() {
            let _ = stop.send(());
        }
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.upstream).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the packager at {} did not stop", self.upstream);
    }

    pub fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    pub async fn get(&self, path: &str) -> Response {
        get(&self.client, self.proxy_addr(), path, &[]).await
    }

    /// A media playlist that must answer 200.
    pub async fn playlist(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "GET {path}: {}",
            response.text()
        );
        response.text()
    }

    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {TOKEN}");
        let response = request(
            &self.client,
            self.proxy_addr(),
            method,
            path,
            &[("authorization", &auth)],
            body.map(|b| b.to_string()),
        )
        .await;
        let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, value)
    }

    pub async fn create_break(&self, stream: &str, body: Value) -> (StatusCode, Value) {
        self.api(
            Method::POST,
            &format!("/api/v1/streams/{stream}/breaks"),
            Some(body),
        )
        .await
    }

    pub async fn breaks(&self, stream: &str) -> Vec<Value> {
        let (status, value) = self
            .api(
                Method::GET,
                &format!("/api/v1/streams/{stream}/breaks"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["breaks"].as_array().cloned().unwrap_or_default()
    }

    /// Reads a metric's value from `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").await.text();
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.packager_stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn get(
    client: &TestClient,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    request(client, addr, Method::GET, path, headers, None).await
}

pub async fn request(
    client: &TestClient,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Response {
    try_request(
        client,
        addr,
        method,
        path,
        headers,
        body,
        Duration::from_secs(20),
    )
    .await
    .expect("request failed or timed out")
}

/// [`request`] that never panics: `None` when the request fails or its answer takes longer than
/// `limit` (for tests that poll a server they stop and restart).
pub async fn try_request(
    client: &TestClient,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    limit: Duration,
) -> Option<Response> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .ok()?;
    let answer = async {
        let (parts, body) = client.request(request).await.ok()?.into_parts();
        let body = body.collect().await.ok()?.to_bytes();
        Some(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(limit, answer).await.ok().flatten()
}

/// Requests with one `Authorization` value, answered as `(status, text)`; `(0, "")` when a
/// request failed or took over 15 s. Never panics: for tests that poll a server they stop and
/// restart.
#[derive(Clone)]
pub struct Api {
    client: TestClient,
    authorization: String,
}

impl Api {
    pub fn bearer(token: &str) -> Api {
        Api {
            client: client(),
            authorization: format!("Bearer {token}"),
        }
    }

    /// Basic with the token as the whole credential, as OvenMediaEngine's API takes it.
    pub fn basic(token: &str) -> Api {
        use base64::Engine as _;
        let credential = base64::engine::general_purpose::STANDARD.encode(token);
        Api {
            client: client(),
            authorization: format!("Basic {credential}"),
        }
    }

    pub async fn get(&self, addr: SocketAddr, path: &str) -> (u16, String) {
        self.send(addr, Method::GET, path, None).await
    }

    pub async fn post(&self, addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
        self.send(addr, Method::POST, path, Some(body.to_owned()))
            .await
    }

    pub async fn delete(&self, addr: SocketAddr, path: &str) -> (u16, String) {
        self.send(addr, Method::DELETE, path, None).await
    }

    async fn send(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> (u16, String) {
        let headers = [("authorization", self.authorization.as_str())];
        let limit = Duration::from_secs(15);
        try_request(&self.client, addr, method, path, &headers, body, limit)
            .await
            .map_or((0, String::new()), |r| (r.status.as_u16(), r.text()))
    }
}

/// A media playlist split into segments: each segment's URI with the tag lines before it
/// (since the previous segment). Part and preload-hint lines are left out of the tags, as
/// they change while a segment is being built.
pub fn segments(playlist: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut tags = Vec::new();
    for line in playlist.lines() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if line.starts_with("#EXT-X-PART:")
                || line.starts_with("#EXT-X-PRELOAD-HINT")
                || line.starts_with("#EXT-X-RENDITION-REPORT")
            {
                continue;
            }
            tags.push(line.to_owned());
        } else {
            out.push((line.to_owned(), std::mem::take(&mut tags)));
        }
    }
    out
}

pub fn is_marker(line: &str) -> bool {
    line.starts_with("#EXT-X-CUE")
        || line.starts_with("#EXT-X-DATERANGE")
        || line.starts_with("#EXT-OATCLS")
}

/// The marker lines (CUE and DATERANGE) before each segment, by segment URI.
pub fn markers(playlist: &str) -> Vec<(String, Vec<String>)> {
    segments(playlist)
        .into_iter()
        .map(|(uri, tags)| (uri, tags.into_iter().filter(|t| is_marker(t)).collect()))
        .collect()
}

/// The URI of the first segment preceded by a tag starting with `prefix`.
pub fn first_segment_with(playlist: &str, prefix: &str) -> Option<String> {
    segments(playlist)
        .into_iter()
        .find(|(_, tags)| tags.iter().any(|t| t.starts_with(prefix)))
        .map(|(uri, _)| uri)
}

/// The media sequence number in a packager segment URI (`video_12.ts` → 12, `video_12.m4s` → 12).
pub fn msn_of(uri: &str) -> u64 {
    let stem = uri.rsplit('_').next().unwrap_or("");
    let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no sequence number in {uri}"))
}

pub fn last_segment(playlist: &str) -> String {
    segments(playlist)
        .last()
        .map(|(uri, _)| uri.clone())
        .expect("playlist has segments")
}

/// All EXT-X-DATERANGE lines of a playlist, sorted.
pub fn dateranges(playlist: &str) -> Vec<String> {
    let mut lines: Vec<String> = playlist
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Remembers the marker tags each segment was published with and asserts they never change.
#[derive(Default)]
pub struct Published {
    seen: std::collections::HashMap<String, Vec<String>>,
}

impl Published {
    pub fn check(&mut self, playlist: &str) {
        for (uri, tags) in markers(playlist) {
            match self.seen.get(&uri) {
                Some(before) => assert_eq!(
                    before, &tags,
                    "tags of {uri} changed between refreshes:\n{playlist}"
                ),
                None => {
                    self.seen.insert(uri, tags);
                }
            }
        }
    }

    pub fn tags(&self, uri: &str) -> Option<&Vec<String>> {
        self.seen.get(uri)
    }
}
