//! The native API (`/api/v1`).
//!
//! Stream names may contain `/`. A stream is addressed either by its plain path
//! (`/api/v1/streams/live/demo/breaks`: everything between `streams/` and the last `/breaks`
//! segment) or percent-encoded (`/api/v1/streams/live%2Fdemo/breaks`); only `%2F` is decoded,
//! anything else percent-encoded is refused.
//!
//! - `GET /api/v1/streams[?limit=&after=]`: streams, their live edge and current break.
//! - `POST …/breaks`: create (`{"duration_ms", "start", "event_id", "request_id", "ads"}`;
//!   `ads` is the break's own source of interstitial ads: `{"assets": [{"uri", "duration"}, …]}`
//!   or `{"decision_url": "http://…"}`, see [`crate::hls::AdSource`]).
//! - `GET …/breaks[?limit=&cursor=&state=]`: newest first, paginated, filtered by state.
//! - `GET …/breaks/{id}`, `DELETE …/breaks/{id}` (cancel), `POST …/breaks/{id}/end` (IN).
//! - `GET …/policy`, `PUT …/policy` (`…` being `/api/v1/streams/{stream}`): the stream's break
//!   policy ([`super::policy`]).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize as _;
use serde_json::{Value, json};

use super::policy::{parse_policy, policy_view};
use super::views::{break_view, rfc3339, stream_summary};
use super::{json_response, read_body};

use crate::hls::{AdSource, BreakState, BreakTarget, ScheduleRequest, Start};
use crate::server::App;
use crate::server::body::BoxBody;
use crate::server::breaks::{Creation, ListQuery, MAX_PAGE};
use crate::server::error::Failure;
use crate::server::path::decode_stream_name;
use crate::server::proxy::refresh_live_edge;

/// A native API route, parsed from the path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Streams,
    Breaks(String),
    Break(String, u64),
    BreakEnd(String, u64),
    Policy(String),
}

pub(crate) fn parse_route(path: &str) -> Result<Route, Failure> {
    let not_found = || Failure::NotFound(format!("no API route {path}"));
    let rest = path.strip_prefix("/api/v1/streams").ok_or_else(not_found)?;
    if rest.is_empty() || rest == "/" {
        return Ok(Route::Streams);
    }
    let rest = rest.strip_prefix('/').ok_or_else(not_found)?;
    if let Some(stream) = rest.strip_suffix("/policy") {
        return Ok(Route::Policy(
            decode_stream_name(stream).map_err(Failure::BadPath)?,
        ));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let at = segments
        .iter()
        .rposition(|s| *s == "breaks")
        .ok_or_else(not_found)?;
    if at == 0 {
        return Err(not_found());
    }
    let stream = decode_stream_name(&segments[..at].join("/")).map_err(Failure::BadPath)?;
    let id = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| Failure::NotFound(format!("no break {text:?}")))
    };
    match &segments[at + 1..] {
        [] => Ok(Route::Breaks(stream)),
        [id_text] => Ok(Route::Break(stream, id(id_text)?)),
        [id_text, "end"] => Ok(Route::BreakEnd(stream, id(id_text)?)),
        _ => Err(not_found()),
    }
}

/// Parses `{"duration_ms", "start", "event_id", "request_id", "ads"}`; every error names the
/// field.
pub(crate) fn parse_create(body: &[u8]) -> Result<ScheduleRequest, Failure> {
    let bad = |why: String| Failure::BadRequest(why);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("invalid JSON body: expected an object".to_owned()))?;
    if let Some(unknown) = object.keys().find(|k| {
        !matches!(
            k.as_str(),
            "duration_ms" | "start" | "event_id" | "request_id" | "ads"
        )
    }) {
        return Err(bad(format!(
            "unknown field {unknown:?} (expected duration_ms, start, event_id, request_id, ads)"
        )));
    }
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());
    let duration_ms =
        present("duration_ms").ok_or_else(|| bad("duration_ms is required".to_owned()))?;
    let duration_ms = duration_ms.as_u64().ok_or_else(|| {
        bad(format!(
            "duration_ms must be a positive integer (milliseconds), got {duration_ms}"
        ))
    })?;
    let start = match present("start") {
        None => Start::Now,
        Some(Value::String(text)) => parse_start(text)?,
        Some(other) => {
            return Err(bad(format!(
                "start must be \"now\" or an RFC 3339 date, got {other}"
            )));
        }
    };
    let event_id = match present("event_id") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "event_id must be a 32-bit unsigned integer, got {v}"
                    ))
                })?,
        ),
    };
    let request_id = match present("request_id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(other) => return Err(bad(format!("request_id must be a string, got {other}"))),
    };
    let ads = match present("ads") {
        None => None,
        Some(v) => Some(AdSource::deserialize(v).map_err(|e| {
            bad(format!(
                "ads must be {{\"assets\": [{{\"uri\", \"duration\"}}, ...]}} or {{\"decision_url\": \"http://...\"}}: {e}"
            ))
        })?),
    };
    Ok(ScheduleRequest {
        start,
        duration_ms,
        event_id,
        request_id,
        ads,
    })
}

