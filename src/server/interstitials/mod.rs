//! HLS Interstitials served by the proxy itself: the asset lists the `interstitial` marker family
//! points to, where their ads come from, the built-in ad and the player page
//! (draft-pantos-hls-rfc8216bis Appendix D; Apple, "Getting Started with HLS Interstitials").
//!
//! # Routes
//! Every path under `/hlsplice/` is the proxy's own: it is answered here and never forwarded
//! upstream (a stream whose playlists live under `/hlsplice/` cannot be proxied).
//! - `GET|HEAD /hlsplice/assets/<stream key>/<break id>.json`: the break's asset list,
//!   `{"ASSETS": [{"URI": ..., "DURATION": ...}, ...]}`. The stream key keeps its `/`s (`%2F`
//!   alone is the root stream; `%`, `"`, `{` and `}` of a key are percent-encoded). Players add
//!   `_HLS_primary_id` (ignored) and, when they join mid-break, `_HLS_start_offset` (below).
//! - `GET|HEAD /hlsplice/ad/...`: the built-in 4-second ad ([`builtin_ad`]).
//! - `OPTIONS` on either: a CORS preflight, answered here.
//! - `GET /`, when `player_page` is on: the player page ([`page`]).
//!
//! Each stream's rewrite options carry its `X-ASSET-LIST` template, made once per stream
//! ([`App::rewrite_options_for`]): relative to the stream's media playlists
//! (`../../hlsplice/assets/live/demo/{break_id}.json` for `/live/demo/*.m3u8`), so the players ask
//! the same origin and path prefix (a CDN in front included) that served the playlist. hls.js 1.7
//! and Shaka Player 5.2 both resolve `X-ASSET-LIST` against the media playlist's URL.
//!
//! An asset list carries the CORS headers the upstream last sent with a playlist when they allow
//! the request's origin (`Upstream::cors_for`), as the proxy's own playlist error answers do:
//! hls.js loads the list with an XMLHttpRequest from the page's origin.
//!
//! # Where the ads come from
//! The break's own [`AdSource`] (`"ads"` in the native API) if it has one, else the server's ad
//! decision URL (`ad_decision_url`) if one is configured, else the server's fixed list
//! (`ad_assets`). A fixed list is filled into the break's planned duration by
//! [`crate::hls::ads::fill`]. An ad decision server's answer is checked ([`decision`]) and passed
//! on; when it cannot be used — unreachable, slower than `ad_decision_timeout_ms`, a status other
//! than 200, an invalid answer, too many decisions in flight — the server's fixed list is answered
//! instead (503 when there is none), and the failure is logged and counted in `/metrics` by
//! reason.
//!
//! # Joining mid-break: `_HLS_start_offset`
//! A player that starts playback inside an interstitial adds `_HLS_start_offset=<seconds into the
//! break>` (Appendix D; hls.js 1.7 `AssetListLoader.loadAssetList`, Shaka 5.2
//! `InterstitialAdManager.resolveAssetList_`). The answer stays measured from the break's start:
//! both players place each asset after the DURATIONs before it, counted from START-DATE, then
//! themselves skip the assets that end before the offset and start the one in progress at the
//! offset's distance from its start (hls.js `createAssetPlayer`'s `startPosition`; Shaka's
//! `assetStartOffsets_`). A list with the past assets cut off would shift every asset's place for
//! them: hls.js would start the wrong ad at the wrong point, or find the offset past the shortened
//! list and skip the break. So the offset reaches the ads as follows:
//! - a fixed list: the same list for every offset, and the player skips what is past;
//! - an ad decision server: `{start_offset}` (whole seconds) is passed on, so it can choose for a
//!   viewer who sees only the rest of the break, and its answer is cached per offset second.
//!
//! # Bounded
//! Answers are cached per (stream, break, start-offset second; 0 for fixed lists) in a
//! least-recently-used cache of `asset_list_cache_entries` ([`cache`]); an answer is at most
//! [`decision::MAX_ANSWER_BYTES`] or [`crate::hls::ads::MAX_ADS`] ads. The offset second is clamped
//! to the break's planned duration. Concurrent requests for one key share one ad decision; at
//! most [`MAX_DECISIONS_IN_FLIGHT`] run at once (past it, the fixed list is answered at once).
//! Answers that fell back to the fixed list are not cached, so the next request asks the ad
//! decision server again.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio::sync::watch;
use url::Url;

