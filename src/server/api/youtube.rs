//! The YouTube-compatible API: `POST /youtube/v3/liveBroadcasts/cuepoint?id=<stream key>` with
//! a cuepoint resource, as YouTube's Live Streaming API documents `liveBroadcasts.cuepoint`, so
//! a script written for YouTube moves by changing its base URL and token.
//!
//! - The `id` query parameter is the stream key (`live/demo`, or `live%2Fdemo`). Google's
//!   system parameters (`onBehalfOfContentOwner`, `onBehalfOfContentOwnerChannel`, `part`,
//!   `alt`, `prettyPrint`, `fields`, `quotaUser`, `key`, `userIp`) are accepted and ignored;
//!   any other is refused.
//! - Body: `{"cueType": "cueTypeAd", "durationSecs": 30, "insertionOffsetTimeMs": …}` or
//!   `… "walltimeMs": …}`. `cueType` must be `cueTypeAd`; `durationSecs` defaults to 30;
//!   `id`, `kind` and `etag` are ignored (the id is assigned). The 64-bit fields may be JSON
//!   numbers or decimal strings (Google's JSON encoding of int64, which its client libraries
//!   send), and are answered as strings.
//! - `walltimeMs` is a program time (epoch milliseconds, the clock of
//!   `EXT-X-PROGRAM-DATE-TIME`); `insertionOffsetTimeMs` counts from the first program time the
//!   proxy saw for the stream (see [`crate::server::stream`]), 0 meaning as soon as possible,
//!   as on YouTube; neither set: at the live edge. A time before the live edge is refused.
//! - The answer (200) is the cuepoint resource with its assigned `id` (the break id of the
//!   native API) and both time fields as resolved.
//!
//! Errors carry `liveBroadcasts.cuepoint`'s reasons (see [`crate::server::error`]).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::{json_response, read_body};
use crate::hls::{RuleError, ScheduleRequest, Start};
use crate::server::App;
use crate::server::body::BoxBody;
use crate::server::breaks::BreakError;
use crate::server::error::Failure;
use crate::server::path::validate_stream_key;
use crate::server::proxy::refresh_live_edge;

/// The one route of this style.
pub const CUEPOINT: &str = "/youtube/v3/liveBroadcasts/cuepoint";
/// `durationSecs` when the request leaves it out (YouTube's default).
pub const DEFAULT_DURATION_SECS: u32 = 30;
/// Query parameters every Google API accepts, and the content-owner ones of this method:
/// accepted and ignored.
const IGNORED_PARAMETERS: [&str; 9] = [
    "onBehalfOfContentOwner",
    "onBehalfOfContentOwnerChannel",
    "part",
    "alt",
    "prettyPrint",
    "fields",
    "quotaUser",
    "key",
    "userIp",
];

/// When the cuepoint should start, as the request says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// Neither time field, or `insertionOffsetTimeMs` 0: as soon as possible.
    Asap,
    /// `insertionOffsetTimeMs` (positive), from the stream's first program time.
    Offset(u64),
    /// `walltimeMs`, a program time.
    Wall(DateTime<Utc>),
}

/// A validated cuepoint resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cuepoint {
    duration_secs: u32,
    when: When,
}

/// `/youtube/v3/...` (already authenticated).
pub async fn youtube(app: &Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let path = req.uri().path();
    if path != CUEPOINT {
        return Err(Failure::NoRoute(format!(
            "no API route {path} (only {CUEPOINT})"
        )));
    }
    if req.method() != Method::POST {
        return Err(Failure::MethodNotAllowed);
    }
    let key = parse_query(req.uri().query())?;
    let body = read_body(req, app.body_read_timeout).await?;
    let cue = parse_cuepoint(&body)?;
    let stream = app
        .streams
        .find(&key)
        .await
        .map_err(Failure::from)?
        .ok_or_else(|| Failure::NotFound(format!("Could not find the broadcast: [{key}]")))?;
    let start = match cue.when {
        When::Asap => Start::Now,
        When::Wall(at) => Start::At(at),
        When::Offset(offset_ms) => {
            if stream.first_program_time().is_none() {
                refresh_live_edge(app, Arc::clone(&stream))
                    .await
                    .map_err(Failure::Unavailable)?;
            }
            let first = stream.first_program_time().ok_or_else(|| {
                Failure::Unavailable(format!(
                    "no program time seen yet for stream {key}, so insertionOffsetTimeMs has nothing to count from: fetch one of its media playlists first"
                ))
            })?;
            Start::At(add_ms(first, offset_ms).ok_or_else(|| {
                invalid_offset(format!("insertionOffsetTimeMs {offset_ms} is out of range"))
            })?)
        }
    };
    let new = ScheduleRequest {
        start,
        duration_ms: u64::from(cue.duration_secs) * 1000,
        event_id: None,
        request_id: None,
        ads: None,
    };
    let (_, at) = app
        .streams
        .create_break(&key, new, |s| refresh_live_edge(app, s))
        .await
        .map_err(|e| refused(&key, &stream, cue, e))?;
    let b = &at.b;
    let offset = stream
        .first_program_time()
        .map(|first| (b.requested_start - first).num_milliseconds().max(0));
    let mut resource = Map::new();
    resource.insert("id".into(), b.id.to_string().into());
    if let Some(offset) = offset {
        resource.insert("insertionOffsetTimeMs".into(), offset.to_string().into());
    }
    resource.insert(
        "walltimeMs".into(),
        b.requested_start.timestamp_millis().to_string().into(),
    );
    resource.insert("durationSecs".into(), cue.duration_secs.into());
    resource.insert("cueType".into(), "cueTypeAd".into());
    Ok(json_response(StatusCode::OK, &Value::Object(resource)))
}

