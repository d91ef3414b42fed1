//! One test per timeline rule of the rewriter (issue 3, "Timeline rules"), on small playlists
//! built in the test, plus the outcome fields, CAN-SKIP-DATERANGES withdrawal, multi-rendition
//! agreement and hostile input.

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use hlsplice::hls::{
    AssetListTemplate, BreakRequest, CueStyle, Decision, Markers, PlaylistKind, Publication,
    RewriteError, RewriteOptions, RewriteOutcome, Timeline, rewrite, rewrite_published,
};

fn t(ms: i64) -> DateTime<Utc> {
    "2026-11-21T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::milliseconds(ms)
}

fn date(ms: i64) -> String {
    t(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A live playlist whose first segment starts `first_ms` after 08:00:00, PDT on every segment.
fn live(first_msn: u64, first_ms: i64, durations_ms: &[i64]) -> String {
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{first_msn}\n"
    );
    let mut at = first_ms;
    for (i, d) in durations_ms.iter().enumerate() {
        s += &format!(
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{:.3},\nseg{}.ts\n",
            date(at),
            *d as f64 / 1000.0,
            first_msn + i as u64
        );
        at += d;
    }
    s
}

fn one_break(start_ms: i64, duration_ms: u64) -> Timeline {
    let mut tl = Timeline::new();
    tl.add_break(BreakRequest {
        event_id: Some(42),
        start: t(start_ms),
        planned_duration_ms: duration_ms,
    })
    .unwrap();
    tl
}

fn run(input: &str, tl: &Timeline, dialect: Markers) -> (String, RewriteOutcome) {
    let opts = RewriteOptions {
        dialect,
        ..RewriteOptions::default()
    };
    let mut out = Vec::new();
    let outcome = rewrite(input.as_bytes(), tl, &opts, &mut out).unwrap();
    common::assert_lossless(input.as_bytes(), &out);
    (String::from_utf8(out).unwrap(), outcome)
}

/// Inserted lines, in order.
fn inserted(input: &str, output: &str) -> Vec<String> {
    let (_, lines) =
        common::split_inserted(output.as_bytes(), &common::withdrawn(input.as_bytes())).unwrap();
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .collect()
}

/// The line that follows `tag` in `output`.
fn line_after<'a>(output: &'a str, tag: &str) -> &'a str {
    let mut lines = output.lines();
    lines
        .by_ref()
        .find(|l| *l == tag)
        .unwrap_or_else(|| panic!("{tag} missing"));
    lines.next().unwrap()
}

const FOUR: [i64; 6] = [4000; 6];

#[test]
fn start_snaps_to_first_boundary_at_or_after_request() {
    let input = live(100, 0, &FOUR);
    let (out, outcome) = run(&input, &one_break(4_300, 8_000), Markers::CUE);
    assert_eq!(
        outcome.decisions,
        vec![Decision {
            break_id: 1,
            start: Some(t(8_000)),
            end: Some(t(16_000))
        }]
    );
    assert!(
        out.contains("#EXT-X-CUE-OUT:DURATION=8.000\n#EXTINF:4.000,\nseg102.ts"),
        "{out}"
    );
    // A boundary less than the tolerance early counts as "at".
    let (_, outcome) = run(&input, &one_break(4_200, 8_000), Markers::CUE);
    assert_eq!(outcome.decisions[0].start, Some(t(4_000)));
    // Exactly on a boundary.
    let (_, outcome) = run(&input, &one_break(12_000, 8_000), Markers::CUE);
    assert_eq!(outcome.decisions[0].start, Some(t(12_000)));
}

#[test]
fn end_is_decided_start_plus_planned_duration_snapped() {
    let input = live(100, 0, &FOUR);
    // 4 s + 9 s = 13 s -> snaps to 16 s.
    let (out, outcome) = run(&input, &one_break(4_000, 9_000), Markers::CUE);
    assert_eq!(outcome.decisions[0].end, Some(t(16_000)));
    assert_eq!(line_after(&out, "#EXT-X-CUE-IN"), "#EXTINF:4.000,");
    assert!(
        out.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg104.ts"),
        "{out}"
    );
}

#[test]
fn early_in_snaps_the_requested_end() {
    let input = live(100, 0, &FOUR);
    let mut tl = one_break(4_000, 60_000);
    tl.end_break(1, t(9_000)).unwrap();
    let (out, outcome) = run(&input, &tl, Markers::DATERANGE);
    assert_eq!(outcome.decisions[0].end, Some(t(12_000)));
    assert!(out.contains(&format!(
        "#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE=\"{}\",END-DATE=\"{}\",DURATION=8.000,SCTE35-IN=0x",
        date(4_000),
        date(12_000)
    )));
    // PLANNED-DURATION stays the planned one.
    assert!(
        out.contains("PLANNED-DURATION=60.000,SCTE35-OUT=0x"),
        "{out}"
    );
}

