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

use chrono::{DateTime, Duration, Utc};
use hlsplice::hls::{
    AssetListTemplate, BreakRequest, CueStyle, Markers, RewriteOptions, Timeline, rewrite,
};
use proptest::prelude::*;

const TOLERANCE_MS: i64 = 250;

fn options(spec: &PlaylistSpec, dialect: Markers) -> RewriteOptions {
    RewriteOptions {
        dialect,
        interstitial_asset_list: Some(AssetListTemplate::new(ASSET_LIST).unwrap()),
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

fn dialect() -> impl Strategy<Value = Markers> {
    prop_oneof![
        Just(Markers::CUE),
        Just(Markers::DATERANGE),
        Just(Markers::BOTH),
        Just(Markers::ENHANCED),
        Just(Markers::INTERSTITIAL),
        Just(Markers::BOTH | Markers::INTERSTITIAL),
        Just(Markers::ENHANCED | Markers::DATERANGE | Markers::INTERSTITIAL),
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
    // Split on the commas outside quoted strings (X-SNAP="OUT,IN").
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in list.char_indices().chain([(list.len(), ',')]) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                let (k, v) = list[start..i].split_once('=').unwrap();
                attrs.insert(k.to_string(), v.to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    (attrs["ID"].clone(), attrs)
}

/// A date as the rewriter renders it (`"2026-11-21T08:00:04.000Z"`, quotes kept), in ms.
fn date_ms(quoted: &str) -> i64 {
    let t: DateTime<Utc> = quoted.trim_matches('"').parse().unwrap();
    t.timestamp_millis()
}

/// A duration as the rewriter renders it (`8.000`), in ms.
fn seconds_ms(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 1000 + frac.parse::<i64>().unwrap()
}

const INTERSTITIAL_CLASS: &str = "\"com.apple.hls.interstitial\"";
const ASSET_LIST: &str = "/hlsplice/assets/live/{break_id}.json";

/// The attributes of an interstitial's opening and closing tags (the module docs of
/// `hls::interstitial` say why).
const OPENING: &[&str] = &[
    "ID",
    "CLASS",
    "START-DATE",
    "PLANNED-DURATION",
    "X-ASSET-LIST",
    "X-SNAP",
    "X-RESTRICT",
    "CUE",
];
const CLOSING: &[&str] = &[
    "ID",
    "CLASS",
    "START-DATE",
    "END-DATE",
    "DURATION",
    "X-PLAYOUT-LIMIT",
];

/// Checks one rendering's interstitial tags against its SCTE-35 ranges: before every segment,
/// an interstitial opens (closes) exactly where the SCTE-35 range of the same break opens
/// (closes); the opening tag has exactly the [`OPENING`] attributes and the closing tag the
/// [`CLOSING`] ones, with the same ID, CLASS and START-DATE, X-PLAYOUT-LIMIT = DURATION =
/// END-DATE - START-DATE, and the same END-DATE and DURATION as the SCTE-35 range; the asset
/// list is the break's; an interstitial ID is never a SCTE-35 range's.
fn check_interstitials(out: &str) -> Result<(), TestCaseError> {
    let mut scte35_ids = BTreeSet::new();
    let mut interstitial_ids = BTreeSet::new();
    let mut block: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let check_block =
        |block: &mut Vec<(String, BTreeMap<String, String>)>| -> Result<(), TestCaseError> {
            let scte35: BTreeMap<(String, bool), &BTreeMap<String, String>> = block
                .iter()
                .filter(|(_, a)| !a.contains_key("CLASS"))
                .map(|(id, a)| ((id.clone(), a.contains_key("END-DATE")), a))
                .collect();
            let ads: BTreeMap<(String, bool), &BTreeMap<String, String>> = block
                .iter()
                .filter(|(_, a)| a.get("CLASS").map(String::as_str) == Some(INTERSTITIAL_CLASS))
                .map(|(id, a)| {
                    let plain = format!("\"{}", id.trim_start_matches("\"ad-"));
                    ((plain, a.contains_key("END-DATE")), a)
                })
                .collect();
            prop_assert_eq!(
                scte35.keys().collect::<Vec<_>>(),
                ads.keys().collect::<Vec<_>>(),
                "interstitial tags not where the SCTE-35 ones are: {:?}",
                block
            );
            for ((id, closing), ad) in &ads {
                let names: Vec<&str> = ad.keys().map(String::as_str).collect();
                let mut want: Vec<&str> = if *closing {
                    CLOSING.to_vec()
                } else {
                    OPENING.to_vec()
                };
                want.sort_unstable();
                prop_assert_eq!(&names, &want, "{} attributes", id);
                let range = scte35[&(id.clone(), *closing)];
                prop_assert_eq!(&ad["START-DATE"], &range["START-DATE"]);
                if *closing {
                    prop_assert_eq!(&ad["END-DATE"], &range["END-DATE"]);
                    prop_assert_eq!(&ad["DURATION"], &range["DURATION"]);
                    prop_assert_eq!(&ad["X-PLAYOUT-LIMIT"], &ad["DURATION"]);
                    prop_assert_eq!(
                        date_ms(&ad["END-DATE"]) - date_ms(&ad["START-DATE"]),
                        seconds_ms(&ad["DURATION"])
                    );
                } else {
                    prop_assert_eq!(&ad["PLANNED-DURATION"], &range["PLANNED-DURATION"]);
                    prop_assert_eq!(ad["X-SNAP"].as_str(), "\"OUT,IN\"");
                    prop_assert_eq!(ad["X-RESTRICT"].as_str(), "\"SKIP,JUMP\"");
                    prop_assert_eq!(ad["CUE"].as_str(), "\"ONCE\"");
                }
            }
            block.clear();
            Ok(())
        };
    for line in out.lines() {
        if let Some(_list) = line.strip_prefix("#EXT-X-DATERANGE:") {
            let (id, attrs) = daterange_attrs(line);
            if attrs.contains_key("CLASS") {
                interstitial_ids.insert(id.clone());
            } else {
                scte35_ids.insert(id.clone());
            }
            block.push((id, attrs));
        } else if !line.starts_with('#') && !line.trim().is_empty()
            || line.starts_with("#EXTINF:")
            || line.starts_with("#EXT-X-PART:")
        {
            check_block(&mut block)?;
        }
    }
    check_block(&mut block)?;
    prop_assert!(
        scte35_ids.is_disjoint(&interstitial_ids),
        "shared IDs: {:?} / {:?}",
        scte35_ids,
        interstitial_ids
    );
    Ok(())
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
        let _ = timeline.apply(&outcome.decisions);
        let mut again = Vec::new();
        let second = rewrite(&input, &timeline, &opts, &mut again).unwrap();
        prop_assert!(second.decisions.is_empty());
        prop_assert_eq!(&again, &out);

        if !dialect.contains(Markers::CUE) {
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
        interstitials in any::<bool>(),
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
        let mut tag_lines: BTreeMap<(String, bool), String> = BTreeMap::new();
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
                    let dialect = if interstitials {
                        Markers::BOTH | Markers::INTERSTITIAL
                    } else {
                        Markers::BOTH
                    };
                    let opts = options(&spec, dialect);
                    let outcome = rewrite(&input, &timeline, &opts, &mut out).unwrap();
                    // The proxy stores decisions before publishing.
                    decided_any |= timeline.apply(&outcome.decisions);
                    prop_assert!(timeline.agrees_with(&outcome.decisions));
                    let text = String::from_utf8_lossy(&out);
                    if interstitials {
                        check_interstitials(&text)?;
                    }
                    let mut lines = BTreeSet::new();
                    for line in text.lines().filter(|l| l.starts_with("#EXT-X-DATERANGE:")) {
                        lines.insert(line.to_string());
                        let (id, attrs) = daterange_attrs(line);
                        // Each tag of a range is published once and then repeated byte for byte.
                        let kind = (id.clone(), attrs.contains_key("END-DATE"));
                        let first = tag_lines.entry(kind).or_insert_with(|| line.to_string());
                        prop_assert_eq!(first.as_str(), line, "refresh {}: a tag of {} changed", k, id);
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
            // The renditions list the same ranges, except that a range ending right at the
            // start of the window may already be gone from the one whose window starts later
            // (§6.2.1 lets a range go once it ends before the first segment; the renditions'
            // first segments differ by less than the tolerance).
            for (shown, hidden_in) in [(&sets[0], 1usize), (&sets[1], 0usize)] {
                let other = if hidden_in == 1 { &sets[1] } else { &sets[0] };
                let window_start = if hidden_in == 1 { audio_starts[k] } else { video_starts[k] };
                for line in shown.difference(other) {
                    let (id, _) = daterange_attrs(line);
                    let end = timeline
                        .breaks()
                        .iter()
                        .find(|b| format!("\"splice-{}\"", b.id) == id || format!("\"ad-splice-{}\"", b.id) == id)
                        .and_then(|b| b.decided_end)
                        .map(|e| (e - base()).num_milliseconds());
                    prop_assert!(
                        end.is_some_and(|e| e < window_start - TOLERANCE_MS),
                        "refresh {}: renditions differ on {} (end {:?}, window of the other at {} ms)",
                        k, line, end, window_start
                    );
                }
            }
        }
        // The test must exercise something: a first break that starts at or before the last
        // listed segment (the last window ends with segment n - 2) was published.
        if let Some(first) = timeline.get(1)
            && !first.cancelled
            && (first.requested_start - base()).num_milliseconds() + TOLERANCE_MS < video_starts[n - 2]
        {
            prop_assert!(published.contains_key("\"splice-1\""), "break 1 never published: {:?}", published.keys());
            if interstitials {
                prop_assert!(published.contains_key("\"ad-splice-1\""), "break 1's interstitial never published: {:?}", published.keys());
            }
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
            interstitial_asset_list: Some(AssetListTemplate::new(ASSET_LIST).unwrap()),
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