/// The answer to a refused cuepoint: a start before the live edge is the time field's fault,
/// a duration out of range `durationSecs`'; the rest as every style answers it.
fn refused(
    key: &str,
    stream: &crate::server::stream::Stream,
    cue: Cuepoint,
    e: BreakError,
) -> Failure {
    match e {
        BreakError::Rule(RuleError::StartBeforeLiveEdge { start, live_edge }) => {
            let edge_ms = live_edge.timestamp_millis();
            match cue.when {
                When::Offset(offset_ms) => {
                    let edge_offset = stream
                        .first_program_time()
                        .map(|first| (live_edge - first).num_milliseconds().to_string())
                        .unwrap_or_else(|| "unknown".to_owned());
                    invalid_offset(format!(
                        "insertionOffsetTimeMs {offset_ms} is before the live edge (offset {edge_offset}): that part of the broadcast is already published; use 0 for as soon as possible"
                    ))
                }
                _ => Failure::Invalid {
                    reason: "invalidWalltimeMs",
                    message: format!(
                        "walltimeMs {} is before the live edge {edge_ms} (program time): that part of the broadcast is already published",
                        start.timestamp_millis()
                    ),
                },
            }
        }
        BreakError::Invalid(why) => Failure::Invalid {
            reason: "invalidDurationSecs",
            message: format!("durationSecs: {why}"),
        },
        other => Failure::from_break(key, other),
    }
}

fn invalid_offset(message: String) -> Failure {
    Failure::Invalid {
        reason: "invalidInsertionOffsetTimeMs",
        message,
    }
}

fn add_ms(t: DateTime<Utc>, ms: u64) -> Option<DateTime<Utc>> {
    let ms = i64::try_from(ms).ok()?;
    t.checked_add_signed(chrono::Duration::try_milliseconds(ms)?)
}

/// The stream key from the `id` query parameter.
fn parse_query(query: Option<&str>) -> Result<String, Failure> {
    let mut id = None;
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "id" if id.is_some() => {
                return Err(Failure::BadRequest("id is given more than once".to_owned()));
            }
            "id" => id = Some(value.into_owned()),
            ignored if IGNORED_PARAMETERS.contains(&ignored) => {}
            other => {
                return Err(Failure::BadRequest(format!(
                    "unknown query parameter {other:?} (expected id)"
                )));
            }
        }
    }
    let id = id.filter(|id| !id.is_empty()).ok_or_else(|| Failure::Missing {
        field: "id",
        message: "The id parameter must identify the broadcast (the stream key) into which the cuepoint is inserted".to_owned(),
    })?;
    validate_stream_key(&id).map_err(Failure::BadPath)?;
    Ok(id)
}

/// Validates a cuepoint resource; every error carries the reason YouTube gives it.
fn parse_cuepoint(body: &[u8]) -> Result<Cuepoint, Failure> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Failure::Invalid {
        reason: "parseError",
        message: format!("the request body is not JSON: {e}"),
    })?;
    let object = value.as_object().ok_or_else(|| Failure::Invalid {
        reason: "parseError",
        message: "the request body must be a cuepoint resource (a JSON object)".to_owned(),
    })?;
    if let Some(unknown) = object.keys().find(|k| {
        !matches!(
            k.as_str(),
            "cueType"
                | "durationSecs"
                | "insertionOffsetTimeMs"
                | "walltimeMs"
                | "id"
                | "kind"
                | "etag"
        )
    }) {
        return Err(Failure::BadRequest(format!(
            "unknown cuepoint property {unknown:?} (expected cueType, durationSecs, insertionOffsetTimeMs, walltimeMs)"
        )));
    }
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());
    match present("cueType") {
        None => {
            return Err(Failure::Missing {
                field: "cueType",
                message: "The cueType field is required and must be cueTypeAd".to_owned(),
            });
        }
        Some(Value::String(kind)) if kind == "cueTypeAd" => {}
        Some(other) => {
            return Err(Failure::Missing {
                field: "cueType",
                message: format!("cueType must be cueTypeAd, got {other}"),
            });
        }
    }
    let offset = present("insertionOffsetTimeMs");
    let wall = present("walltimeMs");
    let when = match (offset, wall) {
        (Some(_), Some(_)) => {
            return Err(Failure::Invalid {
                reason: "conflictingTimeFields",
                message: "Only one of insertionOffsetTimeMs and walltimeMs may be specified"
                    .to_owned(),
            });
        }
        (None, None) => When::Asap,
        (Some(offset), None) => match integer(offset).and_then(|n| u64::try_from(n).ok()) {
            Some(0) => When::Asap,
            Some(ms) => When::Offset(ms),
            None => {
                return Err(invalid_offset(format!(
                    "insertionOffsetTimeMs must be 0 or a positive integer (milliseconds), got {offset}"
                )));
            }
        },
        (None, Some(wall)) => {
            match integer(wall)
                .filter(|ms| *ms >= 0)
                .and_then(DateTime::from_timestamp_millis)
            {
                Some(at) => When::Wall(at),
                None => {
                    return Err(Failure::Invalid {
                        reason: "invalidWalltimeMs",
                        message: format!(
                            "walltimeMs must be an epoch timestamp in milliseconds, got {wall}"
                        ),
                    });
                }
            }
        }
    };
    let duration_secs = match present("durationSecs") {
        None => DEFAULT_DURATION_SECS,
        Some(v) => integer(v)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| Failure::Invalid {
                reason: "invalidDurationSecs",
                message: format!("durationSecs must be a positive integer (seconds), got {v}"),
            })?,
    };
    Ok(Cuepoint {
        duration_secs,
        when,
    })
}