#[test]
fn decided_values_are_rendered_as_stored() {
    let input = live(100, 0, &FOUR);
    let mut tl = one_break(4_000, 8_000);
    // Decided by another rendition whose boundaries were 40 ms later.
    assert!(tl.apply(&[Decision {
        break_id: 1,
        start: Some(t(4_040)),
        end: Some(t(12_040)),
    }]));
    let (out, outcome) = run(&input, &tl, Markers::BOTH);
    assert!(outcome.decisions.is_empty());
    assert!(
        out.contains(&format!(
            "START-DATE=\"{}\",PLANNED-DURATION=8.000",
            date(4_040)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("END-DATE=\"{}\",DURATION=8.000", date(12_040))),
        "{out}"
    );
    // ... placed at this rendition's matching segments.
    assert!(
        out.contains("#EXT-X-CUE-OUT:DURATION=8.000\n#EXTINF:4.000,\nseg101.ts"),
        "{out}"
    );
    assert!(
        out.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg103.ts"),
        "{out}"
    );
}

#[test]
fn tolerance_is_configurable() {
    let input = live(100, 0, &FOUR);
    let mut tl = one_break(4_000, 8_000);
    assert!(tl.apply(&[Decision {
        break_id: 1,
        start: Some(t(4_300)),
        end: None,
    }]));
    let mut out = Vec::new();
    // 300 ms off: beyond the default 250 ms, so the tag goes to the next boundary.
    let _ = rewrite(
        input.as_bytes(),
        &tl,
        &RewriteOptions {
            dialect: Markers::CUE,
            ..RewriteOptions::default()
        },
        &mut out,
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out)
            .contains("#EXT-X-CUE-OUT:DURATION=8.000\n#EXTINF:4.000,\nseg102.ts")
    );
    let opts = RewriteOptions {
        dialect: Markers::CUE,
        tolerance_ms: 400,
        ..RewriteOptions::default()
    };
    let _ = rewrite(input.as_bytes(), &tl, &opts, &mut out).unwrap();
    assert!(
        String::from_utf8_lossy(&out)
            .contains("#EXT-X-CUE-OUT:DURATION=8.000\n#EXTINF:4.000,\nseg101.ts")
    );
}

#[test]
fn requested_times_before_the_window_are_taken_as_decided() {
    let input = live(100, 10_000, &FOUR);
    let (out, outcome) = run(&input, &one_break(1_234, 20_000), Markers::BOTH);
    assert_eq!(outcome.decisions[0].start, Some(t(1_234)));
    // The end (21.234 s) is in the window: it snaps to 22 s.
    assert_eq!(outcome.decisions[0].end, Some(t(22_000)));
    let lines = inserted(&input, &out);
    assert!(lines[0].starts_with(&format!(
        "#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE=\"{}\"",
        date(1_234)
    )));
    assert_eq!(
        lines[1],
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=8.766,Duration=20.000"
    );
    // Both ends before the window: decided as requested, nothing written.
    let (out, outcome) = run(&input, &one_break(-30_000, 5_000), Markers::BOTH);
    assert_eq!(
        outcome.decisions[0],
        Decision {
            break_id: 1,
            start: Some(t(-30_000)),
            end: Some(t(-25_000))
        }
    );
    assert_eq!(out, input);
}

/// An end before the window is taken as decided only if nothing after it was published: a
/// break served as still running past its end (the rendition that may decide had not seen a
/// boundary it could take) ends at the first boundary not yet published, so the range does not
/// vanish from segments that carried it.
#[test]
fn an_end_before_the_window_that_was_published_as_running_is_not_taken_as_decided() {
    let input = live(100, 10_000, &FOUR);
    let mut tl = one_break(2_000, 4_000);
    assert!(tl.apply(&[Decision {
        break_id: 1,
        start: Some(t(2_000)),
        end: None,
    }]));
    let opts = RewriteOptions::default();
    let publication = Publication {
        decides: true,
        published_until: Some(t(14_000)),
    };
    let mut out = Vec::new();
    let outcome = rewrite_published(input.as_bytes(), &tl, &opts, publication, &mut out).unwrap();
    assert_eq!(outcome.decisions[0].end, Some(t(18_000)));
    let out = String::from_utf8(out).unwrap();
    // Segment 102 starts at 18 s.
    assert!(
        out.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg102.ts\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("END-DATE=\"{}\"", date(18_000))),
        "{out}"
    );
    // Nothing published after it: decided as requested, nothing written (as before).
    let publication = Publication {
        decides: true,
        published_until: Some(t(5_000)),
    };
    let mut out = Vec::new();
    let outcome = rewrite_published(input.as_bytes(), &tl, &opts, publication, &mut out).unwrap();
    assert_eq!(outcome.decisions[0].end, Some(t(6_000)));
    assert_eq!(out, input.as_bytes());
}

#[test]
fn cue_dialect_exact_formats() {
    let input = live(100, 0, &[4000, 3003, 3003, 4000, 4000]);
    let (out, _) = run(&input, &one_break(4_000, 10_010), Markers::CUE);
    assert_eq!(
        inserted(&input, &out),
        vec![
            "#EXT-X-CUE-OUT:DURATION=10.010",
            "#EXT-X-CUE-OUT-CONT:ElapsedTime=3.003,Duration=10.010",
            "#EXT-X-CUE-OUT-CONT:ElapsedTime=6.006,Duration=10.010",
            "#EXT-X-CUE-IN",
        ]
    );
}