use super::App;
use super::body::{BoxBody, empty, full};
use super::error::Failure;
use super::path::{ROOT_STREAM, validate_path};
use super::stream::{Stream, lock};
use crate::hls::ads::{AdAsset, AdAssets, AdDecisionTemplate, AdSource, DecisionValues};
use crate::hls::{AssetListTemplate, Break, Markers, RewriteOptions};

mod answer;
pub mod builtin_ad;
mod cache;
mod decision;
mod metrics;
pub mod page;

use answer::{AssetList, Source};
use cache::{AssetListCache, Key};
use decision::{DecisionClient, DecisionFailure};
use metrics::AssetMetrics;

/// The proxy's own namespace.
pub const PREFIX: &str = "/hlsplice/";
/// Where asset lists are answered.
pub const ASSETS_PREFIX: &str = "/hlsplice/assets/";
/// Most ad decisions in flight at once (distinct breaks and offsets): each holds a connection
/// and a task for at most `ad_decision_timeout_ms`.
pub const MAX_DECISIONS_IN_FLIGHT: usize = 64;

/// The `route` labels of `hlsplice_requests_total`.
pub mod route {
    /// Asset lists.
    pub const ASSET_LIST: &str = "asset_list";
    /// The built-in ad.
    pub const BUILTIN_AD: &str = "builtin_ad";
    /// Anything else under `/hlsplice/`.
    pub const RESERVED: &str = "hlsplice";
    /// The player page.
    pub const PLAYER_PAGE: &str = "player_page";
}

/// What the server was configured with, checked.
pub struct Settings {
    /// The server's fixed ads (none: empty).
    pub assets: Vec<AdAsset>,
    /// The server's ad decision URL.
    pub decision: Option<AdDecisionTemplate>,
    /// Deadline of one ad decision.
    pub deadline: Duration,
    /// Capacity of the asset-list cache.
    pub cache_entries: usize,
}

type Decided = Result<Arc<AssetList>, String>;

/// The interstitial state shared by every connection.
pub struct Interstitials {
    assets: Option<AdAssets>,
    decision: Option<AdDecisionTemplate>,
    deadline: Duration,
    client: DecisionClient,
    cache: Mutex<AssetListCache>,
    in_flight: Mutex<HashMap<Key, watch::Receiver<Option<Decided>>>>,
    metrics: AssetMetrics,
}

impl Interstitials {
    /// # Errors
    /// More fixed ads than a list may hold.
    pub fn new(settings: Settings) -> Result<Self, String> {
        let assets = if settings.assets.is_empty() {
            None
        } else {
            Some(AdAssets::new(settings.assets).map_err(|e| format!("ad_assets: {e}"))?)
        };
        Ok(Self {
            assets,
            decision: settings.decision,
            deadline: settings.deadline,
            client: DecisionClient::new(settings.deadline),
            cache: Mutex::new(AssetListCache::new(settings.cache_entries)),
            in_flight: Mutex::new(HashMap::new()),
            metrics: AssetMetrics::default(),
        })
    }

    /// Whether any source of ads is configured for breaks that name none.
    pub fn has_server_source(&self) -> bool {
        self.assets.is_some() || self.decision.is_some()
    }

    /// Appends the interstitial metrics.
    pub fn render_metrics(&self, out: &mut String) {
        let (entries, evicted) = {
            let cache = lock(&self.cache);
            (cache.len(), cache.evicted())
        };
        self.metrics.render(out, entries, evicted);
    }
}

