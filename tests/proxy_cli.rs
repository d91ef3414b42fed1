//! `hlsplice serve` as a process: --help, configuration from the environment, SIGKILL mid-break
//! and restart on the same data directory, SIGTERM, a data dir it cannot write.
#![cfg(unix)]
mod proxy_support;
mod serve_process;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use hlsplice::packager::PackagerConfig;
use http::{Method, StatusCode};
use proxy_support::*;
use serde_json::{Value, json};
use serve_process::{BIN, packager_upstream, spawn_serve};

#[test]
fn serve_help_documents_every_setting() {
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--config",
        "--upstream",
        "--listen",
        "--data-dir",
        "--api-token",
        "--dialect",
        "--cue-style",
        "HLSPLICE_CUE_STYLE",
        "cue_style = ",
        "--max-break-ms",
        "--upstream-timeout-ms",
        "--strip-upstream-markers",
        "--shutdown-grace-ms",
        "HLSPLICE_UPSTREAM",
        "HLSPLICE_API_TOKENS",
        "HLSPLICE_DATA_DIR",
        "api_tokens = ",
        "--read-token",
        "HLSPLICE_READ_TOKENS",
        "tokens = [{secret",
        "--default-policy",
        "HLSPLICE_DEFAULT_POLICY",
        "--ad-length-ms",
        "HLSPLICE_AD_LENGTH_MS",
        "--ad-asset",
        "HLSPLICE_AD_ASSETS",
        "ad_assets = ",
        "--ad-decision-url",
        "HLSPLICE_AD_DECISION_URL",
        "--ad-decision-timeout-ms",
        "--asset-list-cache-entries",
        "--player-page",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
    let missing = Command::new(BIN)
        .arg("serve")
        .env_remove("HLSPLICE_UPSTREAM")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.starts_with("hlsplice: no upstream"), "{stderr}");
}

/// Every flag `serve --help` lists has its row in the README's settings table, with its
/// environment variable.
#[test]
fn every_serve_flag_is_in_the_readme_settings_table() {
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `--")).collect();
    let row_of = |flag: &str| {
        *table
            .iter()
            .find(|row| row.starts_with(&format!("| `{flag}")))
            .unwrap_or_else(|| panic!("{flag} has no row in the README settings table"))
    };
    let (mut checked, mut envs) = (0, 0);
    let mut current: Option<&str> = None;
    for line in help.lines().map(str::trim_start) {
        if line.starts_with('-') {
            let flag = line
                .split([' ', ',', '=', '[', '<'])
                .find(|word| word.starts_with("--"))
                .unwrap();
            current = (flag != "--help" && flag != "--version").then_some(flag);
            if let Some(flag) = current {
                row_of(flag);
                checked += 1;
            }
        } else if let (Some(flag), Some(env)) = (current, line.strip_prefix("[env: ")) {
            let env = env.split([']', '=']).next().unwrap();
            let row = row_of(flag);
            assert!(
                row.contains(env),
                "{flag}: the README row lacks {env}: {row}"
            );
            envs += 1;
        }
    }
    assert_eq!(envs, checked, "every flag has an environment variable");
    assert!(checked > 30, "only {checked} flags found in:\n{help}");
}

async fn api(
    client: &TestClient,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = format!("Bearer {TOKEN}");
    let response = request(
        client,
        addr,
        method,
        path,
        &[("authorization", &auth)],
        body.map(|b| b.to_string()),
    )
    .await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or(Value::Null),
    )
}

async fn playlist(client: &TestClient, addr: SocketAddr) -> String {
    let response = get(client, addr, "/live/demo/video.m3u8", &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_break_then_restart_serves_same_tags_and_sigterm_exits_cleanly() {
    let (clock, upstream) = packager_upstream(PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    })
    .await;
    let dir = temp_dir("cli");
    let client = client();

    let (mut first, addr) = spawn_serve(upstream, &dir);
    let before = playlist(&client, addr).await;
    let newest = msn_of(&last_segment(&before));
    let (status, created) = api(
        &client,
        addr,
        Method::POST,
        "/api/v1/streams/live/demo/breaks",
        Some(json!({"duration_ms": 3000})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    clock.advance(Duration::from_millis(2000));
    let during = playlist(&client, addr).await;
    assert!(during.contains("#EXT-X-CUE-OUT-CONT"), "{during}");

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    let (mut second, addr) = spawn_serve(upstream, &dir);
    let after = playlist(&client, addr).await;
    assert_eq!(
        markers(&after),
        markers(&during),
        "same tags on the same segments after SIGKILL"
    );
    clock.advance(Duration::from_millis(2000));
    let back = playlist(&client, addr).await;
    assert_eq!(
        first_segment_with(&back, "#EXT-X-CUE-IN").map(|u| msn_of(&u)),
        Some(newest + 4),
        "{back}"
    );
    let (_, breaks) = api(
        &client,
        addr,
        Method::GET,
        "/api/v1/streams/live%2Fdemo/breaks",
        None,
    )
    .await;
    assert_eq!(breaks["breaks"][0]["id"], created["id"]);
    assert_eq!(breaks["breaks"][0]["state"], "ended");

    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = second.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not exit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `hlsplice serve` with `--data-dir`; its exit code and stderr once it exited (or was killed
/// after 20 s: it should not have started).
fn serve_exit(data_dir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts `hlsplice serve` refused to start with one line naming the data dir's problem.
fn refused_in_one_line(data_dir: &std::path::Path, reason: &str) {
    let (code, stderr) = serve_exit(data_dir);
    assert_eq!(code, Some(1), "{}: {stderr}", data_dir.display());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("hlsplice: break store: ")
            && stderr.contains(&data_dir.display().to_string())
            && stderr.contains(reason),
        "{reason} in {stderr:?}"
    );
}

/// A data dir that cannot be created stops `hlsplice serve` at start-up with one line saying
/// why, before it listens.
#[test]
fn a_data_dir_that_cannot_be_created_fails_at_start_up_in_one_line() {
    let dir = temp_dir("cli-unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    refused_in_one_line(&file, "File exists");
    refused_in_one_line(&file.join("data"), "Not a directory");
    let _ = std::fs::remove_dir_all(dir);
}

/// The same on a read-only file system (root writes through permissions, so read-only means
/// that): one holding a store already (as after the kernel remounted it read-only after
/// errors), and one without.
#[cfg(target_os = "linux")]
#[test]
fn a_data_dir_on_a_read_only_file_system_fails_at_start_up_in_one_line() {
    let Some(fs) = small_fs::SmallFs::mount_or_skip("proxy_cli", 4 * 1024 * 1024) else {
        return;
    };
    let data = fs.mount_point.join("data");
    drop(hlsplice::server::store::RedbStore::open(&data).expect("a store to start from"));
    fs.remount_read_only().expect("remount read-only");
    refused_in_one_line(&data, "Read-only file system");
    refused_in_one_line(&fs.mount_point.join("new"), "Read-only file system");
}
