//! The Dailymotion-compatible API, as Dailymotion documents its live ad breaks, so a script
//! written for Dailymotion moves by changing its base URL and token:
//!
//! - `POST /video/<stream key>`, form-encoded (or in the query):
//!   `live_ad_break_launch=<n>` starts a break of n × the configured ad length
//!   (`--ad-length-ms`, 30 s by default) at the live edge; `live_ad_break=true|false` (or `1`,
//!   `0`) turns the stream's breaks on or off (stored in its break policy). Both in one request:
//!   the switch first, then the launch. Answered 200 with the fields below (or those asked for
//!   with `fields`).
//! - `GET /video/<stream key>?fields=live_ad_break,live_ad_break_remaining,live_ad_break_end_time`
//!   (and `id`): whether breaks are enabled, how many more may start in the rolling hour at the
//!   live edge (see [`BreakStatus::remaining`] for a stream without a cap), and the estimated end
//!   of the current break as a unix time (rounded up; `null` when none is active or due).
//!
//! The stream key is the rest of the path (`/video/live/demo`, or `/video/live%2Fdemo`). Only
//! requests that are the API take these paths from the upstream: every `POST`, and a `GET`
//! whose query has `fields`; any other request under `/video/` is a player's and passes
//! through. Errors: `{"error": {"code", "message", "type"}}` (see [`crate::server::error`]).
use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::{json_response, read_body};
use crate::hls::{ScheduleRequest, Start};
use crate::server::App;
use crate::server::body::BoxBody;
use crate::server::error::Failure;
use crate::server::path::decode_stream_name;
use crate::server::policy::BreakStatus;
use crate::server::proxy::refresh_live_edge;
use crate::server::stream::Stream;

/// The path prefix of this style.
pub const PREFIX: &str = "/video/";

/// The fields this style answers, in the order a `POST` answers them by default.
const FIELDS: [&str; 4] = [
    "id",
    "live_ad_break",
    "live_ad_break_remaining",
    "live_ad_break_end_time",
];

/// Whether a request is for this API rather than a player's path under `/video/`.
pub fn is_dailymotion(req: &Request<Incoming>) -> bool {
    if !req.uri().path().starts_with(PREFIX) {
        return false;
    }
    match *req.method() {
        Method::POST => true,
        Method::GET => form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .any(|(name, _)| name == "fields"),
        _ => false,
    }
}

/// What a `POST` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Edit {
    launch: Option<u32>,
    enable: Option<bool>,
    fields: Option<Vec<&'static str>>,
}

