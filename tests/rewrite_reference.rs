//! Every playlist of the reference corpus (`$HLSPLICE_REFERENCE/playlists`, real packager output
//! and spec examples) goes through the rewriter with a break over part of its window, in every
//! dialect: the output losslessly contains the input, and parses with m3u8-rs whenever the input
//! did.

mod common;
mod reference_support;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use hlsplice::hls::{
    AssetListTemplate, BreakRequest, CueStyle, Markers, PlaylistKind, RewriteOptions, Timeline,
    rewrite,
};

fn corpus() -> Option<Vec<PathBuf>> {
    let root = reference_support::reference_dir("rewrite_reference")?;
    let dir = root.join("playlists");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "m3u8"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no playlists in {}", dir.display());
    Some(files)
}

/// Sum of the EXTINF durations, read naively.
fn listed_seconds(input: &[u8]) -> f64 {
    String::from_utf8_lossy(input)
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|v| v.split(',').next()?.trim().parse::<f64>().ok())
        .sum()
}

#[test]
fn reference_playlists_round_trip() {
    let Some(files) = corpus() else { return };
    let anchor: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let base = RewriteOptions {
            pdt_anchor: Some(anchor),
            ..RewriteOptions::default()
        };
        let mut out = Vec::new();
        let probe = rewrite(&input, &Timeline::new(), &base, &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if probe.kind == PlaylistKind::Multivariant {
            assert_eq!(out, input, "{name}");
            continue;
        }
        let Some(edge) = probe.live_edge else {
            panic!("{name}: no live edge");
        };
        // A break from 60 % to 30 % of the listed span before the live edge.
        let span_ms = (listed_seconds(&input) * 1000.0) as i64;
        let start = edge - Duration::milliseconds(span_ms * 6 / 10);
        let mut timeline = Timeline::new();
        timeline
            .add_break(BreakRequest {
                event_id: Some(1),
                start,
                planned_duration_ms: (span_ms * 3 / 10).max(1) as u64,
            })
            .unwrap();
        let input_parses = m3u8_rs::parse_playlist_res(&input).is_ok();
        let styles = [CueStyle::Duration, CueStyle::Elemental, CueStyle::Slash];
        for (dialect, cue_style) in [
            Markers::BOTH,
            Markers::CUE,
            Markers::DATERANGE,
            Markers::ENHANCED,
            Markers::INTERSTITIAL,
            Markers::BOTH | Markers::ENHANCED | Markers::INTERSTITIAL,
        ]
        .into_iter()
        .flat_map(|d| styles.map(|s| (d, s)))
        {
            let opts = RewriteOptions {
                dialect,
                cue_style,
                interstitial_asset_list: Some(
                    AssetListTemplate::new("/hlsplice/assets/{break_id}.json").unwrap(),
                ),
                ..base.clone()
            };
            let outcome = rewrite(&input, &timeline, &opts, &mut out)
                .unwrap_or_else(|e| panic!("{name} {dialect} {cue_style}: {e}"));
            common::assert_lossless(&input, &out);
            let (_, inserted) = common::split_inserted(&out, &common::withdrawn(&input)).unwrap();
            assert!(!inserted.is_empty(), "{name} {dialect}: no marker inserted");
            assert_eq!(outcome.decisions.len(), 1, "{name} {dialect}");
            if input_parses {
                assert!(
                    m3u8_rs::parse_playlist_res(&out).is_ok(),
                    "{name} {dialect}: m3u8-rs parsed the input but not the output:\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
}

/// The CUE lines of each segment (`#EXT-X-CUE…` and `#EXT-OATCLS-SCTE35`), keyed by the segment's
/// URI, with every base64 SCTE-35 section replaced by `<section>`.
fn cue_lines_per_segment(playlist: &str) -> Vec<(String, Vec<String>)> {
    let mut segments = Vec::new();
    let mut pending = Vec::new();
    for line in playlist.lines() {
        if line.starts_with("#EXT-X-CUE") || line.starts_with("#EXT-OATCLS-SCTE35") {
            let normalized = match (
                line.split_once("#EXT-OATCLS-SCTE35:"),
                line.split_once(",SCTE35="),
            ) {
                (Some((head, _)), _) => format!("{head}#EXT-OATCLS-SCTE35:<section>"),
                (None, Some((head, _))) => format!("{head},SCTE35=<section>"),
                (None, None) => line.to_owned(),
            };
            pending.push(normalized);
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            segments.push((line.to_owned(), std::mem::take(&mut pending)));
        }
    }
    segments
}

/// With the enhanced family and the elemental CUE style, every CUE line is byte for byte what
/// AWS MediaPackage writes with SCTE35_ENHANCED ad markers (reference playlist
/// 17_cue_mediapackage_enhanced_pdt.m3u8), before the same segments, but for the SCTE-35 section
/// itself (ours is the break's own). The reference's markers are stripped from the input and the
/// break is requested where MediaPackage's began: at the second segment, 22.087 s planned.
#[test]
fn elemental_enhanced_cues_are_mediapackages() {
    let root = std::env::var_os("HLSPLICE_REFERENCE")
        .expect("HLSPLICE_REFERENCE must name the shared reference folder");
    let path = PathBuf::from(root).join("playlists/17_cue_mediapackage_enhanced_pdt.m3u8");
    let reference = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut timeline = Timeline::new();
    timeline
        .add_break(BreakRequest {
            event_id: Some(2),
            start: "2023-01-31T06:28:53.331Z".parse().unwrap(),
            planned_duration_ms: 22_087,
        })
        .unwrap();
    let opts = RewriteOptions {
        dialect: Markers::ENHANCED,
        cue_style: CueStyle::Elemental,
        strip_upstream_markers: true,
        ..RewriteOptions::default()
    };
    let mut out = Vec::new();
    let outcome = rewrite(reference.as_bytes(), &timeline, &opts, &mut out).unwrap();
    let _ = timeline.apply(&outcome.decisions);
    let _ = rewrite(reference.as_bytes(), &timeline, &opts, &mut out).unwrap();
    let ours = String::from_utf8(out).unwrap();
    let want = cue_lines_per_segment(&reference);
    assert!(
        want.iter().filter(|(_, lines)| !lines.is_empty()).count() >= 4,
        "the reference playlist changed: {want:?}"
    );
    assert_eq!(cue_lines_per_segment(&ours), want, "{ours}");
}
