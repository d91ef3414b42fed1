//! The upstream side: a pooled hyper-util client, single-flight playlist fetches and
//! streamed pass-through.
//!
//! Single flight: identical concurrent playlist requests (same path and query) share one
//! upstream request. The fetch runs in its own task, so it completes (and its answer is
//! shared) even when the client that started it goes away. This is what keeps a thousand
//! players blocking on the same `_HLS_msn`/`_HLS_part` (RFC 8216bis §6.2.5.2) at one
//! upstream request. A non-blocking fetch is only joined while it is young (less than half its
//! deadline old): a player arriving after an upstream stall starts a fresh fetch rather than
//! waiting for one that is already late.
//!
//! Bounds: at most [`UpstreamLimits::max_fetches`] playlist fetches in flight (distinct
//! targets; a client asking for more gets 503 at once), at most
//! [`UpstreamLimits::max_playlist_bytes`] of playlist read (a larger one is refused without
//! reading the rest).
//!
//! An idempotent request (every request the proxy makes upstream is a GET, HEAD or OPTIONS
//! without a body) that fails because a pooled connection the upstream had already closed
//! ended before an answer ("connection closed before message completed", or reset, as Linux
//! answers a request that arrives on a socket closed meanwhile) is sent once more, on a fresh
//! connection: never on another pooled one, which the upstream may have closed just the same.
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;

use super::metrics::Metrics;
use super::reachability::{PROBE_DEADLINE, Reach, Reachability};

/// What the upstream side may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamLimits {
    /// Largest playlist accepted from upstream, in bytes (a larger one answers 502).
    pub max_playlist_bytes: usize,
    /// Most playlist fetches in flight at once (distinct targets).
    pub max_fetches: usize,
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        UpstreamLimits {
            max_playlist_bytes: 4 * 1024 * 1024,
            max_fetches: 1024,
        }
    }
}

/// Why an upstream request failed. `Clone` because one failure is shared by every
/// coalesced waiter.
#[derive(Clone, Debug)]
pub enum UpstreamError {
    /// Could not connect (refused, unreachable, DNS).
    Connect(String),
    /// Connected, but the answer was not a usable HTTP response or body.
    Invalid(String),
    /// No complete answer within the deadline; `blocking` says it was a blocking reload.
    Timeout { blocking: bool, after: Duration },
    /// Too many playlist fetches are in flight.
    Overloaded { max: usize },
    /// The playlist is larger than allowed.
    TooLarge { max: usize },
}

/// A complete upstream playlist answer.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub body: Bytes,
    pub cache_control: Option<HeaderValue>,
    pub content_type: Option<HeaderValue>,
    /// The upstream's CORS headers ([`KEPT_PLAYLIST_HEADERS`]), in the order received, kept
    /// for the rendered playlist. Empty (no allocation) when the upstream sent none.
    pub kept: Vec<(header::HeaderName, HeaderValue)>,
}

/// Upstream playlist response headers the proxy keeps on the playlist it answers, so that
/// browser players on another origin (hls.js, video.js) may read it (Fetch standard, CORS
/// protocol; W3C Resource Timing for `Timing-Allow-Origin`). Every other upstream header is
/// replaced by the proxy's own (type, length, encoding, Vary, Cache-Control).
pub const KEPT_PLAYLIST_HEADERS: [header::HeaderName; 4] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::HeaderName::from_static("timing-allow-origin"),
];

type FlightResult = Result<Arc<Fetched>, UpstreamError>;

/// A playlist fetch in flight, shared by every identical request that joins it.
struct Flight {
    answer: watch::Receiver<Option<FlightResult>>,
    /// Tells this flight from a newer one for the same target.
    id: u64,
    /// Joinable until then (`None`: always, for blocking reloads).
    join_until: Option<Instant>,
}

