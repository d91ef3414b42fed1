//! The check of the fuzz target `playlist_rewrite`, shared with the replay of its regression
//! inputs (`tests/fuzz_regressions.rs`): arbitrary bytes and an arbitrary timeline never panic
//! the rewriter, an error leaves the input unchanged, whenever the rewrite succeeds (without
//! stripping) the output is the input with whole marker lines inserted (CAN-SKIP-DATERANGES
//! withdrawn from EXT-X-SERVER-CONTROL being the one documented edit), and the decisions, once
//! applied, render the same bytes and decide nothing new.
//!
//! Input layout: byte 0 = options (bits 0-1 dialect, bit 2 strip, bit 3 anchor, bits 4-5 CUE
//! style, bit 6 the interstitial family added), byte 1 = number of breaks (mod 5), then 8 bytes
//! per break, then the playlist bytes. Break times are relative to the playlist's live edge so
//! that breaks land in the window.

use hlsplice::hls::{
    AssetListTemplate, BreakRequest, CueStyle, DateTime, Decision, Markers, RewriteOptions,
    Timeline, Utc, rewrite,
};

const INSERTED: &[&[u8]] = &[
    b"#EXT-X-DATERANGE:",
    b"#EXT-X-CUE-OUT:",
    b"#EXT-X-CUE-OUT-CONT:",
    b"#EXT-X-CUE-IN",
    b"#EXT-OATCLS-SCTE35:",
    b"#EXT-X-PROGRAM-DATE-TIME:",
];

fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split_inclusive(|&c| c == b'\n')
}

fn lossless(input: &[u8], output: &[u8]) -> bool {
    let mut expected = lines(input).peekable();
    for line in lines(output) {
        match expected.peek() {
            Some(&next) if next == line => {
                expected.next();
            }
            Some(&next)
                if next.starts_with(b"#EXT-X-SERVER-CONTROL:")
                    && line.starts_with(b"#EXT-X-SERVER-CONTROL:")
                    && line.len() < next.len() =>
            {
                expected.next();
            }
            _ if INSERTED.iter().any(|t| line.starts_with(t)) && line.ends_with(b"\n") => {}
            _ => return false,
        }
    }
    expected.next().is_none()
}

/// `t` moved by `ms` milliseconds (unchanged when that leaves chrono's range).
fn shifted(t: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    t.timestamp_millis()
        .checked_add(ms)
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(t)
}

/// Runs one input; panics on a violation.
pub fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let flags = data[0];
    let count = usize::from(data[1] % 5);
    let Some(specs) = data.get(2..2 + count * 8) else {
        return;
    };
    let input = &data[2 + count * 8..];
    let anchor: DateTime<Utc> = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let families = match flags & 3 {
        0 => Markers::CUE,
        1 => Markers::DATERANGE,
        2 => Markers::BOTH,
        _ => Markers::ENHANCED,
    };
    let opts = RewriteOptions {
        dialect: if flags & 64 != 0 {
            families | Markers::INTERSTITIAL
        } else {
            families
        },
        cue_style: match (flags >> 4) & 3 {
            0 => CueStyle::Duration,
            1 => CueStyle::Elemental,
            _ => CueStyle::Slash,
        },
        interstitial_asset_list: AssetListTemplate::new("/assets/{break_id}.json").ok(),
        strip_upstream_markers: flags & 4 != 0,
        pdt_anchor: (flags & 8 != 0).then_some(anchor),
        ..RewriteOptions::default()
    };
    let mut out = Vec::new();
    let edge = rewrite(input, &Timeline::new(), &opts, &mut out)
        .ok()
        .and_then(|o| o.live_edge)
        .unwrap_or(anchor);

    let mut timeline = Timeline::new();
    for spec in specs.chunks_exact(8) {
        let offset_ms = i64::from(i16::from_le_bytes([spec[0], spec[1]])) * 10;
        let duration_ms = u64::from(u16::from_le_bytes([spec[2], spec[3]])) * 10;
        let Ok(b) = timeline.add_break(BreakRequest {
            event_id: (spec[4] & 1 != 0).then_some(u32::from(spec[5])),
            start: shifted(edge, offset_ms),
            planned_duration_ms: duration_ms,
        }) else {
            continue;
        };
        let (id, start) = (b.id, b.requested_start);
        match spec[6] % 4 {
            1 => {
                let _ = timeline.end_break(id, shifted(start, i64::from(spec[7]) * 100));
            }
            2 => {
                let _ = timeline.cancel_break(id);
            }
            3 => {
                let at = shifted(start, i64::from(spec[7]) * 37);
                let _ = timeline.apply(&[Decision {
                    break_id: id,
                    start: Some(at),
                    end: None,
                }]);
            }
            _ => {}
        }
    }

    match rewrite(input, &timeline, &opts, &mut out) {
        Ok(outcome) => {
            if !opts.strip_upstream_markers {
                assert!(
                    lossless(input, &out),
                    "output is not the input plus inserted lines"
                );
            }
            // Feeding the decisions back renders the same bytes.
            let before = out.clone();
            let _ = timeline.apply(&outcome.decisions);
            let again = rewrite(input, &timeline, &opts, &mut out).expect("second render");
            assert!(again.decisions.is_empty());
            assert_eq!(before, out);
        }
        Err(_) => assert_eq!(out, input, "an error must leave the input unchanged"),
    }
}
