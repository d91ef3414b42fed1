//! The JSON forms of breaks and streams that the native API answers with (and that 409 bodies
//! of every style carry under `"break"`).
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::hls::Break;
use crate::server::stream::Stream;

/// A program time as the API writes it (`2026-11-21T08:00:00.000Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The JSON form of a break; its state is reported at `live_edge`.
pub fn break_view(stream: &str, b: &Break, live_edge: Option<DateTime<Utc>>) -> Value {
    json!({
        "id": b.id,
        "stream": stream,
        "event_id": b.splice_event_id,
        "daterange_id": b.daterange_id,
        "state": b.published_state(live_edge).as_str(),
        "requested_start": rfc3339(b.requested_start),
        "requested_end": b.requested_end.map(rfc3339),
        "decided_start": b.decided_start.map(rfc3339),
        "decided_end": b.decided_end.map(rfc3339),
        "planned_duration_ms": b.planned_duration_ms,
        "planned_end": rfc3339(b.planned_end()),
        "cancelled": b.cancelled,
        "request_id": b.request_id,
        "ads": b.ads,
        "scte35_out": {
            "hex": crate::scte35::to_hex(&b.scte35_out),
            "base64": crate::scte35::to_base64(&b.scte35_out),
        },
        "scte35_in": {
            "hex": crate::scte35::to_hex(&b.scte35_in),
            "base64": crate::scte35::to_base64(&b.scte35_in),
        },
    })
}

/// A summary of a stream for `GET /api/v1/streams`: its live edge, the first program time the
/// proxy saw (what YouTube-style offsets count from), what its renditions declared, how many
/// breaks its timeline holds (scheduled, active, and ended ones still in a window), the current
/// one, and the stored revision this server holds (replicas of a fleet that hold the same
/// revision render the same breaks).
pub fn stream_summary(stream: &Stream) -> Value {
    let revision = stream.revision();
    let first_program_time = stream.first_program_time();
    let state = stream.state();
    let edge = state.live_edge;
    let current = state
        .timeline
        .current(edge)
        .map(|b| break_view(&stream.key, b, edge));
    let scheduled = state
        .timeline
        .breaks()
        .iter()
        .filter(|b| b.decided_start.is_none())
        .count();
    json!({
        "stream": stream.key,
        "live_edge": edge.map(rfc3339),
        "first_program_time": first_program_time.map(rfc3339),
        "target_duration": state.target_duration,
        "part_target": state.part_target,
        "breaks": state.timeline.breaks().len(),
        "scheduled": scheduled,
        "active_break": current,
        "revision": revision,
    })
}
