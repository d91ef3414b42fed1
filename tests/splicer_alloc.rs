//! A steady-state `Splicer::rewrite` allocates nothing: a window sliding over two renditions
//! with a break running (its start decided, its end not yet due), rewritten through one splicer
//! into reused buffers. A counting allocator counts this thread's allocations only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hlsplice::hls::{RewriteOptions, ScheduleRequest, Splicer, Start};

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

/// Six 4 s segments from media sequence `msn` (segment 0 at 08:00:00), the rendition's name in
/// the URIs.
fn window(rendition: &str, msn: u64) -> Vec<u8> {
    let mut text = format!("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{msn}\n");
    for n in msn..msn + 6 {
        let (m, s) = (n * 4 / 60, n * 4 % 60);
        text += &format!("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:{m:02}:{s:02}.000Z\n");
        text += &format!("#EXTINF:4.000,\n{rendition}/{n}.ts\n");
    }
    text.into_bytes()
}

#[test]
fn a_steady_state_rewrite_allocates_nothing() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    splicer.set_primary(Some("video"));
    let mut out = Vec::with_capacity(4096);
    let _ = splicer
        .rewrite("video", &window("video", 0), &opts, &mut out)
        .unwrap();
    // A ten-minute break from the live edge (08:00:24).
    let _ = splicer
        .schedule(ScheduleRequest {
            start: Start::Now,
            duration_ms: 600_000,
            event_id: None,
            request_id: None,
            ads: None,
        })
        .unwrap();
    let inputs: Vec<(&str, Vec<u8>)> = (1..40)
        .flat_map(|msn| {
            [
                ("video", window("video", msn)),
                ("audio", window("audio", msn)),
            ]
        })
        .collect();
    // Warm up: decides the start, meets both renditions, grows the scratch.
    for (rendition, input) in &inputs[..4] {
        let spliced = splicer.rewrite(rendition, input, &opts, &mut out).unwrap();
        drop(spliced.changes);
    }
    assert!(splicer.timeline().breaks()[0].decided_start.is_some());

    let before = allocations();
    for (rendition, input) in &inputs[4..] {
        let spliced = splicer.rewrite(rendition, input, &opts, &mut out).unwrap();
        assert!(spliced.changes.is_empty());
        assert!(spliced.outcome.decisions.is_empty());
    }
    let allocated = allocations() - before;
    assert!(
        String::from_utf8_lossy(&out).contains("#EXT-X-CUE-OUT-CONT:"),
        "the break is not running"
    );
    assert_eq!(
        allocated,
        0,
        "allocations over {} rewrites",
        inputs.len() - 4
    );
}
