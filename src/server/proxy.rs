//! The player-facing side: rewritten media playlists and streamed pass-through.
//!
//! Cache-Control on playlists: answers to blocking requests (`_HLS_msn`, RFC 8216bis
//! §6.2.5.2) may be cached for a minute because their content for that request never
//! changes; other live media playlists for half the part target (LL-HLS) or half the
//! target duration, in whole seconds rounded down. Ended and multivariant playlists keep
//! the upstream's header.
use std::borrow::Cow;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::App;
use super::body::{BoxBody, BoxError, empty, full};
use super::error::Failure;
use super::metrics::Metrics;
use super::path::{stream_key_of, validate_path, validate_query};
use super::renders::{Payload, Rendered};
use super::stream::{RenderError, RenderOutcome, RenderRequest, Rendering, Stream};
use super::upstream::{Fetched, UpstreamError, strip_hop_by_hop};

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// `GET|HEAD <path>.m3u8`.
pub async fn playlist(
    app: &Arc<App>,
    req: &Request<Incoming>,
) -> Result<Response<BoxBody>, Failure> {
    let path = req.uri().path();
    validate_path(path).map_err(Failure::BadPath)?;
    let query = req.uri().query().unwrap_or("");
    validate_query(query).map_err(Failure::BadPath)?;
    let key = stream_key_of(path);
    let blocking = has_param(query, "_HLS_msn");
    let known = app.streams.cached(key);
    let deadline = if blocking {
        // RFC 8216bis §6.2.5.2: a blocked request that is not answered within three target
        // durations should be answered 503.
        let target = known
            .as_ref()
            .and_then(|s| s.target_duration())
            .filter(|t| t.is_finite() && *t > 0.0);
        match target {
            Some(target) => Duration::from_secs_f64((target * 3.0).min(600.0)),
            None => app.upstream_timeout() * 3,
        }
    } else {
        playlist_deadline(
            known.as_ref().and_then(|s| s.target_duration()),
            app.upstream_timeout(),
        )
    };
    // The request's own `path?query` bytes when the query goes upstream unchanged.
    let target = match upstream_query(query, app.skip_v2_as_yes) {
        Cow::Borrowed("") => Cow::Borrowed(path),
        Cow::Borrowed(_) => Cow::Borrowed(path_and_query(req)),
        Cow::Owned(rewritten) => Cow::Owned(format!("{path}?{rewritten}")),
    };
    let (fetched, rendered) =
        fetch_and_render(app, path, &target, known, deadline, blocking).await?;
    let gzip = accepts_gzip(req.headers());
    let payload = if gzip {
        gzip_payload(&rendered).await?
    } else {
        &rendered.plain
    };
    let mut response = Response::new(if req.method() == Method::HEAD {
        empty()
    } else {
        full(payload.bytes.clone())
    });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PLAYLIST_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, payload.content_length.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let cache_control = if !rendered.media || rendered.ended {
        fetched.cache_control.clone()
    } else if blocking {
        Some(HeaderValue::from_static("max-age=60"))
    } else {
        Some(rendered.live_cache_control.clone())
    };
    if let Some(value) = cache_control {
        headers.insert(header::CACHE_CONTROL, value);
    }
    // The upstream's CORS headers, shared with every answer made from this fetch: cloning a
    // name or value shares its bytes.
    for (name, value) in &fetched.kept {
        headers.append(name.clone(), value.clone());
    }
    if !rendered.media
        && let Some(content_type) = &fetched.content_type
    {
        headers.insert(header::CONTENT_TYPE, content_type.clone());
    }
    Ok(response)
}