/// The configured upstream.
pub struct Upstream {
    client: Client<HttpConnector, Empty<Bytes>>,
    /// Keeps no idle connection, so each request goes on a new one: for the retry.
    fresh: Client<HttpConnector, Empty<Bytes>>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// Base path without a trailing slash (`""` for a bare host).
    prefix: String,
    flights: Mutex<HashMap<Arc<str>, Flight>>,
    next_flight: std::sync::atomic::AtomicU64,
    fetches: Arc<tokio::sync::Semaphore>,
    limits: UpstreamLimits,
    metrics: Arc<Metrics>,
    /// The CORS headers of the last playlist served, for the proxy's own error answers.
    cors: Mutex<Vec<(header::HeaderName, HeaderValue)>>,
    /// Whether it answers, for `/healthz`.
    reach: Reachability,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Upstream({}://{}{})",
            self.scheme, self.authority, self.prefix
        )
    }
}

impl Upstream {
    /// # Errors
    /// When `base` is not an absolute `http://` URL without query.
    pub fn new(base: &str, limits: UpstreamLimits, metrics: Arc<Metrics>) -> Result<Self, String> {
        let uri: Uri = base
            .parse()
            .map_err(|e| format!("upstream {base:?}: {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| format!("upstream {base:?}: missing http://"))?;
        if scheme != http::uri::Scheme::HTTP {
            return Err(format!("upstream {base:?}: only http:// is supported"));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("upstream {base:?}: missing host"))?;
        if uri.query().is_some() {
            return Err(format!("upstream {base:?}: must not have a query"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build(connector.clone());
        let fresh = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Ok(Upstream {
            client,
            fresh,
            scheme,
            authority,
            prefix,
            flights: Mutex::new(HashMap::new()),
            next_flight: std::sync::atomic::AtomicU64::new(0),
            fetches: Arc::new(tokio::sync::Semaphore::new(limits.max_fetches.max(1))),
            limits,
            metrics,
            cors: Mutex::new(Vec::new()),
            reach: Reachability::default(),
        })
    }

    /// Whether the upstream answers: what the latest request found out while it is fresh,
    /// else a probe (`HEAD` of the base path; any HTTP answer counts), one at a time.
    pub async fn reach(&self) -> Reach {
        let known = self.reach.state();
        if known != Reach::Unknown {
            return known;
        }
        let _one_probe = self.reach.probing.lock().await;
        let known = self.reach.state();
        if known != Reach::Unknown {
            return known;
        }
        let Ok(uri) = self.uri("/") else {
            return Reach::Unknown;
        };
        let mut probe = Request::new(Empty::new());
        *probe.method_mut() = Method::HEAD;
        *probe.uri_mut() = uri;
        match tokio::time::timeout(PROBE_DEADLINE, self.client.request(probe)).await {
            Ok(Ok(_)) => self.reach.answered(),
            Ok(Err(e)) => self.reach.failed(&source_chain(&e)),
            Err(_) => self.reach.failed(&format!(
                "no answer within {} ms",
                PROBE_DEADLINE.as_millis()
            )),
        }
        self.reach.state()
    }

    /// Remembers the CORS headers of a playlist answer the proxy served (a copy only when they
    /// changed): what the upstream allows when it works.
    pub fn remember_cors(&self, fetched: &Fetched) {
        let mut cors = self.cors.lock().unwrap_or_else(|e| e.into_inner());
        if *cors != fetched.kept {
            cors.clone_from(&fetched.kept);
        }
    }

    /// The CORS headers for an answer the proxy makes itself (an error: the upstream is down,
    /// slow or invalid, or the request was refused) to a request from `origin`: what the
    /// upstream last allowed, so a browser player reads the status instead of seeing a network
    /// error, and nothing the upstream did not grant. The last playlist answer's headers are
    /// repeated when it allowed any origin (`*`), or when it allowed exactly `origin`; none
    /// otherwise (an upstream that echoes each request's origin allowed another one then).
    pub fn cors_for(&self, origin: Option<&HeaderValue>) -> Vec<(header::HeaderName, HeaderValue)> {
        let cors = self.cors.lock().unwrap_or_else(|e| e.into_inner());
        let allowed = cors
            .iter()
            .find(|(name, _)| name == header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|(_, value)| value);
        match allowed {
            Some(value) if value.as_bytes() == b"*" || Some(value) == origin => cors.clone(),
            _ => Vec::new(),
        }
    }

    fn uri(&self, path_and_query: &str) -> Result<Uri, UpstreamError> {
        let full = format!("{}{}", self.prefix, path_and_query);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(full)
            .build()
            .map_err(|e| UpstreamError::Invalid(format!("cannot build upstream URL: {e}")))
    }

    /// Fetches a playlist, joining an identical request already in flight (a non-blocking one
    /// only while it is younger than half `deadline`). `path_and_query` is the validated
    /// request target (`/live/x/v.m3u8?_HLS_msn=5`).
    pub async fn fetch_playlist(
        self: &Arc<Self>,
        path_and_query: &str,
        deadline: Duration,
        blocking: bool,
    ) -> FlightResult {
        let mut answer = {
            let mut flights = match self.flights.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            match flights.get(path_and_query) {
                Some(existing) if existing.join_until.is_none_or(|until| now < until) => {
                    self.metrics.coalesced.fetch_add(1, Ordering::Relaxed);
                    existing.answer.clone()
                }
                _ => {
                    let Ok(permit) = Arc::clone(&self.fetches).try_acquire_owned() else {
                        self.metrics.upstream_errors.fetch_add(1, Ordering::Relaxed);
                        return Err(UpstreamError::Overloaded {
                            max: self.limits.max_fetches,
                        });
                    };
                    let (sender, receiver) = watch::channel(None);
                    let key: Arc<str> = Arc::from(path_and_query);
                    let id = self.next_flight.fetch_add(1, Ordering::Relaxed);
                    flights.insert(
                        Arc::clone(&key),
                        Flight {
                            answer: receiver.clone(),
                            id,
                            join_until: (!blocking).then(|| now + deadline / 2),
                        },
                    );
                    let this = Arc::clone(self);
                    tokio::spawn(async move {
                        let result = this.fetch_once(&key, deadline, blocking).await;
                        drop(permit);
                        // Remove before answering: a request that arrives once the answer
                        // exists must not be handed this (by then possibly stale) answer; it
                        // starts a new fetch. Everyone already waiting holds a receiver and gets
                        // the answer. A newer flight for the same target stays.
                        {
                            let mut flights = match this.flights.lock() {
                                Ok(guard) => guard,
                                Err(poisoned) => poisoned.into_inner(),
                            };
                            if flights.get(&*key).is_some_and(|f| f.id == id) {
                                flights.remove(&*key);
                            }
                        }
                        let _ = sender.send(Some(result));
                    });
                    receiver
                }
            }
        };
        match answer.wait_for(Option::is_some).await {
            Ok(value) => match value.as_ref() {
                Some(result) => result.clone(),
                None => Err(UpstreamError::Invalid(
                    "upstream request vanished".to_owned(),
                )),
            },
            Err(_) => Err(UpstreamError::Invalid(
                "upstream request was abandoned".to_owned(),
            )),
        }
    }

    async fn fetch_once(
        &self,
        path_and_query: &str,
        deadline: Duration,
        blocking: bool,
    ) -> FlightResult {
        let uri = self.uri(path_and_query)?;
        let request = || {
            let mut request = Request::new(Empty::new());
            *request.uri_mut() = uri.clone();
            let headers = request.headers_mut();
            // The rewriter needs the plain bytes; gzip for clients is done here, once per
            // version.
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("hlsplice/", env!("CARGO_PKG_VERSION"))),
            );
            request
        };
        self.metrics
            .upstream_requests
            .fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let max = self.limits.max_playlist_bytes;
        let work = async {
            let response = self.send_idempotent(request).await?;
            let (parts, body) = response.into_parts();
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > max as u64) {
                // Refused without reading the rest; the connection is not reused.
                return Err(UpstreamError::TooLarge { max });
            }
            let body = match Limited::new(body, max).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Err(UpstreamError::TooLarge { max });
                }
                Err(e) => {
                    return Err(UpstreamError::Invalid(format!(
                        "reading playlist body: {e}"
                    )));
                }
            };
            let body = if is_gzip(&parts.headers) {
                gunzip(&body, max)?
            } else {
                body
            };
            Ok(Arc::new(Fetched {
                status: parts.status,
                body,
                cache_control: parts.headers.get(header::CACHE_CONTROL).cloned(),
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                kept: kept_headers(&parts.headers),
            }))
        };
        let result = match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => {
                // A blocking reload waits for the packager by design; only a plain fetch that
                // got no answer says the upstream is not answering.
                if !blocking {
                    self.reach
                        .failed(&format!("no playlist within {} ms", deadline.as_millis()));
                }
                Err(UpstreamError::Timeout {
                    blocking,
                    after: deadline,
                })
            }
        };
        self.metrics.record_upstream_latency(started.elapsed());
        if result.is_err() {
            self.metrics.upstream_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Sends a bodiless (so idempotent) request made by `request`, once more on a new
    /// connection when a pooled one turned out to be closed by the upstream before it
    /// answered.
    async fn send_idempotent(
        &self,
        request: impl Fn() -> Request<Empty<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let sent = match self.client.request(request()).await {
            Err(e) if closed_before_answer(&e) => {
                self.metrics
                    .upstream_retries
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %source_chain(&e), "upstream closed a pooled connection; sending once more");
                self.fresh.request(request()).await
            }
            other => other,
        };
        match sent {
            Ok(response) => {
                self.reach.answered();
                Ok(response)
            }
            Err(e) => {
                let e = client_error(e);
                if let UpstreamError::Connect(why) | UpstreamError::Invalid(why) = &e {
                    self.reach.failed(why);
                }
                Err(e)
            }
        }
    }

