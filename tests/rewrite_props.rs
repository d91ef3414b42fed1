//! Property tests on generated live playlists and timelines:
//! - removing the inserted lines gives back the input bytes (CAN-SKIP-DATERANGES aside);
//! - every segment inside a break carries exactly one CUE-OUT or CUE-OUT-CONT and the first after
//!   it a CUE-IN, and no other segment carries one;
//! - over a live window sliding across breaks (start and end sliding in and out, decisions fed
//!   back with `Timeline::apply` as the proxy does, early INs arriving mid-way), no attribute under
//!   a DATERANGE ID ever changes, an ID never reappears after it went, and a video and an audio
//!   rendition with slightly different segment durations carry the identical DATERANGE set.

mod common;

use common::playlists::{PdtMode, PlaylistSpec, at, base, mutated_playlist, playlist};

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use hlsplice::hls::{BreakRequest, CueStyle, Dialect, RewriteOptions, Timeline, rewrite};
use proptest::prelude::*;

const TOLERANCE_MS: i64 = 250;

fn options(spec: &PlaylistSpec, dialect: Dialect) -> RewriteOptions {
    RewriteOptions {
        dialect,
        pdt_anchor: (spec.pdt == PdtMode::None).then(|| at(spec.first_start_ms)),
        ..RewriteOptions::default()
    }
}

#[derive(Clone, Debug)]
struct BreakSpec {
    start_ms: i64,
    duration_ms: u64,
    early_end_ms: Option<i64>,
    cancel: bool,
}

fn timeline_of(breaks: &[BreakSpec]) -> Timeline {
    let mut tl = Timeline::new();
    for b in breaks {
        let Ok(added) = tl.add_break(BreakRequest {
            event_id: None,
            start: at(b.start_ms),
            planned_duration_ms: b.duration_ms,
        }) else {
            continue; // overlapping: refused, as the API should
        };
        let id = added.id;
        if let Some(e) = b.early_end_ms {
            let _ = tl.end_break(id, at(b.start_ms + e));
        }
        if b.cancel {
            tl.cancel_break(id).unwrap();
        }
    }
    tl
}

fn break_spec() -> impl Strategy<Value = BreakSpec> {
    (
        -40_000i64..70_000,
        1_000u64..40_000,
        prop::option::of(500i64..40_000),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(start_ms, duration_ms, early_end_ms, cancel)| BreakSpec {
            start_ms,
            duration_ms,
            early_end_ms,
            cancel,
        })
}

fn cue_style() -> impl Strategy<Value = CueStyle> {
    prop_oneof![
        Just(CueStyle::Duration),
        Just(CueStyle::Elemental),
        Just(CueStyle::Slash),
    ]
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![
        Just(Dialect::Cue),
        Just(Dialect::Daterange),
        Just(Dialect::Both),
        Just(Dialect::Enhanced),
    ]
}

/// The inserted/CUE tag lines that precede each listed segment's first line.
fn tags_per_segment(output: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(output);
    let mut per_segment = Vec::new();
    let mut pending = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let starts_segment =
            (line.starts_with("#EXTINF:") || line.starts_with("#EXT-X-PART:")) && !inside;
        if starts_segment {
            per_segment.push(std::mem::take(&mut pending));
            inside = true;
        } else if line.starts_with("#EXT-X-CUE")
            || line.starts_with("#EXT-X-DATERANGE")
            || line.starts_with("#EXT-OATCLS")
        {
            pending.push(line.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            inside = false;
        }
    }
    per_segment
}

