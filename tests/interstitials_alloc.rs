//! The interstitial family's per-stream rewrite options cost a player's playlist request nothing:
//! the allocations of a cached playlist answer are counted with the family off (the server's
//! shared options) and on (each stream's own options, with its `X-ASSET-LIST` template), in the
//! same run, on one thread, and must be the same.
//!
//! Everything — packager, proxy, client — runs on this test's single-threaded runtime, and a
//! counting allocator counts the allocations of this thread only, so the count is the whole cost
//! of a request end to end (the client's and the packager's part are the same in both runs).
mod proxy_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hlsplice::hls::Markers;
use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use http::StatusCode;
use proxy_support::*;
use serde_json::json;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only a
// thread-local `Cell` (const-initialized, so it never allocates itself).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const VIDEO: &str = "/live/demo/video.m3u8";
const REQUESTS: u64 = 200;

/// Allocations per cached playlist request, the fewest over [`REQUESTS`] (after warming up), with
/// an active break in the playlist.
async fn per_request(name: &str, dialect: Markers) -> (u64, String) {
    let h = Harness::start_with(
        name,
        PackagerConfig {
            part_ms: None,
            ..PackagerConfig::default()
        },
        |c| ServerConfig {
            dialect,
            ad_assets: vec![hlsplice::server::builtin_ad()],
            ..c
        },
    )
    .await;
    h.playlist(VIDEO).await;
    let (status, created) = h
        .create_break("live/demo", json!({"duration_ms": 30_000, "start": "now"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    h.advance_ms(2000);
    // Decides the break's start, fills the caches and pools.
    for _ in 0..20 {
        h.playlist(VIDEO).await;
    }
    let playlist = h.playlist(VIDEO).await;
    let mut fewest = u64::MAX;
    for _ in 0..REQUESTS {
        let before = allocations();
        let response = h.get(VIDEO).await;
        let used = allocations() - before;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), playlist, "the playlist changed");
        fewest = fewest.min(used);
    }
    (fewest, playlist)
}

#[tokio::test(flavor = "current_thread")]
async fn per_stream_interstitial_options_add_no_allocation_to_a_playlist_request() {
    let (shared, plain) = per_request("alloc-shared", Markers::BOTH).await;
    let (own, with_interstitial) =
        per_request("alloc-own", Markers::BOTH | Markers::INTERSTITIAL).await;
    assert!(!plain.contains("X-ASSET-LIST"), "{plain}");
    assert!(
        with_interstitial.contains("X-ASSET-LIST=\"../../hlsplice/assets/live/demo/1.json\""),
        "{with_interstitial}"
    );
    println!(
        "allocations per cached playlist request (end to end, fewest of {REQUESTS}): shared options {shared}, per-stream options {own}"
    );
    assert_eq!(own, shared);
}