/// Fetches `target` (the upstream request for the playlist at `path`) and renders it with its
/// stream's timeline. Every playlist the proxy reads goes through here — a player's request
/// or an API call refreshing the live edge — so decisions, caches, metrics and the live edge
/// are observed the same way whoever asked.
async fn fetch_and_render(
    app: &Arc<App>,
    path: &str,
    target: &str,
    known: Option<Arc<Stream>>,
    deadline: Duration,
    blocking: bool,
) -> Result<(Arc<Fetched>, Arc<Rendered>), Failure> {
    let fetched = app
        .upstream
        .fetch_playlist(target, deadline, blocking)
        .await
        .map_err(upstream_failure)?;
    if fetched.status != StatusCode::OK {
        return Err(Failure::UpstreamStatus(fetched.status));
    }
    let key = stream_key_of(path);
    let is_new = known.is_none();
    let stream = match known {
        Some(stream) => stream,
        None => match app
            .streams
            .find_or_create(key)
            .await
            .map_err(|e| Failure::Unavailable(format!("break store failed: {e}")))?
        {
            Some(stream) => stream,
            None => {
                app.metrics.streams_refused.fetch_add(1, Ordering::Relaxed);
                return unmarked(app, fetched, path);
            }
        },
    };
    let render = |primary_tried| {
        let stream = Arc::clone(&stream);
        let fetched = Arc::clone(&fetched);
        async move {
            let req = RenderRequest {
                path,
                target,
                upstream: &fetched.body,
                opts: app.rewrite_options_for(&stream),
                primary_tried,
            };
            stream
                .render(app.streams.store(), app.streams.budget(), &req)
                .await
        }
    };
    let mut rendering = render(false).await;
    if let Ok(RenderOutcome::NeedsPrimary) = rendering {
        // A break's start or end is due and only the primary rendition decides it: have the
        // primary fetched (shared with its players' requests) and rendered, then render this
        // rendition with what it decided. If that fails, this one is served without the break
        // (nothing undecided is ever published).
        if let Some(primary) = stream.primary_path()
            && primary != *path
        {
            let deadline = playlist_deadline(stream.target_duration(), app.upstream_timeout());
            let decided = Box::pin(fetch_and_render(
                app,
                &primary,
                &primary,
                Some(Arc::clone(&stream)),
                deadline,
                false,
            ))
            .await;
            if let Err(e) = decided {
                tracing::warn!(stream = %stream.key, primary = %primary, error = %e.message(), "the primary rendition could not be rendered to decide a break");
            }
        }
        rendering = render(true).await;
    }
    if rendering.is_err() && is_new {
        app.streams.forget_unused(key);
    }
    let Rendering {
        rendered,
        cache_hit,
    } = match rendering {
        Ok(RenderOutcome::Ready(rendering)) => rendering,
        Ok(RenderOutcome::NeedsPrimary) => {
            return Err(Failure::Unavailable(
                "the break could not be decided".to_owned(),
            ));
        }
        Err(RenderError::NotAPlaylist(e)) => {
            return Err(Failure::BadGateway(format!(
                "upstream playlist rejected: {e}"
            )));
        }
    };
    app.streams.enforce_budget();
    if cache_hit {
        app.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
    } else {
        app.metrics.renders.fetch_add(1, Ordering::Relaxed);
    }
    app.upstream.remember_cors(&fetched);
    Ok((fetched, rendered))
}

/// A playlist of a directory that is not a stream (see [`crate::server::admission`]), served
/// as the packager wrote it but for the one edit every media playlist gets (CAN-SKIP-DATERANGES
/// withdrawn, see [`crate::hls`]), so a client switching between proxies sees the same bytes.
/// Rendered for each request, never cached: nothing about it is kept.
fn unmarked(
    app: &Arc<App>,
    fetched: Arc<Fetched>,
    path: &str,
) -> Result<(Arc<Fetched>, Arc<Rendered>), Failure> {
    static NO_BREAKS: std::sync::OnceLock<crate::hls::Timeline> = std::sync::OnceLock::new();
    let timeline = NO_BREAKS.get_or_init(crate::hls::Timeline::new);
    let mut out = Vec::with_capacity(fetched.body.len());
    let (body, media, outcome) =
        match crate::hls::rewrite(&fetched.body, timeline, &app.rewrite_options, &mut out) {
            Ok(outcome) => {
                let media = outcome.kind == crate::hls::PlaylistKind::Media;
                let body = if media {
                    Bytes::from(out)
                } else {
                    fetched.body.clone()
                };
                (body, media, Some(outcome))
            }
            Err(crate::hls::RewriteError::NotAPlaylist) => {
                return Err(Failure::BadGateway(
                    "upstream playlist rejected: not an HLS playlist".to_owned(),
                ));
            }
            Err(e) => {
                tracing::debug!(path, error = %e, "playlist served unmarked as is");
                (fetched.body.clone(), true, None)
            }
        };
    let rendered = Rendered::new(
        &fetched.body,
        0,
        body,
        media,
        outcome.as_ref().is_some_and(|o| o.ended),
        outcome
            .as_ref()
            .and_then(|o| o.part_target.or(o.target_duration)),
        app.streams.budget(),
    );
    Ok((fetched, Arc::new(rendered)))
}

