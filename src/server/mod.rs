//! The origin proxy behind `hlsplice serve`.
//!
//! A hyper 1.x server between players (or a CDN) and a live packager:
//! - `GET <path>.m3u8` fetches the same path (query included) from the upstream and answers
//!   the media playlist rewritten with its stream's break timeline ([`crate::hls::rewrite`]);
//!   multivariant playlists pass through. The stream key is the playlist's directory.
//! - every other `GET`/`HEAD` path streams through unbuffered, and so does an `OPTIONS`
//!   (CORS preflight) for any playlist or segment path. The upstream's CORS headers
//!   (`Access-Control-Allow-Origin`, `-Expose-Headers`, `-Allow-Credentials`,
//!   `Timing-Allow-Origin`) are kept on rewritten playlists too, and repeated on the proxy's
//!   own error answers for those paths when they allow the request's origin.
//! - `/api/v1/...` (native) and `/v1/vhosts/...:sendEvent[s]` (OvenMediaEngine-compatible)
//!   take ad-break events; every break is committed to the break store before a 2xx: a redb
//!   file in the data directory, or with [`ServerConfig::redis`] a Redis server that a fleet
//!   of replicas shares (see `fleet`).
//! - `/healthz`, `/metrics` (Prometheus text).
//!
//! "Now" in the API is the stream's live edge — the program time at the end of the newest
//! segment seen in any rendition — never the server clock. An API call that needs it first
//! refreshes it from upstream (`proxy::refresh_live_edge`), so it does not depend on a
//! player having polled recently; when that fails the call answers 503 and changes nothing.
//!
//! Structure (after the hyper examples): one `BoxBody` type, routing as one
//! `match`, one task per connection under hyper-util's `GracefulShutdown`, failures mapped to
//! status codes in one place (`error::Failure`), shared state as an `Arc<App>` whose locks
//! are never held across `.await`.
//!
//! Embedding it (feature `server`): `hlsplice serve` is this call with settings from flags, the
//! environment and a file.
//!
//! ```
//! use hlsplice::server::{self, ServerConfig};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let data_dir = std::env::temp_dir().join(format!("hlsplice-doc-run-{}", std::process::id()));
//! let config = ServerConfig::new("http://127.0.0.1:8081", &data_dir);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // Serves until the future completes: here at once (a real server passes a signal).
//! server::run(config, listener, async {}).await?;
//!
//! // Errors are typed: a bad upstream URL is refused before anything starts.
//! let bad = ServerConfig::new("ftp://packager", &data_dir);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let err = server::run(bad, listener, async {}).await.unwrap_err();
//! assert!(matches!(err, server::ServeError::Upstream(_)));
//! # std::fs::remove_dir_all(&data_dir)?;
//! # Ok(())
//! # }
//! ```
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;

use crate::hls::{CueStyle, Markers, RewriteOptions};

mod api;
mod auth;
mod body;
mod breaks;
mod error;
mod fleet;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod path;
mod proxy;
mod renders;
pub mod store;
mod stream;
mod streams;
// They run the proxy in front of the built-in packager.
#[cfg(all(test, feature = "packager"))]
mod tests;
mod upstream;

use body::{BoxBody, full};
use error::{Failure, Style};
use metrics::{Metrics, route};

/// Everything `hlsplice serve` can be told.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Base URL of the packager, `http://host:port[/prefix]`. Request paths are appended.
    pub upstream: String,
    /// Address the CLI binds (informational for [`run`], which gets a bound listener).
    pub listen: SocketAddr,
    /// Directory of the break store (`hlsplice.redb`); created if missing. Unused with
    /// [`ServerConfig::redis`].
    pub data_dir: PathBuf,
    /// Redis server holding the break store instead of the data directory
    /// (`redis://[:password@]host:port[/db]`, `rediss://` for TLS), shared by every replica
    /// of a fleet. `None`: the embedded redb store.
    pub redis: Option<String>,
    /// Tokens accepted on API routes. None configured: every API request gets 401.
    pub api_tokens: Vec<String>,
    /// Which marker families the rewriter inserts.
    pub dialect: Markers,
    /// The syntax of the CUE family's tags.
    pub cue_style: CueStyle,
    /// Longest break the API accepts, in milliseconds.
    pub max_break_ms: u64,
    /// Deadline for a non-blocking upstream request (playlist body, or segment response head),
    /// and the longest a streamed segment body may go without a byte before it is aborted.
    pub upstream_timeout_ms: u64,
    /// Remove ad markers the upstream already put in its playlists.
    pub strip_upstream_markers: bool,
    /// How long shutdown waits for open requests (e.g. blocking reloads) before dropping them.
    pub shutdown_grace_ms: u64,
    /// How long ended breaks stay readable as history (days of program time after their end).
    pub history_days: u64,
    /// How long an idempotency key (`request_id`) is remembered (hours of program time).
    pub request_id_ttl_hours: u64,
    /// Memory budget of all rendered playlists of all streams, in MiB.
    pub render_cache_mib: u64,
    /// A stream nobody requested for this long leaves memory (not the store), in milliseconds.
    pub stream_idle_ms: u64,
    /// How often housekeeping passes over the streams (pruning what can no longer appear, the
    /// history past its retention, expired idempotency keys, idle streams), in milliseconds.
    pub housekeeping_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            upstream: "http://127.0.0.1:8081".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./hlsplice-data"),
            redis: None,
            api_tokens: Vec::new(),
            dialect: Markers::default(),
            cue_style: CueStyle::default(),
            max_break_ms: 600_000,
            upstream_timeout_ms: 10_000,
            strip_upstream_markers: false,
            shutdown_grace_ms: 5_000,
            history_days: 30,
            request_id_ttl_hours: 24,
            render_cache_mib: 64,
            stream_idle_ms: 600_000,
            housekeeping_ms: 10_000,
        }
    }
}