/// The three CUE styles on the same break, in both the plain and the enhanced family, with
/// elapsed times past ten seconds and a long planned duration.
#[test]
fn cue_styles_exact_formats() {
    let input = live(100, 0, &[4000, 3003, 9009, 4000, 4000]);
    let tl = one_break(4_000, 1_234_567);
    let b64 = hlsplice::scte35::to_base64(&tl.get(1).unwrap().scte35_out);
    let cases = [
        (
            CueStyle::Duration,
            false,
            [
                "#EXT-X-CUE-OUT:DURATION=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=3.003,Duration=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=12.012,Duration=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=16.012,Duration=1234.567",
            ],
        ),
        (
            CueStyle::Elemental,
            false,
            [
                "#EXT-X-CUE-OUT:1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=3.003,Duration=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=12.012,Duration=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=16.012,Duration=1234.567",
            ],
        ),
        (
            CueStyle::Slash,
            false,
            [
                "#EXT-X-CUE-OUT:1234.567",
                "#EXT-X-CUE-OUT-CONT:3.003/1234.567",
                "#EXT-X-CUE-OUT-CONT:12.012/1234.567",
                "#EXT-X-CUE-OUT-CONT:16.012/1234.567",
            ],
        ),
        (
            CueStyle::Duration,
            true,
            [
                "#EXT-X-CUE-OUT:DURATION=1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=3.003,Duration=1234.567,SCTE35=",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=12.012,Duration=1234.567,SCTE35=",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=16.012,Duration=1234.567,SCTE35=",
            ],
        ),
        (
            CueStyle::Elemental,
            true,
            [
                "#EXT-X-CUE-OUT:1234.567",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=3.003,Duration=1234.567,SCTE35=",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=12.012,Duration=1234.567,SCTE35=",
                "#EXT-X-CUE-OUT-CONT:ElapsedTime=16.012,Duration=1234.567,SCTE35=",
            ],
        ),
        (
            CueStyle::Slash,
            true,
            [
                "#EXT-X-CUE-OUT:1234.567",
                "#EXT-X-CUE-OUT-CONT:3.003/1234.567",
                "#EXT-X-CUE-OUT-CONT:12.012/1234.567",
                "#EXT-X-CUE-OUT-CONT:16.012/1234.567",
            ],
        ),
    ];
    for (style, enhanced, lines) in cases {
        let opts = RewriteOptions {
            dialect: if enhanced {
                Markers::ENHANCED
            } else {
                Markers::CUE
            },
            cue_style: style,
            ..RewriteOptions::default()
        };
        let mut out = Vec::new();
        let _ = rewrite(input.as_bytes(), &tl, &opts, &mut out).unwrap();
        common::assert_lossless(input.as_bytes(), &out);
        let out = String::from_utf8(out).unwrap();
        let mut want: Vec<String> = lines
            .iter()
            .map(|l| {
                if l.ends_with("SCTE35=") {
                    format!("{l}{b64}")
                } else {
                    (*l).to_string()
                }
            })
            .collect();
        if enhanced {
            want.insert(0, format!("#EXT-OATCLS-SCTE35:{b64}"));
        }
        assert_eq!(inserted(&input, &out), want, "{style} enhanced={enhanced}");
    }
}

#[test]
fn enhanced_dialect_carries_the_stored_payload() {
    let input = live(100, 0, &FOUR);
    let tl = one_break(4_000, 8_000);
    let b64 = hlsplice::scte35::to_base64(&tl.get(1).unwrap().scte35_out);
    let (out, _) = run(&input, &tl, Markers::ENHANCED);
    assert_eq!(
        inserted(&input, &out),
        vec![
            format!("#EXT-OATCLS-SCTE35:{b64}"),
            "#EXT-X-CUE-OUT:DURATION=8.000".to_string(),
            format!("#EXT-X-CUE-OUT-CONT:ElapsedTime=4.000,Duration=8.000,SCTE35={b64}"),
            "#EXT-X-CUE-IN".to_string(),
        ]
    );
}

#[test]
fn daterange_dialect_exact_formats_and_stored_scte35() {
    let input = live(100, 0, &FOUR);
    let tl = one_break(4_000, 8_000);
    let b = tl.get(1).unwrap();
    let (out, _) = run(&input, &tl, Markers::DATERANGE);
    assert_eq!(
        inserted(&input, &out),
        vec![
            format!(
                "#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE=\"2026-11-21T08:00:04.000Z\",PLANNED-DURATION=8.000,SCTE35-OUT={}",
                hlsplice::scte35::to_hex(&b.scte35_out)
            ),
            format!(
                "#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE=\"2026-11-21T08:00:04.000Z\",END-DATE=\"2026-11-21T08:00:12.000Z\",DURATION=8.000,SCTE35-IN={}",
                hlsplice::scte35::to_hex(&b.scte35_in)
            ),
        ]
    );
    // The payload decodes as the splice_insert pair of the break (checked with a peer crate).
    // (scte35-reader's header view starts after table_id and section_length.)
    for section in [&b.scte35_out, &b.scte35_in] {
        assert_eq!(section[0], 0xFC);
        let header = scte35_reader::SpliceInfoHeader::new(&section[3..]).0;
        assert_eq!(
            header.splice_command_type(),
            scte35_reader::SpliceCommandType::SpliceInsert
        );
    }
}

