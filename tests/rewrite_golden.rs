//! Golden files: every playlist in testdata/playlists rewritten with a timeline, compared byte for
//! byte with testdata/playlists/expected/<case>.m3u8 (reviewed by hand).
//! `HLSPLICE_BLESS=1 cargo test --test rewrite_golden` rewrites the expected files.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use common::timeline_from_specs;
use hlsplice::hls::{
    AssetListTemplate, CueStyle, Decision, Markers, PlaylistKind, RewriteOptions, rewrite,
};

struct Case {
    name: &'static str,
    input: &'static str,
    breaks: &'static [&'static str],
    dialect: Markers,
    cue_style: CueStyle,
    /// The X-ASSET-LIST template of the interstitial family.
    asset_list: Option<&'static str>,
    strip: bool,
    anchor: Option<&'static str>,
    /// Values decided by earlier refreshes: (break id, start, end).
    decided: &'static [(u64, Option<&'static str>, Option<&'static str>)],
    /// Expected error text; the output must then be the input unchanged.
    error: Option<&'static str>,
}

const fn case(name: &'static str, input: &'static str, breaks: &'static [&'static str]) -> Case {
    Case {
        name,
        input,
        breaks,
        dialect: Markers::BOTH,
        cue_style: CueStyle::Duration,
        asset_list: None,
        strip: false,
        anchor: None,
        decided: &[],
        error: None,
    }
}

const B_IN_WINDOW: &str = "id=7,start=2026-11-21T08:00:03Z,duration=8";

/// The interstitial family alone.
const INTERSTITIAL: Markers = Markers::INTERSTITIAL;
const ASSETS: Option<&str> = Some("/hlsplice/assets/live/{break_id}.json");

