//! The interstitial counters of `/metrics` (Prometheus text exposition format).
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::answer::Source;
use super::decision::DecisionFailure;

const SOURCES: [Source; 3] = [Source::Static, Source::Decision, Source::Fallback];
const REASONS: [&str; 6] = [
    "unreachable",
    "timeout",
    "status",
    "body",
    "invalid",
    "busy",
];

/// Counters, all relaxed atomics.
#[derive(Default)]
pub struct AssetMetrics {
    lists: [AtomicU64; 3],
    cache_hits: AtomicU64,
    start_offset: AtomicU64,
    decision_requests: AtomicU64,
    failures: [AtomicU64; 6],
}

impl AssetMetrics {
    /// One asset list answered (from the cache or not).
    pub fn answered(&self, source: Source, cache_hit: bool, start_offset: bool) {
        let index = SOURCES.iter().position(|s| *s == source).unwrap_or(0);
        self.lists[index].fetch_add(1, Ordering::Relaxed);
        if cache_hit {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        if start_offset {
            self.start_offset.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One request sent to an ad decision server.
    pub fn decision_request(&self) {
        self.decision_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// One ad decision that could not be used.
    pub fn decision_failed(&self, failure: &DecisionFailure) {
        let index = REASONS
            .iter()
            .position(|r| *r == failure.reason())
            .unwrap_or(0);
        self.failures[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Appends the counters, and the cache's size and evictions.
    pub fn render(&self, out: &mut String, cache_entries: usize, cache_evictions: u64) {
        out.push_str("# HELP hlsplice_asset_lists_total Interstitial asset lists answered, by where the ads came from.\n# TYPE hlsplice_asset_lists_total counter\n");
        for (source, count) in SOURCES.iter().zip(&self.lists) {
            let _ = writeln!(
                out,
                "hlsplice_asset_lists_total{{source=\"{}\"}} {}",
                source.as_str(),
                count.load(Ordering::Relaxed)
            );
        }
        counter(
            out,
            "hlsplice_asset_list_cache_hits_total",
            "Asset lists answered from the asset-list cache.",
            self.cache_hits.load(Ordering::Relaxed),
        );
        counter(
            out,
            "hlsplice_asset_list_cache_evictions_total",
            "Asset lists evicted from the cache past asset_list_cache_entries.",
            cache_evictions,
        );
        let _ = writeln!(
            out,
            "# HELP hlsplice_asset_list_cache_entries Asset lists in the cache.\n# TYPE hlsplice_asset_list_cache_entries gauge\nhlsplice_asset_list_cache_entries {cache_entries}"
        );
        counter(
            out,
            "hlsplice_asset_list_start_offset_total",
            "Asset lists answered to a player joining mid-break (_HLS_start_offset above 0).",
            self.start_offset.load(Ordering::Relaxed),
        );
        counter(
            out,
            "hlsplice_ad_decision_requests_total",
            "Requests sent to an ad decision server.",
            self.decision_requests.load(Ordering::Relaxed),
        );
        out.push_str("# HELP hlsplice_ad_decision_failures_total Ad decisions not used (the fixed list was answered instead), by reason.\n# TYPE hlsplice_ad_decision_failures_total counter\n");
        for (reason, count) in REASONS.iter().zip(&self.failures) {
            let _ = writeln!(
                out,
                "hlsplice_ad_decision_failures_total{{reason=\"{reason}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_reason_has_its_own_counter() {
        let metrics = AssetMetrics::default();
        for failure in [
            DecisionFailure::Unreachable(String::new()),
            DecisionFailure::Timeout,
            DecisionFailure::Status(http::StatusCode::NOT_FOUND),
            DecisionFailure::Body(String::new()),
            DecisionFailure::Invalid(String::new()),
            DecisionFailure::Busy,
        ] {
            metrics.decision_failed(&failure);
            metrics.decision_failed(&failure);
        }
        metrics.answered(Source::Fallback, false, true);
        metrics.answered(Source::Decision, true, false);
        let mut text = String::new();
        metrics.render(&mut text, 3, 9);
        for reason in REASONS {
            let line = format!("hlsplice_ad_decision_failures_total{{reason=\"{reason}\"}} 2");
            assert!(text.contains(&line), "{line}\n{text}");
        }
        assert!(text.contains("hlsplice_asset_lists_total{source=\"fallback\"} 1"));
        assert!(text.contains("hlsplice_asset_lists_total{source=\"decision\"} 1"));
        assert!(text.contains("hlsplice_asset_lists_total{source=\"static\"} 0"));
        assert!(text.contains("hlsplice_asset_list_cache_hits_total 1"));
        assert!(text.contains("hlsplice_asset_list_start_offset_total 1"));
        assert!(text.contains("hlsplice_asset_list_cache_entries 3"));
        assert!(text.contains("hlsplice_asset_list_cache_evictions_total 9"));
    }
}
