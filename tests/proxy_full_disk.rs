//! A full disk under the proxy's data dir, and the recovery once it has room again, without a
//! restart: the data dir is on a small file system of its own (a tmpfs, else a loop-mounted
//! ext4 image), filled with a junk file while the proxy runs.
//!
//! Mounting needs root. Without a way to mount, the test fails saying so, unless
//! `HLSPLICE_SKIP_FULL_DISK=1` is set (then it says it skipped); see tests/proxy_support/small_fs.rs.
#![cfg(target_os = "linux")]
mod proxy_support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use http::{Method, StatusCode};
use proxy_support::small_fs::SmallFs;
use proxy_support::*;
use serde_json::{Value, json};

const VIDEO: &str = "/live/demo/video.m3u8";
const STREAM: &str = "live/demo";
/// Size of the small file system: room for the store, and for the probe of a failing store
/// (1 MiB, `PROBE_BYTES` in src/server/store/redb.rs) once the junk is gone, even as ext4.
const FS_BYTES: u64 = 8 * 1024 * 1024;
/// The longest wait between two attempts of the store to reopen its file
/// (`REOPEN_BACKOFF_MAX` in src/server/store/redb.rs), plus room for a loaded machine.
const RECOVERY_BOUND: Duration = Duration::from_secs(5 + 5);

/// Fills the file system holding `path` with one file; how many bytes it took.
///
/// ext4 gives back blocks it reserved for delayed allocation once they are written back, so
/// one pass is not enough: the file is synced and filled again until a pass takes nothing.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create the junk file");
    let chunk = vec![0xA5u8; 4096];
    let mut written = 0u64;
    for _ in 0..20 {
        let before = written;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) => {
                    assert_eq!(
                        e.raw_os_error(),
                        Some(28),
                        "filling the disk ended with {e}, not ENOSPC"
                    );
                    break;
                }
            }
        }
        // A sync may itself report ENOSPC (a delayed allocation that found no room).
        let _ = file.sync_all();
        if written == before {
            return written;
        }
    }
    panic!("the file system kept finding room after 20 passes ({written} bytes)");
}

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        // Wide enough that no break of the test leaves the window.
        window: 60,
        ..PackagerConfig::default()
    }
}