#[test]
fn daterange_in_only_once_its_segment_exists() {
    let mut tl = one_break(4_000, 8_000);
    // Window ends exactly at the break's end: the end is decided only when its segment is listed.
    let input = live(100, 0, &[4000, 4000, 4000]);
    let (out, outcome) = run(&input, &tl, Markers::BOTH);
    assert_eq!(outcome.decisions[0].end, None);
    assert!(!out.contains("END-DATE"), "{out}");
    assert!(!out.contains("#EXT-X-CUE-IN"), "{out}");
    let _ = tl.apply(&outcome.decisions);
    let input = live(101, 4_000, &[4000, 4000, 4000]);
    let (out, outcome) = run(&input, &tl, Markers::BOTH);
    assert_eq!(outcome.decisions[0].end, Some(t(12_000)));
    assert!(
        out.contains("END-DATE=\"2026-11-21T08:00:12.000Z\""),
        "{out}"
    );
    assert!(
        out.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg103.ts"),
        "{out}"
    );
}

#[test]
fn published_attributes_never_change_after_an_early_in() {
    let mut tl = one_break(4_000, 30_000);
    let input = live(100, 0, &[4000, 4000, 4000]);
    let (first, outcome) = run(&input, &tl, Markers::DATERANGE);
    let _ = tl.apply(&outcome.decisions);
    let out_tag = first
        .lines()
        .find(|l| l.starts_with("#EXT-X-DATERANGE"))
        .unwrap()
        .to_string();
    tl.end_break(1, t(10_000)).unwrap();
    let input = live(101, 4_000, &[4000, 4000, 4000]);
    let (second, _) = run(&input, &tl, Markers::DATERANGE);
    let tags: Vec<&str> = second
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE"))
        .collect();
    assert_eq!(tags[0], out_tag);
    assert!(tags[1].contains("DURATION=8.000,SCTE35-IN="), "{second}");
    assert!(!tags[1].contains("PLANNED-DURATION"), "{second}");
}

fn interstitial_options(dialect: Markers) -> RewriteOptions {
    RewriteOptions {
        dialect: dialect | Markers::INTERSTITIAL,
        interstitial_asset_list: Some(
            AssetListTemplate::new("https://ads.example/hls/{break_id}/list.json?b={break_id}")
                .unwrap(),
        ),
        ..RewriteOptions::default()
    }
}