impl App {
    /// The rewrite options for `stream`: the server's, plus, when the interstitial family is on,
    /// the stream's own `X-ASSET-LIST` template, made the first time the stream is rendered and
    /// kept with it (a lookup after that is a load of a pointer: no allocation per request).
    pub(crate) fn rewrite_options_for<'a>(&'a self, stream: &'a Stream) -> &'a RewriteOptions {
        if !self.rewrite_options.dialect.contains(Markers::INTERSTITIAL) {
            return &self.rewrite_options;
        }
        stream.rewrite_options(|| RewriteOptions {
            interstitial_asset_list: asset_list_template(&stream.key),
            ..self.rewrite_options.clone()
        })
    }
}

/// The `X-ASSET-LIST` template of stream `key`, relative to its media playlists (see the module
/// docs). `None` only if the key could not make one (it always can: every character a template
/// cannot carry is percent-encoded).
pub fn asset_list_template(key: &str) -> Option<AssetListTemplate> {
    let mut text = String::with_capacity(key.len() * 2 + 48);
    if key == ROOT_STREAM {
        text.push_str("hlsplice/assets/%2F");
    } else {
        for _ in key.split('/') {
            text.push_str("../");
        }
        text.push_str("hlsplice/assets/");
        for c in key.chars() {
            match c {
                '%' => text.push_str("%25"),
                '"' => text.push_str("%22"),
                '{' => text.push_str("%7B"),
                '}' => text.push_str("%7D"),
                c => text.push(c),
            }
        }
    }
    text.push_str("/{break_id}.json");
    AssetListTemplate::new(text).ok()
}

/// The stream key and break id of an asset-list path.
fn parse_asset_path(path: &str) -> Result<(String, u64), Failure> {
    let not_found = || Failure::NotFound(format!("no asset list {path}"));
    let rest = path.strip_prefix(ASSETS_PREFIX).ok_or_else(not_found)?;
    let (encoded, file) = rest.rsplit_once('/').ok_or_else(not_found)?;
    let id = file
        .strip_suffix(".json")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or_else(not_found)?;
    if encoded.eq_ignore_ascii_case("%2F") {
        return Ok((ROOT_STREAM.to_owned(), id));
    }
    let mut key = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        key.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3).unwrap_or("");
        let decoded = match code.to_ascii_uppercase().as_str() {
            "25" => Some('%'),
            "22" => Some('"'),
            "7B" => Some('{'),
            "7D" => Some('}'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                key.push(c);
                rest = &rest[at + 3..];
            }
            None => {
                key.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    key.push_str(rest);
    // The key of a playlist the proxy would fetch: the same check as a player's request.
    validate_path(&format!("/{key}/x.m3u8")).map_err(Failure::BadPath)?;
    Ok((key, id))
}

/// `_HLS_start_offset` of an asset-list query, in seconds (0 when absent). Other parameters
/// (`_HLS_primary_id`, ...) are for other servers and ignored.
fn start_offset(query: Option<&str>) -> Result<f64, Failure> {
    let Some(query) = query else {
        return Ok(0.0);
    };
    let mut offset = 0.0;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == "_HLS_start_offset" {
            offset = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    Failure::BadRequest(format!(
                        "_HLS_start_offset must be a number of seconds, 0 or more, got {value:?}"
                    ))
                })?;
        }
    }
    Ok(offset)
}

/// The asset-list request's own URL, as the player asked it (for resolving the relative URIs of
/// configured ads): `http://<Host><path>`, or `https` when a TLS-terminating proxy in front says
/// so in `X-Forwarded-Proto`. `None` without a usable `Host`.
fn request_url<B>(req: &Request<B>) -> Option<Url> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    let url = Url::parse(&format!("{scheme}://{host}{}", req.uri().path())).ok()?;
    // A Host with a path or userinfo would make a base that is not this request.
    (url.path() == req.uri().path() && url.username().is_empty()).then_some(url)
}

/// Whether the proxy answers `path` itself.
pub fn owns(path: &str) -> bool {
    path.starts_with(PREFIX) || path == "/hlsplice"
}

