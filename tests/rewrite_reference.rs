//! Every playlist of the reference corpus (`$HLSPLICE_REFERENCE/playlists`, real packager output
//! and spec examples) goes through the rewriter with a break over part of its window, in every
//! dialect: the output losslessly contains the input, and parses with m3u8-rs whenever the input
//! did.

mod common;
mod reference_support;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use hlsplice::hls::{BreakRequest, Dialect, PlaylistKind, RewriteOptions, Timeline, rewrite};

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
        for dialect in [
            Dialect::Both,
            Dialect::Cue,
            Dialect::Daterange,
            Dialect::Enhanced,
        ] {
            let opts = RewriteOptions {
                dialect,
                ..base.clone()
            };
            let outcome = rewrite(&input, &timeline, &opts, &mut out)
                .unwrap_or_else(|e| panic!("{name} {dialect}: {e}"));
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
