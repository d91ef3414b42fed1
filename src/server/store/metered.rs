//! A [`BreakStore`] in front of the real one that counts its failures for `/metrics`:
//! conflicts (another writer committed first: normal in a replica fleet, and retried) apart
//! from errors (the store could not be used).
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    BreakPage, BreakQuery, BreakStore, Commit, LoadedStream, Prune, Pruned, Reported, StoreError,
    StoreHealth,
};
use crate::hls::Break;

/// The counters a [`Metered`] store feeds.
#[derive(Debug, Default)]
pub struct StoreCounters {
    /// Operations that failed (unreachable, I/O, unreadable data).
    pub errors: AtomicU64,
    /// Commits refused because another writer committed first.
    pub conflicts: AtomicU64,
}

/// Counts what the store in front of which it stands fails with.
pub struct Metered {
    inner: Arc<dyn BreakStore>,
    counters: Arc<StoreCounters>,
}

impl Metered {
    /// `inner`, counted into `counters`.
    pub fn new(inner: Arc<dyn BreakStore>, counters: Arc<StoreCounters>) -> Self {
        Metered { inner, counters }
    }

    fn count<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Ok(_) => {}
            Err(StoreError::Conflict { .. } | StoreError::Published { .. }) => {
                self.counters.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }
}

impl BreakStore for Metered {
    fn load(&self, stream: &str) -> Result<Option<LoadedStream>, StoreError> {
        self.count(self.inner.load(stream))
    }

    fn stream_keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        self.count(self.inner.stream_keys(after, limit))
    }

    fn commit(&self, stream: &str, commit: &Commit<'_>) -> Result<(), StoreError> {
        self.count(self.inner.commit(stream, commit))
    }

    fn get_break(&self, stream: &str, id: u64) -> Result<Option<Break>, StoreError> {
        self.count(self.inner.get_break(stream, id))
    }

    fn find_request(&self, stream: &str, request_id: &str) -> Result<Option<Break>, StoreError> {
        self.count(self.inner.find_request(stream, request_id))
    }

    fn list_breaks(
        &self,
        stream: &str,
        query: BreakQuery,
        scan: usize,
        keep: &mut dyn FnMut(&Break) -> bool,
    ) -> Result<BreakPage, StoreError> {
        self.count(self.inner.list_breaks(stream, query, scan, keep))
    }

    fn prune(&self, stream: &str, prune: &Prune) -> Result<Pruned, StoreError> {
        self.count(self.inner.prune(stream, prune))
    }

    fn health(&self) -> StoreHealth {
        self.inner.health()
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.inner.probe()
    }

    fn revision(&self, stream: &str) -> Result<u64, StoreError> {
        self.count(self.inner.revision(stream))
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    fn report_published(&self, stream: &str, until: i64) -> Result<Reported, StoreError> {
        self.count(self.inner.report_published(stream, until))
    }
}