/// A JSON integer, or a decimal string of one (Google's JSON form of 64-bit integers).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cue(body: Value) -> Result<Cuepoint, Failure> {
        parse_cuepoint(body.to_string().as_bytes())
    }

    fn reason(body: Value) -> String {
        match cue(body).unwrap_err() {
            Failure::Missing { field, .. } => format!("{field}Required"),
            Failure::Invalid { reason, .. } => reason.to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn cuepoints() {
        assert_eq!(
            cue(json!({"cueType": "cueTypeAd"})).unwrap(),
            Cuepoint {
                duration_secs: 30,
                when: When::Asap
            }
        );
        assert_eq!(
            cue(json!({"cueType": "cueTypeAd", "durationSecs": 60, "insertionOffsetTimeMs": "0"}))
                .unwrap()
                .when,
            When::Asap
        );
        assert_eq!(
            cue(json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": "485000"}))
                .unwrap()
                .when,
            When::Offset(485_000)
        );
        assert_eq!(
            cue(json!({"cueType": "cueTypeAd", "walltimeMs": 1767225600000u64, "id": "x", "durationSecs": "15"}))
                .unwrap(),
            Cuepoint {
                duration_secs: 15,
                when: When::Wall("2026-01-01T00:00:00Z".parse().unwrap())
            }
        );
        assert_eq!(
            cue(json!({"cueType": "cueTypeAd", "walltimeMs": null, "insertionOffsetTimeMs": null}))
                .unwrap()
                .when,
            When::Asap
        );
    }

    #[test]
    fn every_documented_reason() {
        assert_eq!(reason(json!({})), "cueTypeRequired");
        assert_eq!(
            reason(json!({"cueType": "cueTypeOther"})),
            "cueTypeRequired"
        );
        assert_eq!(reason(json!({"cueType": 1})), "cueTypeRequired");
        let both = json!({"cueType": "cueTypeAd", "walltimeMs": 1, "insertionOffsetTimeMs": 1});
        assert_eq!(reason(both), "conflictingTimeFields");
        for bad in [
            json!(-1),
            json!("-1"),
            json!(1.5),
            json!("1e3"),
            json!(""),
            json!(true),
        ] {
            let body = json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": bad});
            assert_eq!(reason(body), "invalidInsertionOffsetTimeMs", "{bad}");
        }
        for bad in [json!(-1), json!("soon"), json!(1.5), json!(i64::MAX)] {
            let body = json!({"cueType": "cueTypeAd", "walltimeMs": bad});
            assert_eq!(reason(body), "invalidWalltimeMs", "{bad}");
        }
        for bad in [json!(0), json!(-30), json!(4_294_967_296u64), json!("x")] {
            let body = json!({"cueType": "cueTypeAd", "durationSecs": bad});
            assert_eq!(reason(body), "invalidDurationSecs", "{bad}");
        }
        assert_eq!(reason(json!([1])), "parseError");
        assert!(parse_cuepoint(b"{").is_err());
        assert!(matches!(
            cue(json!({"cueType": "cueTypeAd", "durationSec": 10})),
            Err(Failure::BadRequest(_))
        ));
    }

    #[test]
    fn queries() {
        assert_eq!(parse_query(Some("id=live%2Fdemo")).unwrap(), "live/demo");
        assert_eq!(
            parse_query(Some("part=snippet&id=live/demo&onBehalfOfContentOwner=x")).unwrap(),
            "live/demo"
        );
        assert!(matches!(
            parse_query(None),
            Err(Failure::Missing { field: "id", .. })
        ));
        assert!(matches!(
            parse_query(Some("id=")),
            Err(Failure::Missing { field: "id", .. })
        ));
        assert!(parse_query(Some("id=live%2F..%2Fx")).is_err());
        assert!(parse_query(Some("id=a/b&id=a/c")).is_err());
        assert!(parse_query(Some("id=a/b&colour=red")).is_err());
    }
}