/// Brings `stream`'s live edge up to date before an API call reads "now": fetches the media
/// playlists of the stream the proxy has rendered — all of them at once, plainly (no `_HLS_`
/// directives, the normal deadline, coalesced with identical player requests) — and renders
/// them as if a player had asked. Without this, "now" would be wherever the last player
/// happened to leave the live edge, which may be many segments in the past.
///
/// The paths come from the stream's store record too, so right after a restart the edge is
/// refreshed before any player has asked. A stream with no known media playlist path (only
/// its multivariant playlist seen) has nothing to refresh; its live edge stays unknown and
/// the caller answers as it does for that.
///
/// # Errors
/// `Unavailable` when none of the playlists could be fetched and rendered: an acknowledged
/// event must be placed by the live edge, never by a guess.
pub async fn refresh_live_edge(app: &Arc<App>, stream: Arc<Stream>) -> Result<(), String> {
    let paths = stream.media_paths();
    if paths.is_empty() {
        return Ok(());
    }
    let mut fetches = tokio::task::JoinSet::new();
    for path in paths {
        let app = Arc::clone(app);
        let stream = Arc::clone(&stream);
        fetches.spawn(async move {
            let deadline = playlist_deadline(stream.target_duration(), app.upstream_timeout());
            fetch_and_render(&app, &path, &path, Some(stream), deadline, false)
                .await
                .map_err(|failure| format!("{path}: {}", failure.message()))
        });
    }
    let mut failures = Vec::new();
    let mut refreshed = false;
    while let Some(done) = fetches.join_next().await {
        match done {
            Ok(Ok(_)) => refreshed = true,
            Ok(Err(why)) => failures.push(why),
            Err(e) => failures.push(format!("refresh task failed: {e}")),
        }
    }
    if refreshed {
        Ok(())
    } else {
        failures.sort();
        Err(format!(
            "the live edge of stream {} could not be refreshed from upstream, so \"now\" is not known; nothing was changed ({})",
            stream.key,
            failures.join("; ")
        ))
    }
}

/// The gzip form of `rendered`, compressed on a blocking thread the first time it is asked
/// for (compressing a large playlist takes milliseconds: never on a runtime worker).
async fn gzip_payload(rendered: &Arc<Rendered>) -> Result<&Payload, Failure> {
    if rendered.gzip_ready().is_none() {
        let compress = Arc::clone(rendered);
        tokio::task::spawn_blocking(move || {
            compress.gzip_blocking();
        })
        .await
        .map_err(|e| Failure::Unavailable(format!("compressing the playlist: {e}")))?;
    }
    rendered
        .gzip_ready()
        .ok_or_else(|| Failure::Unavailable("compressing the playlist failed".to_owned()))
}

/// `GET|HEAD` of anything but a playlist, and `OPTIONS` (CORS preflight) of any playlist or
/// segment path: streamed through with the upstream's status and headers.
pub async fn pass_through(
    app: &Arc<App>,
    req: &Request<Incoming>,
) -> Result<Response<BoxBody>, Failure> {
    let path = req.uri().path();
    validate_path(path).map_err(Failure::BadPath)?;
    if let Some(query) = req.uri().query() {
        validate_query(query).map_err(Failure::BadPath)?;
    }
    let target = path_and_query(req);
    let upstream = app
        .upstream
        .forward(req.method(), target, req.headers(), app.upstream_timeout())
        .await
        .map_err(upstream_failure)?;
    let (mut parts, body) = upstream.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = IdleTimeout {
        inner: body,
        idle: app.upstream_timeout(),
        timer: None,
        waiting: false,
        metrics: Arc::clone(&app.metrics),
        uri: req.uri().clone(),
    };
    Ok(Response::from_parts(parts, BodyExt::boxed(body)))
}

/// A streamed upstream body that fails once the upstream has sent nothing for `idle` while
/// the client was waiting for more. The failure makes hyper abort the response, so the
/// client sees a truncated transfer instead of a connection that hangs forever. Nothing is
/// buffered: frames pass through as they come.
struct IdleTimeout {
    inner: Incoming,
    idle: Duration,
    /// Made on the first wait (a body that is always ready never needs one).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The timer runs for the current wait: it starts when a poll finds no frame, not at the
    /// last frame, so time a slow client spends not reading never counts against the upstream.
    waiting: bool,
    metrics: Arc<Metrics>,
    /// The client's request target, for the log line (shares the request's bytes).
    uri: http::Uri,
}

/// The error an [`IdleTimeout`] body ends with.
#[derive(Debug)]
struct UpstreamIdle(Duration);

impl std::fmt::Display for UpstreamIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "upstream sent nothing for {} ms", self.0.as_millis())
    }
}

impl std::error::Error for UpstreamIdle {}

