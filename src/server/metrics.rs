//! Counters exposed at `/metrics` in the Prometheus text exposition format.
//!
//! Everything is an atomic or a small map keyed by `(&'static str, u16)`, so recording
//! a request allocates only the first time a (route, status) pair is seen.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the upstream latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route names used as the `route` label.
pub mod route {
    pub const PLAYLIST: &str = "playlist";
    pub const SEGMENT: &str = "segment";
    pub const PREFLIGHT: &str = "preflight";
    pub const API: &str = "api";
    pub const OME: &str = "ovenmediaengine";
    pub const YOUTUBE: &str = "youtube";
    pub const DAILYMOTION: &str = "dailymotion";
    pub const HEALTH: &str = "healthz";
    pub const METRICS: &str = "metrics";
    pub const INVALID: &str = "invalid";
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    pub upstream_requests: AtomicU64,
    pub upstream_errors: AtomicU64,
    pub body_timeouts: AtomicU64,
    pub coalesced: AtomicU64,
    pub upstream_retries: AtomicU64,
    pub connections_closed_idle: AtomicU64,
    pub connections_refused: AtomicU64,
    pub streams_refused: AtomicU64,
    pub cache_hits: AtomicU64,
    pub renders: AtomicU64,
    /// Fed by the store (see `store::Metered`).
    pub store: std::sync::Arc<crate::server::store::StoreCounters>,
}

impl Metrics {
    pub fn record_request(&self, route: &'static str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route, status)).or_insert(0) += 1;
        }
    }

    pub fn record_upstream_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Renders all metrics; `active_breaks` and `streams` are sampled by the caller.
    pub fn render(&self, active_breaks: u64, streams: u64) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP hlsplice_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE hlsplice_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((route, status), count) in map.iter() {
                let _ = writeln!(
                    out,
                    "hlsplice_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP hlsplice_upstream_latency_seconds Time to a complete upstream playlist answer or to upstream response headers.\n");
        out.push_str("# TYPE hlsplice_upstream_latency_seconds histogram\n");
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "hlsplice_upstream_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "hlsplice_upstream_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "hlsplice_upstream_latency_seconds_sum {sum}");
        let _ = writeln!(out, "hlsplice_upstream_latency_seconds_count {count}");
        counter(
            &mut out,
            "hlsplice_upstream_requests_total",
            "Requests sent upstream (playlists and pass-through).",
            &self.upstream_requests,
        );
        counter(
            &mut out,
            "hlsplice_upstream_errors_total",
            "Upstream requests that failed or timed out.",
            &self.upstream_errors,
        );
        counter(
            &mut out,
            "hlsplice_upstream_body_timeouts_total",
            "Pass-through bodies aborted because the upstream sent nothing for upstream_timeout_ms.",
            &self.body_timeouts,
        );
        counter(
            &mut out,
            "hlsplice_upstream_retries_total",
            "Upstream requests sent once more because a pooled connection the upstream had closed ended before an answer.",
            &self.upstream_retries,
        );
        counter(
            &mut out,
            "hlsplice_connections_closed_idle_total",
            "Idle keep-alive client connections closed to make room past max_connections.",
            &self.connections_closed_idle,
        );
        counter(
            &mut out,
            "hlsplice_connections_refused_total",
            "Client connections closed at once because max_connections were busy.",
            &self.connections_refused,
        );
        counter(
            &mut out,
            "hlsplice_streams_refused_total",
            "Playlists served unmarked because their directory is not a stream (stream_patterns) or max_streams were in memory.",
            &self.streams_refused,
        );
        counter(
            &mut out,
            "hlsplice_coalesced_requests_total",
            "Playlist requests answered by joining an identical in-flight upstream request.",
            &self.coalesced,
        );
        counter(
            &mut out,
            "hlsplice_playlist_cache_hits_total",
            "Playlist answers served from an existing rendering.",
            &self.cache_hits,
        );
        counter(
            &mut out,
            "hlsplice_playlist_renders_total",
            "Playlist renderings (once per upstream bytes and timeline version).",
            &self.renders,
        );
        counter(
            &mut out,
            "hlsplice_store_errors_total",
            "Break store operations that failed (unreachable, I/O, unreadable data).",
            &self.store.errors,
        );
        counter(
            &mut out,
            "hlsplice_store_conflicts_total",
            "Commits refused because another writer (a replica) committed first; they are retried.",
            &self.store.conflicts,
        );
        gauge(
            &mut out,
            "hlsplice_active_breaks",
            "Breaks currently active at their stream's live edge.",
            active_breaks,
        );
        gauge(&mut out, "hlsplice_streams", "Known streams.", streams);
        out
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
        value.load(Ordering::Relaxed)
    );
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histogram_cumulatively() {
        let metrics = Metrics::default();
        metrics.record_upstream_latency(Duration::from_millis(7));
        metrics.record_upstream_latency(Duration::from_millis(300));
        metrics.record_request(route::PLAYLIST, 200);
        metrics.record_request(route::PLAYLIST, 200);
        let text = metrics.render(1, 2);
        assert!(text.contains("hlsplice_upstream_latency_seconds_bucket{le=\"0.005\"} 0"));
        assert!(text.contains("hlsplice_upstream_latency_seconds_bucket{le=\"0.01\"} 1"));
        assert!(text.contains("hlsplice_upstream_latency_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("hlsplice_upstream_latency_seconds_count 2"));
        assert!(text.contains("hlsplice_requests_total{route=\"playlist\",status=\"200\"} 2"));
        assert!(text.contains("hlsplice_active_breaks 1"));
    }
}