/// `/video/<stream key>` (already authenticated).
pub async fn dailymotion(
    app: &Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<BoxBody>, Failure> {
    let raw = req.uri().path().strip_prefix(PREFIX).unwrap_or("");
    let key = decode_stream_name(raw).map_err(Failure::BadPath)?;
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let edit = if method == Method::POST {
        let body = read_body(req, app.body_read_timeout).await?;
        parse_edit(&[query.as_bytes(), &body])?
    } else {
        let edit = parse_edit(&[query.as_bytes()])?;
        if edit.launch.is_some() || edit.enable.is_some() {
            return Err(Failure::BadRequest(
                "live_ad_break_launch and live_ad_break are set with POST".to_owned(),
            ));
        }
        edit
    };
    let stream = app
        .streams
        .find(&key)
        .await
        .map_err(Failure::from)?
        .ok_or_else(|| {
            Failure::NotFound(format!("Can't find object video for `id' parameter: {key}"))
        })?;
    if method == Method::POST {
        if edit.launch.is_none() && edit.enable.is_none() {
            return Err(Failure::Missing {
                field: "live_ad_break_launch",
                message: "Missing required parameter: live_ad_break_launch (number of ads) or live_ad_break (true or false)".to_owned(),
            });
        }
        if let Some(enabled) = edit.enable {
            app.streams
                .set_breaks_enabled(&key, enabled)
                .await
                .map_err(|e| Failure::from_break(&key, e))?;
        }
        if let Some(ads) = edit.launch {
            let duration_ms = u64::from(ads)
                .checked_mul(app.ad_length_ms)
                .ok_or_else(|| {
                    Failure::BadRequest(format!("live_ad_break_launch {ads} is out of range"))
                })?;
            let new = ScheduleRequest {
                start: Start::Now,
                duration_ms,
                event_id: None,
                request_id: None,
                ads: None,
            };
            app.streams
                .create_break(&key, new, |s| refresh_live_edge(app, s))
                .await
                .map_err(|e| Failure::from_break(&key, e))?;
        }
    } else {
        refresh_live_edge(app, Arc::clone(&stream))
            .await
            .map_err(Failure::Unavailable)?;
    }
    let status = app.streams.break_status(&stream);
    let fields = edit.fields.unwrap_or_else(|| FIELDS.to_vec());
    Ok(json_response(
        StatusCode::OK,
        &answer(&stream, &status, &fields),
    ))
}

/// The fields asked for, in the order asked.
fn answer(stream: &Stream, status: &BreakStatus, fields: &[&'static str]) -> Value {
    let mut object = Map::new();
    for field in fields {
        let value = match *field {
            "id" => Value::from(stream.key.as_str()),
            "live_ad_break" => Value::from(status.enabled),
            "live_ad_break_remaining" => status.remaining.map_or(Value::Null, Value::from),
            _ => status
                .current_end
                .map_or(Value::Null, |end| Value::from(unix_ceil(end))),
        };
        object.insert((*field).to_owned(), value);
    }
    Value::Object(object)
}

/// A program time as unix seconds, rounded up (a script that waits until then waits past it).
fn unix_ceil(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

/// The parameters of the query and (for `POST`) the form body; a name given twice is refused.
fn parse_edit(sources: &[&[u8]]) -> Result<Edit, Failure> {
    let invalid = |message: String| Failure::Invalid {
        reason: "invalid_parameter",
        message,
    };
    let mut edit = Edit::default();
    let mut seen: Vec<Cow<'_, str>> = Vec::new();
    for (name, value) in sources.iter().flat_map(|s| form_urlencoded::parse(s)) {
        if seen.contains(&name) {
            return Err(invalid(format!(
                "Parameter `{name}' is given more than once"
            )));
        }
        match name.as_ref() {
            "live_ad_break_launch" => {
                let ads = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0 && value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        invalid(format!(
                            "Invalid value for `live_ad_break_launch' parameter: {value:?} (a positive number of ads)"
                        ))
                    })?;
                edit.launch = Some(ads);
            }
            "live_ad_break" => {
                edit.enable = Some(match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(invalid(format!(
                            "Invalid value for `live_ad_break' parameter: {other:?} (true or false)"
                        )));
                    }
                });
            }
            "fields" => {
                let mut fields = Vec::new();
                for asked in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    let known = FIELDS.iter().find(|f| **f == asked).ok_or_else(|| {
                        invalid(format!(
                            "Unknown field `{asked}' (supported: {})",
                            FIELDS.join(", ")
                        ))
                    })?;
                    if !fields.contains(known) {
                        fields.push(*known);
                    }
                }
                if fields.is_empty() {
                    return Err(invalid("The `fields' parameter names no field".to_owned()));
                }
                edit.fields = Some(fields);
            }
            other => {
                return Err(invalid(format!(
                    "Unsupported parameter `{other}' (supported: live_ad_break_launch, live_ad_break, fields)"
                )));
            }
        }
        seen.push(name);
    }
    Ok(edit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits() {
        assert_eq!(
            parse_edit(&[b"", b"live_ad_break_launch=2"]).unwrap(),
            Edit {
                launch: Some(2),
                ..Edit::default()
            }
        );
        assert_eq!(
            parse_edit(&[b"fields=id%2Clive_ad_break", b"live_ad_break=false"]).unwrap(),
            Edit {
                enable: Some(false),
                fields: Some(vec!["id", "live_ad_break"]),
                ..Edit::default()
            }
        );
        assert_eq!(
            parse_edit(&[b"live_ad_break=1"]).unwrap().enable,
            Some(true)
        );
        for bad in [
            &b"live_ad_break_launch=0"[..],
            b"live_ad_break_launch=-1",
            b"live_ad_break_launch=+1",
            b"live_ad_break_launch=x",
            b"live_ad_break_launch=4294967296",
            b"live_ad_break=yes",
            b"fields=title",
            b"fields=",
            b"title=x",
            b"live_ad_break=true&live_ad_break=false",
        ] {
            assert!(
                matches!(parse_edit(&[bad]), Err(Failure::Invalid { .. })),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // The same name in the query and the body.
        assert!(parse_edit(&[b"live_ad_break=true", b"live_ad_break=true"]).is_err());
    }

    #[test]
    fn end_times_round_up() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(unix_ceil(t("2026-01-01T00:00:30Z")), 1_767_225_630);
        assert_eq!(unix_ceil(t("2026-01-01T00:00:30.001Z")), 1_767_225_631);
    }
}
