//! Every failure the server answers with, and the one place that maps it to a status
//! code and a body.
//!
//! Five body styles exist because five kinds of clients read them: players and CDNs
//! get a short `text/plain` line, native API clients get `{"error": ...}`,
//! OvenMediaEngine-style clients get `{"message": ..., "statusCode": ...}` as
//! OvenMediaEngine documents it, YouTube-style clients get Google's
//! `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}` with the
//! reasons `liveBroadcasts.cuepoint` documents, and Dailymotion-style clients get
//! `{"error": {"code", "message", "type"}}` as Dailymotion's API answers.
//!
//! The status is the same in every style, with one exception: a refusal by the break policy
//! ([`Failure::Policy`]) is answered as each platform answers its own limits — native 429 with
//! `Retry-After` (409 for a disabled stream, 400 for a duration out of range), OvenMediaEngine
//! 400, YouTube 403 `userRequestsExceedRateLimit` (400 `invalidDurationSecs` for a duration),
//! Dailymotion 429 `rate_limit_exceeded` (403 `access_forbidden` for a disabled stream, 400
//! for a duration).
use http::{HeaderValue, Response, StatusCode, header};

use super::api::views::break_view;
use super::body::{BoxBody, full};
use super::breaks::BreakError;
use super::store::StoreError;
use crate::hls::{Break, PolicyRefusal, RuleError, TimelineError};

/// Which kind of client the answer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Playlists, segments, health: a short `text/plain` line.
    Text,
    /// `/api/v1/...`: `{"error": "..."}` plus details.
    Native,
    /// `/v1/vhosts/...`: `{"message": "...", "statusCode": N}`.
    Ome,
    /// `/youtube/v3/...`: `{"error": {"code", "message", "errors": [{..., "reason"}]}}`.
    YouTube,
    /// `/video/...`: `{"error": {"code", "message", "type"}}`.
    Dailymotion,
}