impl ServerConfig {
    /// A configuration with defaults for everything but the upstream and the data directory.
    pub fn new(upstream: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            upstream: upstream.into(),
            data_dir: data_dir.into(),
            ..ServerConfig::default()
        }
    }
}

/// State shared by every connection.
struct App {
    upstream: Arc<upstream::Upstream>,
    streams: streams::Streams,
    metrics: Arc<Metrics>,
    tokens: auth::Tokens,
    rewrite_options: RewriteOptions,
    upstream_timeout: Duration,
    /// Whether a client's `_HLS_skip=v2` is asked upstream as `_HLS_skip=YES`.
    skip_v2_as_yes: bool,
}

impl App {
    fn upstream_timeout(&self) -> Duration {
        self.upstream_timeout
    }
}

/// Aborts a background task of [`run`] when dropped, so that a server whose future is dropped
/// (a test killing a replica) leaves nothing of it running.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The store [`run`] opened.
#[derive(Clone)]
enum Opened {
    Redb(Arc<store::RedbStore>),
    Redis(Arc<store::RedisStore>),
}

impl Opened {
    fn store(&self) -> Arc<dyn store::BreakStore> {
        match self {
            Opened::Redb(store) => Arc::clone(store) as Arc<dyn store::BreakStore>,
            Opened::Redis(store) => Arc::clone(store) as Arc<dyn store::BreakStore>,
        }
    }
}

/// Closes the store when [`run`] ends or is dropped, so a new server can open the same directory.
struct CloseStore(Opened);

impl Drop for CloseStore {
    fn drop(&mut self) {
        match &self.0 {
            Opened::Redb(store) => store.close(),
            Opened::Redis(store) => store.close(),
        }
    }
}

/// Opens the store `config` names: Redis, or the redb file in the data directory.
async fn open_store(config: &ServerConfig) -> Result<Opened, ServeError> {
    if let Some(url) = &config.redis {
        let store =
            Arc::new(store::RedisStore::open(url).map_err(|e| ServeError::Store(e.to_string()))?);
        // A fleet keeps serving what is decided while Redis is down, so a Redis that is
        // down at start-up is reported (health) and waited for, not fatal.
        let probe = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || probe.ping())
            .await
            .map_err(ServeError::Task)?
        {
            Ok(()) => tracing::info!(redis = %store.address(), "break store: Redis"),
            Err(e) => {
                tracing::error!(redis = %store.address(), error = %e, "Redis unreachable at start-up; serving and reconnecting");
            }
        }
        return Ok(Opened::Redis(store));
    }
    let dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || store::RedbStore::open(&dir))
        .await
        .map_err(ServeError::Task)?
        .map_err(|e| ServeError::Store(e.to_string()))?;
    Ok(Opened::Redb(Arc::new(store)))
}

/// Why [`run`] could not start. Once it serves, nothing stops it but `shutdown`: failures of
/// single requests and connections are answered or logged, not returned.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// [`ServerConfig::upstream`] is not an absolute `http://` URL without a query.
    Upstream(String),
    /// The break store in [`ServerConfig::data_dir`] could not be created, opened or read, or
    /// the [`ServerConfig::redis`] URL cannot be read.
    Store(String),
    /// The blocking task that opens the store panicked or was cancelled.
    Task(tokio::task::JoinError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The upstream message already says what it is about.
            ServeError::Upstream(message) => f.write_str(message),
            ServeError::Store(message) => write!(f, "break store: {message}"),
            ServeError::Task(err) => write!(f, "opening the break store: {err}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Task(err) => Some(err),
            _ => None,
        }
    }
}

