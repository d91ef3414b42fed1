//! The JSON form of a break policy (`GET`/`PUT /api/v1/streams/{stream}/policy`):
//! `{"max_per_hour", "min_spacing_s", "min_duration_s", "max_duration_s", "enabled"}`, the
//! durations in seconds (fractions down to the millisecond). What `GET` answers, `PUT` takes
//! back: a field left out of a `PUT` takes its value in the `none` policy (no cap, no spacing,
//! default durations, enabled).
use serde_json::{Map, Number, Value, json};

use crate::hls::BreakPolicy;
use crate::server::error::Failure;

const FIELDS: &str = "max_per_hour, min_spacing_s, min_duration_s, max_duration_s, enabled";

/// The JSON form of `policy`.
pub fn policy_view(policy: &BreakPolicy) -> Value {
    json!({
        "max_per_hour": policy.max_per_hour,
        "min_spacing_s": seconds(policy.min_spacing_ms),
        "min_duration_s": policy.min_duration_ms.map(seconds),
        "max_duration_s": policy.max_duration_ms.map(seconds),
        "enabled": policy.enabled,
    })
}

/// Milliseconds as a JSON number of seconds: an integer when whole.
fn seconds(ms: u64) -> Value {
    if ms.is_multiple_of(1000) {
        Value::Number(Number::from(ms / 1000))
    } else {
        Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
    }
}

/// Parses a `PUT` body and checks that every value fits (`server_max_ms`: the server's longest
/// break); every error names the field.
pub fn parse_policy(body: &[u8], server_max_ms: u64) -> Result<BreakPolicy, Failure> {
    let bad = |why: String| Failure::BadRequest(why);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("invalid JSON body: expected an object".to_owned()))?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.split(", ").any(|f| f == *k)) {
        return Err(bad(format!(
            "unknown field {unknown:?} (expected {FIELDS})"
        )));
    }
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());
    let max_per_hour = match present("max_per_hour") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "max_per_hour must be a positive integer or null (no cap), got {v}"
                    ))
                })?,
        ),
    };
    let policy = BreakPolicy {
        max_per_hour,
        min_spacing_ms: millis(object, "min_spacing_s")?.unwrap_or(0),
        min_duration_ms: millis(object, "min_duration_s")?,
        max_duration_ms: millis(object, "max_duration_s")?,
        enabled: match present("enabled") {
            None => true,
            Some(Value::Bool(enabled)) => *enabled,
            Some(other) => return Err(bad(format!("enabled must be true or false, got {other}"))),
        },
    };
    policy
        .validate(server_max_ms)
        .map_err(|e| bad(e.to_string()))?;
    Ok(policy)
}

/// A number of seconds, whole milliseconds at most, as milliseconds; `None` when absent or null.
fn millis(object: &Map<String, Value>, name: &str) -> Result<Option<u64>, Failure> {
    let Some(value) = object.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let refuse = || {
        Failure::BadRequest(format!(
            "{name} must be a number of seconds, at least 0, to the millisecond, got {value}"
        ))
    };
    if let Some(whole) = value.as_u64() {
        return whole.checked_mul(1000).map(Some).ok_or_else(refuse);
    }
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(refuse)?;
    let ms = seconds * 1000.0;
    // Refused rather than rounded: 1.2345 s is not a value the policy can hold.
    if (ms - ms.round()).abs() > 1e-6 || ms.round() > u64::MAX as f64 / 2.0 {
        return Err(refuse());
    }
    Ok(Some(ms.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_and_parse_round_trip() {
        let policy = BreakPolicy {
            max_per_hour: Some(24),
            min_spacing_ms: 45_000,
            min_duration_ms: Some(1_500),
            max_duration_ms: None,
            enabled: false,
        };
        let view = policy_view(&policy);
        assert_eq!(
            view.to_string(),
            r#"{"max_per_hour":24,"min_spacing_s":45,"min_duration_s":1.5,"max_duration_s":null,"enabled":false}"#
        );
        assert_eq!(view["min_duration_s"], 1.5);
        assert_eq!(view["min_spacing_s"], 45);
        assert_eq!(
            parse_policy(view.to_string().as_bytes(), 600_000).unwrap(),
            policy
        );
        assert_eq!(parse_policy(b"{}", 600_000).unwrap(), BreakPolicy::NONE);
    }

    #[test]
    fn every_refusal_names_the_field() {
        for (body, needle) in [
            (r#"{"max_per_hour": 0}"#, "max_per_hour"),
            (r#"{"max_per_hour": -1}"#, "max_per_hour"),
            (r#"{"max_per_hour": 1.5}"#, "max_per_hour"),
            (r#"{"min_spacing_s": -1}"#, "min_spacing_s"),
            (r#"{"min_spacing_s": 0.0001}"#, "min_spacing_s"),
            (r#"{"min_spacing_s": "45"}"#, "min_spacing_s"),
            (r#"{"min_spacing_s": 90000}"#, "min_spacing_s"),
            (r#"{"max_duration_s": 601}"#, "max_duration_s"),
            (
                r#"{"min_duration_s": 60, "max_duration_s": 30}"#,
                "min_duration_s",
            ),
            (r#"{"enabled": "yes"}"#, "enabled"),
            (r#"{"max_per_houre": 3}"#, "max_per_houre"),
            (r#"[1]"#, "object"),
            (r#"{"#, "invalid JSON"),
        ] {
            let message = parse_policy(body.as_bytes(), 600_000)
                .unwrap_err()
                .message();
            assert!(message.contains(needle), "{body}: {message}");
        }
    }
}
