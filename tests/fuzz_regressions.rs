//! Replays the fuzz targets' inputs through the very checks the targets run
//! (`fuzz/checks/<target>.rs`, included here by path, so there is one definition):
//! - `fuzz/regressions/<target>/`: every input a fuzz target ever failed on (or a defect found
//!   otherwise, rebuilt as the input that target fails on); each must pass now;
//! - `fuzz/seeds/<target>/`: the seed corpus (from testdata), which must pass too.
//!
//! Every target in `fuzz/Cargo.toml` must be replayed here, and each of its directories must
//! hold at least one input: a missing or empty directory fails, so a replay that checked
//! nothing never passes. The one exception is said out loud: a target that has never failed
//! ([`NEVER_FAILED`]) has no regression directory, and must not have one while it is listed.
//! A new crash: copy the file libFuzzer wrote (`fuzz/artifacts/<target>/crash-…`) to
//! `fuzz/regressions/<target>/` under a name that says what it found (and take the target off
//! [`NEVER_FAILED`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/playlist_rewrite.rs"]
mod playlist_rewrite;
#[path = "../fuzz/checks/playlist_scan.rs"]
mod playlist_scan;
#[path = "../fuzz/checks/scte35_decode.rs"]
mod scte35_decode;
// The API parsers are in the server.
#[cfg(feature = "server")]
#[path = "../fuzz/checks/api_event_body.rs"]
mod api_event_body;

type Check = fn(&[u8]);

/// Targets that have never failed, so far: they have seeds but no regression inputs.
const NEVER_FAILED: &[&str] = &["scte35_decode"];

/// Every fuzz target and its check.
fn targets() -> Vec<(&'static str, Check)> {
    let library: [(&'static str, Check); 3] = [
        ("scte35_decode", scte35_decode::check),
        ("playlist_rewrite", playlist_rewrite::check),
        ("playlist_scan", playlist_scan::check),
    ];
    #[cfg(feature = "server")]
    let server: [(&'static str, Check); 1] = [("api_event_body", api_event_body::check)];
    #[cfg(not(feature = "server"))]
    let server: [(&'static str, Check); 0] = [];
    library.into_iter().chain(server).collect()
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; fails when there is none.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every fuzz target has one)", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no input: a replay of nothing must not pass",
        dir.display()
    );
    files
}

/// Runs every input of `fuzz/<kind>/<target>/` through the target's check, and fails naming
/// each input that fails it.
fn replay(kind: &str, target: &str) {
    let (_, check) = targets()
        .into_iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no check for {target}"));
    let mut failed = Vec::new();
    let files = inputs(kind, target);
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail its check:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut declared: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            let line = bin.lines().find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    declared.sort_unstable();
    let mut replayed: Vec<&str> = targets().into_iter().map(|(name, _)| name).collect();
    if !cfg!(feature = "server") {
        replayed.push("api_event_body");
    }
    replayed.sort_unstable();
    assert_eq!(
        declared, replayed,
        "fuzz/Cargo.toml's targets and the ones replayed here"
    );
    for kind in ["regressions", "seeds"] {
        let mut dirs: Vec<String> = std::fs::read_dir(fuzz_dir().join(kind))
            .unwrap_or_else(|e| panic!("fuzz/{kind}: {e}"))
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        dirs.sort_unstable();
        let expected: Vec<&str> = declared
            .iter()
            .copied()
            .filter(|target| kind == "seeds" || !NEVER_FAILED.contains(target))
            .collect();
        assert_eq!(dirs, expected, "the directories of fuzz/{kind}");
    }
}

#[test]
fn scte35_decode_seeds() {
    replay("seeds", "scte35_decode");
}

#[test]
fn playlist_rewrite_regressions() {
    replay("regressions", "playlist_rewrite");
}

#[test]
fn playlist_rewrite_seeds() {
    replay("seeds", "playlist_rewrite");
}

#[test]
fn playlist_scan_regressions() {
    replay("regressions", "playlist_scan");
}

#[test]
fn playlist_scan_seeds() {
    replay("seeds", "playlist_scan");
}

#[cfg(feature = "server")]
#[test]
fn api_event_body_regressions() {
    replay("regressions", "api_event_body");
}

#[cfg(feature = "server")]
#[test]
fn api_event_body_seeds() {
    replay("seeds", "api_event_body");
}