/// Answers a request under `/hlsplice/`: the route label and the answer.
pub async fn answer(
    app: &Arc<App>,
    req: &Request<Incoming>,
) -> (&'static str, Result<Response<BoxBody>, Failure>) {
    let path = req.uri().path();
    let label = if path.starts_with(ASSETS_PREFIX) {
        route::ASSET_LIST
    } else if path.starts_with(builtin_ad::PREFIX) {
        route::BUILTIN_AD
    } else {
        route::RESERVED
    };
    let result = match (req.method(), label) {
        (&Method::GET | &Method::HEAD, route::ASSET_LIST) => asset_list(app, req).await,
        (&Method::GET | &Method::HEAD, route::BUILTIN_AD) => builtin_ad::answer(req),
        (&Method::OPTIONS, route::ASSET_LIST | route::BUILTIN_AD) => Ok(preflight(app, req)),
        (&Method::GET | &Method::HEAD | &Method::OPTIONS, _) => Err(Failure::NotFound(format!(
            "nothing at {path} (paths under {PREFIX} are the proxy's own)"
        ))),
        _ => Err(Failure::MethodNotAllowed),
    };
    (label, result)
}

/// A CORS preflight of an asset list or the built-in ad: what a GET of it would allow.
fn preflight<B>(app: &App, req: &Request<B>) -> Response<BoxBody> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD"),
    );
    if req.uri().path().starts_with(builtin_ad::PREFIX) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else {
        for (name, value) in app.upstream.cors_for(req.headers().get(header::ORIGIN)) {
            headers.append(name, value);
        }
    }
    response
}

/// `GET|HEAD /hlsplice/assets/<stream>/<id>.json`.
async fn asset_list(app: &Arc<App>, req: &Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let (key, id) = parse_asset_path(req.uri().path())?;
    let offset = start_offset(req.uri().query())?;
    let b = app
        .streams
        .get_break(&key, id)
        .await
        .map_err(|e| Failure::from_break(&key, e))?
        .b;
    if b.cancelled {
        return Err(Failure::NotFound(format!(
            "break {id} of stream {key} was cancelled"
        )));
    }
    let (list, cache_hit) = list_for(app, &key, &b, offset).await?;
    app.interstitials
        .metrics
        .answered(list.source, cache_hit, offset > 0.0);
    let body = list.to_json(request_url(req).as_ref());
    let length = body.len();
    let mut response = Response::new(if req.method() == Method::HEAD {
        empty()
    } else {
        full(body)
    });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // Each player session asks with its own `_HLS_primary_id`: nothing for a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in app.upstream.cors_for(req.headers().get(header::ORIGIN)) {
        headers.append(name, value);
    }
    Ok(response)
}

/// The source of break `b`'s ads (see the module docs).
enum Chosen {
    Fixed(AdAssets),
    Decision(AdDecisionTemplate),
}

fn choose(ints: &Interstitials, b: &Break) -> Option<Chosen> {
    match &b.ads {
        Some(AdSource::Assets(list)) => Some(Chosen::Fixed(list.clone())),
        Some(AdSource::DecisionUrl(template)) => Some(Chosen::Decision(template.clone())),
        None => ints
            .decision
            .clone()
            .map(Chosen::Decision)
            .or_else(|| ints.assets.clone().map(Chosen::Fixed)),
    }
}