#[test]
fn interstitial_family_exact_formats() {
    let input = live(100, 0, &FOUR);
    let tl = one_break(4_000, 8_000);
    let mut out = Vec::new();
    let outcome = rewrite(
        input.as_bytes(),
        &tl,
        &interstitial_options(Markers::INTERSTITIAL),
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    common::assert_lossless(input.as_bytes(), out.as_bytes());
    let opening = "#EXT-X-DATERANGE:ID=\"ad-splice-42\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2026-11-21T08:00:04.000Z\",PLANNED-DURATION=8.000,X-ASSET-LIST=\"https://ads.example/hls/1/list.json?b=1\",X-SNAP=\"OUT,IN\",X-RESTRICT=\"SKIP,JUMP\",CUE=\"ONCE\"";
    let closing = "#EXT-X-DATERANGE:ID=\"ad-splice-42\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2026-11-21T08:00:04.000Z\",END-DATE=\"2026-11-21T08:00:12.000Z\",DURATION=8.000,X-PLAYOUT-LIMIT=8.000";
    assert_eq!(inserted(&input, &out), vec![opening, closing]);
    assert_eq!(outcome.decisions.len(), 1);
    // Before the segments starting at 08:00:04 (the second) and 08:00:12 (the fourth).
    let after = |tag: &str| {
        let mut lines = out.lines().skip_while(|l| *l != tag);
        lines.nth(2).unwrap_or_default().to_string()
    };
    assert_eq!(after(opening), "seg101.ts");
    assert_eq!(after(closing), "seg103.ts");
}

/// An early IN adds the closing tag with the real duration as X-PLAYOUT-LIMIT; the opening tag
/// published before it stays byte for byte.
#[test]
fn interstitial_early_in_only_adds_the_closing_tag() {
    let mut tl = one_break(4_000, 30_000);
    let opts = interstitial_options(Markers::DATERANGE);
    let input = live(100, 0, &[4000, 4000, 4000]);
    let mut out = Vec::new();
    let outcome = rewrite(input.as_bytes(), &tl, &opts, &mut out).unwrap();
    let _ = tl.apply(&outcome.decisions);
    let first = String::from_utf8(out.clone()).unwrap();
    let opening: Vec<&str> = first
        .lines()
        .filter(|l| l.contains("CLASS=\"com.apple.hls.interstitial\""))
        .collect();
    assert_eq!(opening.len(), 1, "{first}");
    assert!(opening[0].contains(",PLANNED-DURATION=30.000,"), "{first}");
    assert!(!opening[0].contains(",DURATION="), "{first}");
    tl.end_break(1, t(10_000)).unwrap();
    let input = live(101, 4_000, &[4000, 4000, 4000]);
    let outcome = rewrite(input.as_bytes(), &tl, &opts, &mut out).unwrap();
    let _ = tl.apply(&outcome.decisions);
    let second = String::from_utf8(out).unwrap();
    let tags: Vec<&str> = second
        .lines()
        .filter(|l| l.contains("CLASS=\"com.apple.hls.interstitial\""))
        .collect();
    assert_eq!(tags.len(), 2, "{second}");
    assert_eq!(tags[0], opening[0]);
    assert_eq!(
        tags[1],
        "#EXT-X-DATERANGE:ID=\"ad-splice-42\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2026-11-21T08:00:04.000Z\",END-DATE=\"2026-11-21T08:00:12.000Z\",DURATION=8.000,X-PLAYOUT-LIMIT=8.000"
    );
    // The SCTE-35 range of the same break keeps its own ID.
    assert!(
        second.contains("#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE="),
        "{second}"
    );
}

#[test]
fn interstitial_family_needs_an_asset_list() {
    let input = live(100, 0, &FOUR);
    for timeline in [Timeline::new(), one_break(4_000, 8_000)] {
        let opts = RewriteOptions {
            interstitial_asset_list: None,
            ..interstitial_options(Markers::BOTH)
        };
        let mut out = Vec::new();
        assert_eq!(
            rewrite(input.as_bytes(), &timeline, &opts, &mut out),
            Err(RewriteError::NoAssetList)
        );
        assert_eq!(out, input.as_bytes());
    }
    // A template without the interstitial family is simply unused.
    let opts = RewriteOptions {
        dialect: Markers::BOTH,
        ..interstitial_options(Markers::BOTH)
    };
    let (plain, _) = run(&input, &one_break(4_000, 8_000), Markers::BOTH);
    let mut out = Vec::new();
    let _ = rewrite(input.as_bytes(), &one_break(4_000, 8_000), &opts, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), plain);
}

#[test]
fn cancelled_break_never_appears() {
    let input = live(100, 0, &FOUR);
    let mut tl = one_break(4_000, 8_000);
    tl.cancel_break(1).unwrap();
    let (out, outcome) = run(&input, &tl, Markers::BOTH);
    assert_eq!(out, input);
    assert!(outcome.decisions.is_empty());
}

#[test]
fn range_lifetime_follows_its_dates() {
    let mut tl = one_break(4_000, 8_000);
    assert!(tl.apply(&[Decision {
        break_id: 1,
        start: Some(t(4_000)),
        end: Some(t(12_000)),
    }]));
    // The window starts inside the break: OUT repeated before the first segment, then the IN.
    let input = live(102, 8_000, &FOUR);
    let (out, _) = run(&input, &tl, Markers::BOTH);
    let lines = inserted(&input, &out);
    assert!(lines[0].contains("PLANNED-DURATION=8.000"), "{lines:?}");
    assert_eq!(
        lines[1],
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=4.000,Duration=8.000"
    );
    assert!(lines[2].contains("END-DATE"));
    assert_eq!(lines[3], "#EXT-X-CUE-IN");
    // END-DATE is the first segment's start: the range still maps to a segment.
    let input = live(103, 12_000, &FOUR);
    let (out, _) = run(&input, &tl, Markers::DATERANGE);
    assert_eq!(inserted(&input, &out).len(), 2);
    // Once the end slid out, the range goes.
    let input = live(104, 16_000, &FOUR);
    let (out, _) = run(&input, &tl, Markers::BOTH);
    assert_eq!(out, input);
}

#[test]
fn breaks_queue_behind_the_previous_end() {
    // Break 1 snaps from 4.3 s to 8 s; break 2, requested at 5.3 s, may not begin inside it.
    let input = live(100, 0, &FOUR);
    let mut tl = one_break(4_300, 1_000);
    tl.add_break(BreakRequest {
        event_id: None,
        start: t(5_300),
        planned_duration_ms: 1_000,
    })
    .unwrap();
    let (out, outcome) = run(&input, &tl, Markers::CUE);
    assert_eq!(
        outcome.decisions[0],
        Decision {
            break_id: 1,
            start: Some(t(8_000)),
            end: Some(t(12_000))
        }
    );
    assert_eq!(
        outcome.decisions[1],
        Decision {
            break_id: 2,
            start: Some(t(12_000)),
            end: Some(t(16_000))
        }
    );
    assert_eq!(
        inserted(&input, &out),
        vec![
            "#EXT-X-CUE-OUT:DURATION=1.000",
            "#EXT-X-CUE-IN",
            "#EXT-X-CUE-OUT:DURATION=1.000",
            "#EXT-X-CUE-IN"
        ]
    );
}

