//! The durable break store, behind one trait ([`BreakStore`]) so that the embedded redb file
//! ([`RedbStore`]) and a shared store for replica fleets implement the same per-break
//! operations.
//!
//! Schema (one row per thing that changes on its own, after the relational rule):
//! - one small row per stream ([`StreamRow`]): its revision, the timeline's counters, its
//!   media playlist paths, its break policy and the first program time seen;
//! - one row per break ([`Break`]), written when that break changes and never otherwise;
//! - the breaks that can still appear in a playlist (loaded when the stream is), indexed apart
//!   from the history, so loading a stream costs what is live, not what is old;
//! - idempotency keys (`request_id`) in their own table, with the program time they were made
//!   at, so they expire;
//! - a schema version, so a data dir written by an earlier release is migrated on open.
//!
//! Every change of a stream is one [`Commit`]: the new stream row and the breaks that changed,
//! written together or not at all, and only if the stored revision is the one the change was
//! made from (compare-and-set). A 2xx is only answered once the commit returned.
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hls::{Break, BreakPolicy, TimelineMeta};

#[cfg(test)]
mod failing;
mod metered;
mod migrate;
mod redb;
mod redis;
#[cfg(test)]
pub(crate) mod tests;

pub use self::metered::{Metered, StoreCounters};
#[cfg(test)]
pub use self::redb::FILE_NAME;
pub use self::redb::{RedbStore, StoreHealth};
pub use self::redis::{Change, RedisStore};
#[cfg(test)]
pub(crate) use failing::FailingStore;

/// What is stored per stream besides its breaks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRow {
    /// Incremented by every commit of the stream; a commit names the revision it was made from.
    pub revision: u64,
    /// The timeline's counters (last break id, largest event id).
    pub meta: TimelineMeta,
    /// Media playlist paths of the stream, oldest first (for refreshing the live edge after a
    /// restart, before any player came back).
    #[serde(default)]
    pub media_paths: Vec<String>,
    /// Path of the primary rendition, whose boundaries decide breaks (from the newest
    /// multivariant playlist seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The stream's break policy; `None`: the server's default policy applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<BreakPolicy>,
    /// The program time of the first segment listed in the first media playlist the proxy read
    /// for the stream (YouTube-style `insertionOffsetTimeMs` counts from it). Set once, by the
    /// first commit after it was seen; every replica and restart then uses the stored value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_program_time: Option<DateTime<Utc>>,
}

/// A stream as loaded: its row and the breaks that can still appear in a playlist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadedStream {
    /// The stream row.
    pub row: StreamRow,
    /// Its live breaks (scheduled, active, recently ended), any order.
    pub breaks: Vec<Break>,
}

/// One change of a stream, applied atomically.
#[derive(Debug)]
pub struct Commit<'a> {
    /// The revision the change was made from (0: the stream was not stored yet).
    pub expected_revision: u64,
    /// The new row; its `revision` is `expected_revision + 1`.
    pub row: &'a StreamRow,
    /// Breaks that changed, as they now are (new, ended, cancelled, decided).
    pub breaks: &'a [Break],
    /// The earliest start or end this change decides (program time, µs since the epoch), when
    /// it decides one: a shared store refuses it ([`StoreError::Published`]) when a server of
    /// the fleet already published a segment starting at or after it
    /// ([`BreakStore::report_published`]).
    pub decides_from: Option<i64>,
}

/// What a shared store holds about what the fleet published of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The start of the newest segment any server of the fleet published (µs since the
    /// epoch), the one just reported included.
    pub until: i64,
    /// The stream's stored revision (0: never committed).
    pub revision: u64,
}

/// Which breaks a page of the history lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakQuery {
    /// Only breaks with an id below this (the cursor of the previous page).
    pub before_id: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

/// One page of a stream's breaks, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BreakPage {
    /// The breaks, by id descending.
    pub breaks: Vec<Break>,
    /// Where the next page starts, when there may be one.
    pub next_before_id: Option<u64>,
}

/// What [`BreakStore::prune`] removes, each by program time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prune {
    /// Breaks that ended before this are no longer loaded with the stream (they left every
    /// playlist window); they stay readable as history.
    pub live_before: Option<DateTime<Utc>>,
    /// Breaks that ended (or were cancelled, by their requested start) before this are deleted.
    pub history_before: Option<DateTime<Utc>>,
    /// Idempotency keys made before this are forgotten.
    pub requests_before: Option<DateTime<Utc>>,
    /// Most rows removed in one call (one transaction): pruning never holds the store long.
    pub max_rows: usize,
}

/// What one [`BreakStore::prune`] call removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Breaks no longer loaded with the stream.
    pub left_live: usize,
    /// Breaks deleted.
    pub deleted_breaks: usize,
    /// Idempotency keys deleted.
    pub deleted_requests: usize,
    /// The row budget ran out: call again.
    pub more: bool,
}

