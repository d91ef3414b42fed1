//! `hlsplice serve` as a process: --help, configuration from the environment, SIGKILL mid-break
//! and restart on the same data directory, SIGTERM.
#![cfg(unix)]
mod proxy_support;
mod serve_process;

use std::net::SocketAddr;
use std::process::Command;
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
