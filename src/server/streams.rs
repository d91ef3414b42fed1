//! Every stream the proxy serves: the ones in memory, loaded from the store on demand, and the
//! housekeeping that keeps memory and the store bounded.
//!
//! - A stream is loaded from the store the first time it is asked for (a playlist or an API
//!   call), never all at start-up, and leaves memory (not the store) once nobody asked for it
//!   for [`StreamSettings::idle_ticks`]. Its renderings go with it.
//! - Every rendering of every stream counts against one byte budget ([`RenderBudget`]); past
//!   it, the least recently used renderings of any stream are evicted.
//! - Housekeeping runs on a tick (a tenth of the server's `housekeeping_ms`); the render
//!   budget's epoch is the tick count, so "last used" costs a relaxed load, not a clock read.
//! - Ended breaks leave a stream's timeline once every playlist window has moved past their end
//!   and they are older than [`StreamSettings::keep_ended`] (see [`Stream::prune`]), and the
//!   store's live index with them; the store deletes them for good after
//!   [`StreamSettings::history`] and forgets idempotency keys after
//!   [`StreamSettings::request_id_ttl`], all measured in the stream's program time.
//! - While the store fails, every tick probes it ([`BreakStore::probe`]), so that its health
//!   (`/healthz`) recovers without waiting for a request that needs the store.
//! - With a store other servers commit to as well (a replica fleet), every pass also compares
//!   each stream's revision in memory with the stored one and catches up when it fell behind:
//!   the safety net under the change notifications (see `fleet`).
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::admission::Admission;
use super::renders::RenderBudget;
use super::store::{BreakStore, Change, Prune, StoreError, StoreHealth};
use super::stream::{Stream, lock};
use crate::hls::BreakPolicy;

/// Most store rows one housekeeping pass removes per stream (one transaction each), so pruning
/// a long backlog never holds the store for long.
const PRUNE_ROWS_PER_PASS: usize = 1000;
/// Housekeeping ticks between two passes over the streams (pruning, idle streams). A tick
/// advances the render budget's epoch.
pub const TICKS_PER_PASS: u64 = 10;

/// How long things are kept.
#[derive(Clone, Debug)]
pub struct StreamSettings {
    /// Longest break the API accepts, in milliseconds.
    pub max_break_ms: u64,
    /// How long ended breaks stay readable in the store (program time after their end).
    pub history: chrono::Duration,
    /// How long an idempotency key is remembered (program time after its break's requested
    /// start).
    pub request_id_ttl: chrono::Duration,
    /// How long an ended break stays in memory after its end even once out of every window
    /// (the break policy counts the breaks of the last hour).
    pub keep_ended: chrono::Duration,
    /// Housekeeping ticks without a request after which a stream leaves memory.
    pub idle_ticks: u64,
    /// Which playlist directories are streams, and how many may be in memory.
    pub admission: Admission,
    /// How far past the live edge a break may be scheduled.
    pub max_schedule_ahead: chrono::Duration,
    /// The break policy of a stream that has none of its own.
    pub default_policy: BreakPolicy,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            max_break_ms: 600_000,
            history: chrono::Duration::days(30),
            request_id_ttl: chrono::Duration::hours(24),
            keep_ended: chrono::Duration::hours(1),
            idle_ticks: 600,
            admission: Admission::new(&[], 4096),
            max_schedule_ahead: chrono::Duration::hours(72),
            default_policy: BreakPolicy::NONE,
        }
    }
}

/// All streams in memory, plus the store they persist to and the shared render budget.
pub struct Streams {
    map: Mutex<HashMap<String, Arc<Stream>>>,
    store: Arc<dyn BreakStore>,
    budget: Arc<RenderBudget>,
    settings: StreamSettings,
    evicting: AtomicBool,
}