#[test]
fn decisions_are_idempotent_when_program_time_jumps_backwards() {
    // Found by the fuzz target: a PDT that goes back in time made the second render walk the
    // breaks in another order and decide a break the first render had held back.
    let input = "#EXTM3U
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z
#EXTINF:4,
a.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T09:00:00.000Z
#EXTINF:4,
b.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:10.000Z
#EXTINF:4,
c.ts
";
    let mut tl = one_break(2_000, 2_000);
    tl.add_break(BreakRequest {
        event_id: None,
        start: t(5_000),
        planned_duration_ms: 1_000,
    })
    .unwrap();
    let (first, outcome) = run(input, &tl, Markers::BOTH);
    let _ = tl.apply(&outcome.decisions);
    let (second, again) = run(input, &tl, Markers::BOTH);
    assert!(again.decisions.is_empty(), "{:?}", again.decisions);
    assert_eq!(first, second);
}

const LL: &str = "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK=3.0,CAN-SKIP-UNTIL=24.0
#EXT-X-PART-INF:PART-TARGET=1.0
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-MAP:URI=\"init.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z
#EXTINF:4.000,
s10.m4s
#EXT-X-PART:DURATION=2.000,URI=\"p11.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=2.000,URI=\"p11.1.m4s\"
#EXTINF:4.000,
s11.m4s
#EXT-X-PART:DURATION=2.000,URI=\"p12.0.m4s\",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p12.1.m4s\"
#EXT-X-RENDITION-REPORT:URI=\"audio.m3u8\",LAST-MSN=12,LAST-PART=0
";

#[test]
fn llhls_tags_go_before_the_first_part_including_the_in_progress_segment() {
    let (out, outcome) = run(LL, &one_break(4_000, 4_000), Markers::CUE);
    assert!(
        out.contains(
            "s10.m4s\n#EXT-X-CUE-OUT:DURATION=4.000\n#EXT-X-PART:DURATION=2.000,URI=\"p11.0.m4s\""
        ),
        "{out}"
    );
    assert!(
        out.contains("s11.m4s\n#EXT-X-CUE-IN\n#EXT-X-PART:DURATION=2.000,URI=\"p12.0.m4s\""),
        "{out}"
    );
    assert_eq!(outcome.live_edge, Some(t(8_000)));
    assert_eq!(outcome.part_target, Some(1.0));
    assert_eq!(outcome.target_duration, Some(4.0));
    assert_eq!(outcome.media_sequence, 10);
    assert!(!outcome.ended);
    assert_eq!(outcome.kind, PlaylistKind::Media);
    // A break starting at the in-progress segment.
    let (out, _) = run(LL, &one_break(8_000, 4_000), Markers::CUE);
    assert!(
        out.contains(
            "s11.m4s\n#EXT-X-CUE-OUT:DURATION=4.000\n#EXT-X-PART:DURATION=2.000,URI=\"p12.0.m4s\""
        ),
        "{out}"
    );
}

#[test]
fn can_skip_dateranges_is_withdrawn_wherever_it_stands() {
    for (line, want) in [
        (
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-DATERANGES=YES,CAN-SKIP-UNTIL=24.0",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24.0",
        ),
        (
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-DATERANGES=YES,CAN-SKIP-UNTIL=24.0",
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0",
        ),
        (
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0,CAN-SKIP-DATERANGES=YES",
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0",
        ),
        (
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0,HOLD-BACK=12",
            "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0,HOLD-BACK=12",
        ),
    ] {
        let input = format!(
            "#EXTM3U\r\n{line}\r\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00Z\r\n#EXTINF:4,\r\ns.ts\r\n"
        );
        for tl in [Timeline::new(), one_break(0, 4_000)] {
            for dialect in [Markers::CUE, Markers::BOTH] {
                let (out, _) = run(&input, &tl, dialect);
                assert_eq!(out.lines().nth(1).unwrap().trim_end(), want);
                assert!(out.contains(&format!("{want}\r\n")));
            }
        }
    }
}

#[test]
fn delta_update_renders_nothing_for_skipped_segments() {
    let input = "#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.0
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-SKIP:SKIPPED-SEGMENTS=4
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:16.000Z
#EXTINF:4.000,
s14.ts
#EXTINF:4.000,
s15.ts
";
    // Began in the skipped part (8 s): handled like a break that began before the window.
    let (out, _) = run(input, &one_break(8_000, 12_000), Markers::BOTH);
    let lines = inserted(input, &out);
    assert!(
        lines[0].contains("START-DATE=\"2026-11-21T08:00:08.000Z\""),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=8.000,Duration=12.000"
    );
    assert!(lines[2].contains("END-DATE=\"2026-11-21T08:00:20.000Z\""));
    assert_eq!(lines[3], "#EXT-X-CUE-IN");
    // Ended in the skipped part: the range is still part of the playlist, CUE tags are not.
    let (out, _) = run(input, &one_break(4_000, 4_000), Markers::BOTH);
    let lines = inserted(input, &out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("#EXT-X-DATERANGE")));
}

