//! The OvenMediaEngine-compatible API (`POST /v1/vhosts/{vhost}/apps/{app}/streams/{stream}:sendEvent[s]`).
//!
//! The stream key is `{app}/{stream}`; any vhost name is accepted. Events of one request are
//! validated together first, then applied in order; the first one the timeline refuses stops
//! the request and is reported (events before it stay applied). `out` starts a break at the
//! live edge; `in` ends the current one (see [`crate::hls::Timeline::current`]).
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;

use super::{Operation, json_response, read_body};
use crate::hls::{BreakTarget, ScheduleRequest, Start};
use crate::server::App;
use crate::server::body::BoxBody;
use crate::server::error::Failure;
use crate::server::path::decode_stream_name;
use crate::server::proxy::refresh_live_edge;

/// `POST /v1/vhosts/{vhost}/apps/{app}/streams/{stream}:sendEvent[s]` (already authenticated).
pub async fn ome(app: &Arc<App>, req: Request<Incoming>) -> Result<Response<BoxBody>, Failure> {
    let (key, multiple) = parse_ome(req.uri().path())?;
    if req.method() != Method::POST {
        return Err(Failure::MethodNotAllowed);
    }
    let body = read_body(req, app.body_read_timeout).await?;
    let operations = parse_body(&body, multiple)?;
    if app
        .streams
        .find(&key)
        .await
        .map_err(Failure::from)?
        .is_none()
    {
        return Err(Failure::NotFound(format!(
            "Could not find the stream: [{key}]"
        )));
    }
    for operation in operations {
        match operation {
            Operation::Create(new) => {
                app.streams
                    .create_break(&key, new, |s| refresh_live_edge(app, s))
                    .await
                    .map_err(|e| Failure::from_break(&key, e))?;
            }
            Operation::End(target) => {
                app.streams
                    .end_break(&key, target, |s| refresh_live_edge(app, s))
                    .await
                    .map_err(|e| Failure::from_break(&key, e))?;
            }
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "message": "OK", "statusCode": 200 }),
    ))
}

/// Returns the stream key `{app}/{stream}` and whether the route is `:sendEvents`.
pub(crate) fn parse_ome(path: &str) -> Result<(String, bool), Failure> {
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

/// The events of a `:sendEvent` body (one event group, a JSON object) or a `:sendEvents` body
/// (an object or an array of them), all validated before any is applied: `out` creates a break
/// at the live edge, `in` ends the current one.
pub(crate) fn parse_body(body: &[u8], multiple: bool) -> Result<Vec<Operation>, Failure> {
    let value: Value = serde_json::from_slice(body)
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
    let mut operations = Vec::new();
    for group in groups {
        parse_group(group, &mut operations)?;
    }
    Ok(operations)
}

/// An `out` at the live edge, as OvenMediaEngine's event asks for it.
fn out(event_id: Option<u32>, duration_ms: u64) -> Operation {
    Operation::Create(ScheduleRequest {
        start: Start::Now,
        duration_ms,
        event_id,
        request_id: None,
        ads: None,
    })
}

/// An `in`: the current break ends (the one with `event_id`, when given).
fn end(event_id: Option<u32>) -> Operation {
    Operation::End(BreakTarget::Current { event_id })
}

fn parse_group(group: &Value, events: &mut Vec<Operation>) -> Result<(), Failure> {
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
                    "out" => out(None, duration(event)?),
                    "in" => end(None),
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
                    "out" => out(event_id, duration(event)?),
                    "in" => end(event_id),
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
            vec![out(None, 60500), end(None), out(Some(2025), 30000)]
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