/// The answer for break `b` of stream `key` to a player starting `offset` seconds into it, and
/// whether it came from the cache.
async fn list_for(
    app: &Arc<App>,
    key: &str,
    b: &Break,
    offset: f64,
) -> Result<(Arc<AssetList>, bool), Failure> {
    let ints = &app.interstitials;
    let chosen = choose(ints, b).ok_or_else(|| {
        Failure::NotFound(format!(
            "no ads for break {} of stream {key}: the server has no ad_assets or ad_decision_url and the break names no ads",
            b.id
        ))
    })?;
    let template = match chosen {
        Chosen::Fixed(list) => {
            let cache_key = Key {
                stream: key.to_owned(),
                break_id: b.id,
                bucket: 0,
            };
            if let Some(hit) = lock(&ints.cache).get(&cache_key) {
                return Ok((hit, true));
            }
            let answer = Arc::new(AssetList::filled(
                &list,
                b.planned_duration_ms,
                Source::Static,
            ));
            lock(&ints.cache).put(cache_key, Arc::clone(&answer));
            return Ok((answer, false));
        }
        Chosen::Decision(template) => template,
    };
    // Whole seconds, at most the break's length: what an ad server can tell apart, and what
    // keeps the keys a client can make per break bounded.
    let bucket = (offset.floor() as u64).min(b.planned_duration_ms.div_ceil(1000));
    let cache_key = Key {
        stream: key.to_owned(),
        break_id: b.id,
        bucket,
    };
    if let Some(hit) = lock(&ints.cache).get(&cache_key) {
        return Ok((hit, true));
    }
    let mut waiting = {
        let mut in_flight = lock(&ints.in_flight);
        match in_flight.get(&cache_key) {
            Some(existing) => existing.clone(),
            None if in_flight.len() >= MAX_DECISIONS_IN_FLIGHT => {
                drop(in_flight);
                let failure = DecisionFailure::Busy;
                ints.metrics.decision_failed(&failure);
                tracing::warn!(stream = key, break_id = b.id, reason = %failure, "ad decision not asked; answering the fixed ads");
                return fallback(ints, b)
                    .map(|list| (list, false))
                    .map_err(Failure::Unavailable);
            }
            None => {
                let (sender, receiver) = watch::channel(None);
                in_flight.insert(cache_key.clone(), receiver.clone());
                let values = DecisionValues {
                    break_id: b.id,
                    stream: key,
                    planned_ms: b.planned_duration_ms,
                    start_offset_s: bucket,
                };
                let url = template.render(&values);
                let app = Arc::clone(app);
                let b = b.clone();
                let key = cache_key.clone();
                // Its own task: the decision completes (and is cached) even when the player that
                // asked goes away, and everyone waiting meanwhile gets it.
                tokio::spawn(async move {
                    let decided = decide(&app, &url, &b, &key).await;
                    lock(&app.interstitials.in_flight).remove(&key);
                    let _ = sender.send(Some(decided));
                });
                receiver
            }
        }
    };
    let decided = match waiting.wait_for(Option::is_some).await {
        Ok(value) => value.clone().unwrap_or_else(|| Err("vanished".to_owned())),
        Err(_) => {
            // The deciding task ended without an answer: let the next request start afresh.
            lock(&ints.in_flight).remove(&cache_key);
            Err("the ad decision was abandoned".to_owned())
        }
    };
    decided
        .map(|list| (list, false))
        .map_err(Failure::Unavailable)
}

/// Asks the ad decision server at `url` for break `b`; its answer is cached under `key`. On
/// failure, the server's fixed list (not cached).
async fn decide(app: &Arc<App>, url: &str, b: &Break, key: &Key) -> Decided {
    let ints = &app.interstitials;
    let asked = match Url::parse(url) {
        Ok(url) => {
            ints.metrics.decision_request();
            ints.client.ask(&url, ints.deadline).await
        }
        Err(e) => Err(DecisionFailure::Invalid(format!("URL {url:?}: {e}"))),
    };
    match asked {
        Ok(list) => {
            let list = Arc::new(list);
            lock(&ints.cache).put(key.clone(), Arc::clone(&list));
            Ok(list)
        }
        Err(failure) => {
            ints.metrics.decision_failed(&failure);
            tracing::warn!(stream = %key.stream, break_id = b.id, url, reason = %failure, "ad decision failed; answering the fixed ads");
            fallback(ints, b)
        }
    }
}

/// The server's fixed list filled into break `b`, answered when its ad decision failed; else why
/// there is none.
fn fallback(ints: &Interstitials, b: &Break) -> Decided {
    match &ints.assets {
        Some(list) => Ok(Arc::new(AssetList::filled(
            list,
            b.planned_duration_ms,
            Source::Fallback,
        ))),
        None => Err(format!(
            "the ad decision for break {} failed and the server has no ad_assets to fall back to",
            b.id
        )),
    }
}

#[cfg(test)]
mod tests;