#[test]
fn upstream_markers_pass_through_unless_stripped() {
    let input = "#EXTM3U
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z
#EXT-X-CUE-OUT:30
#EXTINF:4,
a.ts
#EXT-X-CUE-OUT-CONT:4/30
#EXT-X-DATERANGE:ID=\"x\",START-DATE=\"2026-11-21T08:00:04.000Z\",SCTE35-OUT=0xFC
#EXTINF:4,
b.ts
#EXT-X-DATERANGE:ID=\"x\",DURATION=4
#EXT-X-DATERANGE:ID=\"y\",CLASS=\"chapter\",START-DATE=\"2026-11-21T08:00:04.000Z\"
#EXT-X-CUE-IN
#EXTINF:4,
c.ts
";
    let (out, _) = run(input, &Timeline::new(), Markers::BOTH);
    assert_eq!(out, input);
    let opts = RewriteOptions {
        strip_upstream_markers: true,
        ..RewriteOptions::default()
    };
    let mut stripped = Vec::new();
    let _ = rewrite(input.as_bytes(), &Timeline::new(), &opts, &mut stripped).unwrap();
    assert_eq!(
        String::from_utf8(stripped).unwrap(),
        "#EXTM3U
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z
#EXTINF:4,
a.ts
#EXTINF:4,
b.ts
#EXT-X-DATERANGE:ID=\"y\",CLASS=\"chapter\",START-DATE=\"2026-11-21T08:00:04.000Z\"
#EXTINF:4,
c.ts
"
    );
}

