//! Helpers shared by the rewriter's integration tests: a naive reference for "the output is the
//! input with whole lines inserted", and timelines written as break specs.
#![allow(dead_code)]

pub mod playlists;

use chrono::{DateTime, Utc};
use hlsplice::hls::{BreakRequest, Timeline};

/// A timeline from break specs in the form `hlsplice rewrite --break` takes,
/// `id=<event id>,start=<RFC 3339>,duration=<seconds>[,end=<RFC 3339>][,cancel]`, added in
/// order. Panics on a spec that does not parse or that the timeline refuses: the specs are the
/// test's own.
pub fn timeline_from_specs(specs: &[&str]) -> Timeline {
    let mut timeline = Timeline::new();
    for spec in specs {
        let (mut event_id, mut start, mut duration_ms, mut end, mut cancel) =
            (None, None, None, None, false);
        for item in spec.split(',') {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let time = || {
                DateTime::parse_from_rfc3339(value)
                    .unwrap_or_else(|e| panic!("{spec}: {key} {value:?}: {e}"))
                    .with_timezone(&Utc)
            };
            match key {
                "id" => event_id = Some(value.parse::<u32>().expect("id is a u32")),
                "start" => start = Some(time()),
                "end" => end = Some(time()),
                "duration" => {
                    let seconds: f64 = value.parse().expect("duration in seconds");
                    duration_ms = Some((seconds * 1000.0).round() as u64);
                }
                "cancel" => cancel = true,
                _ => panic!("{spec}: unknown item {item:?}"),
            }
        }
        let id = timeline
            .add_break(BreakRequest {
                event_id,
                start: start.unwrap_or_else(|| panic!("{spec}: no start")),
                planned_duration_ms: duration_ms.unwrap_or_else(|| panic!("{spec}: no duration")),
            })
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
            .id;
        if let Some(end) = end {
            timeline
                .end_break(id, end)
                .unwrap_or_else(|e| panic!("{spec}: {e}"));
        }
        if cancel {
            timeline
                .cancel_break(id)
                .unwrap_or_else(|e| panic!("{spec}: {e}"));
        }
    }
    timeline
}

/// The tags the rewriter inserts.
pub const INSERTED_TAGS: &[&str] = &[
    "#EXT-X-DATERANGE:",
    "#EXT-X-CUE-OUT:",
    "#EXT-X-CUE-OUT-CONT:",
    "#EXT-X-CUE-IN",
    "#EXT-OATCLS-SCTE35:",
    "#EXT-X-PROGRAM-DATE-TIME:",
];

/// Lines with their terminators.
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// Splits an attribute list on the commas outside quoted strings.
fn split_attributes(list: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, &c) in list.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// The input as the rewriter must pass it through: CAN-SKIP-DATERANGES withdrawn from
/// EXT-X-SERVER-CONTROL (the first such attribute and one adjacent comma).
pub fn withdrawn(input: &[u8]) -> Vec<u8> {
    const TAG: &[u8] = b"#EXT-X-SERVER-CONTROL:";
    let mut out = Vec::with_capacity(input.len());
    for line in lines(input) {
        let Some(list) = line.strip_prefix(TAG) else {
            out.extend_from_slice(line);
            continue;
        };
        let eol_len = if list.ends_with(b"\r\n") {
            2
        } else {
            usize::from(list.ends_with(b"\n"))
        };
        let body_len = list.len() - eol_len;
        let (body, eol) = list.split_at(body_len);
        let mut kept: Vec<&[u8]> = Vec::new();
        let mut removed = false;
        for part in split_attributes(body) {
            let name = part
                .split(|&b| b == b'=')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            if !removed && name == b"CAN-SKIP-DATERANGES" {
                removed = true;
            } else {
                kept.push(part);
            }
        }
        out.extend_from_slice(TAG);
        out.extend_from_slice(&kept.join(&b',')[..]);
        out.extend_from_slice(eol);
    }
    out
}

/// Removes the inserted lines from `output`, matching the input's lines in order; every line
/// that is not the next input line must be one of [`INSERTED_TAGS`]. Returns the remaining bytes
/// and the inserted lines.
pub fn split_inserted<'a>(
    output: &'a [u8],
    input: &[u8],
) -> Result<(Vec<u8>, Vec<&'a [u8]>), String> {
    let input_lines = lines(input);
    let mut next = 0;
    let mut kept = Vec::with_capacity(output.len());
    let mut inserted = Vec::new();
    for line in lines(output) {
        if input_lines.get(next) == Some(&line) {
            kept.extend_from_slice(line);
            next += 1;
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if !INSERTED_TAGS.iter().any(|t| text.starts_with(t)) {
            return Err(format!(
                "line {text:?} is neither the next input line nor an inserted tag"
            ));
        }
        inserted.push(line);
    }
    if next != input_lines.len() {
        return Err(format!(
            "{} input lines missing from the output",
            input_lines.len() - next
        ));
    }
    Ok((kept, inserted))
}

/// Asserts the lossless property: output = input (CAN-SKIP-DATERANGES withdrawn) + inserted lines,
/// each inserted line ending with the playlist's own terminator.
pub fn assert_lossless(input: &[u8], output: &[u8]) {
    let expected = withdrawn(input);
    let (kept, inserted) = split_inserted(output, &expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        kept, expected,
        "output minus inserted lines differs from the input"
    );
    let crlf = input
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && input[i - 1] == b'\r');
    for line in inserted {
        assert_eq!(
            line.ends_with(b"\r\n"),
            crlf,
            "terminator of {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(line.ends_with(b"\n"));
    }
}
