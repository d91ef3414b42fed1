//! The embedded store: one redb file in the data directory (see [`super`] for the schema).
//!
//! Tables (schema version [`SCHEMA_VERSION`]):
//! - `meta`: `"schema_version"` → version;
//! - `streams`: stream → [`StreamRow`] (JSON);
//! - `breaks`: (stream, break id) → [`Break`] (JSON);
//! - `live_breaks`: (stream, break id) → (): the breaks loaded with the stream;
//! - `live_ends`: (stream, end ms, break id) → (): the ended ones among them, by end, so that
//!   letting go of those out of every window scans only them;
//! - `history_ends`: (stream, end ms, break id) → (): every ended or cancelled break by when it
//!   finished, so that retention deletes the oldest first without scanning the rest;
//! - `request_ids`: (stream, request id) → (break id, made at ms);
//! - `request_times`: (stream, made at ms, request id) → (): the keys by age, for expiry.
//!
//! Every write is one transaction committed with redb's default durability (fsync before the
//! commit returns), so a commit that returned is on disk.
//!
//! A failed I/O leaves a redb `Database` refusing every later transaction ("previous I/O error
//! occurred"). The store then reopens the file before the next operation, no more often than a
//! backoff allows, so that once the disk has room again the store works again without a
//! restart. A reopen runs redb's repair when the file needs it; nothing half-written survives a
//! failed commit, since redb's commit is atomic.
//!
//! The store counts as failing ([`StoreHealth::Failing`]) from an I/O failure until a write
//! succeeds again: a commit, a prune that removed rows, or a [`BreakStore::probe`] that finds
//! room on the data dir's file system ([`PROBE_BYTES`] written and synced) and the database
//! open. A reopen alone proves nothing: on a full disk, redb reopens and commits an empty
//! transaction within the pages its file already has, while every write that needs a new page
//! still fails.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
    WriteTransaction,
};

use super::{
    BreakPage, BreakQuery, BreakStore, Commit, LoadedStream, Prune, Pruned, StoreError, StreamRow,
    finished_at, millis,
};
use crate::hls::Break;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
pub(super) const BREAKS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("breaks");
pub(super) const LIVE: TableDefinition<(&str, u64), ()> = TableDefinition::new("live_breaks");
pub(super) const LIVE_ENDS: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("live_ends");
pub(super) const ENDS: TableDefinition<(&str, i64, u64), ()> = TableDefinition::new("history_ends");
pub(super) const REQUESTS: TableDefinition<(&str, &str), (u64, i64)> =
    TableDefinition::new("request_ids");
pub(super) const REQUEST_TIMES: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("request_times");

/// The schema this release writes. 1: one JSON record per stream (releases up to 0.1.0);
/// 2: the per-break tables above.
pub const SCHEMA_VERSION: u64 = 2;
const SCHEMA_KEY: &str = "schema_version";

/// File name inside the data directory.
pub const FILE_NAME: &str = "hlsplice.redb";

/// Shortest and longest wait between two attempts to reopen a failed database (or to probe it).
const REOPEN_BACKOFF_MIN: Duration = Duration::from_millis(100);
const REOPEN_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Room a [`BreakStore::probe`] of a failing store must find on the data dir's file system:
/// a few hundred commits' worth of 4 KiB pages, so that a disk with barely any room left does
/// not count as recovered only to fail the next commit.
pub const PROBE_BYTES: usize = 1024 * 1024;

/// The file a probe writes (and removes) in the data directory.
const PROBE_FILE: &str = "hlsplice.probe";

/// The redb break store.
pub struct RedbStore {
    path: PathBuf,
    state: Mutex<DbState>,
}

struct DbState {
    /// `None` after an I/O failure until reopened (and once closed).
    db: Option<Database>,
    /// Set from an I/O failure until a write succeeds again.
    failing: Option<Failing>,
    closed: bool,
}

struct Failing {
    why: String,
    since: Instant,
    /// No reopen or probe before this.
    next_attempt: Instant,
    backoff: Duration,
}

impl Failing {
    /// Records a failed attempt: the next one waits twice as long (up to the maximum).
    fn failed_again(&mut self, why: String, now: Instant) {
        self.why = why;
        self.backoff = (self.backoff * 2).min(REOPEN_BACKOFF_MAX);
        self.next_attempt = now + self.backoff;
    }
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedbStore({})", self.path.display())
    }
}

/// How the store is doing, for health checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreHealth {
    /// Working.
    Ok,
    /// Failing since `for_ms` milliseconds, for the reason given; reopened with backoff.
    Failing {
        /// Why.
        why: String,
        /// For how long.
        for_ms: u64,
    },
    /// Closed (shutting down).
    Closed,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