#[test]
fn multivariant_passes_through() {
    let input = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000000\nvideo.m3u8\n";
    let mut out = Vec::new();
    let outcome = rewrite(
        input.as_bytes(),
        &one_break(0, 4_000),
        &RewriteOptions::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(outcome.kind, PlaylistKind::Multivariant);
    assert_eq!(out, input.as_bytes());
}

#[test]
fn multi_rendition_yields_identical_daterange_sets() {
    // Video: 4 s segments. Audio: AAC frame-aligned, boundaries up to 32 ms off.
    let video_durations = [4000i64; 16];
    let audio_durations = [
        3989i64, 4011, 3989, 4032, 3968, 4011, 3989, 4011, 3989, 4032, 3968, 4011, 3989, 4011,
        3989, 4032,
    ];
    let mut tl = one_break(10_000, 15_000);
    tl.add_break(BreakRequest {
        event_id: Some(43),
        start: t(41_000),
        planned_duration_ms: 6_000,
    })
    .unwrap();
    let starts = |d: &[i64]| -> Vec<i64> {
        d.iter()
            .scan(0, |acc, x| {
                let s = *acc;
                *acc += x;
                Some(s)
            })
            .collect()
    };
    let (vs, as_) = (starts(&video_durations), starts(&audio_durations));
    let mut union_video = BTreeSet::new();
    let mut union_audio = BTreeSet::new();
    for k in 0..=10 {
        // Audio renders first on even refreshes, video first on odd ones.
        let order: [(&[i64], &[i64], bool); 2] = [
            (&audio_durations, &as_, false),
            (&video_durations, &vs, true),
        ];
        let order = if k % 2 == 0 {
            order
        } else {
            [order[1], order[0]]
        };
        let mut sets = Vec::new();
        for (durations, starts, is_video) in order {
            let input = live(k as u64, starts[k], &durations[k..k + 6]);
            let (out, outcome) = run(&input, &tl, Markers::DATERANGE);
            let _ = tl.apply(&outcome.decisions);
            let set: BTreeSet<String> = out
                .lines()
                .filter(|l| l.starts_with("#EXT-X-DATERANGE"))
                .map(String::from)
                .collect();
            if is_video {
                union_video.extend(set.clone())
            } else {
                union_audio.extend(set.clone())
            }
            sets.push(set);
        }
        // Re-render the first rendition with what the second may have decided.
        let (durations, starts) = if k % 2 == 0 {
            (&audio_durations, &as_)
        } else {
            (&video_durations, &vs)
        };
        let input = live(k as u64, starts[k], &durations[k..k + 6]);
        let (out, _) = run(&input, &tl, Markers::DATERANGE);
        let set: BTreeSet<String> = out
            .lines()
            .filter(|l| l.starts_with("#EXT-X-DATERANGE"))
            .map(String::from)
            .collect();
        assert_eq!(set, sets[1], "refresh {k}");
    }
    assert_eq!(union_video, union_audio);
    assert_eq!(union_video.len(), 4, "{union_video:#?}");
}

#[test]
fn program_time_errors_only_matter_with_breaks() {
    let input = "#EXTM3U\n#EXTINF:4,\na.ts\n";
    let mut out = Vec::new();
    assert!(
        rewrite(
            input.as_bytes(),
            &Timeline::new(),
            &RewriteOptions::default(),
            &mut out
        )
        .is_ok()
    );
    assert_eq!(out, input.as_bytes());
    let err = rewrite(
        input.as_bytes(),
        &one_break(0, 4_000),
        &RewriteOptions::default(),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(err, RewriteError::NoProgramTime);
    assert_eq!(out, input.as_bytes());
}

#[test]
fn outcome_reports_endlist_and_media_sequence() {
    let input = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00+00:00\n#EXTINF:9.5,\na.ts\n#EXT-X-ENDLIST\n";
    let (_, outcome) = run(input, &Timeline::new(), Markers::BOTH);
    assert!(outcome.ended);
    assert_eq!(outcome.media_sequence, 7);
    assert_eq!(outcome.target_duration, Some(10.0));
    assert_eq!(outcome.part_target, None);
    assert_eq!(outcome.live_edge, Some(t(9_500)));
}

#[test]
fn hostile_input_never_panics_and_comes_back_unchanged_on_error() {
    let tl = one_break(0, 4_000);
    let cases: &[&[u8]] = &[
        b"",
        b"\n",
        b"\r",
        b"#EXTM3U",
        b"#EXTM3U\n#EXTINF",
        b"#EXTM3U\n#EXTINF:\n",
        b"#EXTM3U\n#EXTINF:1e9,\na\n",
        b"#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:9999-12-31T23:59:59.999999999+23:59\n#EXTINF:999999999999,\na\n#EXTINF:999999999999,\nb\n",
        b"#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:0000-01-01T00:00:00Z\n#EXTINF:1,\na\n",
        b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999999\n",
        b"#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=18446744073709551615\n#EXT-X-TARGETDURATION:999999999999\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00Z\n#EXTINF:1,\na\n",
        b"#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-SKIP-DATERANGES=YES\n#EXT-X-SERVER-CONTROL:\"CAN-SKIP-DATERANGES=YES\n",
        b"#EXTM3U\n#EXT-X-PART:\n#EXT-X-PART:\n\xff\xfe\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00Z\n",
        b"\xEF\xBB\xBF#EXTM3U\r\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00Z\r\n#EXTINF:4,\r\na\r\n",
    ];
    for &input in cases {
        for strip in [false, true] {
            let opts = RewriteOptions {
                strip_upstream_markers: strip,
                ..RewriteOptions::default()
            };
            let mut out = Vec::new();
            match rewrite(input, &tl, &opts, &mut out) {
                Ok(_) if !strip => common::assert_lossless(input, &out),
                Ok(_) => {}
                Err(_) => assert_eq!(out, input),
            }
        }
    }
}

#[test]
fn one_scratch_serves_different_timelines_and_line_endings() {
    // The scratch keeps rendered DATERANGE OUT lines between rewrites; a break with the same ID
    // and start but another planned duration (other SCTE-35 bytes), or a playlist with other
    // line endings, must never get a kept line.
    let input = live(100, 0, &[4000; 6]);
    let input_crlf = input.replace('\n', "\r\n");
    let long = one_break(8000, 30_000);
    let short = one_break(8000, 12_000);
    let opts = RewriteOptions::default();
    let fresh = |input: &str, tl: &Timeline| {
        let mut out = Vec::new();
        let _ = hlsplice::hls::rewrite_with(
            &mut hlsplice::hls::RewriteScratch::default(),
            input.as_bytes(),
            tl,
            &opts,
            &mut out,
        )
        .unwrap();
        out
    };
    assert_ne!(fresh(&input, &long), fresh(&input, &short));
    let mut scratch = hlsplice::hls::RewriteScratch::default();
    for (input, tl) in [
        (&input, &long),
        (&input, &short),
        (&input_crlf, &short),
        (&input, &short),
        (&input_crlf, &long),
        (&input, &long),
    ] {
        let mut out = Vec::new();
        let _ = hlsplice::hls::rewrite_with(&mut scratch, input.as_bytes(), tl, &opts, &mut out)
            .unwrap();
        assert_eq!(out, fresh(input, tl));
    }
}

/// Breaks scheduled ahead of the window — the first just past the newest segment, the rest
/// spread over the coming days — change nothing in the output and decide nothing.
#[test]
fn breaks_scheduled_ahead_of_the_window_change_nothing() {
    let input = live(100, 0, &[6000, 6000, 6000, 6000]);
    let mut base = one_break(1_000, 3_000);
    let outcome = run(&input, &base, Markers::BOTH).1;
    assert_eq!(outcome.decisions.len(), 1, "start and end decided");
    let _ = base.apply(&outcome.decisions);
    let mut ahead = base.clone();
    // The newest segment starts at 18 s and lasts 6 s: a start before 24 s would snap to a
    // boundary that is not listed yet, so nothing is decided.
    for i in 0..100 {
        ahead
            .add_break(BreakRequest {
                event_id: None,
                start: t(19_000 + i * 3_600_000),
                planned_duration_ms: 60_000,
            })
            .unwrap();
    }
    let (plain, plain_outcome) = run(&input, &base, Markers::BOTH);
    let (scheduled, scheduled_outcome) = run(&input, &ahead, Markers::BOTH);
    assert_eq!(scheduled, plain);
    assert!(plain_outcome.decisions.is_empty());
    assert!(scheduled_outcome.decisions.is_empty());
    assert!(plain.contains("#EXT-X-CUE-OUT:"), "{plain}");
}
