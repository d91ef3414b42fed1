//! The packager's HTTP front: one `match` over the path, one task per connection under
//! `GracefulShutdown`.
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Fault, Flavor, Packager, PlaylistError, Rendition, Skip};

type Body = Full<Bytes>;

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// Serves `packager` on `listener` until `shutdown` resolves, then lets open requests finish
/// (at most 2 s). Nothing else ends it: a failed accept is logged and retried after 50 ms,
/// per-connection errors are logged and dropped.
pub async fn serve(
    packager: Arc<Packager>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(x) => x,
                    Err(err) => {
                        tracing::warn!(%err, "packager: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let packager = packager.clone();
                let service = service_fn(move |req| {
                    let packager = packager.clone();
                    async move { Ok::<_, Infallible>(cors(handle(&packager, req).await)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%err, "packager: connection error");
                    }
                });
            }
        }
    }
    drop(listener);
    // Blocking and stalled requests could hold shutdown forever: bound the wait.
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

/// Every answer may be read by a page of any origin, as with public test streams: a browser
/// player (hls.js, video.js) on another origin plays the demo directly or through the proxy,
/// which keeps these headers. Nothing is credentialed, so `*` is enough.
fn cors(mut res: Response<Body>) -> Response<Body> {
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// A CORS preflight (Fetch standard): any origin may GET or HEAD anything here, with any
/// safelisted or `Range` header, and may remember that for a day.
fn preflight() -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::NO_CONTENT;
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Range"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    res
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

fn with_type(body: Bytes, content_type: &'static str, cache: &'static str) -> Response<Body> {
    let mut res = Response::new(Full::new(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// A request path of the packager, parsed.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Multivariant(Flavor),
    Media(Flavor, Rendition),
    Init(Rendition),
    Segment(Flavor, Rendition, u64),
    Part(Rendition, u64, u64),
}

fn valid_stream(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn parse_route(path: &str) -> Option<Route> {
    let mut it = path.strip_prefix('/')?.split('/');
    let flavor = match it.next()? {
        "live" => Flavor::Classic,
        "ll" => Flavor::LowLatency,
        _ => return None,
    };
    let stream = it.next()?;
    let file = it.next()?;
    if it.next().is_some() || !valid_stream(stream) {
        return None;
    }
    match file {
        "master.m3u8" => return Some(Route::Multivariant(flavor)),
        "video.m3u8" => return Some(Route::Media(flavor, Rendition::Video)),
        "audio.m3u8" => return Some(Route::Media(flavor, Rendition::Audio)),
        _ => {}
    }
    let (rendition, rest) = if let Some(rest) = file.strip_prefix("video_") {
        (Rendition::Video, rest)
    } else if let Some(rest) = file.strip_prefix("audio_") {
        (Rendition::Audio, rest)
    } else {
        return None;
    };
    if rest == "init.mp4" {
        return (flavor == Flavor::LowLatency).then_some(Route::Init(rendition));
    }
    if let Some(msn) = rest.strip_suffix(".ts") {
        let msn = parse_u64(msn)?;
        return (flavor == Flavor::Classic).then_some(Route::Segment(flavor, rendition, msn));
    }
    let stem = rest.strip_suffix(".m4s")?;
    if flavor != Flavor::LowLatency {
        return None;
    }
    match stem.split_once('.') {
        None => Some(Route::Segment(flavor, rendition, parse_u64(stem)?)),
        Some((msn, part)) => Some(Route::Part(rendition, parse_u64(msn)?, parse_u64(part)?)),
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The LL-HLS delivery directives of a playlist request (§6.2.5).
#[derive(Debug, Default, PartialEq, Eq)]
struct Directives {
    msn: Option<u64>,
    part: Option<u64>,
    skip: Option<Skip>,
}

fn parse_directives(query: Option<&str>) -> Result<Directives, &'static str> {
    let mut d = Directives::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "_HLS_msn" => d.msn = Some(parse_u64(value).ok_or("_HLS_msn is not a number\n")?),
            "_HLS_part" => d.part = Some(parse_u64(value).ok_or("_HLS_part is not a number\n")?),
            "_HLS_skip" => {
                d.skip = match value {
                    "YES" => Some(Skip::Segments),
                    "v2" => Some(Skip::SegmentsAndDateranges),
                    _ => return Err("_HLS_skip must be YES or v2\n"),
                }
            }
            _ => {}
        }
    }
    if d.part.is_some() && d.msn.is_none() {
        return Err("_HLS_part without _HLS_msn\n");
    }
    Ok(d)
}

async fn handle(p: &Packager, req: Request<Incoming>) -> Response<Body> {
    if req.method() == Method::OPTIONS {
        return preflight();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET, HEAD or OPTIONS only\n",
        );
    }
    let Some(route) = parse_route(req.uri().path()) else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    let ll_enabled = p.config().part_ms.is_some();
    match route {
        Route::Multivariant(Flavor::LowLatency)
        | Route::Media(Flavor::LowLatency, _)
        | Route::Init(_)
        | Route::Part(..)
        | Route::Segment(Flavor::LowLatency, ..)
            if !ll_enabled =>
        {
            return text(StatusCode::NOT_FOUND, "LL-HLS is disabled\n");
        }
        _ => {}
    }
    match route {
        Route::Multivariant(flavor) => {
            p.count_playlist_request();
            if let Some(res) = apply_fault(p).await {
                return res;
            }
            with_type(
                Bytes::from(p.multivariant_playlist(flavor)),
                PLAYLIST_TYPE,
                "max-age=5",
            )
        }
        Route::Media(flavor, rendition) => {
            p.count_playlist_request();
            media_playlist(p, flavor, rendition, req.uri().query()).await
        }
        Route::Init(r) => {
            p.count_media_request();
            let init = &p.clip().rendition(r).init;
            if init.is_empty() {
                return text(StatusCode::NOT_FOUND, "no media in this clip\n");
            }
            ranged(&req, init.clone(), mp4_type(r))
        }
        Route::Segment(flavor, r, msn) => {
            p.count_media_request();
            if !p.is_published(flavor, r, msn, None, p.elapsed_at(p.clock().now())) {
                return text(StatusCode::NOT_FOUND, "segment not published\n");
            }
            let (bytes, content_type) = if flavor == Flavor::Classic {
                (p.clip().ts_segment(r, msn), "video/mp2t")
            } else {
                (p.clip().mp4_segment(r, msn), mp4_type(r))
            };
            match bytes {
                Some(bytes) => ranged(&req, bytes, content_type),
                None => text(StatusCode::NOT_FOUND, "no media in this clip\n"),
            }
        }
        Route::Part(r, msn, part) => {
            p.count_media_request();
            let grid = p.grid(Flavor::LowLatency, r);
            if part >= grid.parts_per_segment() {
                return text(StatusCode::NOT_FOUND, "no such part\n");
            }
            let now = p.elapsed_at(p.clock().now());
            if !p.is_published(Flavor::LowLatency, r, msn, Some(part), now) {
                // A preload-hinted part is held until it is complete (§6.2.6); further ahead: 404.
                let complete = grid.complete_segments(now);
                if msn > complete.saturating_add(1) {
                    return text(StatusCode::NOT_FOUND, "part not published\n");
                }
                if p.wait_until_elapsed(grid.part_start(msn, part + 1))
                    .await
                    .is_err()
                {
                    return text(StatusCode::SERVICE_UNAVAILABLE, "part not ready in time\n");
                }
            }
            let bytes = p.clip().mp4_part(r, msn, part);
            match bytes {
                Some(b) => ranged(&req, b, mp4_type(r)),
                None => text(StatusCode::NOT_FOUND, "no media in this clip\n"),
            }
        }
    }
}

fn mp4_type(r: Rendition) -> &'static str {
    match r {
        Rendition::Video => "video/mp4",
        Rendition::Audio => "audio/mp4",
    }
}

async fn apply_fault(p: &Packager) -> Option<Response<Body>> {
    let mut faults = p.fault_watch();
    loop {
        let fault = *faults.borrow_and_update();
        match fault {
            Fault::None => return None,
            Fault::Status(code) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Some(text(status, "injected fault\n"));
            }
            Fault::Stall => {
                if faults.changed().await.is_err() {
                    return Some(text(StatusCode::SERVICE_UNAVAILABLE, "packager gone\n"));
                }
            }
        }
    }
}