impl Body for IdleTimeout {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = false;
            return Poll::Ready(frame.map(|result| result.map_err(BoxError::from)));
        }
        if !this.waiting {
            this.waiting = true;
            if let Some(timer) = this.timer.as_mut() {
                timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + this.idle);
            }
        }
        let idle = this.idle;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                this.metrics.body_timeouts.fetch_add(1, Ordering::Relaxed);
                this.metrics.upstream_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    path = this.uri.path(),
                    idle_ms = this.idle.as_millis() as u64,
                    "upstream body stalled; aborting the response"
                );
                Poll::Ready(Some(Err(Box::new(UpstreamIdle(this.idle)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Maps upstream failures to the status the issue and RFC 8216bis ask for.
fn upstream_failure(e: UpstreamError) -> Failure {
    match e {
        UpstreamError::Connect(why) => Failure::BadGateway(format!("upstream unreachable: {why}")),
        UpstreamError::Invalid(why) => {
            Failure::BadGateway(format!("invalid upstream answer: {why}"))
        }
        UpstreamError::Timeout {
            blocking: true,
            after,
        } => Failure::Unavailable(format!(
            "blocking playlist reload not satisfied within {} ms",
            after.as_millis()
        )),
        UpstreamError::Timeout {
            blocking: false,
            after,
        } => Failure::GatewayTimeout(format!(
            "upstream did not answer within {} ms",
            after.as_millis()
        )),
        UpstreamError::Overloaded { max } => Failure::Unavailable(format!(
            "{max} upstream playlist fetches are already in flight; try again"
        )),
        UpstreamError::TooLarge { max } => {
            Failure::BadGateway(format!("upstream playlist larger than {max} bytes"))
        }
    }
}

/// The deadline of a non-blocking playlist fetch for a stream whose segments last
/// `target_duration` seconds: about one target duration (a playlist that takes longer is late
/// for every player, which reloads about that often), at least a second, never more than the
/// configured `upstream_timeout_ms`.
pub fn playlist_deadline(target_duration: Option<f64>, ceiling: Duration) -> Duration {
    match target_duration.filter(|t| t.is_finite() && *t > 0.0) {
        Some(target) => Duration::from_secs_f64((target + 0.5).clamp(1.0, 3600.0)).min(ceiling),
        None => ceiling,
    }
}

/// The request target as received (`/path?query`), without copying it.
fn path_and_query(req: &Request<Incoming>) -> &str {
    req.uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |pq| pq.as_str())
}

fn has_param(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// The query sent upstream: the client's, except that `_HLS_skip=v2` becomes `_HLS_skip=YES`
/// when the proxy withdrew `CAN-SKIP-DATERANGES` (the upstream would otherwise omit the
/// DATERANGE tags the proxy itself must see).
fn upstream_query(query: &str, skip_v2_as_yes: bool) -> Cow<'_, str> {
    if !skip_v2_as_yes || !query.split('&').any(|pair| pair == "_HLS_skip=v2") {
        return Cow::Borrowed(query);
    }
    let mut rewritten = String::with_capacity(query.len() + 2);
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            rewritten.push('&');
        }
        rewritten.push_str(if pair == "_HLS_skip=v2" {
            "_HLS_skip=YES"
        } else {
            pair
        });
    }
    Cow::Owned(rewritten)
}

/// Whether `Accept-Encoding` allows gzip (a `gzip`, `x-gzip` or `*` coding with q > 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let allowed = parts.all(|param| {
                let param = param.trim();
                match param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                {
                    Some(q) => q.trim().parse::<f32>().is_ok_and(|q| q > 0.0),
                    None => true,
                }
            });
            allowed
                && (name.eq_ignore_ascii_case("gzip")
                    || name.eq_ignore_ascii_case("x-gzip")
                    || name == "*")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.5"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepts_gzip(&headers));
    }

    #[test]
    fn skip_v2_rewrite() {
        assert_eq!(
            upstream_query("_HLS_msn=3&_HLS_skip=v2", true),
            "_HLS_msn=3&_HLS_skip=YES"
        );
        assert_eq!(
            upstream_query("_HLS_msn=3&_HLS_skip=v2", false),
            "_HLS_msn=3&_HLS_skip=v2"
        );
        assert_eq!(upstream_query("_HLS_skip=YES", true), "_HLS_skip=YES");
        assert!(has_param("_HLS_msn=3&_HLS_part=1", "_HLS_msn"));
        assert!(!has_param("x_HLS_msn=3", "_HLS_msn"));
    }
}