fn parse_start(text: &str) -> Result<Start, Failure> {
    if text == "now" {
        return Ok(Start::Now);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Start::At(t.with_timezone(&Utc)))
        .map_err(|e| Failure::BadRequest(format!("start must be \"now\" or an RFC 3339 date: {e}")))
}

/// The query of `GET …/breaks`: `limit`, `cursor`, `state`; anything else is refused.
pub(crate) fn parse_list_query(query: Option<&str>) -> Result<ListQuery, Failure> {
    let mut list = ListQuery::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                let limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n));
                list.limit = Some(limit.ok_or_else(|| {
                    Failure::BadRequest(format!("limit must be 1 to {MAX_PAGE}, got {value:?}"))
                })?);
            }
            "cursor" => {
                list.cursor = Some(value.parse::<u64>().map_err(|_| {
                    Failure::BadRequest(format!("cursor {value:?} is not one this API gave"))
                })?);
            }
            "state" => {
                list.state = Some(match value {
                    "scheduled" => BreakState::Scheduled,
                    "active" => BreakState::Active,
                    "ended" => BreakState::Ended,
                    "cancelled" => BreakState::Cancelled,
                    other => {
                        return Err(Failure::BadRequest(format!(
                            "state must be scheduled, active, ended or cancelled, got {other:?}"
                        )));
                    }
                });
            }
            other => {
                return Err(Failure::BadRequest(format!(
                    "unknown query parameter {other:?} (expected limit, cursor, state)"
                )));
            }
        }
    }
    Ok(list)
}

/// The query of `GET /api/v1/streams`: `limit` (default 100) and `after` (a stream key).
pub(crate) fn parse_streams_query(query: Option<&str>) -> Result<(usize, Option<String>), Failure> {
    let mut limit = 100;
    let mut after = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        Failure::BadRequest(format!("limit must be 1 to {MAX_PAGE}, got {value:?}"))
                    })?;
            }
            "after" => after = Some(decode_stream_name(value).map_err(Failure::BadPath)?),
            other => {
                return Err(Failure::BadRequest(format!(
                    "unknown query parameter {other:?} (expected limit, after)"
                )));
            }
        }
    }
    Ok((limit, after))
}

