//! The check of the fuzz target `api_event_body`, shared with the replay of its regression
//! inputs (`tests/fuzz_regressions.rs`): every request parser of every API style
//! (`hlsplice::server::fuzzing::PARSERS`: the native create body, route and list queries,
//! OvenMediaEngine's `:sendEvent` / `:sendEvents` bodies and route, …) gets each input.
//!
//! What must hold:
//! - no parser panics; a refusal is a non-empty, one-line message;
//! - an accepted request asks for at least one thing;
//! - a stream key a parser accepts is a valid stream key; page sizes are within the limit;
//! - a break a parser accepts, scheduled on an empty timeline at a live edge, is refused with
//!   a one-line reason or created exactly as asked (start, duration, event id, idempotency
//!   key), ends after it starts and no later than 9999-12-31 (dates have four-digit years),
//!   and carries SCTE-35 sections that decode and re-encode byte for byte: a splice_insert OUT
//!   with its event id and the duration in 90 kHz ticks, and the IN with the same event id;
//! - every break any API style accepts can be sent again as a native create body and reads
//!   back the same (where the date is one RFC 3339 can write);
//! - an IN with nothing to end is refused, never a panic.
//!
//! A new parser needs nothing here: it is one line in `PARSERS`.

use hlsplice::hls::{
    BreakTarget, DateTime, ScheduleRequest, Scheduled, Start, Timeline, Utc, latest_time,
};
use hlsplice::scte35::{Payload, SpliceCommand, SpliceInfoSection, SpliceInsert};
use hlsplice::server::fuzzing::{
    self, BreakOperation, MAX_PAGE, PARSERS, Parsed, validate_stream_key,
};

/// Runs one input; panics on a violation.
pub fn check(data: &[u8]) {
    for &(name, parse) in PARSERS {
        match parse(data) {
            None => {} // Not a request this parser can be given.
            Some(Ok(parsed)) => accepted(name, &parsed),
            Some(Err(message)) => one_line(name, &message),
        }
    }
}

fn one_line(name: &str, message: &str) {
    assert!(
        !message.is_empty() && !message.contains(['\n', '\r']),
        "{name}: the refusal {message:?} is not one line"
    );
}

fn accepted(name: &str, parsed: &Parsed) {
    match parsed {
        Parsed::Operations(operations) => {
            assert!(
                !operations.is_empty(),
                "{name}: accepted a request that asks for nothing"
            );
            for operation in operations {
                match operation {
                    BreakOperation::Create(request) => {
                        scheduled(name, request);
                        sent_natively(name, request);
                    }
                    BreakOperation::End(target) => ended(name, *target),
                }
            }
        }
        Parsed::Route { stream, .. } => {
            if let Some(stream) = stream {
                assert_eq!(
                    validate_stream_key(stream),
                    Ok(()),
                    "{name}: stream {stream:?}"
                );
            }
        }
        Parsed::BreakList { limit, .. } => {
            if let Some(limit) = limit {
                assert!((1..=MAX_PAGE).contains(limit), "{name}: limit {limit}");
            }
        }
        Parsed::StreamList { limit, after } => {
            assert!((1..=MAX_PAGE).contains(limit), "{name}: limit {limit}");
            if let Some(after) = after {
                assert_eq!(
                    validate_stream_key(after),
                    Ok(()),
                    "{name}: after {after:?}"
                );
            }
        }
    }
}

/// The live edge breaks are scheduled at: 2026-01-01T00:00:00Z.
fn live_edge() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid date")
}

fn scheduled(name: &str, request: &ScheduleRequest) {
    let edge = live_edge();
    let mut timeline = Timeline::new();
    let b = match timeline.schedule(request.clone(), Some(edge)) {
        Ok(Scheduled::Created(b)) => b,
        Ok(Scheduled::Repeated(b)) => panic!("{name}: an empty timeline repeated break {}", b.id),
        Err(refused) => return one_line(name, &refused.to_string()),
    };
    let start = match request.start {
        Start::Now => edge,
        Start::At(at) => at,
    };
    assert_eq!(b.requested_start, start, "{name}: start of {request:?}");
    assert_eq!(
        b.planned_duration_ms, request.duration_ms,
        "{name}: {request:?}"
    );
    assert_eq!(b.request_id, request.request_id, "{name}: {request:?}");
    if let Some(event_id) = request.event_id {
        assert_eq!(b.splice_event_id, event_id, "{name}: {request:?}");
    }
    let end = b.planned_end();
    assert!(
        start < end && end <= latest_time(),
        "{name}: {request:?} made a break from {start} to {end}"
    );
    let out = splice_insert(name, &b.scte35_out);
    assert!(
        out.out_of_network_indicator,
        "{name}: the OUT is not an OUT"
    );
    assert_eq!(
        out.splice_event_id, b.splice_event_id,
        "{name}: OUT event id"
    );
    assert_eq!(
        out.break_duration.map(|d| d.duration),
        Some(request.duration_ms * 90),
        "{name}: OUT break_duration of {request:?}"
    );
    let r#in = splice_insert(name, &b.scte35_in);
    assert!(
        !r#in.out_of_network_indicator,
        "{name}: the IN is not an IN"
    );
    assert_eq!(
        r#in.splice_event_id, b.splice_event_id,
        "{name}: IN event id"
    );
}

/// The splice_insert of stored section bytes, which must re-encode to the same bytes.
fn splice_insert(name: &str, bytes: &[u8]) -> SpliceInsert {
    let section = SpliceInfoSection::decode(bytes)
        .unwrap_or_else(|e| panic!("{name}: a stored section does not decode: {e}"));
    assert_eq!(
        section.to_vec().ok().as_deref(),
        Some(bytes),
        "{name}: re-encoded"
    );
    match section.payload {
        Payload::Clear {
            splice_command: SpliceCommand::SpliceInsert(insert),
            ..
        } => insert,
        other => panic!("{name}: a stored section is not a splice_insert: {other:?}"),
    }
}

fn sent_natively(name: &str, request: &ScheduleRequest) {
    // RFC 3339 writes four-digit years only.
    let earliest = DateTime::from_timestamp(-62_167_219_200, 0).expect("0000-01-01");
    let start = match request.start {
        Start::Now => "now".to_owned(),
        Start::At(at) if (earliest..=latest_time()).contains(&at) => at.to_rfc3339(),
        Start::At(_) => return,
    };
    let mut body = serde_json::json!({ "duration_ms": request.duration_ms, "start": start });
    if let Some(event_id) = request.event_id {
        body["event_id"] = event_id.into();
    }
    if let Some(request_id) = &request.request_id {
        body["request_id"] = request_id.clone().into();
    }
    assert_eq!(
        fuzzing::native_create(body.to_string().as_bytes()).as_ref(),
        Ok(request),
        "{name}: {request:?} sent again as the native body {body}"
    );
}

fn ended(name: &str, target: BreakTarget) {
    let mut timeline = Timeline::new();
    match timeline.end_now(target, Some(live_edge())) {
        Ok(done) => panic!("{name}: {target:?} ended something on an empty timeline: {done:?}"),
        Err(refused) => one_line(name, &refused.to_string()),
    }
}
