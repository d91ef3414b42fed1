//! A stream run for days of program time through the proxy, fast-forwarded on the packager's
//! ManualClock: a break every 20 minutes, each started through the API at the live edge, its
//! start and end decided by renderings of both renditions. Used by the short test in
//! tests/proxy_schedule.rs and by the full year in benches/simulated_year.rs.
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;

use super::Harness;

pub const VIDEO: &str = "/live/demo/video.m3u8";
pub const AUDIO: &str = "/live/demo/audio.m3u8";
/// Breaks per simulated day (one every 20 minutes).
pub const BREAKS_PER_DAY: u64 = 72;
/// Planned duration of every break.
pub const BREAK_MS: u64 = 60_000;

/// What one simulated day measured.
#[derive(Clone, Debug)]
pub struct Day {
    /// 1-based.
    pub day: u64,
    /// Latency of every playlist rendering of the day (each a cache miss: the clock moved).
    pub renders: Vec<Duration>,
    /// Resident set of this process at the end of the day, in KiB (the proxy, the packager
    /// and the client share it).
    pub rss_kib: u64,
    /// Size of the break store file at the end of the day.
    pub store_bytes: u64,
}

impl Day {
    pub fn p50(&self) -> Duration {
        let mut sorted = self.renders.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

/// The VmRSS of this process in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn render(h: &Harness, path: &str, renders: &mut Vec<Duration>) {
    let started = Instant::now();
    let response = h.get(path).await;
    renders.push(started.elapsed());
    assert_eq!(
        response.status,
        StatusCode::OK,
        "GET {path}: {}",
        response.text()
    );
}

/// Runs `days` days; `each_day` sees each day's figures as it ends.
pub async fn run(h: &Harness, days: u64, mut each_day: impl FnMut(&Day)) {
    render(h, VIDEO, &mut Vec::new()).await;
    render(h, AUDIO, &mut Vec::new()).await;
    let mut n = 0u64;
    for day in 1..=days {
        let mut renders = Vec::with_capacity(BREAKS_PER_DAY as usize * 6);
        for _ in 0..BREAKS_PER_DAY {
            n += 1;
            let (status, created) = h
                .create_break(
                    "live/demo",
                    json!({"duration_ms": BREAK_MS, "request_id": format!("sim-{n}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "break {n}: {created}");
            // The OUT: the next segment starts the break.
            h.advance_ms(2_000);
            render(h, VIDEO, &mut renders).await;
            render(h, AUDIO, &mut renders).await;
            // The IN, on time.
            h.advance_ms(BREAK_MS);
            render(h, VIDEO, &mut renders).await;
            render(h, AUDIO, &mut renders).await;
            // Until the next break.
            h.advance_ms(20 * 60 * 1000 - BREAK_MS - 2_000);
            render(h, VIDEO, &mut renders).await;
            render(h, AUDIO, &mut renders).await;
        }
        let store_bytes = std::fs::metadata(h.data_dir.join("hlsplice.redb"))
            .map(|m| m.len())
            .unwrap_or(0);
        each_day(&Day {
            day,
            renders,
            rss_kib: rss_kib(),
            store_bytes,
        });
    }
}