/// `case` with the interstitial family added to `dialect`.
const fn interstitial(
    name: &'static str,
    input: &'static str,
    breaks: &'static [&'static str],
    dialect: Markers,
) -> Case {
    Case {
        dialect: dialect.union(INTERSTITIAL),
        asset_list: ASSETS,
        ..case(name, input, breaks)
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("both_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW]),
        Case {
            dialect: Markers::CUE,
            ..case("cue_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW])
        },
        Case {
            dialect: Markers::DATERANGE,
            ..case("daterange_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW])
        },
        Case {
            dialect: Markers::ENHANCED,
            ..case("enhanced_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW])
        },
        Case {
            cue_style: CueStyle::Elemental,
            ..case("elemental_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW])
        },
        Case {
            dialect: Markers::ENHANCED,
            cue_style: CueStyle::Elemental,
            ..case(
                "elemental_enhanced_in_window",
                "live_pdt_z.m3u8",
                &[B_IN_WINDOW],
            )
        },
        Case {
            cue_style: CueStyle::Slash,
            ..case("slash_in_window", "live_pdt_z.m3u8", &[B_IN_WINDOW])
        },
        Case {
            dialect: Markers::ENHANCED,
            cue_style: CueStyle::Slash,
            ..case(
                "slash_enhanced_in_window",
                "live_pdt_z.m3u8",
                &[B_IN_WINDOW],
            )
        },
        Case {
            dialect: Markers::ENHANCED,
            ..case(
                "enhanced_began_before_window",
                "live_pdt_z.m3u8",
                &["id=8,start=2026-11-21T07:59:50Z,duration=20"],
            )
        },
        Case {
            dialect: Markers::ENHANCED,
            cue_style: CueStyle::Elemental,
            ..case(
                "elemental_enhanced_began_before_window",
                "live_pdt_z.m3u8",
                &["id=8,start=2026-11-21T07:59:50Z,duration=20"],
            )
        },
        Case {
            cue_style: CueStyle::Slash,
            ..case(
                "slash_began_before_window",
                "live_pdt_z.m3u8",
                &["id=8,start=2026-11-21T07:59:50Z,duration=20"],
            )
        },
        Case {
            cue_style: CueStyle::Slash,
            ..case("slash_crlf", "live_crlf.m3u8", &[B_IN_WINDOW])
        },
        Case {
            cue_style: CueStyle::Elemental,
            ..case(
                "elemental_llhls_in_progress_out",
                "llhls_fmp4_map.m3u8",
                &["id=21,start=2026-11-21T08:00:29Z,duration=30"],
            )
        },
        interstitial(
            "interstitial_in_window",
            "live_pdt_z.m3u8",
            &[B_IN_WINDOW],
            INTERSTITIAL,
        ),
        interstitial(
            "interstitial_both_in_window",
            "live_pdt_z.m3u8",
            &[B_IN_WINDOW],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_enhanced_daterange_in_window",
            "live_pdt_z.m3u8",
            &[B_IN_WINDOW],
            Markers::ENHANCED.union(Markers::DATERANGE),
        ),
        interstitial(
            "interstitial_early_in",
            "live_pdt_z.m3u8",
            &["id=10,start=2026-11-21T08:00:03Z,duration=60,end=2026-11-21T08:00:09Z"],
            Markers::DATERANGE,
        ),
        interstitial(
            "interstitial_end_not_yet_listed",
            "live_pdt_z.m3u8",
            &["id=9,start=2026-11-21T08:00:15Z,duration=30"],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_began_before_window",
            "live_pdt_z.m3u8",
            &["id=8,start=2026-11-21T07:59:50Z,duration=20"],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_ended_before_window",
            "live_pdt_z.m3u8",
            &["id=8,start=2026-11-21T07:59:00Z,duration=30"],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_back_to_back_repeated_event_id",
            "live_pdt_z.m3u8",
            &[
                "id=12,start=2026-11-21T08:00:04Z,duration=8",
                "id=12,start=2026-11-21T08:00:12Z,duration=4",
            ],
            INTERSTITIAL,
        ),
        interstitial(
            "interstitial_crlf",
            "live_crlf.m3u8",
            &[B_IN_WINDOW],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_llhls_in_progress_out",
            "llhls_fmp4_map.m3u8",
            &["id=21,start=2026-11-21T08:00:29Z,duration=30"],
            Markers::BOTH,
        ),
        interstitial(
            "interstitial_delta_began_in_skipped",
            "llhls_delta_skip_dateranges.m3u8",
            &["id=30,start=2026-11-21T08:00:04Z,duration=20"],
            Markers::DATERANGE,
        ),
        Case {
            asset_list: None,
            error: Some(
                "the interstitial marker family needs an asset-list URI template (with {break_id})",
            ),
            ..interstitial(
                "interstitial_no_asset_list",
                "live_pdt_z.m3u8",
                &[B_IN_WINDOW],
                Markers::BOTH,
            )
        },
        case(
            "began_before_window",
            "live_pdt_z.m3u8",
            &["id=8,start=2026-11-21T07:59:50Z,duration=20"],
        ),
        case(
            "ended_before_window",
            "live_pdt_z.m3u8",
            &["id=8,start=2026-11-21T07:59:00Z,duration=30"],
        ),
        case(
            "end_at_first_segment",
            "live_pdt_z.m3u8",
            &["id=8,start=2026-11-21T07:59:30Z,duration=30"],
        ),
        case(
            "end_not_yet_listed",
            "live_pdt_z.m3u8",
            &["id=9,start=2026-11-21T08:00:15Z,duration=30"],
        ),
        case(
            "scheduled_later",
            "live_pdt_z.m3u8",
            &["id=9,start=2026-11-21T08:01:00Z,duration=30"],
        ),
        case(
            "early_in",
            "live_pdt_z.m3u8",
            &["id=10,start=2026-11-21T08:00:03Z,duration=60,end=2026-11-21T08:00:09Z"],
        ),
        case(
            "cancelled",
            "live_pdt_z.m3u8",
            &["id=11,start=2026-11-21T08:00:03Z,duration=8,cancel"],
        ),
        case(
            "back_to_back_repeated_event_id",
            "live_pdt_z.m3u8",
            &[
                "id=12,start=2026-11-21T08:00:04Z,duration=8",
                "id=12,start=2026-11-21T08:00:12Z,duration=4",
            ],
        ),
        Case {
            decided: &[(1, Some("2026-11-21T08:00:04.000Z"), None)],
            ..case(
                "decided_start_kept",
                "live_audio_rendition.m3u8",
                &[B_IN_WINDOW],
            )
        },
        case(
            "pdt_offset_no_colon",
            "live_pdt_offset_no_colon.m3u8",
            &[B_IN_WINDOW],
        ),
        case(
            "pdt_offset_colon_micros",
            "live_pdt_offset_colon_micros.m3u8",
            &[B_IN_WINDOW],
        ),
        case(
            "pdt_after_extinf_ffmpeg",
            "live_pdt_after_extinf_ffmpeg.m3u8",
            &[B_IN_WINDOW],
        ),
        case(
            "pdt_late_carried_back",
            "live_pdt_late.m3u8",
            &[B_IN_WINDOW],
        ),
        Case {
            anchor: Some("2026-11-21T08:00:00Z"),
            ..case("no_pdt_anchor", "live_no_pdt.m3u8", &[B_IN_WINDOW])
        },
        Case {
            error: Some(
                "the playlist has no EXT-X-PROGRAM-DATE-TIME and no program-time anchor was given",
            ),
            ..case("no_pdt_no_anchor", "live_no_pdt.m3u8", &[B_IN_WINDOW])
        },
        case(
            "discontinuity",
            "live_discontinuity.m3u8",
            &["id=13,start=2026-11-21T08:00:06Z,duration=98"],
        ),
        case("byterange", "live_byterange.m3u8", &[B_IN_WINDOW]),
        case("crlf", "live_crlf.m3u8", &[B_IN_WINDOW]),
        case(
            "llhls_ts_parts",
            "llhls_ts_parts.m3u8",
            &["id=20,start=2026-11-21T08:00:24Z,duration=8"],
        ),
        case(
            "llhls_fmp4_map",
            "llhls_fmp4_map.m3u8",
            &["id=20,start=2026-11-21T08:00:24Z,duration=8"],
        ),
        case(
            "llhls_in_progress_out",
            "llhls_fmp4_map.m3u8",
            &["id=21,start=2026-11-21T08:00:29Z,duration=30"],
        ),
        case(
            "llhls_preload_map_hint",
            "llhls_preload_map_hint.m3u8",
            &["id=20,start=2026-11-21T08:00:24Z,duration=8"],
        ),
        case(
            "delta_began_in_skipped",
            "llhls_delta_skip_dateranges.m3u8",
            &["id=30,start=2026-11-21T08:00:04Z,duration=20"],
        ),
        case(
            "delta_ended_in_skipped",
            "llhls_delta_skip_dateranges.m3u8",
            &["id=31,start=2026-11-21T08:00:00Z,duration=8"],
        ),
        case(
            "upstream_cue_pass",
            "upstream_cue.m3u8",
            &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
        ),
        Case {
            strip: true,
            ..case(
                "upstream_cue_strip",
                "upstream_cue.m3u8",
                &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
            )
        },
        case(
            "upstream_daterange_pass",
            "upstream_daterange.m3u8",
            &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
        ),
        Case {
            strip: true,
            ..case(
                "upstream_daterange_strip",
                "upstream_daterange.m3u8",
                &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
            )
        },
        case(
            "upstream_enhanced_pass",
            "upstream_enhanced.m3u8",
            &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
        ),
        Case {
            strip: true,
            dialect: Markers::ENHANCED,
            ..case(
                "upstream_enhanced_strip",
                "upstream_enhanced.m3u8",
                &["id=40,start=2026-11-21T08:00:14Z,duration=4"],
            )
        },
        case("multivariant", "multivariant.m3u8", &[B_IN_WINDOW]),
        case(
            "vod_no_final_newline",
            "vod_endlist_no_final_newline.m3u8",
            &[B_IN_WINDOW],
        ),
        Case {
            error: Some("not an HLS playlist: the first line is not #EXTM3U"),
            ..case("not_a_playlist", "not_a_playlist.txt", &[B_IN_WINDOW])
        },
        Case {
            error: Some("line 4: invalid EXTINF value"),
            ..case("bad_extinf", "bad_extinf.m3u8", &[B_IN_WINDOW])
        },
    ]
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/playlists")
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn golden_files() {
    let bless = std::env::var_os("HLSPLICE_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for c in cases() {
        let input = std::fs::read(dir().join(c.input)).unwrap();
        let mut timeline = timeline_from_specs(c.breaks);
        let decided: Vec<Decision> = c
            .decided
            .iter()
            .map(|&(id, s, e)| Decision {
                break_id: id,
                start: s.map(t),
                end: e.map(t),
            })
            .collect();
        // What earlier refreshes stored; nothing to persist here.
        let _ = timeline.apply(&decided);
        let opts = RewriteOptions {
            dialect: c.dialect,
            cue_style: c.cue_style,
            interstitial_asset_list: c.asset_list.map(|t| AssetListTemplate::new(t).unwrap()),
            strip_upstream_markers: c.strip,
            pdt_anchor: c.anchor.map(t),
            ..RewriteOptions::default()
        };
        let mut out = Vec::new();
        let result = rewrite(&input, &timeline, &opts, &mut out);
        match (&result, c.error) {
            (Err(e), Some(want)) => {
                assert_eq!(e.to_string(), want, "{}", c.name);
                assert_eq!(
                    out, input,
                    "{}: an error must leave the input unchanged",
                    c.name
                );
            }
            (Ok(_), None) => {
                if !c.strip {
                    common::assert_lossless(&input, &out);
                }
            }
            _ => panic!("{}: unexpected result {result:?}", c.name),
        }
        if let Ok(outcome) = &result
            && c.name == "multivariant"
        {
            assert_eq!(outcome.kind, PlaylistKind::Multivariant);
            assert_eq!(out, input);
        }
        // A second render with the decisions stored gives the same bytes.
        if let Ok(outcome) = &result {
            assert_eq!(
                timeline.apply(&outcome.decisions),
                !outcome.decisions.is_empty(),
                "{}: decisions are exactly what the timeline did not store yet",
                c.name
            );
            let mut again = Vec::new();
            let second = rewrite(&input, &timeline, &opts, &mut again).unwrap();
            assert!(
                second.decisions.is_empty(),
                "{}: decided twice: {:?}",
                c.name,
                second.decisions
            );
            assert_eq!(
                again, out,
                "{}: stored decisions render differently",
                c.name
            );
        }
        let expected_path = dir().join("expected").join(format!("{}.m3u8", c.name));
        if bless {
            std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
            std::fs::write(&expected_path, &out).unwrap();
            continue;
        }
        match std::fs::read(&expected_path) {
            Ok(expected) if expected == out => {}
            Ok(_) => failures.push(format!(
                "{} differs from {}",
                c.name,
                expected_path.display()
            )),
            Err(e) => failures.push(format!("{}: {e}", expected_path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (HLSPLICE_BLESS=1 to regenerate):\n{}",
        failures.join("\n")
    );
}