impl RedbStore {
    /// Opens (creating if needed) the store in `dir`, migrating a store written by an earlier
    /// release.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened, written or
    /// migrated, or it was written by a newer release.
    pub fn open(dir: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("creating data dir {}: {e}", dir.display())))?;
        let path = dir.join(FILE_NAME);
        let db = open_database(&path)?;
        Ok(RedbStore {
            path,
            state: Mutex::new(DbState {
                db: Some(db),
                failing: None,
                closed: false,
            }),
        })
    }

    /// Closes the database file so another server can open the same directory.
    pub fn close(&self) {
        let mut state = lock(&self.state);
        state.db = None;
        state.closed = true;
    }

    /// Whether the store works, or since when it fails.
    pub fn status(&self) -> StoreHealth {
        let state = lock(&self.state);
        if state.closed {
            return StoreHealth::Closed;
        }
        match &state.failing {
            None => StoreHealth::Ok,
            Some(failing) => StoreHealth::Failing {
                why: failing.why.clone(),
                for_ms: u64::try_from(failing.since.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        }
    }

    /// Runs `work` on the open database (a read, or a write whose success says nothing of the
    /// store's health). An I/O failure marks the database for reopening, and the next call
    /// after the backoff reopens it first.
    fn with_db<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, DbError>,
    ) -> Result<T, StoreError> {
        self.run(work, |_| false)
    }

    /// [`RedbStore::with_db`] for a write: when `wrote` says it wrote something, its success
    /// ends a failure.
    fn run<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, DbError>,
        wrote: impl FnOnce(&T) -> bool,
    ) -> Result<T, StoreError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if state.closed {
            return Err(StoreError::Unavailable("store is closed".to_owned()));
        }
        if state.db.is_none() {
            self.reopen(state, Instant::now())?;
        }
        let Some(db) = state.db.as_ref() else {
            return Err(StoreError::Unavailable("store is closed".to_owned()));
        };
        match work(db) {
            Ok(value) => {
                if wrote(&value) {
                    self.recovered(state);
                }
                Ok(value)
            }
            Err(DbError::Store(e)) => Err(e),
            Err(DbError::Io(why)) => {
                tracing::error!(path = %self.path.display(), error = %why, "break store I/O failed; it will be reopened");
                let now = Instant::now();
                state.db = None;
                match &mut state.failing {
                    // Failing already (a reopen proved nothing): keep backing off.
                    Some(failing) => failing.failed_again(why.clone(), now),
                    None => {
                        state.failing = Some(Failing {
                            why: why.clone(),
                            since: now,
                            next_attempt: now + REOPEN_BACKOFF_MIN,
                            backoff: REOPEN_BACKOFF_MIN,
                        });
                    }
                }
                Err(StoreError::Unavailable(why))
            }
        }
    }

    /// Reopens the database after an I/O failure, once the backoff allows.
    fn reopen(&self, state: &mut DbState, now: Instant) -> Result<(), StoreError> {
        let Some(failing) = state.failing.as_mut() else {
            return Err(StoreError::Unavailable("store is closed".to_owned()));
        };
        if now < failing.next_attempt {
            return Err(StoreError::Unavailable(format!(
                "store unavailable since an I/O error ({}); retrying",
                failing.why
            )));
        }
        match open_database(&self.path) {
            Ok(db) => {
                tracing::info!(path = %self.path.display(), "break store reopened after an I/O error");
                state.db = Some(db);
                Ok(())
            }
            Err(e) => {
                failing.failed_again(e.to_string(), now);
                Err(e)
            }
        }
    }

    fn recovered(&self, state: &mut DbState) {
        if let Some(failing) = state.failing.take() {
            tracing::info!(
                path = %self.path.display(),
                failed_for_ms = u64::try_from(failing.since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "break store writes work again"
            );
        }
    }

    /// See [`BreakStore::probe`]: while failing, and once the backoff allows, writes
    /// [`PROBE_BYTES`] next to the database (synced, then removed) and reopens the database.
    fn probe_failing(&self) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if state.closed {
            return Err(StoreError::Unavailable("store is closed".to_owned()));
        }
        let now = Instant::now();
        let Some(failing) = state.failing.as_mut() else {
            return Ok(());
        };
        if now < failing.next_attempt {
            return Err(StoreError::Unavailable(format!(
                "store unavailable since an I/O error ({}); retrying",
                failing.why
            )));
        }
        let probe = self.path.with_file_name(PROBE_FILE);
        if let Err(e) = write_probe(&probe) {
            let _ = std::fs::remove_file(&probe);
            let why = format!("no room for {PROBE_BYTES} bytes in the data dir: {e}");
            failing.failed_again(why.clone(), now);
            return Err(StoreError::Unavailable(why));
        }
        if state.db.is_none() {
            self.reopen(state, now)?;
        }
        self.recovered(state);
        Ok(())
    }
}