fn daterange_attrs(line: &str) -> (String, BTreeMap<String, String>) {
    let list = line.strip_prefix("#EXT-X-DATERANGE:").unwrap();
    let mut attrs = BTreeMap::new();
    // Our values carry no commas inside quotes.
    for pair in list.split(',') {
        let (k, v) = pair.split_once('=').unwrap();
        attrs.insert(k.to_string(), v.to_string());
    }
    (attrs["ID"].clone(), attrs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lossless_and_cue_structure(spec in playlist(), breaks in prop::collection::vec(break_spec(), 0..4), dialect in dialect(), cue_style in cue_style()) {
        let (input, starts) = spec.render();
        let mut timeline = timeline_of(&breaks);
        let opts = RewriteOptions { cue_style, ..options(&spec, dialect) };
        let mut out = Vec::new();
        let outcome = rewrite(&input, &timeline, &opts, &mut out).unwrap();
        common::assert_lossless(&input, &out);

        // Decisions fed back render the same bytes and decide nothing new.
        timeline.apply(&outcome.decisions);
        let mut again = Vec::new();
        let second = rewrite(&input, &timeline, &opts, &mut again).unwrap();
        prop_assert!(second.decisions.is_empty());
        prop_assert_eq!(&again, &out);

        if dialect == Dialect::Daterange {
            return Ok(());
        }
        let per_segment = tags_per_segment(&out);
        prop_assert_eq!(per_segment.len(), starts.len());
        let t0 = starts[0];
        let tol = TOLERANCE_MS;
        for (i, tags) in per_segment.iter().enumerate() {
            let s = starts[i];
            let outs = tags.iter().filter(|t| t.starts_with("#EXT-X-CUE-OUT:") || t.starts_with("#EXT-X-CUE-OUT-CONT:")).count();
            let ins = tags.iter().filter(|t| *t == "#EXT-X-CUE-IN").count();
            let mut want_outs = 0;
            let mut want_ins = 0;
            for b in timeline.breaks().iter().filter(|b| !b.cancelled) {
                let Some(ds) = b.decided_start else { continue };
                let ds = (ds - base()).num_milliseconds();
                let de = b.decided_end.map(|e| (e - base()).num_milliseconds());
                if de.is_some_and(|e| e < t0 - tol) {
                    continue; // ended before the window: no CUE tags at all
                }
                let in_break = s >= ds - tol && de.is_none_or(|e| s < e - tol);
                if in_break {
                    want_outs += 1;
                }
                if let Some(e) = de {
                    let first_after = starts.iter().position(|&x| x >= e - tol);
                    if first_after == Some(i) {
                        want_ins += 1;
                    }
                }
            }
            prop_assert!(want_outs <= 1, "overlapping breaks were accepted");
            prop_assert_eq!(outs, want_outs, "segment {} (start {} ms): {:?}", i, s, tags);
            prop_assert_eq!(ins, want_ins, "segment {} (start {} ms): {:?}", i, s, tags);
        }
    }

    #[test]
    fn sliding_window_never_changes_a_published_attribute(
        durations in prop::collection::vec(1_500i64..6_000, 30..40),
        jitter in prop::collection::vec(-100i64..100, 40),
        window in 3usize..8,
        breaks in prop::collection::vec(break_spec(), 1..4),
        early_in in prop::option::of((0usize..30, 1_000i64..20_000)),
        pdt in prop_oneof![Just(PdtMode::Every), Just(PdtMode::FirstOnly), Just(PdtMode::AfterExtinf)],
        ll in any::<bool>(),
    ) {
        // Video boundaries; the audio rendition's boundaries differ by less than 100 ms.
        let mut video_starts = vec![0i64];
        for d in &durations {
            video_starts.push(video_starts.last().unwrap() + d);
        }
        let audio_starts: Vec<i64> = video_starts
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == 0 { s } else { s + jitter[i % jitter.len()] })
            .collect();
        let breaks: Vec<BreakSpec> = breaks
            .into_iter()
            .map(|b| BreakSpec { start_ms: b.start_ms.abs() * 2 + 10_000, ..b })
            .collect();
        let mut timeline = timeline_of(&breaks);
        let mut published: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut seen_at: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let n = durations.len();
        for k in 0..n.saturating_sub(window) {
            if let Some((when, after)) = early_in
                && when == k
                && let Some(id) = timeline.breaks().iter().find(|b| !b.cancelled && b.decided_end.is_none()).map(|b| b.id)
            {
                let start = timeline.get(id).unwrap().decided_start.unwrap_or(timeline.get(id).unwrap().requested_start);
                let _ = timeline.end_break(id, start + Duration::milliseconds(after));
            }
            // Every render is published; a render that decided something is followed by
            // another pass (the next requests see the stored values), and the renditions are
            // compared once nothing new is decided.
            let mut sets = Vec::new();
            for _pass in 0..3 {
                sets.clear();
                let mut decided_any = false;
                for starts in [&video_starts, &audio_starts] {
                    let spec = PlaylistSpec {
                        first_msn: k as u64,
                        first_start_ms: starts[k],
                        durations_ms: (k..k + window).map(|i| starts[i + 1] - starts[i]).collect(),
                        pdt,
                        crlf: false,
                        parts_on_last: if ll { 2 } else { 0 },
                        in_progress_parts: if ll { 2 } else { 0 },
                        comments: false,
                        server_control_skip_dateranges: ll,
                    };
                    let (input, _) = spec.render();
                    let mut out = Vec::new();
                    let outcome = rewrite(&input, &timeline, &options(&spec, Dialect::Both), &mut out).unwrap();
                    // The proxy stores decisions before publishing.
                    decided_any |= timeline.apply(&outcome.decisions);
                    prop_assert!(timeline.agrees_with(&outcome.decisions));
                    let mut lines = BTreeSet::new();
                    for line in String::from_utf8_lossy(&out).lines().filter(|l| l.starts_with("#EXT-X-DATERANGE:")) {
                        lines.insert(line.to_string());
                        let (id, attrs) = daterange_attrs(line);
                        let entry = published.entry(id.clone()).or_default();
                        for (name, value) in attrs {
                            if let Some(old) = entry.get(&name) {
                                prop_assert_eq!(old, &value, "refresh {}: {} of {} changed", k, name, id);
                            } else {
                                entry.insert(name, value);
                            }
                        }
                        let seen = seen_at.entry(id).or_default();
                        if seen.last() != Some(&k) {
                            seen.push(k);
                        }
                    }
                    sets.push(lines);
                }
                if !decided_any {
                    break;
                }
            }
            prop_assert_eq!(&sets[0], &sets[1], "refresh {}: renditions differ", k);
        }
        // The test must exercise something: a first break that starts at or before the last
        // listed segment (the last window ends with segment n - 2) was published.
        if let Some(first) = timeline.get(1)
            && !first.cancelled
            && (first.requested_start - base()).num_milliseconds() + TOLERANCE_MS < video_starts[n - 2]
        {
            prop_assert!(published.contains_key("\"splice-1\""), "break 1 never published: {:?}", published.keys());
        }
        for (id, refreshes) in seen_at {
            let contiguous = refreshes.windows(2).all(|w| w[1] == w[0] + 1);
            prop_assert!(contiguous, "{} disappeared and came back: {:?}", id, refreshes);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The fuzz target's property, run by `cargo test`: never a panic, an error leaves the input
    /// unchanged, a success is lossless.
    #[test]
    fn mutated_playlists_never_panic(input in mutated_playlist(), breaks in prop::collection::vec(break_spec(), 0..3), dialect in dialect(), cue_style in cue_style(), strip in any::<bool>(), anchor in any::<bool>()) {
        let timeline = timeline_of(&breaks);
        let opts = RewriteOptions {
            dialect,
            cue_style,
            strip_upstream_markers: strip,
            pdt_anchor: anchor.then(base),
            ..RewriteOptions::default()
        };
        let mut out = Vec::new();
        match rewrite(&input, &timeline, &opts, &mut out) {
            Ok(_) if !strip => {
                let expected = common::withdrawn(&input);
                let (kept, _) = common::split_inserted(&out, &expected).map_err(TestCaseError::fail)?;
                prop_assert_eq!(kept, expected);
            }
            Ok(_) => {}
            Err(_) => prop_assert_eq!(out, input),
        }
    }
}