fn at_seconds(s: i64) -> String {
    (t0() + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn health(h: &Harness) -> (StatusCode, String) {
    let response = h.get("/healthz").await;
    (response.status, response.text())
}

/// Polls `/healthz` until it answers `want`; panics after `bound`.
async fn health_reaches(h: &Harness, want: StatusCode, bound: Duration) -> String {
    let deadline = Instant::now() + bound;
    loop {
        let (status, text) = health(h).await;
        if status == want {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz answered {status} ({}) for {bound:?}, expected {want}",
            text.trim()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn break_with_request(list: &[Value], request_id: &str) -> Option<Value> {
    list.iter().find(|b| b["request_id"] == request_id).cloned()
}

/// Every break of the stream, through the paginated list.
async fn all_breaks(h: &Harness) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=1000&cursor={c}"),
            None => "?limit=1000".to_owned(),
        };
        let (status, page) = h
            .api(
                Method::GET,
                &format!("/api/v1/streams/{STREAM}/breaks{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        all.extend(page["breaks"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// The program time of the last segment of a media playlist.
fn program_time_of_last(playlist: &str) -> chrono::DateTime<chrono::Utc> {
    segments(playlist)
        .iter()
        .rev()
        .find_map(|(_, tags)| {
            tags.iter()
                .find_map(|t| t.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:"))
        })
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .unwrap_or_else(|| panic!("no EXT-X-PROGRAM-DATE-TIME:\n{playlist}"))
}

/// The OUT segment (first with `#EXT-X-CUE-OUT:`) after the DATERANGE of `daterange_id`.
fn out_segment_of(playlist: &str, daterange_id: &str) -> Option<String> {
    let needle = format!("ID=\"{daterange_id}\"");
    segments(playlist)
        .into_iter()
        .find(|(_, tags)| {
            tags.iter()
                .any(|t| t.starts_with("#EXT-X-DATERANGE") && t.contains(&needle))
                && tags.iter().any(|t| t.contains("SCTE35-OUT="))
        })
        .map(|(uri, _)| uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_and_the_proxy_recovers_once_it_has_room() {
    let Some(fs) = SmallFs::mount_or_skip("proxy_full_disk", FS_BYTES) else {
        return;
    };
    let data_dir = fs.mount_point.join("data");
    let mut h = Harness::start_with("full-disk", classic(), |c| ServerConfig {
        data_dir: data_dir.clone(),
        housekeeping_ms: 200,
        ..c
    })
    .await;
    // Restarts use the data dir on the small file system too.
    let _ = std::fs::remove_dir_all(&h.data_dir);
    h.data_dir = data_dir.clone();
    let mut published = Published::default();
    published.check(&h.playlist(VIDEO).await);

    // Acknowledged before the disk fills: A runs at once, B falls due while the disk is full.
    let (status, a) = h
        .create_break(STREAM, json!({"duration_ms": 3000, "request_id": "a"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    for _ in 0..5 {
        h.advance_ms(1000);
        published.check(&h.playlist(VIDEO).await);
    }
    let playlist = h.playlist(VIDEO).await;
    let a_out = out_segment_of(&playlist, a["daterange_id"].as_str().unwrap())
        .unwrap_or_else(|| panic!("break A not rendered:\n{playlist}"));
    let (status, b) = h
        .create_break(
            STREAM,
            json!({"duration_ms": 20_000, "start": at_seconds(12), "request_id": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");

    // Fill the disk, then add breaks (far ahead) until a write fails.
    let junk = fs.mount_point.join("junk");
    let junk_bytes = fill(&junk);
    let mut acknowledged = vec!["a".to_owned(), "b".to_owned()];
    let mut failed = None;
    for i in 0..500 {
        let request_id = format!("c{i}");
        let (status, body) = h
            .create_break(
                STREAM,
                json!({"duration_ms": 2000, "start": at_seconds(600 + 10 * i), "request_id": request_id}),
            )
            .await;
        match status {
            StatusCode::CREATED => acknowledged.push(request_id),
            failure if failure.is_server_error() => {
                failed = Some((i, request_id, failure, body));
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    let (failed_i, failed_id, status, body) =
        failed.expect("500 breaks were committed on a full disk");
    eprintln!(
        "proxy_full_disk: {junk_bytes} bytes of junk, {} breaks acknowledged, then {status}: {body}",
        acknowledged.len()
    );
    // A store failure is 500 with the reason (src/server/error.rs, Failure::Store).
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("break store failed:")),
        "{body}"
    );
    let text = health_reaches(&h, StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(3)).await;
    assert!(text.contains("break store failing"), "{text}");

    // While the disk is full: writes keep failing, playlists keep being served — B falls due
    // and is left out, not a 503 — and what was published never changes.
    let before_due = h.playlist(VIDEO).await;
    let served_while_full = |p: &str| segments(p).into_iter().map(|(u, _)| u);
    let mut served: Vec<String> = served_while_full(&before_due).collect();
    for step in 0..10 {
        h.advance_ms(1000);
        let playlist = h.playlist(VIDEO).await;
        published.check(&playlist);
        assert!(
            out_segment_of(&playlist, b["daterange_id"].as_str().unwrap()).is_none(),
            "break B published while its start could not be committed:\n{playlist}"
        );
        served.extend(served_while_full(&playlist));
        if step % 3 == 0 {
            let (status, body) = h
                .create_break(
                    STREAM,
                    json!({"duration_ms": 2000, "start": at_seconds(5000), "request_id": "while-full"}),
                )
                .await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
            assert_eq!(health(&h).await.0, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let newest = h.playlist(VIDEO).await;
    assert!(
        program_time_of_last(&newest)
            > b["requested_start"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
        "B fell due while the disk was full:\n{newest}"
    );

    // With no write asking, housekeeping (every 20 ms here) reopens and probes the store; a
    // reopen succeeds on a full disk, yet the store is not healthy until a write has room.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(2) {
        let (status, text) = health(&h).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "/healthz while the disk is still full: {}",
            text.trim()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Room again: without a restart, and before any request needs the store, /healthz
    // answers 200 within the backoff bound (a load balancer brings the replica back); writes
    // succeed.
    std::fs::remove_file(&junk).expect("remove the junk file");
    let freed = Instant::now();
    health_reaches(&h, StatusCode::OK, RECOVERY_BOUND).await;
    eprintln!(
        "proxy_full_disk: /healthz 200 {} ms after the disk has room",
        freed.elapsed().as_millis()
    );
    let retried = loop {
        let (status, body) = h
            .create_break(
                STREAM,
                json!({"duration_ms": 2000, "start": at_seconds(600 + 10 * failed_i), "request_id": failed_id}),
            )
            .await;
        if status == StatusCode::CREATED {
            break body;
        }
        assert!(
            status.is_server_error(),
            "a retry answered {status}: {body}"
        );
        assert!(
            freed.elapsed() < RECOVERY_BOUND,
            "writes still fail {RECOVERY_BOUND:?} after the disk has room: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "proxy_full_disk: writes work again {} ms after the disk has room",
        freed.elapsed().as_millis()
    );
    assert_eq!(health(&h).await.0, StatusCode::OK);
    acknowledged.push(failed_id.clone());

    // B is decided at the next boundary: on a segment published from now on, never on one
    // already served, and later than requested.
    h.advance_ms(1000);
    let playlist = h.playlist(VIDEO).await;
    published.check(&playlist);
    let b_out = out_segment_of(&playlist, b["daterange_id"].as_str().unwrap())
        .unwrap_or_else(|| panic!("break B not decided after the recovery:\n{playlist}"));
    assert!(
        !served.contains(&b_out),
        "break B's OUT went on {b_out}, a segment already served while the disk was full"
    );
    assert_eq!(
        msn_of(&b_out),
        msn_of(&last_segment(&playlist)),
        "B's OUT is on the first segment after the recovery:\n{playlist}"
    );
    assert_eq!(
        out_segment_of(&playlist, a["daterange_id"].as_str().unwrap()).as_deref(),
        Some(a_out.as_str()),
        "A is rendered where it was"
    );

    // Every acknowledged break is listed once; the failed request made none until its retry.
    let all = all_breaks(&h).await;
    for request_id in &acknowledged {
        let found: Vec<&Value> = all
            .iter()
            .filter(|b| b["request_id"] == request_id.as_str())
            .collect();
        assert_eq!(found.len(), 1, "break {request_id}: {found:?}");
    }
    assert_eq!(all.len(), acknowledged.len(), "{all:#?}");
    assert_eq!(
        break_with_request(&all, &failed_id).map(|b| b["id"].clone()),
        Some(retried["id"].clone())
    );
    let listed_b = break_with_request(&all, "b").unwrap();
    assert_eq!(listed_b["state"], "active", "{listed_b}");
    assert!(
        listed_b["decided_start"].as_str() > listed_b["requested_start"].as_str(),
        "{listed_b}"
    );
    // Ids carry on: no id was spent on what failed.
    let mut ids: Vec<u64> = all.iter().map(|b| b["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());

    // The same after a restart: it was all on disk.
    h.restart_proxy().await;
    let after = h.playlist(VIDEO).await;
    assert_eq!(
        markers(&after),
        markers(&playlist),
        "restart renders the same"
    );
    assert_eq!(all_breaks(&h).await, all);
    if let Some(proxy) = h.proxy.take() {
        proxy.stop().await;
    }
    drop(fs);
}
