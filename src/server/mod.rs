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
//! - `/api/v1/...` (native), `/v1/vhosts/...:sendEvent[s]` (OvenMediaEngine-compatible),
//!   `POST /youtube/v3/liveBroadcasts/cuepoint` (YouTube-compatible) and `POST /video/<stream>`
//!   plus `GET /video/<stream>?fields=…` (Dailymotion-compatible) take ad-break events; every
//!   break is committed to the break store before a 2xx: a redb file in the data directory, or
//!   with [`ServerConfig::redis`] a Redis server that a fleet of replicas shares (see `fleet`).
//!   All styles share one timeline and one break policy per stream. Tokens have a scope: read
//!   tokens may only use `GET`.
//! - `/healthz`, `/metrics` (Prometheus text).
//! - everything under `/hlsplice/` is the proxy's own, never forwarded: the asset lists of the
//!   `interstitial` marker family and a built-in ad (`interstitials`); with `player_page`, `GET /`
//!   is a player page.
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

use crate::hls::{AdAsset, AdDecisionTemplate, BreakPolicy, CueStyle, Markers, RewriteOptions};

mod admission;
mod api;
mod auth;
mod body;
mod breaks;
mod connections;
mod error;
mod fleet;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod interstitials;
mod metrics;
mod path;
mod policy;
mod proxy;
mod reachability;
mod renders;
pub mod store;

pub use admission::{InvalidStreamPattern, StreamPattern};
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
    /// Tokens accepted on API routes for reading and writing. With neither these nor
    /// [`ServerConfig::read_tokens`], every API request gets 401.
    pub api_tokens: Vec<String>,
    /// Tokens accepted on API routes for reading only (`GET`: lists and status); a write with
    /// one gets 403.
    pub read_tokens: Vec<String>,
    /// The break policy of a stream that has none of its own.
    pub default_policy: BreakPolicy,
    /// Length of one ad of a Dailymotion-style `live_ad_break_launch=<n>` (n × this), in
    /// milliseconds.
    pub ad_length_ms: u64,
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
    /// Largest playlist read from upstream, in bytes; a larger one answers 502.
    pub max_playlist_bytes: u64,
    /// Most playlist fetches in flight upstream at once (distinct targets); past it, 503.
    pub max_upstream_fetches: usize,
    /// Which playlist directories are streams (glob patterns over the stream key: `*` within a
    /// path segment, `**` across segments). Empty: every directory a playlist is in. Playlists
    /// of other directories are proxied unmarked.
    pub stream_patterns: Vec<String>,
    /// Most streams in memory; a playlist of a new stream past it is proxied unmarked.
    pub max_streams: usize,
    /// How far past the live edge a break may be scheduled, in hours.
    pub max_schedule_ahead_hours: u64,
    /// Most client connections open at once (`None`: from the open-file limit). Past it, idle
    /// keep-alive connections are closed first; a new connection is refused when none is idle.
    pub max_connections: Option<usize>,
    /// Longest a client may take to send a request's headers (and longest a keep-alive
    /// connection may wait for the next request's headers), in milliseconds.
    pub header_read_timeout_ms: u64,
    /// Longest a client may take to send an API request's body, in milliseconds (then 408).
    pub body_read_timeout_ms: u64,
    /// A keep-alive connection with no request for this long is closed, in milliseconds.
    pub keepalive_idle_ms: u64,
    /// The interstitial family's fixed ads, in the order they play, filled into every break that
    /// names no ads of its own (and answered when the ad decision server fails). At most
    /// [`crate::hls::ads::MAX_ADS`].
    pub ad_assets: Vec<AdAsset>,
    /// The interstitial family's ad decision server, asked for every break that names no ads of
    /// its own (before `ad_assets`).
    pub ad_decision_url: Option<AdDecisionTemplate>,
    /// Deadline of one ad decision request (connect, answer and body), in milliseconds.
    pub ad_decision_timeout_ms: u64,
    /// Most asset lists kept in memory (per break and start-offset second); past it, the least
    /// recently used leaves.
    pub asset_list_cache_entries: usize,
    /// Answer `GET /` with the player page (hls.js, markers, a break form) instead of
    /// forwarding it.
    pub player_page: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            upstream: "http://127.0.0.1:8081".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./hlsplice-data"),
            redis: None,
            api_tokens: Vec::new(),
            read_tokens: Vec::new(),
            default_policy: BreakPolicy::NONE,
            ad_length_ms: 30_000,
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
            max_playlist_bytes: 4 * 1024 * 1024,
            max_upstream_fetches: 1024,
            stream_patterns: Vec::new(),
            max_streams: 4096,
            max_schedule_ahead_hours: 72,
            max_connections: None,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            keepalive_idle_ms: 5_000,
            ad_assets: Vec::new(),
            ad_decision_url: None,
            ad_decision_timeout_ms: 2_000,
            asset_list_cache_entries: 1024,
            player_page: false,
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