/// Why the store failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The stored revision is not the one the change was made from: another writer (a replica,
    /// or another copy of the stream) committed first. Nothing was written.
    Conflict {
        /// The stream.
        stream: String,
        /// What the change expected.
        expected: u64,
        /// What is stored.
        stored: u64,
    },
    /// Reading or writing failed (I/O, full disk, closed store). Nothing was written.
    Unavailable(String),
    /// The shared store cannot be reached right now, or does not take writes right now
    /// (connection refused or timed out, loading its data, a read-only replica). Transient:
    /// the store reconnects by itself. A commit that timed out after it was sent may have
    /// landed; a retry with the same `request_id` never makes a second break.
    Unreachable(String),
    /// A stored value cannot be read.
    Corrupt(String),
    /// The change decides a start or end at or before a segment a server of the fleet already
    /// published (the start of the newest one published, µs since the epoch).
    Published {
        /// The stream.
        stream: String,
        /// The start (µs since the epoch) of the newest segment the fleet published.
        until: i64,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict {
                stream,
                expected,
                stored,
            } => write!(
                f,
                "stream {stream} changed meanwhile (revision {stored}, expected {expected})"
            ),
            Self::Unavailable(why) => write!(f, "{why}"),
            Self::Unreachable(why) => write!(f, "break store unreachable: {why}"),
            Self::Corrupt(why) => write!(f, "stored data cannot be read: {why}"),
            Self::Published { stream, until } => write!(
                f,
                "stream {stream}: a server of the fleet already published up to {until} µs"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// Where streams and their breaks are kept. Every method blocks (disk or network): call them
/// from `spawn_blocking`. Each is O(log n) or better in the size of the history, plus what it
/// returns.
pub trait BreakStore: Send + Sync + 'static {
    /// The stream row and its live breaks, or `None` for a stream never committed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn load(&self, stream: &str) -> Result<Option<LoadedStream>, StoreError>;

    /// Stored stream keys in order, after `after`, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    fn stream_keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Applies one change of `stream` atomically, if its row is still at
    /// `commit.expected_revision`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another commit came first, else
    /// [`StoreError::Unavailable`]. On error nothing of the commit is stored.
    fn commit(&self, stream: &str, commit: &Commit<'_>) -> Result<(), StoreError>;

    /// One break by id, as long as the history holds it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn get_break(&self, stream: &str, id: u64) -> Result<Option<Break>, StoreError>;

    /// The break made with this idempotency key, while the key is remembered.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn find_request(&self, stream: &str, request_id: &str) -> Result<Option<Break>, StoreError>;

    /// A page of the stream's breaks, newest first. Examines at most `scan` breaks, so a page
    /// filtered by `keep` may come back short with a cursor to continue.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn list_breaks(
        &self,
        stream: &str,
        query: BreakQuery,
        scan: usize,
        keep: &mut dyn FnMut(&Break) -> bool,
    ) -> Result<BreakPage, StoreError>;

    /// Removes what `prune` names, at most `prune.max_rows` rows.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    fn prune(&self, stream: &str, prune: &Prune) -> Result<Pruned, StoreError>;

    /// Whether the store works (for health checks). Never blocks: it reports what the last
    /// operations found.
    fn health(&self) -> StoreHealth;

    /// Checks whether a failing store works again, so that its health recovers without a
    /// request that needs it (a replica a load balancer took out gets none). Called from
    /// housekeeping while [`BreakStore::health`] is failing; does nothing otherwise, and no
    /// more often than the store's own backoff allows. The default does nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while it still fails.
    fn probe(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The stored revision of `stream` (0 when never committed), for replicas that check
    /// whether what they hold is current. The default loads the stream.
    ///
    /// # Errors
    /// As [`BreakStore::load`].
    fn revision(&self, stream: &str) -> Result<u64, StoreError> {
        Ok(self.load(stream)?.map_or(0, |loaded| loaded.row.revision))
    }

    /// Whether other servers commit to this store too (a replica fleet), so that what memory
    /// holds may fall behind it.
    fn shared(&self) -> bool {
        false
    }

    /// Records that this server is about to publish a playlist of `stream` whose newest segment
    /// starts at `until` (µs since the epoch), before it does, and returns what the fleet
    /// published and the stream's stored revision. Only a [shared](BreakStore::shared) store
    /// keeps it (a single server knows what it published); the default stores nothing.
    ///
    /// # Errors
    /// [`StoreError::Unreachable`] or [`StoreError::Unavailable`].
    fn report_published(&self, stream: &str, until: i64) -> Result<Reported, StoreError> {
        let _ = stream;
        Ok(Reported { until, revision: 0 })
    }
}

/// Milliseconds since the epoch, the program-time key of the indexes.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// When a break left (or will leave) the live set for good: its decided end, or for a
/// cancelled break its requested start. `None` while it may still appear.
pub(crate) fn finished_at(b: &Break) -> Option<DateTime<Utc>> {
    if b.cancelled {
        Some(b.requested_start)
    } else {
        b.decided_end
    }
}