impl Streams {
    /// No stream in memory yet.
    pub fn new(
        store: Arc<dyn BreakStore>,
        budget: Arc<RenderBudget>,
        settings: StreamSettings,
    ) -> Self {
        Streams {
            map: Mutex::new(HashMap::new()),
            store,
            budget,
            settings,
            evicting: AtomicBool::new(false),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn BreakStore> {
        &self.store
    }

    /// The render budget.
    pub fn budget(&self) -> &Arc<RenderBudget> {
        &self.budget
    }

    /// The settings.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// The stream if it is in memory (no store access).
    pub fn cached(&self, key: &str) -> Option<Arc<Stream>> {
        let stream = lock(&self.map).get(key).cloned()?;
        stream.touch(self.budget.epoch());
        Some(stream)
    }

    /// The stream, from memory or else from the store; `None` when neither knows it.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn find(&self, key: &str) -> Result<Option<Arc<Stream>>, StoreError> {
        if let Some(stream) = self.cached(key) {
            return Ok(Some(stream));
        }
        let store = Arc::clone(&self.store);
        let owned = key.to_owned();
        let loaded = tokio::task::spawn_blocking(move || store.load(&owned))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        let mut map = lock(&self.map);
        let stream = map
            .entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(Stream::new(
                    key.to_owned(),
                    Some(loaded),
                    self.budget.epoch(),
                ))
            })
            .clone();
        Ok(Some(stream))
    }

    /// The stream for `key`, loaded or created on first sight (a playlist of it was fetched).
    ///
    /// # Errors
    /// When the store cannot be read.
    /// `None` when `key` is not a stream (see [`crate::server::admission`]): not allowed by
    /// the stream patterns, or a new stream while `max_streams` are in memory.
    pub async fn find_or_create(&self, key: &str) -> Result<Option<Arc<Stream>>, StoreError> {
        let admission = &self.settings.admission;
        if !admission.allows(key) {
            return Ok(None);
        }
        if let Some(stream) = self.find(key).await? {
            return Ok(Some(stream));
        }
        let mut map = lock(&self.map);
        if let Some(stream) = map.get(key) {
            return Ok(Some(Arc::clone(stream)));
        }
        if map.len() >= admission.max_streams {
            return Ok(None);
        }
        let stream = Arc::new(Stream::new(key.to_owned(), None, self.budget.epoch()));
        if admission.named(key) {
            stream.mark_named();
        }
        map.insert(key.to_owned(), Arc::clone(&stream));
        Ok(Some(stream))
    }

    /// Forgets a stream created for a playlist that then turned out not to be one, so only
    /// real playlists make a stream known. Streams with breaks are kept.
    pub fn forget_unused(&self, key: &str) {
        let mut map = lock(&self.map);
        let unused = map
            .get(key)
            .is_some_and(|stream| stream.state().is_unused());
        if unused {
            map.remove(key);
        }
    }

    /// The stream if it is in memory, without counting this as a use (change notifications
    /// must not keep idle streams in memory).
    pub fn holding(&self, key: &str) -> Option<Arc<Stream>> {
        lock(&self.map).get(key).cloned()
    }

    /// Another writer committed `change`: a stream in memory that holds an older revision is
    /// marked stale, and catches up in the background (and in any case before its next
    /// rendering or API change). Whether the stream was held and behind.
    pub fn note_change(&self, change: &Change) -> bool {
        let Some(stream) = self.holding(&change.stream) else {
            return false;
        };
        if !stream.mark_stale(change.revision) {
            return false;
        }
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(e) = stream.catch_up(&store).await {
                tracing::warn!(stream = %stream.key, error = %e, "could not catch up with the store");
            }
        });
        true
    }

    /// Compares the revision of every stream in memory with the stored one and catches up
    /// those behind. How many caught up.
    ///
    /// # Errors
    /// The first store error (the streams not compared yet are left for the next call).
    pub async fn catch_up_all(&self) -> Result<usize, StoreError> {
        let mut caught_up = 0;
        for stream in self.in_memory() {
            let store = Arc::clone(&self.store);
            let key = stream.key.clone();
            let stored = tokio::task::spawn_blocking(move || store.revision(&key))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
            stream.mark_stale(stored);
            if stream.is_stale() && stream.catch_up(&self.store).await? {
                caught_up += 1;
            }
        }
        Ok(caught_up)
    }

    /// The streams in memory.
    pub fn in_memory(&self) -> Vec<Arc<Stream>> {
        lock(&self.map).values().cloned().collect()
    }

    /// Stream keys known to the store or in memory, in order, after `after`, at most `limit`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn keys(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let store = Arc::clone(&self.store);
        let after_stored = after.clone();
        let mut keys =
            tokio::task::spawn_blocking(move || store.stream_keys(after_stored.as_deref(), limit))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        keys.extend(
            lock(&self.map)
                .keys()
                .filter(|k| after.as_deref().is_none_or(|after| k.as_str() > after))
                .cloned(),
        );
        keys.sort();
        keys.dedup();
        keys.truncate(limit);
        Ok(keys)
    }

    /// Evicts the least recently used renderings of all streams until they hold no more than
    /// three quarters of the budget. Runs once at a time; cheap when under budget. Collecting
    /// the candidates allocates, which is fine here: it only happens past the budget.
    pub fn enforce_budget(&self) {
        if !self.budget.over() || self.evicting.swap(true, Ordering::Acquire) {
            return;
        }
        let streams = self.in_memory();
        let mut usage = Vec::new();
        for (index, stream) in streams.iter().enumerate() {
            let mut slots = Vec::new();
            stream.render_usage(&mut slots);
            usage.extend(
                slots
                    .into_iter()
                    .map(|(used, bytes, path, target)| (used, index, bytes, path, target)),
            );
        }
        // Least recently used first; within one epoch, in a stable order.
        usage.sort_unstable_by(|a, b| (a.0, a.1, &a.3, &a.4).cmp(&(b.0, b.1, &b.3, &b.4)));
        let target = self.budget.limit() / 4 * 3;
        let mut freed = 0;
        for (_, index, _, path, slot) in usage {
            if self.budget.used() <= target {
                break;
            }
            freed += streams[index].evict_render(&path, &slot);
        }
        tracing::debug!(
            freed,
            used = self.budget.used(),
            "renderings evicted over budget"
        );
        self.evicting.store(false, Ordering::Release);
    }

    /// One housekeeping tick: advances the epoch, and every [`TICKS_PER_PASS`] ticks prunes
    /// memory and the store and lets idle streams go.
    pub async fn housekeeping(&self, tick: u64) {
        self.budget.tick();
        self.enforce_budget();
        if matches!(self.store.health(), StoreHealth::Failing { .. }) {
            let store = Arc::clone(&self.store);
            match tokio::task::spawn_blocking(move || store.probe()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "the break store still fails"),
                Err(e) => tracing::warn!(error = %e, "probing the break store failed"),
            }
        }
        if !tick.is_multiple_of(TICKS_PER_PASS) {
            return;
        }
        let epoch = self.budget.epoch();
        if self.store.shared() {
            match self.catch_up_all().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    streams = n,
                    "streams caught up with the store (changes were missed)"
                ),
                Err(e) => tracing::warn!(error = %e, "comparing revisions with the store failed"),
            }
        }
        for stream in self.in_memory() {
            let Some(edge) = stream.live_edge() else {
                continue;
            };
            let horizon = stream.prune(edge - self.settings.keep_ended);
            let prune = Prune {
                live_before: horizon,
                history_before: Some(edge - self.settings.history),
                requests_before: Some(edge - self.settings.request_id_ttl),
                max_rows: PRUNE_ROWS_PER_PASS,
            };
            if let Err(e) = self.prune_store(&stream.key, prune).await {
                tracing::warn!(stream = %stream.key, error = %e, "pruning the store failed");
            }
        }
        let idle_before = epoch.saturating_sub(self.settings.idle_ticks);
        let mut map = lock(&self.map);
        map.retain(|key, stream| {
            let idle = stream.last_used() < idle_before && stream.is_quiet();
            if idle {
                tracing::debug!(stream = %key, "idle stream left memory");
            }
            !idle
        });
    }

    async fn prune_store(&self, key: &str, prune: Prune) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            // A few passes at most per tick: a long backlog is worked off over several ticks.
            for _ in 0..4 {
                if !store.prune(&key, &prune)?.more {
                    break;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

#[cfg(test)]
mod tests;
