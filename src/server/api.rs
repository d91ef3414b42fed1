//! The ad-break API in its two styles.
//!
//! Native (`/api/v1`): stream names may contain `/`. A stream is addressed either by its
//! plain path (`/api/v1/streams/live/demo/breaks`: everything between `streams/` and the
//! last `/breaks` segment) or percent-encoded (`/api/v1/streams/live%2Fdemo/breaks`);
//! only `%2F` is decoded, anything else percent-encoded is refused.
//!
//! OvenMediaEngine (`/v1/vhosts/{vhost}/apps/{app}/streams/{stream}:sendEvent[s]`): the
//! stream key is `{app}/{stream}`; any vhost name is accepted. Events of one request are
//! validated together first, then applied in order; the first one the timeline refuses
//! stops the request and is reported (events before it stay applied).
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use super::App;
use super::body::{BoxBody, full};
use super::error::Failure;
use super::path::decode_stream_name;
use super::proxy::refresh_live_edge;
use super::streams::{NewBreak, Start, Target};

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Oversized bodies up to this size are read and dropped before the 413.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A native API route, parsed from the path.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Streams,
    Breaks(String),
    Break(String, u64),
    BreakEnd(String, u64),
}

fn parse_native(path: &str) -> Result<Route, Failure> {
    let not_found = || Failure::NotFound(format!("no API route {path}"));
    let rest = path.strip_prefix("/api/v1/streams").ok_or_else(not_found)?;
    if rest.is_empty() || rest == "/" {
        return Ok(Route::Streams);
    }
    let rest = rest.strip_prefix('/').ok_or_else(not_found)?;
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

/// Reads a request body of at most [`MAX_BODY`] bytes.
///
/// # Errors
/// 413 when larger, 400 when the body cannot be read.
pub async fn read_body(req: Request<Incoming>) -> Result<Bytes, Failure> {
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

fn json_response(status: StatusCode, value: &Value) -> Response<BoxBody> {
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

/// Parses `{"duration_ms", "start", "event_id", "request_id"}`; every error names the field.
fn parse_create(body: &[u8]) -> Result<NewBreak, Failure> {
    let bad = |why: String| Failure::BadRequest(why);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("invalid JSON body: expected an object".to_owned()))?;
    if let Some(unknown) = object.keys().find(|k| {
        !matches!(
            k.as_str(),
            "duration_ms" | "start" | "event_id" | "request_id"
        )
    }) {
        return Err(bad(format!(
            "unknown field {unknown:?} (expected duration_ms, start, event_id, request_id)"
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
        Some(Value::String(text)) => parse_start(Some(text))?,
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
    Ok(NewBreak {
        start,
        duration_ms,
        event_id,
        request_id,
    })
}

fn parse_start(text: Option<&str>) -> Result<Start, Failure> {
    match text {
        None | Some("now") => Ok(Start::Now),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Start::At(t.with_timezone(&Utc)))
            .map_err(|e| {
                Failure::BadRequest(format!("start must be \"now\" or an RFC 3339 date: {e}"))
            }),
    }
}

/// `/api/v1/...` (already authenticated).
pub async fn native(app: &Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let route = parse_native(req.uri().path())?;
    let method = req.method().clone();
    match (method, route) {
        (Method::GET, Route::Streams) => {
            let streams: Vec<Value> = app.streams.all().iter().map(|s| s.summary()).collect();
            Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({ "streams": streams }),
            ))
        }
        (Method::GET, Route::Breaks(stream)) => Ok(json_response(
            StatusCode::OK,
            &app.streams.list_breaks(&stream)?,
        )),
        (Method::POST, Route::Breaks(stream)) => {
            let body = read_body(req).await?;
            let new = parse_create(&body)?;
            let (status, view) = app
                .streams
                .create_break(&stream, new, |s| refresh_live_edge(app, s))
                .await?;
            Ok(json_response(status, &view))
        }
        (Method::GET, Route::Break(stream, id)) => {
            let list = app.streams.list_breaks(&stream)?;
            let found = list["breaks"]
                .as_array()
                .and_then(|breaks| breaks.iter().find(|b| b["id"].as_u64() == Some(id)))
                .cloned()
                .ok_or_else(|| Failure::NotFound(format!("no break {id} in stream {stream}")))?;
            Ok(json_response(StatusCode::OK, &found))
        }
        (Method::DELETE, Route::Break(stream, id)) => Ok(json_response(
            StatusCode::OK,
            &app.streams.cancel_break(&stream, id).await?,
        )),
        (Method::POST, Route::BreakEnd(stream, id)) => Ok(json_response(
            StatusCode::OK,
            &app.streams
                .end_break(&stream, Target::Id(id), |s| refresh_live_edge(app, s))
                .await?,
        )),
        _ => Err(Failure::MethodNotAllowed),
    }
}

/// One OvenMediaEngine event, validated.
#[derive(Debug, PartialEq, Eq)]
enum OmeEvent {
    Out {
        event_id: Option<u32>,
        duration_ms: u64,
    },
    In {
        event_id: Option<u32>,
    },
}

/// `POST /v1/vhosts/{vhost}/apps/{app}/streams/{stream}:sendEvent[s]` (already authenticated).
pub async fn ome(app: &Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let (key, multiple) = parse_ome(req.uri().path())?;
    if req.method() != Method::POST {
        return Err(Failure::MethodNotAllowed);
    }
    let body = read_body(req).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| Failure::BadRequest(format!("Body is not a JSON object: {e}")))?;
    let groups: Vec<&Value> = match (&value, multiple) {
        (Value::Object(_), _) => vec![&value],
        (Value::Array(items), true) => items.iter().collect(),
        _ => {
            return Err(Failure::BadRequest(if multiple {
                "Body is not a JSON array of event objects".to_owned()
            } else {
                "Body is not a JSON object".to_owned()
            }));
        }
    };
    if groups.is_empty() {
        return Err(Failure::BadRequest("no events".to_owned()));
    }
    let mut events = Vec::new();
    for group in groups {
        parse_group(group, &mut events)?;
    }
    if app.streams.get(&key).is_none() {
        return Err(Failure::NotFound(format!(
            "Could not find the stream: [{key}]"
        )));
    }
    for event in events {
        match event {
            OmeEvent::Out {
                event_id,
                duration_ms,
            } => {
                let new = NewBreak {
                    start: Start::Now,
                    duration_ms,
                    event_id,
                    request_id: None,
                };
                app.streams
                    .create_break(&key, new, |s| refresh_live_edge(app, s))
                    .await?;
            }
            OmeEvent::In { event_id } => {
                app.streams
                    .end_break(&key, Target::Current(event_id), |s| {
                        refresh_live_edge(app, s)
                    })
                    .await?;
            }
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "message": "OK", "statusCode": 200 }),
    ))
}

