//! Every failure the server answers with, and the one place that maps it to a status
//! code and a body.
//!
//! Three body styles exist because three kinds of clients read them: players and CDNs
//! get a short `text/plain` line, native API clients get `{"error": ...}` and
//! OvenMediaEngine-style clients get `{"message": ..., "statusCode": ...}` as
//! OvenMediaEngine documents it.
use http::{HeaderValue, Response, StatusCode, header};

use super::api::views::break_view;
use super::body::{BoxBody, full};
use super::breaks::BreakError;
use super::store::StoreError;
use crate::hls::{Break, RuleError, TimelineError};

/// Which kind of client the answer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Playlists, segments, health: a short `text/plain` line.
    Text,
    /// `/api/v1/...`: `{"error": "..."}` plus details.
    Native,
    /// `/v1/vhosts/...`: `{"message": "...", "statusCode": N}`.
    Ome,
}

/// A failure, named by what went wrong; [`Failure::status`] is the only status mapping.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// The request path or stream name is not acceptable (traversal, encodings, control characters).
    BadPath(&'static str),
    /// A request body or parameter is malformed or out of range.
    BadRequest(String),
    /// The route, stream or break does not exist.
    NotFound(String),
    /// Method not supported on this route.
    MethodNotAllowed,
    /// Missing or wrong API credentials.
    Unauthorized,
    /// Request body over the limit.
    PayloadTooLarge,
    /// The request conflicts with the stream's breaks; `existing` is the break in the way (as JSON).
    Conflict {
        reason: String,
        existing: Option<serde_json::Value>,
    },
    /// The timeline refused the event (e.g. a start before the live edge).
    Refused(String),
    /// The upstream could not be reached, or its answer was not usable.
    BadGateway(String),
    /// The upstream answered a playlist request with a status other than 200; passed on.
    UpstreamStatus(StatusCode),
    /// The upstream did not answer in time.
    GatewayTimeout(String),
    /// A blocking playlist reload was not satisfied in time (RFC 8216bis §6.2.5.2), or the
    /// server cannot do what is asked right now (e.g. no live edge known yet).
    Unavailable(String),
    /// The break store failed; nothing was acknowledged.
    Store(String),
    /// The shared break store (Redis) cannot be reached right now; nothing was acknowledged,
    /// and a retry (with the same `request_id`) is safe.
    StoreUnreachable(String),
}

impl Failure {
    /// The HTTP status for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Failure::BadPath(_) | Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Failure::Unauthorized => StatusCode::UNAUTHORIZED,
            Failure::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::Conflict { .. } => StatusCode::CONFLICT,
            Failure::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Failure::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Failure::UpstreamStatus(status) => *status,
            Failure::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Failure::StoreUnreachable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A one-line human description.
    pub fn message(&self) -> String {
        match self {
            Failure::BadPath(why) => format!("invalid path: {why}"),
            Failure::BadRequest(why) => why.clone(),
            Failure::NotFound(what) => what.clone(),
            Failure::MethodNotAllowed => "method not allowed".to_owned(),
            Failure::Unauthorized => "authorization required".to_owned(),
            Failure::PayloadTooLarge => "request body larger than 64 KiB".to_owned(),
            Failure::Conflict { reason, .. } => reason.clone(),
            Failure::Refused(why) => format!("refused: {why}"),
            Failure::BadGateway(why) => format!("bad gateway: {why}"),
            Failure::GatewayTimeout(why) => format!("gateway timeout: {why}"),
            Failure::UpstreamStatus(status) => format!("upstream answered {status}"),
            Failure::Unavailable(why) => format!("unavailable: {why}"),
            Failure::Store(why) => format!("break store failed: {why}"),
            Failure::StoreUnreachable(why) => format!(
                "{why}; nothing was acknowledged: retry once it is back (a retry with the same request_id never makes a second break)"
            ),
        }
    }

    /// Renders the failure for the given kind of client.
    pub fn into_response(self, style: Style) -> Response<BoxBody> {
        let status = self.status();
        let message = self.message();
        let (content_type, body) = match style {
            Style::Text => ("text/plain; charset=utf-8", format!("{message}\n")),
            Style::Native => {
                let mut value = serde_json::json!({ "error": message, "status": status.as_u16() });
                if let Failure::Conflict {
                    existing: Some(existing),
                    ..
                } = self
                {
                    value["break"] = existing;
                }
                ("application/json", value.to_string())
            }
            Style::Ome => {
                let text = match self {
                    Failure::Unauthorized => {
                        "[HTTP] Authorization header is required to call API (401)".to_owned()
                    }
                    _ => format!("[HTTP] {message} ({})", status.as_u16()),
                };
                let mut value =
                    serde_json::json!({ "message": text, "statusCode": status.as_u16() });
                if let Failure::Conflict {
                    existing: Some(existing),
                    ..
                } = self
                {
                    value["break"] = existing;
                }
                ("application/json", value.to_string())
            }
        };
        let mut response = Response::new(full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match style {
                Style::Ome => "Basic realm=\"OvenMediaEngine\"",
                _ => "Bearer realm=\"hlsplice\", Basic realm=\"hlsplice\"",
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            // Another writer (a replica, another copy of the stream) committed first: nothing
            // was written, and the same request succeeds when repeated.
            StoreError::Conflict { .. } => {
                Failure::Unavailable(format!("{e}; nothing was changed, try again"))
            }
            e @ StoreError::Unreachable(_) => Failure::StoreUnreachable(e.to_string()),
            other => Failure::Store(other.to_string()),
        }
    }
}

impl Failure {
    /// The answer to a break operation on `stream` that failed (409 bodies carry the break in
    /// the way).
    pub fn from_break(stream: &str, e: BreakError) -> Failure {
        let view = |b: &Break| Some(break_view(stream, b, None));
        let reason = e.to_string();
        match e {
            BreakError::UnknownStream(_) | BreakError::UnknownBreak { .. } => {
                Failure::NotFound(reason)
            }
            BreakError::Invalid(why) => Failure::BadRequest(why),
            BreakError::LiveEdge(why) => Failure::Unavailable(why),
            BreakError::Store(e) => Failure::from(e),
            BreakError::Cancelled(b) => Failure::Conflict {
                reason,
                existing: view(&b),
            },
            BreakError::Rule(rule) => match rule {
                RuleError::NoLiveEdge => Failure::Unavailable(format!(
                    "no live edge known yet for stream {stream}: fetch one of its media playlists first"
                )),
                RuleError::StartBeforeLiveEdge { .. } => Failure::Refused(reason),
                RuleError::Overlaps { existing }
                | RuleError::AlreadyStarted { existing }
                | RuleError::AlreadyEnded { existing }
                | RuleError::NotCurrent {
                    current: existing, ..
                } => Failure::Conflict {
                    reason,
                    existing: view(&existing),
                },
                RuleError::NothingCurrent => Failure::Conflict {
                    reason: format!("no break is active or due in stream {stream}"),
                    existing: None,
                },
                RuleError::NotFound { id } => {
                    Failure::NotFound(format!("no break {id} in stream {stream}"))
                }
                RuleError::Timeline(TimelineError::InvalidDuration { .. }) => {
                    Failure::BadRequest(reason)
                }
                _ => Failure::Refused(reason),
            },
        }
    }
}
