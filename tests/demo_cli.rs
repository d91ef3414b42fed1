//! `hlsplice demo` as a user runs it: it starts, prints working URLs and curl commands, the
//! printed commands start breaks that show up in the playlists, every marker line the banner
//! says to look for is served in exactly that form, and Ctrl-C (SIGINT) exits 0.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../src/cli/marker_form.rs"]
mod marker_form;

use marker_form::has_form;

const BIN: &str = env!("CARGO_BIN_EXE_hlsplice");

fn have_curl() -> bool {
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn has_form_matches_only_the_exact_form() {
    assert!(has_form(
        "#EXT-X-CUE-OUT:DURATION=10.000",
        "#EXT-X-CUE-OUT:DURATION=10.000"
    ));
    assert!(!has_form(
        "#EXT-X-CUE-OUT:DURATION=10",
        "#EXT-X-CUE-OUT:DURATION=10.000"
    ));
    assert!(!has_form(
        "#EXT-X-CUE-OUT:DURATION=10.000",
        "#EXT-X-CUE-OUT:DURATION=10"
    ));
    let cont = "#EXT-X-CUE-OUT-CONT:ElapsedTime=...,Duration=10.000";
    assert!(has_form(
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=10.000",
        cont
    ));
    assert!(!has_form(
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=10",
        cont
    ));
    assert!(has_form(
        "#EXT-X-DATERANGE:ID=\"a\",SCTE35-OUT=0xFC30AB",
        "#EXT-X-DATERANGE:ID=\"...\",SCTE35-OUT=0xFC30..."
    ));
    assert!(!has_form(
        "#EXT-X-DATERANGE:ID=\"a\",SCTE35-IN=0xFC30AB",
        "#EXT-X-DATERANGE:ID=\"...\",SCTE35-OUT=0xFC30..."
    ));
}

#[test]
fn demo_prints_working_commands_and_exits_on_sigint() {
    if !have_curl() {
        eprintln!("demo_cli: curl not found, skipping");
        return;
    }
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--token", "t0k3n"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("banner line");
        let done = line.starts_with("Ctrl-C stops the demo");
        banner.push(line);
        if done {
            break;
        }
    }
    let text = banner.join("\n");
    let command = |needle: &str| -> String {
        banner
            .iter()
            .find(|l| l.trim_start().starts_with("curl") && l.contains(needle))
            .unwrap_or_else(|| panic!("no curl line with {needle} in:\n{text}"))
            .trim()
            .to_owned()
    };
    let classic = text
        .split_whitespace()
        .find(|w| w.ends_with("/live/demo/master.m3u8"))
        .unwrap_or_else(|| panic!("no classic URL in:\n{text}"))
        .replace("master.m3u8", "video.m3u8");
    let ll = classic.replace("/live/", "/ll/");

    // The printed commands, run by a shell exactly as printed.
    let native = command("/api/v1/streams/live/demo/breaks -H");
    let answer = Command::new("sh")
        .args(["-c", &native])
        .output()
        .expect("sh");
    let answer = String::from_utf8_lossy(&answer.stdout);
    assert!(
        answer.contains("\"state\":\"scheduled\""),
        "{native}\n-> {answer}"
    );
    let ome = command("\"cueType\":\"out\"");
    let answer = Command::new("sh").args(["-c", &ome]).output().expect("sh");
    let answer = String::from_utf8_lossy(&answer.stdout);
    assert!(answer.contains("\"statusCode\":200"), "{ome}\n-> {answer}");

    // Both breaks appear within a few seconds (the API refreshes the live edge from the packager).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (a, b) = (curl(&[&classic]), curl(&[&ll]));
        if a.contains("#EXT-X-CUE-OUT:") && b.contains("#EXT-X-CUE-OUT:") {
            assert!(a.contains("SCTE35-OUT=0x") && b.contains("SCTE35-OUT=0x"));
            break;
        }
        assert!(Instant::now() < deadline, "no CUE-OUT:\n{a}\n{b}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // The printed early-IN command for the OvenMediaEngine API is accepted too.
    let ome_in = command("\"cueType\":\"in\"");
    let answer = Command::new("sh")
        .args(["-c", &ome_in])
        .output()
        .expect("sh");
    assert!(String::from_utf8_lossy(&answer.stdout).contains("\"statusCode\":200"));

    // Every marker line the banner tells the user to look for appears, in exactly that form, in
    // a playlist the proxy serves: the classic break runs on (OUT, CONT), the LL-HLS one has
    // just been ended (IN, closing DATERANGE).
    let look_for: Vec<&str> = banner
        .iter()
        .skip_while(|l| !l.starts_with("What to look for"))
        .map(|l| l.trim())
        .filter(|l| l.starts_with("#EXT"))
        .collect();
    assert!(
        look_for
            .iter()
            .any(|l| l.starts_with("#EXT-X-CUE-OUT:DURATION=")),
        "the banner names no #EXT-X-CUE-OUT:DURATION= line:\n{text}"
    );
    let mut missing = look_for.clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut served = String::new();
    while !missing.is_empty() {
        served = [&classic, &ll]
            .into_iter()
            .map(|url| curl(&[url]))
            .collect::<Vec<_>>()
            .join("\n");
        missing.retain(|pattern| !served.lines().any(|line| has_form(line, pattern)));
        assert!(
            Instant::now() < deadline,
            "the banner names {missing:?}, not served in that form:\n{served}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(!served.is_empty());

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(interrupted);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("demo did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(status.success(), "exit {status:?}: {stderr}");
}