/// Writes [`PROBE_BYTES`] to `path`, syncs it and removes it.
fn write_probe(path: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    static CHUNK: [u8; 64 * 1024] = [0; 64 * 1024];
    let mut file = std::fs::File::create(path)?;
    for _ in 0..PROBE_BYTES / CHUNK.len() {
        file.write_all(&CHUNK)?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::remove_file(path)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A failure inside a transaction: a store error to hand back, or an I/O failure that breaks
/// the database until it is reopened.
pub(super) enum DbError {
    Store(StoreError),
    Io(String),
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

/// Whether a redb storage error leaves the database unusable until reopened.
fn storage(e: redb::StorageError) -> DbError {
    match e {
        redb::StorageError::Io(_) | redb::StorageError::PreviousIo => DbError::Io(e.to_string()),
        other => DbError::Store(unavailable(other)),
    }
}

macro_rules! from_redb {
    ($($ty:ty),*) => {$(
        impl From<$ty> for DbError {
            fn from(e: $ty) -> Self {
                match e.into() {
                    redb::Error::Io(io) => DbError::Io(io.to_string()),
                    redb::Error::PreviousIo => DbError::Io(redb::Error::PreviousIo.to_string()),
                    other => DbError::Store(unavailable(other)),
                }
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::CommitError,
    redb::StorageError
);

fn open_database(path: &Path) -> Result<Database, StoreError> {
    let db = Database::create(path)
        .map_err(|e| unavailable(format!("opening {}: {e}", path.display())))?;
    let txn = db
        .begin_write()
        .map_err(|e| unavailable(format!("opening {}: {e}", path.display())))?;
    let version = schema_version(&txn).map_err(|e| match e {
        DbError::Store(e) => e,
        DbError::Io(why) => unavailable(why),
    })?;
    match version {
        Some(SCHEMA_VERSION) => {}
        Some(newer) if newer > SCHEMA_VERSION => {
            return Err(StoreError::Corrupt(format!(
                "{} was written by a newer hlsplice (schema {newer}; this release reads up to {SCHEMA_VERSION})",
                path.display()
            )));
        }
        found => {
            if found.is_none() && has_v1_records(&txn).map_err(db_to_store)? {
                let migrated = super::migrate::v1_to_v2(&txn).map_err(db_to_store)?;
                tracing::info!(path = %path.display(), streams = migrated.streams, breaks = migrated.breaks, "break store migrated from schema 1 to 2");
            }
            create_tables(&txn).map_err(db_to_store)?;
            let mut meta = txn.open_table(META).map_err(|e| db_to_store(e.into()))?;
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION)
                .map_err(|e| db_to_store(e.into()))?;
        }
    }
    txn.commit()
        .map_err(|e| unavailable(format!("opening {}: {e}", path.display())))?;
    Ok(db)
}

fn db_to_store(e: DbError) -> StoreError {
    match e {
        DbError::Store(e) => e,
        DbError::Io(why) => StoreError::Unavailable(why),
    }
}

fn schema_version(txn: &WriteTransaction) -> Result<Option<u64>, DbError> {
    if !table_exists(txn, META.name())? {
        return Ok(None);
    }
    let meta = txn.open_table(META)?;
    Ok(meta.get(SCHEMA_KEY)?.map(|v| v.value()))
}

fn table_exists(txn: &WriteTransaction, name: &str) -> Result<bool, DbError> {
    Ok(txn.list_tables()?.any(|t| t.name() == name))
}

/// Whether the file holds schema-1 stream records (the `streams` table with no schema version).
fn has_v1_records(txn: &WriteTransaction) -> Result<bool, DbError> {
    if !table_exists(txn, STREAMS.name())? {
        return Ok(false);
    }
    let streams = txn.open_table(STREAMS)?;
    Ok(!streams.is_empty()?)
}

fn create_tables(txn: &WriteTransaction) -> Result<(), DbError> {
    txn.open_table(META)?;
    txn.open_table(STREAMS)?;
    txn.open_table(BREAKS)?;
    txn.open_table(LIVE)?;
    txn.open_table(LIVE_ENDS)?;
    txn.open_table(ENDS)?;
    txn.open_table(REQUESTS)?;
    txn.open_table(REQUEST_TIMES)?;
    Ok(())
}

fn decode_row(stream: &str, bytes: &[u8]) -> Result<StreamRow, DbError> {
    serde_json::from_slice(bytes)
        .map_err(|e| DbError::Store(corrupt(&format!("row of stream {stream:?}"), e)))
}

fn decode_break(stream: &str, id: u64, bytes: &[u8]) -> Result<Break, DbError> {
    serde_json::from_slice(bytes)
        .map_err(|e| DbError::Store(corrupt(&format!("break {id} of stream {stream:?}"), e)))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DbError> {
    serde_json::to_vec(value).map_err(|e| DbError::Store(unavailable(format!("encoding: {e}"))))
}

/// Writes one break row and keeps the indexes in step with it.
pub(super) fn write_break(txn: &WriteTransaction, stream: &str, b: &Break) -> Result<(), DbError> {
    let bytes = encode(b)?;
    txn.open_table(BREAKS)?
        .insert((stream, b.id), bytes.as_slice())?;
    let mut live = txn.open_table(LIVE)?;
    match finished_at(b) {
        Some(at) if b.cancelled => {
            live.remove((stream, b.id))?;
            txn.open_table(ENDS)?
                .insert((stream, millis(at), b.id), ())?;
        }
        Some(end) => {
            live.insert((stream, b.id), ())?;
            txn.open_table(LIVE_ENDS)?
                .insert((stream, millis(end), b.id), ())?;
            txn.open_table(ENDS)?
                .insert((stream, millis(end), b.id), ())?;
        }
        None => {
            live.insert((stream, b.id), ())?;
        }
    }
    if let Some(request_id) = b.request_id.as_deref() {
        let mut requests = txn.open_table(REQUESTS)?;
        if requests.get((stream, request_id))?.is_none() {
            let made = millis(b.requested_start);
            requests.insert((stream, request_id), (b.id, made))?;
            txn.open_table(REQUEST_TIMES)?
                .insert((stream, made, request_id), ())?;
        }
    }
    Ok(())
}

impl BreakStore for RedbStore {
    fn health(&self) -> StoreHealth {
        self.status()
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.probe_failing()
    }

    fn load(&self, stream: &str) -> Result<Option<LoadedStream>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let streams = txn.open_table(STREAMS)?;
            let Some(row) = streams.get(stream)? else {
                return Ok(None);
            };
            let row = decode_row(stream, row.value())?;
            let live = txn.open_table(LIVE)?;
            let breaks_table = txn.open_table(BREAKS)?;
            let mut breaks = Vec::new();
            for entry in live
                .range((stream, 0)..=(stream, u64::MAX))
                .map_err(storage)?
            {
                let (key, ()) = entry.map(|(k, v)| (k, v.value())).map_err(storage)?;
                let id = key.value().1;
                if let Some(bytes) = breaks_table.get((stream, id)).map_err(storage)? {
                    breaks.push(decode_break(stream, id, bytes.value())?);
                }
            }
            Ok(Some(LoadedStream { row, breaks }))
        })
    }

    fn stream_keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let streams = txn.open_table(STREAMS)?;
            let mut keys = Vec::new();
            let range = match after {
                Some(after) => streams
                    .range::<&str>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
                None => streams.range::<&str>(..),
            }
            .map_err(storage)?;
            for entry in range.take(limit) {
                let (key, _) = entry.map_err(storage)?;
                keys.push(key.value().to_owned());
            }
            Ok(keys)
        })
    }

    fn commit(&self, stream: &str, commit: &Commit<'_>) -> Result<(), StoreError> {
        self.run(
            |db| {
                let txn = db.begin_write()?;
                {
                    let mut streams = txn.open_table(STREAMS)?;
                    let stored = match streams.get(stream)? {
                        Some(row) => decode_row(stream, row.value())?.revision,
                        None => 0,
                    };
                    if stored != commit.expected_revision {
                        return Err(DbError::Store(StoreError::Conflict {
                            stream: stream.to_owned(),
                            expected: commit.expected_revision,
                            stored,
                        }));
                    }
                    let row = encode(commit.row)?;
                    streams.insert(stream, row.as_slice())?;
                }
                for b in commit.breaks {
                    write_break(&txn, stream, b)?;
                }
                txn.commit()?;
                Ok(())
            },
            |()| true,
        )
    }

    fn get_break(&self, stream: &str, id: u64) -> Result<Option<Break>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let breaks = txn.open_table(BREAKS)?;
            match breaks.get((stream, id))? {
                Some(bytes) => Ok(Some(decode_break(stream, id, bytes.value())?)),
                None => Ok(None),
            }
        })
    }

    fn find_request(&self, stream: &str, request_id: &str) -> Result<Option<Break>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let requests = txn.open_table(REQUESTS)?;
            let Some(entry) = requests.get((stream, request_id))? else {
                return Ok(None);
            };
            let (id, _) = entry.value();
            let breaks = txn.open_table(BREAKS)?;
            match breaks.get((stream, id))? {
                Some(bytes) => Ok(Some(decode_break(stream, id, bytes.value())?)),
                None => Ok(None),
            }
        })
    }

    fn list_breaks(
        &self,
        stream: &str,
        query: BreakQuery,
        scan: usize,
        keep: &mut dyn FnMut(&Break) -> bool,
    ) -> Result<BreakPage, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let breaks = txn.open_table(BREAKS)?;
            let end = query.before_id.unwrap_or(u64::MAX);
            let range = breaks
                .range((stream, 0)..(stream, end))
                .map_err(storage)?
                .rev();
            let mut page = BreakPage::default();
            let mut last_id = None;
            for (examined, entry) in range.enumerate() {
                if page.breaks.len() >= query.limit || examined >= scan {
                    page.next_before_id = last_id;
                    break;
                }
                let (key, value) = entry.map_err(storage)?;
                let id = key.value().1;
                last_id = Some(id);
                let b = decode_break(stream, id, value.value())?;
                if keep(&b) {
                    page.breaks.push(b);
                }
            }
            Ok(page)
        })
    }

    fn prune(&self, stream: &str, prune: &Prune) -> Result<Pruned, StoreError> {
        self.run(
            |db| {
                let txn = db.begin_write()?;
                let mut pruned = Pruned::default();
                let mut budget = prune.max_rows;
                if let Some(before) = prune.live_before {
                    let mut live_ends = txn.open_table(LIVE_ENDS)?;
                    let keys = first_keys(&live_ends, stream, millis(before), budget + 1)?;
                    pruned.more |= keys.len() > budget;
                    let mut live = txn.open_table(LIVE)?;
                    for &(end, id) in keys.iter().take(budget) {
                        live_ends.remove((stream, end, id))?;
                        live.remove((stream, id))?;
                        pruned.left_live += 1;
                    }
                    budget -= keys.len().min(budget);
                }
                if let Some(before) = prune.history_before {
                    let mut ends = txn.open_table(ENDS)?;
                    let keys = first_keys(&ends, stream, millis(before), budget + 1)?;
                    pruned.more |= keys.len() > budget;
                    let mut breaks = txn.open_table(BREAKS)?;
                    let mut live = txn.open_table(LIVE)?;
                    let mut live_ends = txn.open_table(LIVE_ENDS)?;
                    for &(end, id) in keys.iter().take(budget) {
                        ends.remove((stream, end, id))?;
                        breaks.remove((stream, id))?;
                        live.remove((stream, id))?;
                        live_ends.remove((stream, end, id))?;
                        pruned.deleted_breaks += 1;
                    }
                    budget -= keys.len().min(budget);
                }
                if let Some(before) = prune.requests_before {
                    let mut times = txn.open_table(REQUEST_TIMES)?;
                    let mut keys: Vec<(i64, String)> = Vec::new();
                    for entry in times
                        .range((stream, i64::MIN, "")..(stream, millis(before), ""))
                        .map_err(storage)?
                        .take(budget + 1)
                    {
                        let (key, _) = entry.map_err(storage)?;
                        let (_, made, request_id) = key.value();
                        keys.push((made, request_id.to_owned()));
                    }
                    pruned.more |= keys.len() > budget;
                    let mut requests = txn.open_table(REQUESTS)?;
                    for (made, request_id) in keys.iter().take(budget) {
                        times.remove((stream, *made, request_id.as_str()))?;
                        requests.remove((stream, request_id.as_str()))?;
                        pruned.deleted_requests += 1;
                    }
                }
                txn.commit()?;
                Ok(pruned)
            },
            |pruned| pruned.left_live + pruned.deleted_breaks + pruned.deleted_requests > 0,
        )
    }
}

/// The first `limit` (end ms, id) keys of `stream` in an end-ordered index, ending before
/// `before_ms`.
fn first_keys(
    table: &impl ReadableTable<(&'static str, i64, u64), ()>,
    stream: &str,
    before_ms: i64,
    limit: usize,
) -> Result<Vec<(i64, u64)>, DbError> {
    let mut keys = Vec::new();
    for entry in table
        .range((stream, i64::MIN, 0)..(stream, before_ms, 0))
        .map_err(storage)?
        .take(limit)
    {
        let (key, _) = entry.map_err(storage)?;
        let (_, end, id) = key.value();
        keys.push((end, id));
    }
    Ok(keys)
}
