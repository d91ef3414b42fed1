//! The ad-break API in its styles: native (`/api/v1`, [`native`]), OvenMediaEngine-compatible
//! (`/v1/vhosts/…:sendEvent[s]`, [`ome`]), YouTube-compatible
//! (`/youtube/v3/liveBroadcasts/cuepoint`, [`youtube`]) and Dailymotion-compatible
//! (`/video/<stream>`, [`dailymotion`]). Each parses its requests, calls the shared break
//! operations ([`crate::server::breaks`]) and answers in its own shape; the status codes of the
//! failures are decided in one place ([`crate::server::error`]).
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use super::body::{BoxBody, full};
use super::error::Failure;
use crate::hls::{BreakTarget, ScheduleRequest};

pub mod dailymotion;
pub mod native;
pub mod ome;
pub mod policy;
pub mod views;
pub mod youtube;

pub use dailymotion::dailymotion;
pub use native::native;
pub use ome::ome;
pub use youtube::youtube;

/// A break operation as an API style's parser reads it from a request, before it is applied
/// to a stream (the shared operations are in [`crate::server::breaks`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operation {
    /// Schedule a break.
    Create(ScheduleRequest),
    /// End (or, before its start, cancel) a break as soon as possible.
    End(BreakTarget),
}

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Oversized bodies up to this size are read and dropped before the 413.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads a request body of at most [`MAX_BODY`] bytes, within `timeout` (a client sending a
/// byte now and then must not hold the connection and a task for ever).
///
/// # Errors
/// 413 when larger, 408 when it takes longer than `timeout`, 400 when it cannot be read.
pub async fn read_body(
    req: Request<Incoming>,
    timeout: std::time::Duration,
) -> Result<Bytes, Failure> {
    tokio::time::timeout(timeout, read_body_now(req))
        .await
        .map_err(|_| Failure::BodyTimeout)?
}

async fn read_body_now(req: Request<Incoming>) -> Result<Bytes, Failure> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared
        && len > MAX_BODY as u64
    {
        // Read (and drop) a moderately oversized body so the client, still sending, gets to
        // read the 413 instead of a reset connection; beyond that, answer at once.
        if len <= DRAIN_LIMIT as u64 {
            let _ = Limited::new(req.into_body(), DRAIN_LIMIT).collect().await;
        }
        return Err(Failure::PayloadTooLarge);
    }
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Failure::PayloadTooLarge),
        Err(e) => Err(Failure::BadRequest(format!("reading request body: {e}"))),
    }
}

/// A JSON answer, never cached.
pub fn json_response(status: StatusCode, value: &Value) -> Response<BoxBody> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