/// Serves until `shutdown` completes, then stops accepting, lets open requests finish (up
/// to `shutdown_grace_ms`) and closes the store.
///
/// See the [module example](self).
///
/// # Errors
/// [`ServeError`] when the upstream URL is invalid or the store cannot be opened or loaded.
pub async fn run(
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    run_with_store(config, listener, shutdown, |store| store).await
}

/// [`run`], committing through what `records` makes of the opened store (tests put a store
/// whose commits fail on demand in front of it).
async fn run_with_store(
    config: ServerConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    records: impl FnOnce(Arc<dyn store::BreakStore>) -> Arc<dyn store::BreakStore>,
) -> Result<(), ServeError> {
    let metrics = Arc::new(Metrics::default());
    let upstream = Arc::new(
        upstream::Upstream::new(&config.upstream, Arc::clone(&metrics))
            .map_err(ServeError::Upstream)?,
    );
    let opened = open_store(&config).await?;
    let _close = CloseStore(opened.clone());
    // Housekeeping passes every `housekeeping_ms`, in `TICKS_PER_PASS` ticks.
    let tick = Duration::from_millis((config.housekeeping_ms / streams::TICKS_PER_PASS).max(10));
    let settings = streams::StreamSettings {
        max_break_ms: config.max_break_ms,
        history: chrono::Duration::days(
            i64::try_from(config.history_days)
                .unwrap_or(i64::MAX / 86_400_000)
                .min(1_000_000),
        ),
        request_id_ttl: chrono::Duration::hours(
            i64::try_from(config.request_id_ttl_hours)
                .unwrap_or(i64::MAX)
                .min(24_000_000),
        ),
        keep_ended: chrono::Duration::hours(1),
        idle_ticks: config
            .stream_idle_ms
            .div_ceil(tick.as_millis().max(1) as u64),
    };
    let budget = Arc::new(renders::RenderBudget::new(
        usize::try_from(config.render_cache_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX),
    ));
    let store: Arc<dyn store::BreakStore> = Arc::new(store::Metered::new(
        records(opened.store()),
        Arc::clone(&metrics.store),
    ));
    let streams = streams::Streams::new(store, budget, settings);
    let tokens = auth::Tokens::new(&config.api_tokens);
    if tokens.is_empty() {
        tracing::warn!("no API token configured: every API request will be refused with 401");
    }
    let rewrite_options = RewriteOptions {
        dialect: config.dialect,
        cue_style: config.cue_style,
        strip_upstream_markers: config.strip_upstream_markers,
        ..RewriteOptions::default()
    };
    let app = Arc::new(App {
        upstream,
        streams,
        metrics,
        tokens,
        rewrite_options,
        upstream_timeout: Duration::from_millis(config.upstream_timeout_ms.max(1)),
        skip_v2_as_yes: SKIP_V2_AS_YES,
    });
    tracing::info!(
        listen = %listener.local_addr().map_or_else(|_| config.listen.to_string(), |a| a.to_string()),
        upstream = %config.upstream,
        store = %match &opened {
            Opened::Redb(_) => config.data_dir.display().to_string(),
            Opened::Redis(store) => format!("redis {}", store.address()),
        },
        "hlsplice serve started"
    );
    let changes = match &opened {
        Opened::Redis(store) => Some(AbortOnDrop(tokio::spawn(fleet::follow_changes(
            Arc::clone(store),
            Arc::clone(&app),
        )))),
        Opened::Redb(_) => None,
    };
    let housekeeping = AbortOnDrop({
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut count: u64 = 0;
            loop {
                ticks.tick().await;
                count += 1;
                app.streams.housekeeping(count).await;
            }
        })
    });

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let service = service_fn(move |req| handle(Arc::clone(&app), req));
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(housekeeping);
    drop(changes);
    tracing::info!("shutting down: waiting for open requests");
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "open requests did not finish within {} ms; dropping them",
            grace.as_millis()
        );
    }
    Ok(())
}

/// The rewriter withdraws `CAN-SKIP-DATERANGES` from every media playlist (see [`crate::hls`]),
/// so a client's `_HLS_skip=v2` is asked upstream as `_HLS_skip=YES`: a plain delta update
/// in which every date range is present.
const SKIP_V2_AS_YES: bool = true;

