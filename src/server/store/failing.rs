//! A [`BreakStore`] in front of a real one whose next commits fail (or lose a race to another
//! writer) on demand, for the tests of what a failed commit leaves behind and of the retries
//! after a conflict.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::{
    BreakPage, BreakQuery, BreakStore, Commit, LoadedStream, Prune, Pruned, Reported, StoreError,
    StoreHealth,
};
use crate::hls::Break;

pub(crate) struct FailingStore {
    inner: Arc<dyn BreakStore>,
    fail_next: AtomicU32,
    conflict_next: AtomicU32,
    /// Commits refused with an injected conflict.
    pub conflicts: AtomicU32,
    /// Commits that went through to the real store.
    pub commits: AtomicU32,
    /// Whether it says other servers write to it too (as a fleet's store does).
    pub shared: AtomicBool,
}

impl FailingStore {
    pub fn new(inner: Arc<dyn BreakStore>) -> Self {
        FailingStore {
            inner,
            fail_next: AtomicU32::new(0),
            conflict_next: AtomicU32::new(0),
            conflicts: AtomicU32::new(0),
            commits: AtomicU32::new(0),
            shared: AtomicBool::new(false),
        }
    }

    /// Makes the next `n` commits fail (without touching the real store).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` commits answer a conflict, as if another writer had committed
    /// first (without touching the real store).
    pub fn conflict_next(&self, n: u32) {
        self.conflict_next.store(n, Ordering::SeqCst);
    }
}

impl BreakStore for FailingStore {
    fn load(&self, stream: &str) -> Result<Option<LoadedStream>, StoreError> {
        self.inner.load(stream)
    }

    fn stream_keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.stream_keys(after, limit)
    }

    fn commit(&self, stream: &str, commit: &Commit<'_>) -> Result<(), StoreError> {
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Unavailable(
                "injected commit failure".to_owned(),
            ));
        }
        let conflicting = self
            .conflict_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if conflicting {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Conflict {
                stream: stream.to_owned(),
                expected: commit.expected_revision,
                stored: commit.expected_revision + 1,
            });
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(stream, commit)
    }

    fn get_break(&self, stream: &str, id: u64) -> Result<Option<Break>, StoreError> {
        self.inner.get_break(stream, id)
    }

    fn find_request(&self, stream: &str, request_id: &str) -> Result<Option<Break>, StoreError> {
        self.inner.find_request(stream, request_id)
    }

    fn list_breaks(
        &self,
        stream: &str,
        query: BreakQuery,
        scan: usize,
        keep: &mut dyn FnMut(&Break) -> bool,
    ) -> Result<BreakPage, StoreError> {
        self.inner.list_breaks(stream, query, scan, keep)
    }

    fn prune(&self, stream: &str, prune: &Prune) -> Result<Pruned, StoreError> {
        self.inner.prune(stream, prune)
    }

    fn health(&self) -> StoreHealth {
        self.inner.health()
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.inner.probe()
    }

    fn revision(&self, stream: &str) -> Result<u64, StoreError> {
        self.inner.revision(stream)
    }

    fn shared(&self) -> bool {
        self.shared.load(Ordering::SeqCst) || self.inner.shared()
    }

    fn report_published(&self, stream: &str, until: i64) -> Result<Reported, StoreError> {
        self.inner.report_published(stream, until)
    }
}
