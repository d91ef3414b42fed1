//! `hlsplice rewrite` run as a binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hlsplice"))
}

fn playlist(name: &str) -> String {
    format!("{}/testdata/playlists/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rewrites_a_file_to_stdout() {
    let out = bin()
        .args([
            "rewrite",
            &playlist("live_pdt_z.m3u8"),
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(playlist("expected/both_in_window.m3u8")).unwrap();
    assert_eq!(out.stdout, expected);
}

#[test]
fn reads_stdin_and_takes_every_option() {
    let input = std::fs::read(playlist("live_no_pdt.m3u8")).unwrap();
    let mut child = bin()
        .args([
            "rewrite",
            "-",
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8",
            "--break",
            "id=8,start=2026-11-21T08:00:13Z,duration=4,cancel",
            "--break",
            "id=9,start=2026-11-21T08:00:16Z,duration=60,end=2026-11-21T08:00:19Z",
            "--dialect",
            "enhanced",
            "--strip-upstream-markers",
            "--pdt-anchor",
            "2026-11-21T08:00:00Z",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("#EXT-X-CUE-OUT:DURATION=").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("#EXT-OATCLS-SCTE35:").count(), 2, "{text}");
    assert!(text.contains("#EXT-X-CUE-OUT:DURATION=60.000"), "{text}");
    assert_eq!(text.matches("#EXT-X-CUE-IN").count(), 2, "{text}");
    assert!(!text.contains("DATERANGE"));
}

fn fails_with(args: &[&str], needle: &str) {
    let out = bin().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("hlsplice: "), "{err}");
    assert!(err.contains(needle), "{err} lacks {needle}");
}

#[test]
fn bad_input_exits_1_with_one_line() {
    let file = playlist("live_pdt_z.m3u8");
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=-8",
        ],
        "negative",
    );
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=7,start=2026-11-21T08:00:03Z",
        ],
        "missing duration",
    );
    fails_with(
        &["rewrite", &file, "--break", "id=7,start=noon,duration=8"],
        "RFC 3339",
    );
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=seven,start=2026-11-21T08:00:03Z,duration=8",
        ],
        "event id",
    );
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8,colour=red",
        ],
        "unknown item",
    );
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8,end=2026-11-21T08:00:01Z",
        ],
        "not after its start",
    );
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8",
            "--break",
            "id=8,start=2026-11-21T08:00:05Z,duration=8",
        ],
        "overlaps break 1",
    );
    fails_with(
        &["rewrite", "/nonexistent/playlist.m3u8"],
        "cannot read /nonexistent/playlist.m3u8",
    );
    fails_with(
        &[
            "rewrite",
            &playlist("live_no_pdt.m3u8"),
            "--break",
            "id=7,start=2026-11-21T08:00:03Z,duration=8",
        ],
        "no EXT-X-PROGRAM-DATE-TIME",
    );
    fails_with(
        &["rewrite", &playlist("not_a_playlist.txt")],
        "not an HLS playlist",
    );
}

#[test]
fn bad_dialect_is_a_usage_error() {
    let out = bin()
        .args(["rewrite", &playlist("live_pdt_z.m3u8"), "--dialect", "scte"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown dialect"));
}

#[test]
fn cue_style_selects_the_cue_syntax() {
    for (style, golden) in [
        ("slash", "expected/slash_in_window.m3u8"),
        ("elemental", "expected/elemental_in_window.m3u8"),
        ("duration", "expected/both_in_window.m3u8"),
    ] {
        let out = bin()
            .args([
                "rewrite",
                &playlist("live_pdt_z.m3u8"),
                "--break",
                "id=7,start=2026-11-21T08:00:03Z,duration=8",
                "--cue-style",
                style,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{style}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout,
            std::fs::read(playlist(golden)).unwrap(),
            "{style}"
        );
    }
    let out = bin()
        .args([
            "rewrite",
            &playlist("live_pdt_z.m3u8"),
            "--cue-style",
            "dashes",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown cue style"));
}

#[test]
fn dialect_takes_a_set_of_families_and_interstitials_need_an_asset_list() {
    let file = playlist("live_pdt_z.m3u8");
    let break_spec = "id=7,start=2026-11-21T08:00:03Z,duration=8";
    for (dialect, golden) in [
        (
            "cue,daterange,interstitial",
            "expected/interstitial_both_in_window.m3u8",
        ),
        ("interstitial", "expected/interstitial_in_window.m3u8"),
        ("daterange,cue", "expected/both_in_window.m3u8"),
    ] {
        let out = bin()
            .args([
                "rewrite",
                &file,
                "--break",
                break_spec,
                "--dialect",
                dialect,
                "--asset-list",
                "/hlsplice/assets/live/{break_id}.json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{dialect}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout,
            std::fs::read(playlist(golden)).unwrap(),
            "{dialect}"
        );
    }
    fails_with(
        &[
            "rewrite",
            &file,
            "--break",
            break_spec,
            "--dialect",
            "both,interstitial",
        ],
        "needs --asset-list",
    );
    let out = bin()
        .args([
            "rewrite",
            &file,
            "--dialect",
            "interstitial",
            "--asset-list",
            "/assets/list.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("{break_id}"));
}