async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Infallible> {
    let method = req.method().clone();
    // Only kept when request logging is on.
    let uri = tracing::enabled!(tracing::Level::DEBUG).then(|| req.uri().clone());
    let started = std::time::Instant::now();
    // For the CORS headers of an error answer (a clone shares the header's bytes).
    let origin = req.headers().get(header::ORIGIN).cloned();
    let (route_name, result, style) = dispatch(&app, req).await;
    let response = match result {
        Ok(response) => response,
        Err(failure) => {
            if failure.status().is_server_error() {
                tracing::warn!(route = route_name, %method, error = %failure.message(), "request failed");
            }
            let mut response = failure.into_response(style);
            // Players read playlists and segments from other origins: they must be able to
            // read our errors too (see `Upstream::cors_for`). The APIs are not for browsers.
            if style == Style::Text {
                let headers = response.headers_mut();
                for (name, value) in app.upstream.cors_for(origin.as_ref()) {
                    headers.append(name, value);
                }
            }
            response
        }
    };
    app.metrics
        .record_request(route_name, response.status().as_u16());
    tracing::debug!(
        route = route_name,
        %method,
        path = uri.as_ref().map_or("", |u| u.path()),
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

/// The routing table.
async fn dispatch(
    app: &Arc<App>,
    req: Request<Incoming>,
) -> (&'static str, Result<Response<BoxBody>, Failure>, Style) {
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        return (
            route::INVALID,
            Err(Failure::BadPath("absolute URLs are not accepted")),
            Style::Text,
        );
    }
    let path = req.uri().path();
    let is_api = path == "/api/v1" || path.starts_with("/api/v1/");
    let is_ome = path.starts_with("/v1/vhosts/");
    match (req.method(), path) {
        (&Method::GET | &Method::HEAD, "/healthz") => (route::HEALTH, Ok(health(app)), Style::Text),
        (&Method::GET, "/metrics") => (route::METRICS, Ok(metrics_response(app)), Style::Text),
        _ if is_api => {
            let result = match authorize(app, &req) {
                Ok(()) => api::native(app, req).await,
                Err(failure) => Err(failure),
            };
            (route::API, result, Style::Native)
        }
        _ if is_ome => {
            let result = match authorize(app, &req) {
                Ok(()) => api::ome(app, req).await,
                Err(failure) => Err(failure),
            };
            (route::OME, result, Style::Ome)
        }
        (&Method::GET | &Method::HEAD, p) if p.ends_with(".m3u8") => (
            route::PLAYLIST,
            proxy::playlist(app, &req).await,
            Style::Text,
        ),
        (&Method::GET | &Method::HEAD, _) => (
            route::SEGMENT,
            proxy::pass_through(app, &req).await,
            Style::Text,
        ),
        // A CORS preflight for a playlist or segment: the upstream decides, as it does for
        // the GET that follows (its CORS headers are kept on both).
        (&Method::OPTIONS, _) => (
            route::PREFLIGHT,
            proxy::pass_through(app, &req).await,
            Style::Text,
        ),
        _ => (route::INVALID, Err(Failure::MethodNotAllowed), Style::Text),
    }
}

fn authorize(app: &App, req: &Request<Incoming>) -> Result<(), Failure> {
    let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
    let first = values.next();
    if values.next().is_some() {
        // Which of two credentials counts is ambiguous (proxies and servers disagree on
        // whether the first or the last wins): refuse rather than pick.
        return Err(Failure::BadRequest(
            "more than one Authorization header".to_owned(),
        ));
    }
    if app.tokens.accepts(first) {
        Ok(())
    } else {
        Err(Failure::Unauthorized)
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<BoxBody> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `GET /healthz`: 200 `ok` while the break store works, 503 with the reason while it fails
/// (a load balancer takes the replica out; it comes back by itself once the store recovers).
fn health(app: &App) -> Response<BoxBody> {
    match app.streams.store().health() {
        store::StoreHealth::Ok => text(StatusCode::OK, "ok\n"),
        store::StoreHealth::Failing { why, for_ms } => {
            let mut response = Response::new(full(format!(
                "break store failing for {for_ms} ms: {why}\n"
            )));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        store::StoreHealth::Closed => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
    }
}

fn metrics_response(app: &App) -> Response<BoxBody> {
    let streams = app.streams.in_memory();
    let active = streams
        .iter()
        .filter(|s| {
            let state = s.state();
            let edge = state.live_edge;
            state
                .timeline
                .breaks()
                .iter()
                .any(|b| b.published_state(edge) == crate::hls::BreakState::Active)
        })
        .count() as u64;
    let body = app.metrics.render(active, streams.len() as u64);
    let mut response = Response::new(full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