/// The built-in ad: a 4-second HLS VOD clip (an orange picture with a black "AD" and a tone) that
/// the proxy answers itself at `/hlsplice/ad/ad.m3u8`, for [`ServerConfig::ad_assets`] when no ad
/// server is at hand (`hlsplice demo` plays it).
pub fn builtin_ad() -> AdAsset {
    interstitials::builtin_ad::asset()
}

/// State shared by every connection.
struct App {
    upstream: Arc<upstream::Upstream>,
    streams: streams::Streams,
    metrics: Arc<Metrics>,
    tokens: auth::Tokens,
    /// Length of one Dailymotion-style ad, in milliseconds.
    ad_length_ms: u64,
    rewrite_options: RewriteOptions,
    upstream_timeout: Duration,
    /// Whether a client's `_HLS_skip=v2` is asked upstream as `_HLS_skip=YES`.
    skip_v2_as_yes: bool,
    /// Longest an API request body may take to arrive.
    body_read_timeout: Duration,
    /// Open client connections and their limits.
    connections: connections::Connections,
    /// Asset lists and their sources.
    interstitials: interstitials::Interstitials,
    /// Whether `GET /` is the player page.
    player_page: bool,
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
    /// [`ServerConfig::default_policy`] or [`ServerConfig::ad_length_ms`] does not fit.
    Policy(String),
    /// The interstitial settings do not fit together (e.g. the family without any ads).
    Interstitials(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The upstream message already says what it is about.
            ServeError::Upstream(message) => f.write_str(message),
            ServeError::Store(message) => write!(f, "break store: {message}"),
            ServeError::Task(err) => write!(f, "opening the break store: {err}"),
            ServeError::Policy(message) => write!(f, "default break policy: {message}"),
            ServeError::Interstitials(message) => f.write_str(message),
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
    config
        .default_policy
        .validate(config.max_break_ms)
        .map_err(|e| ServeError::Policy(e.to_string()))?;
    if config.ad_length_ms == 0 {
        return Err(ServeError::Policy(
            "ad_length_ms must be positive".to_owned(),
        ));
    }
    let metrics = Arc::new(Metrics::default());
    let connection_metrics = Arc::clone(&metrics);
    let open_files = connections::raise_open_file_limit();
    let max_connections = config
        .max_connections
        .unwrap_or_else(|| open_files.map_or(1024, connections::default_max_connections));
    let interstitials = interstitials::Interstitials::new(interstitials::Settings {
        assets: config.ad_assets.clone(),
        decision: config.ad_decision_url.clone(),
        deadline: Duration::from_millis(config.ad_decision_timeout_ms.max(1)),
        cache_entries: config.asset_list_cache_entries,
    })
    .map_err(ServeError::Interstitials)?;
    if config.dialect.contains(Markers::INTERSTITIAL) && !interstitials.has_server_source() {
        return Err(ServeError::Interstitials(format!(
            "dialect {}: the interstitial family needs ads for its breaks: set ad_assets (e.g. 4={}, the built-in ad) or ad_decision_url",
            config.dialect,
            interstitials::builtin_ad::PLAYLIST_PATH
        )));
    }
    let upstream = Arc::new(
        upstream::Upstream::new(
            &config.upstream,
            upstream::UpstreamLimits {
                max_playlist_bytes: usize::try_from(config.max_playlist_bytes)
                    .unwrap_or(usize::MAX),
                max_fetches: config.max_upstream_fetches,
            },
            Arc::clone(&metrics),
        )
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
        // At least the policy's rolling hour: every start of the last hour stays countable.
        keep_ended: chrono::Duration::milliseconds(crate::hls::HOUR_MS),
        idle_ticks: config
            .stream_idle_ms
            .div_ceil(tick.as_millis().max(1) as u64),
        default_policy: config.default_policy,
        admission: admission::Admission::new(&config.stream_patterns, config.max_streams),
        max_schedule_ahead: chrono::Duration::hours(
            i64::try_from(config.max_schedule_ahead_hours)
                .unwrap_or(i64::MAX)
                .min(24_000_000),
        ),
    };
    let budget = Arc::new(renders::RenderBudget::new(
        usize::try_from(config.render_cache_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX),
    ));
    let store: Arc<dyn store::BreakStore> = Arc::new(store::Metered::new(
        records(opened.store()),
        Arc::clone(&metrics.store),
    ));
    let streams = streams::Streams::new(store, budget, settings);
    let tokens = auth::Tokens::new(&config.api_tokens, &config.read_tokens);
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
        ad_length_ms: config.ad_length_ms,
        rewrite_options,
        upstream_timeout: Duration::from_millis(config.upstream_timeout_ms.max(1)),
        skip_v2_as_yes: SKIP_V2_AS_YES,
        body_read_timeout: Duration::from_millis(config.body_read_timeout_ms.max(1)),
        connections: connections::Connections::new(
            max_connections,
            Duration::from_millis(config.keepalive_idle_ms.max(1)),
            Arc::clone(&connection_metrics),
        ),
        interstitials,
        player_page: config.player_page,
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
                app.connections.sweep();
                app.streams.housekeeping(count).await;
            }
        })
    });

    let mut shutdown = std::pin::pin!(shutdown);
    let header_read_timeout = Duration::from_millis(config.header_read_timeout_ms.max(1));
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
                let Some(tracked) = app.connections.admit() else {
                    tracing::debug!(%peer, "connection refused: max_connections busy");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = {
                    let (app, tracked) = (Arc::clone(&app), Arc::clone(&tracked));
                    service_fn(move |req| {
                        let in_flight = tracked.request(app.connections.clock());
                        let app = Arc::clone(&app);
                        async move {
                            let response = handle(app, req).await;
                            drop(in_flight);
                            response
                        }
                    })
                };
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let app = Arc::clone(&app);
                tokio::spawn(async move {
                    let mut connection = std::pin::pin!(connection);
                    let ended = tokio::select! {
                        ended = connection.as_mut() => ended,
                        () = tracked.closed() => {
                            // Idle too long, evicted for a new one, or shutting down: after
                            // the response in progress, if any.
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(e) = ended {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    app.connections.remove(&tracked);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(housekeeping);
    drop(changes);
    tracing::info!("shutting down: waiting for open requests");
    app.connections.close_all();
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    if tokio::time::timeout(grace, app.connections.all_closed())
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
    let is_youtube = path.starts_with("/youtube/v3/");
    let is_dailymotion = api::dailymotion::is_dailymotion(&req);
    match (req.method(), path) {
        (&Method::GET | &Method::HEAD, "/healthz") => {
            (route::HEALTH, Ok(health(app).await), Style::Text)
        }
        // Liveness: the process answers. A full disk or a down upstream is not cured by a
        // restart, so this does not depend on them (`/healthz` does).
        (&Method::GET | &Method::HEAD, "/livez") => {
            (route::HEALTH, Ok(text(StatusCode::OK, "ok\n")), Style::Text)
        }
        (&Method::GET | &Method::HEAD, "/") if app.player_page => (
            interstitials::route::PLAYER_PAGE,
            Ok(interstitials::page::answer(&req)),
            Style::Text,
        ),
        // Before the playlist and segment routes: never forwarded upstream.
        _ if interstitials::owns(path) => {
            let (label, result) = interstitials::answer(app, &req).await;
            (label, result, Style::Text)
        }
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
        _ if is_youtube => {
            let result = match authorize(app, &req) {
                Ok(()) => api::youtube(app, req).await,
                Err(failure) => Err(failure),
            };
            (route::YOUTUBE, result, Style::YouTube)
        }
        _ if is_dailymotion => {
            let result = match authorize(app, &req) {
                Ok(()) => api::dailymotion(app, req).await,
                Err(failure) => Err(failure),
            };
            (route::DAILYMOTION, result, Style::Dailymotion)
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

/// Every API style: `GET` and `HEAD` read, every other method writes and needs a write token.
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
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    match app.tokens.scope(first) {
        None => Err(Failure::Unauthorized),
        Some(auth::Scope::Read) if !reads => Err(Failure::Forbidden),
        Some(_) => Ok(()),
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

/// `GET /healthz`, for load balancers: 200 `ok` while the break store works and the upstream
/// answers; 503 with every reason otherwise (the store failing — a full disk, Redis
/// unreachable — or the upstream not answering), so the replica is taken out; it comes back by
/// itself once they recover. See [`reachability`] for how the upstream is judged.
async fn health(app: &App) -> Response<BoxBody> {
    let mut problems = Vec::new();
    match app.streams.store().health() {
        store::StoreHealth::Ok => {}
        store::StoreHealth::Failing { why, for_ms } => {
            problems.push(format!("break store failing for {for_ms} ms: {why}"));
        }
        store::StoreHealth::Closed => {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        }
    }
    if let reachability::Reach::Unreachable { why, for_ms } = app.upstream.reach().await {
        problems.push(format!("upstream not answering for {for_ms} ms: {why}"));
    }
    if problems.is_empty() {
        return text(StatusCode::OK, "ok\n");
    }
    let mut body = problems.join("\n");
    body.push('\n');
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
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
    let mut body = app.metrics.render(active, streams.len() as u64);
    app.interstitials.render_metrics(&mut body);
    let mut response = Response::new(full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