/// Returns the stream key `{app}/{stream}` and whether the route is `:sendEvents`.
fn parse_ome(path: &str) -> Result<(String, bool), Failure> {
    let not_found = || Failure::NotFound(format!("Could not find the API route: [{path}]"));
    let rest = path.strip_prefix("/v1/vhosts/").ok_or_else(not_found)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let [vhost, "apps", app, "streams", last] = segments.as_slice() else {
        return Err(not_found());
    };
    let (stream, multiple) = if let Some(stream) = last.strip_suffix(":sendEvents") {
        (stream, true)
    } else if let Some(stream) = last.strip_suffix(":sendEvent") {
        (stream, false)
    } else {
        return Err(not_found());
    };
    if vhost.is_empty() || app.is_empty() || stream.is_empty() {
        return Err(not_found());
    }
    let key = decode_stream_name(&format!("{app}/{stream}")).map_err(Failure::BadPath)?;
    Ok((key, multiple))
}

fn parse_group(group: &Value, events: &mut Vec<OmeEvent>) -> Result<(), Failure> {
    let bad = |what: String| Failure::BadRequest(what);
    let object = group
        .as_object()
        .ok_or_else(|| bad("each event group must be a JSON object".to_owned()))?;
    let format = object
        .get("eventFormat")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("eventFormat is required".to_owned()))?;
    let list = object
        .get("events")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| bad("events must be a non-empty array".to_owned()))?;
    match format {
        "cue" => {
            for event in list {
                let cue_type = event
                    .get("cueType")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("cueType is required (out|in)".to_owned()))?;
                events.push(match cue_type {
                    "out" => OmeEvent::Out {
                        event_id: None,
                        duration_ms: duration(event)?,
                    },
                    "in" => OmeEvent::In { event_id: None },
                    other => return Err(bad(format!("cueType {other:?} is not out or in"))),
                });
            }
        }
        "scte35" => {
            for event in list {
                if let Some(command) = event.get("spliceCommand")
                    && command.as_str() != Some("spliceInsert")
                {
                    return Err(bad(format!(
                        "spliceCommand {command} is not supported (only spliceInsert)"
                    )));
                }
                let event_id = match event.get("id") {
                    None | Some(Value::Null) => None,
                    Some(id) => Some(
                        id.as_u64()
                            .and_then(|id| u32::try_from(id).ok())
                            .ok_or_else(|| {
                                bad(format!("id {id} is not a 32-bit unsigned number"))
                            })?,
                    ),
                };
                if let Some(auto_return) = event.get("autoReturn")
                    && !auto_return.is_boolean()
                {
                    return Err(bad("autoReturn must be true or false".to_owned()));
                }
                let kind = event
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("type is required (out|in)".to_owned()))?;
                events.push(match kind {
                    "out" => OmeEvent::Out {
                        event_id,
                        duration_ms: duration(event)?,
                    },
                    "in" => OmeEvent::In { event_id },
                    other => return Err(bad(format!("type {other:?} is not out or in"))),
                });
            }
        }
        "id3v2" => return Err(bad("eventFormat id3v2 is not supported".to_owned())),
        other => {
            return Err(bad(format!(
                "eventFormat {other:?} is not supported (cue or scte35)"
            )));
        }
    }
    Ok(())
}

