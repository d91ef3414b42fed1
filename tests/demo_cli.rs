//! `hlsplice demo` as a user runs it: it starts, prints working URLs and curl commands, the
//! printed commands start breaks that show up in the playlists, every marker line the banner
//! says to look for is served in exactly that form, and Ctrl-C (SIGINT) exits 0. With the
//! interstitial family, the player page, the asset list the playlists point to and the built-in
//! ad it lists are served.
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

/// Starts the demo with `args` and reads its banner (up to the Ctrl-C line).
fn start_demo(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("demo")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("banner line");
        let done = line.starts_with("Ctrl-C stops the demo");
        banner.push(line);
        if done {
            break;
        }
    }
    (child, banner)
}

/// `target`, a URI reference with leading `../` segments, resolved against the directory URL
/// `dir` (ending in `/`): enough of RFC 3986 §5.2 for the proxy's X-ASSET-LIST.
fn resolve_dot_dot(dir: &str, target: &str) -> String {
    let (origin, path) = dir
        .match_indices('/')
        .nth(2)
        .map(|(at, _)| dir.split_at(at))
        .expect("an http URL");
    let mut segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut rest = target;
    while let Some(after) = rest.strip_prefix("../") {
        segments.pop();
        rest = after;
    }
    let prefix = segments.join("/");
    if prefix.is_empty() {
        format!("{origin}/{rest}")
    } else {
        format!("{origin}/{prefix}/{rest}")
    }
}

#[test]
fn demo_with_interstitials_serves_the_page_the_asset_list_and_the_ad() {
    if !have_curl() {
        eprintln!("demo_cli: curl not found, skipping");
        return;
    }
    let (mut child, banner) = start_demo(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        "t0k3n",
        "--dialect",
        "both,interstitial",
    ]);
    let text = banner.join("\n");
    // The banner names the page right under its heading.
    let page_url = banner
        .iter()
        .skip_while(|l| !l.starts_with("Player page"))
        .nth(1)
        .map(|l| l.trim().to_owned())
        .unwrap_or_else(|| panic!("no player page line in:\n{text}"));
    assert!(
        page_url.starts_with("http://127.0.0.1:") && page_url.ends_with('/'),
        "{page_url}"
    );
    let base = page_url.trim_end_matches('/').to_owned();
    let page = curl(&[&page_url]);
    assert!(
        page.contains("<title>hlsplice player</title>")
            && page.contains("https://cdn.jsdelivr.net/npm/hls.js@"),
        "{page}"
    );
    assert!(text.contains("/hlsplice/ad/ad.m3u8"), "{text}");

    let native = banner
        .iter()
        .find(|l| l.trim_start().starts_with("curl") && l.contains("/live/demo/breaks -H"))
        .expect("the native API command")
        .trim()
        .to_owned();
    let answer = Command::new("sh")
        .args(["-c", &native])
        .output()
        .expect("sh");
    let answer = String::from_utf8_lossy(&answer.stdout).into_owned();
    assert!(answer.contains("\"id\":1"), "{native}\n-> {answer}");

    // The playlist points to the asset list, which lists the built-in ad twice (a 10 s break,
    // 4 s ads that fit), with URIs a player on any page can load.
    let video = format!("{base}/live/demo/video.m3u8");
    let deadline = Instant::now() + Duration::from_secs(10);
    let asset_list = loop {
        let playlist = curl(&[&video]);
        if let Some(at) = playlist.find("X-ASSET-LIST=\"") {
            let rest = &playlist[at + 14..];
            break rest[..rest.find('"').expect("closing quote")].to_owned();
        }
        assert!(Instant::now() < deadline, "no X-ASSET-LIST:\n{playlist}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(asset_list, "../../hlsplice/assets/live/demo/1.json");
    let list_url = resolve_dot_dot(&format!("{base}/live/demo/"), &asset_list);
    assert_eq!(list_url, format!("{base}/hlsplice/assets/live/demo/1.json"));
    let list: serde_json::Value =
        serde_json::from_str(&curl(&[&list_url])).expect("the asset list is JSON");
    let ad = format!("{base}/hlsplice/ad/ad.m3u8");
    assert_eq!(
        list,
        serde_json::json!({"ASSETS": [{"URI": ad, "DURATION": 4.0}, {"URI": ad, "DURATION": 4.0}]})
    );
    let ad_playlist = curl(&[&ad]);
    assert!(
        ad_playlist.starts_with("#EXTM3U") && ad_playlist.contains("#EXT-X-ENDLIST"),
        "{ad_playlist}"
    );
    let segment = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            &format!("{base}/hlsplice/ad/ad_0.ts"),
        ])
        .output()
        .expect("curl")
        .stdout;
    assert!(
        segment.len() > 1000 && segment[0] == 0x47,
        "{}",
        segment.len()
    );

    // End it early with the printed command: the banner's interstitial forms, opening and
    // closing, are then both served.
    let end = banner
        .iter()
        .find(|l| l.trim_start().starts_with("curl") && l.contains("/breaks/1/end"))
        .expect("the end command")
        .trim()
        .to_owned();
    let answer = Command::new("sh").args(["-c", &end]).output().expect("sh");
    assert!(String::from_utf8_lossy(&answer.stdout).contains("\"id\":1"));
    let mut missing: Vec<&str> = banner
        .iter()
        .skip_while(|l| !l.starts_with("What to look for"))
        .map(|l| l.trim())
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:ID=\"ad-"))
        .collect();
    assert_eq!(missing.len(), 2, "{text}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !missing.is_empty() {
        let served = curl(&[&video]);
        missing.retain(|pattern| !served.lines().any(|line| has_form(line, pattern)));
        assert!(
            Instant::now() < deadline,
            "the banner names {missing:?}, not served in that form:\n{served}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
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
    assert!(status.success(), "exit {status:?}");
}