    /// Forwards a GET/HEAD for a non-playlist path (or an OPTIONS preflight for any path) and returns the upstream response with
    /// its body still streaming. `deadline` bounds the wait for the response head only.
    pub async fn forward(
        &self,
        method: &Method,
        path_and_query: &str,
        client_headers: &HeaderMap,
        deadline: Duration,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let uri = self.uri(path_and_query)?;
        let preflight: &[header::HeaderName] = if method == Method::OPTIONS {
            &PREFLIGHT_REQUEST_HEADERS
        } else {
            &[]
        };
        let request = || {
            let mut request = Request::new(Empty::new());
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            let headers = request.headers_mut();
            for name in FORWARDED_REQUEST_HEADERS.iter().chain(preflight) {
                for value in client_headers.get_all(name) {
                    headers.append(name, value.clone());
                }
            }
            request
        };
        self.metrics
            .upstream_requests
            .fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = match tokio::time::timeout(deadline, self.send_idempotent(request)).await {
            Ok(result) => result,
            Err(_) => {
                self.reach
                    .failed(&format!("no answer within {} ms", deadline.as_millis()));
                Err(UpstreamError::Timeout {
                    blocking: false,
                    after: deadline,
                })
            }
        };
        self.metrics.record_upstream_latency(started.elapsed());
        if result.is_err() {
            self.metrics.upstream_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// Request headers a segment request carries upstream: range and validators, content
/// negotiation and the user agent. Nothing else (no cookies, no credentials, no hop-by-hop).
const FORWARDED_REQUEST_HEADERS: [header::HeaderName; 7] = [
    header::RANGE,
    header::IF_RANGE,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::USER_AGENT,
];

/// The [`KEPT_PLAYLIST_HEADERS`] of an upstream answer, every value of each.
fn kept_headers(headers: &HeaderMap) -> Vec<(header::HeaderName, HeaderValue)> {
    let mut kept = Vec::new();
    for name in &KEPT_PLAYLIST_HEADERS {
        for value in headers.get_all(name) {
            kept.push((name.clone(), value.clone()));
        }
    }
    kept
}

/// What a CORS preflight (`OPTIONS`) carries upstream besides [`FORWARDED_REQUEST_HEADERS`]:
/// the upstream needs them to answer it (Fetch standard, CORS-preflight request).
const PREFLIGHT_REQUEST_HEADERS: [header::HeaderName; 3] = [
    header::ORIGIN,
    header::ACCESS_CONTROL_REQUEST_METHOD,
    header::ACCESS_CONTROL_REQUEST_HEADERS,
];

/// Removes hop-by-hop headers (RFC 9110 §7.6.1), including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<header::HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| header::HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn client_error(e: hyper_util::client::legacy::Error) -> UpstreamError {
    if e.is_connect() {
        UpstreamError::Connect(source_chain(&e))
    } else {
        UpstreamError::Invalid(source_chain(&e))
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn is_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

fn gunzip(body: &[u8], max: usize) -> Result<Bytes, UpstreamError> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
    flate2::read::GzDecoder::new(body)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| UpstreamError::Invalid(format!("gzip playlist body: {e}")))?;
    if out.len() > max {
        return Err(UpstreamError::TooLarge { max });
    }
    Ok(Bytes::from(out))
}

/// Whether a request failed because its connection ended before any answer: a pooled
/// connection the upstream had closed meanwhile (hyper's "connection closed before message
/// completed", or a reset: Linux resets a connection closed with a request unread or arriving
/// after the close), or one hyper noticed was closed before sending (canceled).
fn closed_before_answer(e: &hyper_util::client::legacy::Error) -> bool {
    if e.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(hyper) = inner.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_canceled())
        {
            return true;
        }
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            );
        }
        source = inner.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_hop_by_hop_and_connection_named() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn rejects_non_http_upstreams() {
        let metrics = Arc::new(Metrics::default());
        let limits = UpstreamLimits::default();
        assert!(Upstream::new("https://example.com", limits, metrics.clone()).is_err());
        assert!(Upstream::new("example.com", limits, metrics.clone()).is_err());
        assert!(Upstream::new("http://h/?q", limits, metrics.clone()).is_err());
        let up = Upstream::new(
            "http://127.0.0.1:1/origin/",
            UpstreamLimits::default(),
            metrics,
        )
        .unwrap();
        assert_eq!(
            up.uri("/a/b.m3u8?x=1").unwrap().to_string(),
            "http://127.0.0.1:1/origin/a/b.m3u8?x=1"
        );
    }

    #[test]
    fn error_answers_get_the_cors_headers_the_upstream_last_allowed() {
        let up = Upstream::new(
            "http://127.0.0.1:1",
            UpstreamLimits::default(),
            Arc::new(Metrics::default()),
        )
        .unwrap();
        let origin = HeaderValue::from_static("https://player.example");
        assert!(up.cors_for(Some(&origin)).is_empty(), "nothing served yet");
        let served = |allow: &'static str| Fetched {
            status: StatusCode::OK,
            body: Bytes::new(),
            cache_control: None,
            content_type: None,
            kept: vec![
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static(allow),
                ),
                (
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("Age"),
                ),
            ],
        };
        // Any origin: repeated for every request, with or without an Origin.
        up.remember_cors(&served("*"));
        assert_eq!(up.cors_for(Some(&origin)), served("*").kept);
        assert_eq!(up.cors_for(None), served("*").kept);
        // One origin: only for that origin.
        up.remember_cors(&served("https://player.example"));
        assert_eq!(
            up.cors_for(Some(&origin)),
            served("https://player.example").kept
        );
        let other = HeaderValue::from_static("https://elsewhere.example");
        assert!(up.cors_for(Some(&other)).is_empty());
        assert!(up.cors_for(None).is_empty());
        // An upstream that stops sending CORS headers is followed.
        up.remember_cors(&Fetched {
            kept: Vec::new(),
            ..served("*")
        });
        assert!(up.cors_for(Some(&origin)).is_empty());
    }
}