fn duration(event: &Value) -> Result<u64, Failure> {
    match event.get("duration") {
        None | Some(Value::Null) => Err(Failure::BadRequest(
            "duration (ms) is required for out".to_owned(),
        )),
        Some(value) => value.as_u64().ok_or_else(|| {
            Failure::BadRequest(format!(
                "duration {value} is not a positive number of milliseconds"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_routes() {
        assert_eq!(parse_native("/api/v1/streams").unwrap(), Route::Streams);
        assert_eq!(
            parse_native("/api/v1/streams/live/demo/breaks").unwrap(),
            Route::Breaks("live/demo".into())
        );
        assert_eq!(
            parse_native("/api/v1/streams/live%2Fdemo/breaks").unwrap(),
            Route::Breaks("live/demo".into())
        );
        assert_eq!(
            parse_native("/api/v1/streams/live/demo/breaks/7").unwrap(),
            Route::Break("live/demo".into(), 7)
        );
        assert_eq!(
            parse_native("/api/v1/streams/live/demo/breaks/7/end").unwrap(),
            Route::BreakEnd("live/demo".into(), 7)
        );
        assert!(parse_native("/api/v1/streams/breaks").is_err());
        assert!(parse_native("/api/v1/streams/live/../x/breaks").is_err());
        assert!(parse_native("/api/v1/streams/live/demo/breaks/x").is_err());
        assert!(parse_native("/api/v1/streams/live/demo").is_err());
    }

    #[test]
    fn ome_routes() {
        assert_eq!(
            parse_ome("/v1/vhosts/default/apps/app/streams/stream:sendEvent").unwrap(),
            ("app/stream".to_owned(), false)
        );
        assert_eq!(
            parse_ome("/v1/vhosts/default/apps/app/streams/stream:sendEvents").unwrap(),
            ("app/stream".to_owned(), true)
        );
        assert!(parse_ome("/v1/vhosts/default/apps/app/streams/stream").is_err());
        assert!(parse_ome("/v1/vhosts/default/apps/../streams/x:sendEvent").is_err());
    }

    #[test]
    fn ome_events() {
        let mut events = Vec::new();
        let cue = serde_json::json!({"eventFormat":"cue","events":[{"cueType":"out","duration":60500},{"cueType":"in"}]});
        parse_group(&cue, &mut events).unwrap();
        let scte = serde_json::json!({"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":2025,"type":"out","duration":30000,"autoReturn":true}]});
        parse_group(&scte, &mut events).unwrap();
        assert_eq!(
            events,
            vec![
                OmeEvent::Out {
                    event_id: None,
                    duration_ms: 60500
                },
                OmeEvent::In { event_id: None },
                OmeEvent::Out {
                    event_id: Some(2025),
                    duration_ms: 30000
                },
            ]
        );
        for bad in [
            serde_json::json!({"eventFormat":"id3v2","events":[{"frameType":"TXXX"}]}),
            serde_json::json!({"eventFormat":"cue","events":[{"cueType":"out"}]}),
            serde_json::json!({"eventFormat":"cue","events":[]}),
            serde_json::json!({"events":[{"cueType":"in"}]}),
            serde_json::json!({"eventFormat":"scte35","events":[{"type":"out","duration":1,"id":4294967296u64}]}),
            serde_json::json!({"eventFormat":"scte35","events":[{"type":"out","duration":-5}]}),
        ] {
            assert!(parse_group(&bad, &mut Vec::new()).is_err(), "{bad}");
        }
    }
}