/// `/api/v1/...` (already authenticated).
pub async fn native(app: &Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let route = parse_route(req.uri().path())?;
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    let streams = &app.streams;
    match (method, route) {
        (Method::GET, Route::Streams) => {
            let (limit, after) = parse_streams_query(query.as_deref())?;
            let keys = streams.keys(after, limit).await.map_err(Failure::from)?;
            let mut list = Vec::with_capacity(keys.len());
            for key in &keys {
                if let Some(stream) = streams.find(key).await.map_err(Failure::from)? {
                    list.push(stream_summary(&stream));
                }
            }
            let next = (keys.len() == limit)
                .then(|| keys.last().cloned())
                .flatten();
            Ok(json_response(
                StatusCode::OK,
                &json!({ "streams": list, "next_after": next }),
            ))
        }
        (Method::GET, Route::Breaks(stream)) => {
            let list_query = parse_list_query(query.as_deref())?;
            let list = streams
                .list_breaks(&stream, list_query)
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            let breaks: Vec<Value> = list
                .breaks
                .iter()
                .map(|b| break_view(&stream, b, list.live_edge))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "stream": stream,
                    "live_edge": list.live_edge.map(rfc3339),
                    "breaks": breaks,
                    "next_cursor": list.next_cursor.map(|c| c.to_string()),
                }),
            ))
        }
        (Method::POST, Route::Breaks(stream)) => {
            let body = read_body(req, app.body_read_timeout).await?;
            let new = parse_create(&body)?;
            let (creation, at) = streams
                .create_break(&stream, new, |s| refresh_live_edge(app, s))
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            let status = match creation {
                Creation::Created => StatusCode::CREATED,
                Creation::Repeated => StatusCode::OK,
            };
            Ok(json_response(
                status,
                &break_view(&stream, &at.b, at.live_edge),
            ))
        }
        (Method::GET, Route::Break(stream, id)) => {
            let at = streams
                .get_break(&stream, id)
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            Ok(json_response(
                StatusCode::OK,
                &break_view(&stream, &at.b, at.live_edge),
            ))
        }
        (Method::DELETE, Route::Break(stream, id)) => {
            let at = streams
                .cancel_break(&stream, id)
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            Ok(json_response(
                StatusCode::OK,
                &break_view(&stream, &at.b, at.live_edge),
            ))
        }
        (Method::POST, Route::BreakEnd(stream, id)) => {
            let at = streams
                .end_break(&stream, BreakTarget::Id(id), |s| refresh_live_edge(app, s))
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            Ok(json_response(
                StatusCode::OK,
                &break_view(&stream, &at.b, at.live_edge),
            ))
        }
        (Method::GET, Route::Policy(stream)) => {
            let at = streams
                .policy(&stream)
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            Ok(json_response(StatusCode::OK, &policy_view(&at.policy)))
        }
        (Method::PUT, Route::Policy(stream)) => {
            let body = read_body(req, app.body_read_timeout).await?;
            let policy = parse_policy(&body, streams.settings().max_break_ms)?;
            let at = streams
                .set_policy(&stream, policy)
                .await
                .map_err(|e| Failure::from_break(&stream, e))?;
            Ok(json_response(StatusCode::OK, &policy_view(&at.policy)))
        }
        _ => Err(Failure::MethodNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("/api/v1/streams").unwrap(), Route::Streams);
        assert_eq!(
            parse_route("/api/v1/streams/live/demo/breaks").unwrap(),
            Route::Breaks("live/demo".into())
        );
        assert_eq!(
            parse_route("/api/v1/streams/live%2Fdemo/breaks").unwrap(),
            Route::Breaks("live/demo".into())
        );
        assert_eq!(
            parse_route("/api/v1/streams/live/demo/breaks/7").unwrap(),
            Route::Break("live/demo".into(), 7)
        );
        assert_eq!(
            parse_route("/api/v1/streams/live/demo/breaks/7/end").unwrap(),
            Route::BreakEnd("live/demo".into(), 7)
        );
        assert!(parse_route("/api/v1/streams/breaks").is_err());
        assert!(parse_route("/api/v1/streams/live/../x/breaks").is_err());
        assert!(parse_route("/api/v1/streams/live/demo/breaks/x").is_err());
        assert!(parse_route("/api/v1/streams/live/demo").is_err());
        assert_eq!(
            parse_route("/api/v1/streams/live/demo/policy").unwrap(),
            Route::Policy("live/demo".into())
        );
        assert_eq!(
            parse_route("/api/v1/streams/live%2Fpolicy/policy").unwrap(),
            Route::Policy("live/policy".into())
        );
        assert!(parse_route("/api/v1/streams/policy").is_err());
        assert!(parse_route("/api/v1/streams/../policy").is_err());
    }

    #[test]
    fn list_queries() {
        let q = parse_list_query(Some("limit=5&cursor=40&state=ended")).unwrap();
        assert_eq!(
            (q.limit, q.cursor, q.state),
            (Some(5), Some(40), Some(BreakState::Ended))
        );
        let q = parse_list_query(None).unwrap();
        assert_eq!((q.limit, q.cursor, q.state), (None, None, None));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "cursor=-1",
            "state=over",
            "page=2",
        ] {
            assert!(parse_list_query(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            parse_streams_query(Some("limit=2&after=live%2Fa")).unwrap(),
            (2, Some("live/a".to_owned()))
        );
        assert!(parse_streams_query(Some("limit=0")).is_err());
    }
}