/// A failure, named by what went wrong; [`Failure::status`] is the only status mapping.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// The request path or stream name is not acceptable (traversal, encodings, control characters).
    BadPath(&'static str),
    /// A request body or parameter is malformed or out of range.
    BadRequest(String),
    /// A required request value is missing; `field` is its name in the request (YouTube's
    /// reason is `<field>Required`).
    Missing {
        /// The field, as the request names it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A request value is refused; `reason` names the problem as the platform style whose
    /// request it is does (e.g. YouTube's `conflictingTimeFields`).
    Invalid {
        /// The platform's name for the problem.
        reason: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The API route does not exist (as opposed to a stream or break that does not).
    NoRoute(String),
    /// The token is valid but may only read; the request writes.
    Forbidden,
    /// The stream's break policy refused a new break.
    Policy {
        /// The stream.
        stream: String,
        /// Why.
        refusal: PolicyRefusal,
    },
    /// The route, stream or break does not exist.
    NotFound(String),
    /// Method not supported on this route.
    MethodNotAllowed,
    /// Missing or wrong API credentials.
    Unauthorized,
    /// Request body over the limit.
    PayloadTooLarge,
    /// The client did not send the request body within `body_read_timeout_ms`.
    BodyTimeout,
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
    /// The HTTP status for this failure (in the native style; see [`Failure::status_in`]).
    pub fn status(&self) -> StatusCode {
        self.status_in(Style::Native)
    }

    /// The HTTP status for this failure in a style.
    pub fn status_in(&self, style: Style) -> StatusCode {
        match self {
            Failure::BadPath(_)
            | Failure::BadRequest(_)
            | Failure::Missing { .. }
            | Failure::Invalid { .. } => StatusCode::BAD_REQUEST,
            Failure::NotFound(_) | Failure::NoRoute(_) => StatusCode::NOT_FOUND,
            Failure::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Failure::Unauthorized => StatusCode::UNAUTHORIZED,
            Failure::Forbidden => StatusCode::FORBIDDEN,
            Failure::Policy { refusal, .. } => policy_status(refusal, style),
            Failure::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
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
            Failure::Missing { message, .. } | Failure::Invalid { message, .. } => message.clone(),
            Failure::NotFound(what) | Failure::NoRoute(what) => what.clone(),
            Failure::MethodNotAllowed => "method not allowed".to_owned(),
            Failure::Unauthorized => "authorization required".to_owned(),
            Failure::Forbidden => "this token may only read (list and status); writing needs a token given with --api-token".to_owned(),
            Failure::Policy { stream, refusal } => {
                format!("refused by the break policy of stream {stream}: {refusal}")
            }
            Failure::PayloadTooLarge => "request body larger than 64 KiB".to_owned(),
            Failure::BodyTimeout => "the request body did not arrive in time".to_owned(),
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
        let status = self.status_in(style);
        let message = self.message();
        let retry_after = match &self {
            Failure::Policy { refusal, .. } if status == StatusCode::TOO_MANY_REQUESTS => {
                refusal.retry_after_secs()
            }
            _ => None,
        };
        let forbidden = matches!(self, Failure::Forbidden);
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
                } else if let Failure::Policy { refusal, .. } = &self {
                    value["rule"] = refusal.rule().into();
                    value["next_allowed_at"] = refusal.next_allowed().map(rfc3339).into();
                }
                ("application/json", value.to_string())
            }
            Style::YouTube => {
                let (reason, domain) = self.youtube_reason(status);
                let value = serde_json::json!({
                    "error": {
                        "code": status.as_u16(),
                        "message": message,
                        "errors": [{ "message": message, "domain": domain, "reason": reason }],
                    }
                });
                ("application/json", value.to_string())
            }
            Style::Dailymotion => {
                let value = serde_json::json!({
                    "error": {
                        "code": status.as_u16(),
                        "message": message,
                        "type": self.dailymotion_type(status),
                    }
                });
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
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if forbidden && style != Style::Ome {
            // RFC 6750 §3.1: a bearer token without the scope the request needs.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"hlsplice\", error=\"insufficient_scope\", scope=\"write\"",
                ),
            );
        }
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

/// The status of a policy refusal in a style (see the module docs).
fn policy_status(refusal: &PolicyRefusal, style: Style) -> StatusCode {
    let duration = matches!(
        refusal,
        PolicyRefusal::TooShort { .. } | PolicyRefusal::TooLong { .. }
    );
    match style {
        Style::Ome => StatusCode::BAD_REQUEST,
        _ if duration => StatusCode::BAD_REQUEST,
        Style::YouTube => StatusCode::FORBIDDEN,
        Style::Dailymotion if refusal.is_rate() => StatusCode::TOO_MANY_REQUESTS,
        Style::Dailymotion => StatusCode::FORBIDDEN,
        Style::Native | Style::Text if refusal.is_rate() => StatusCode::TOO_MANY_REQUESTS,
        Style::Native | Style::Text => StatusCode::CONFLICT,
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    super::api::views::rfc3339(t)
}

impl Failure {
    /// The `reason` and `domain` of a YouTube-style error: the reasons
    /// `liveBroadcasts.cuepoint` documents, Google's global ones for the rest.
    fn youtube_reason(&self, status: StatusCode) -> (String, &'static str) {
        const BROADCAST: &str = "youtube.liveBroadcast";
        let (reason, domain): (&str, &str) = match self {
            Failure::Missing { field, .. } => return (format!("{field}Required"), BROADCAST),
            Failure::Invalid { reason, .. } => (reason, BROADCAST),
            Failure::NotFound(_) => ("liveBroadcastNotFound", BROADCAST),
            Failure::Forbidden => ("insufficientLivePermissions", BROADCAST),
            Failure::Policy { refusal, .. } => match refusal {
                PolicyRefusal::TooShort { .. } | PolicyRefusal::TooLong { .. } => {
                    ("invalidDurationSecs", BROADCAST)
                }
                _ => ("userRequestsExceedRateLimit", BROADCAST),
            },
            Failure::Unauthorized => ("authError", "global"),
            Failure::NoRoute(_) => ("notFound", "global"),
            Failure::MethodNotAllowed => ("methodNotAllowed", "global"),
            Failure::PayloadTooLarge => ("uploadTooLarge", "global"),
            Failure::Conflict { .. } => ("conflict", "global"),
            Failure::Refused(_) => ("invalidValue", "global"),
            Failure::BadPath(_) | Failure::BadRequest(_) => ("badRequest", "global"),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => ("serviceUnavailable", "global"),
            _ => ("backendError", "global"),
        };
        (reason.to_owned(), domain)
    }

    /// The `type` of a Dailymotion-style error.
    fn dailymotion_type(&self, status: StatusCode) -> &'static str {
        match self {
            Failure::Missing { .. } => "missing_required_parameter",
            Failure::NotFound(_) | Failure::NoRoute(_) => "not_found",
            Failure::MethodNotAllowed => "method_not_allowed",
            Failure::Unauthorized => "invalid_token",
            Failure::Forbidden => "access_forbidden",
            Failure::Conflict { .. } => "conflict",
            Failure::Policy { refusal, .. } => match refusal {
                PolicyRefusal::Disabled => "access_forbidden",
                r if r.is_rate() => "rate_limit_exceeded",
                _ => "invalid_parameter",
            },
            _ if status.is_server_error() => "server_error",
            _ => "invalid_parameter",
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            // Another writer (a replica, another copy of the stream) committed first: nothing
            // was written, and the same request succeeds when repeated.
            StoreError::Conflict { .. } | StoreError::Published { .. } => {
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
            BreakError::Policy(refusal) => Failure::Policy {
                stream: stream.to_owned(),
                refusal,
            },
            BreakError::LiveEdge(why) => Failure::Unavailable(why),
            BreakError::TooFarAhead { .. } => Failure::Refused(reason),
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