async fn media_playlist(
    p: &Packager,
    flavor: Flavor,
    rendition: Rendition,
    query: Option<&str>,
) -> Response<Body> {
    if let Some(res) = apply_fault(p).await {
        return res;
    }
    let directives = if flavor == Flavor::LowLatency {
        match parse_directives(query) {
            Ok(d) => d,
            Err(why) => return text(StatusCode::BAD_REQUEST, why),
        }
    } else {
        Directives::default()
    };
    let blocking = directives.msn.is_some();
    if let Some(msn) = directives.msn {
        match p.wait_for(flavor, rendition, msn, directives.part).await {
            Ok(()) => {}
            Err(PlaylistError::TooFarAhead { .. }) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "_HLS_msn is more than two segments ahead of the live edge\n",
                );
            }
            Err(_) => {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "blocking reload timed out\n",
                );
            }
        }
    }
    let body = p.media_playlist(flavor, rendition, directives.skip);
    with_type(
        Bytes::from(body),
        PLAYLIST_TYPE,
        if blocking { "max-age=60" } else { "no-cache" },
    )
}

/// Answers a single `Range: bytes=…` request with 206, an unsatisfiable one with 416.
fn ranged(req: &Request<Incoming>, body: Bytes, content_type: &'static str) -> Response<Body> {
    let len = body.len() as u64;
    let Some(range) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        let mut res = with_type(body, content_type, "max-age=3600");
        res.headers_mut()
            .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        return res;
    };
    match parse_range(range, len) {
        Some((start, end)) => {
            let slice = body.slice(start as usize..=end as usize);
            let mut res = with_type(slice, content_type, "max-age=3600");
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        None => {
            let mut res = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive `(start, end)` within `len`.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n = parse_u64(b)?;
        if n == 0 {
            return None;
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start = parse_u64(a)?;
        let end = if b.is_empty() {
            len - 1
        } else {
            parse_u64(b)?.min(len - 1)
        };
        (start, end)
    };
    (start <= end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            parse_route("/live/demo/video.m3u8"),
            Some(Route::Media(Flavor::Classic, Rendition::Video))
        );
        assert_eq!(
            parse_route("/ll/s1/audio_12.3.m4s"),
            Some(Route::Part(Rendition::Audio, 12, 3))
        );
        assert_eq!(
            parse_route("/ll/s1/video_12.m4s"),
            Some(Route::Segment(Flavor::LowLatency, Rendition::Video, 12))
        );
        assert_eq!(parse_route("/live/s1/video_7.m4s"), None);
        assert_eq!(parse_route("/live/../video.m3u8"), None);
        assert_eq!(parse_route("/live/a/b/video.m3u8"), None);
        assert_eq!(parse_route("/live/a/video_+1.ts"), None);
        assert_eq!(
            parse_route("/live/a/video_99999999999999999999999.ts"),
            None
        );
    }

    #[test]
    fn directives() {
        assert_eq!(
            parse_directives(Some("_HLS_msn=5&_HLS_part=2&_HLS_skip=v2")),
            Ok(Directives {
                msn: Some(5),
                part: Some(2),
                skip: Some(Skip::SegmentsAndDateranges)
            })
        );
        assert!(parse_directives(Some("_HLS_part=1")).is_err());
        assert!(parse_directives(Some("_HLS_msn=x")).is_err());
        assert!(parse_directives(Some("_HLS_skip=no")).is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
