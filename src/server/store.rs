//! The durable break store: one redb file in the data directory.
//!
//! One row per stream, holding the whole stream record (timeline, idempotency keys, media
//! playlist paths) as JSON, plus a revision column. Writers race only in the order their
//! transactions commit, so a write carrying an older revision than the stored one is
//! skipped: the stored row already contains everything the older snapshot had.
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const REVISIONS: TableDefinition<&str, u64> = TableDefinition::new("revisions");

/// File name inside the data directory.
pub const FILE_NAME: &str = "hlsplice.redb";

/// Where stream records are committed: the redb [`Store`] in production. A trait so tests can
/// put a store in front of it whose commits fail on demand, without a test branch in this file.
pub trait RecordStore: Send + Sync + 'static {
    /// Writes a stream record and commits durably, unless a newer revision is already stored.
    /// Blocking: call from `spawn_blocking`. On `Err` nothing of this record is stored.
    ///
    /// # Errors
    /// When the store is closed or the transaction fails.
    fn save(&self, key: &str, revision: u64, record: &[u8]) -> Result<(), String>;
}

impl RecordStore for Store {
    fn save(&self, key: &str, revision: u64, record: &[u8]) -> Result<(), String> {
        Store::save(self, key, revision, record)
    }
}

/// One stored row.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredStream {
    pub key: String,
    pub revision: u64,
    pub record: Vec<u8>,
}

pub struct Store {
    path: PathBuf,
    db: Mutex<Option<Database>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and returns every stored row
    /// as `(stream key, revision, record bytes)`.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened or read.
    pub fn open(dir: &Path) -> Result<(Store, Vec<StoredStream>), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating data dir {}: {e}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        let setup = db.begin_write().map_err(|e| e.to_string())?;
        {
            setup.open_table(RECORDS).map_err(|e| e.to_string())?;
            setup.open_table(REVISIONS).map_err(|e| e.to_string())?;
        }
        setup.commit().map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        {
            let read = db.begin_read().map_err(|e| e.to_string())?;
            let records = read.open_table(RECORDS).map_err(|e| e.to_string())?;
            let revisions = read.open_table(REVISIONS).map_err(|e| e.to_string())?;
            for entry in records.iter().map_err(|e| e.to_string())? {
                let (key, value) = entry.map_err(|e| e.to_string())?;
                let revision = revisions
                    .get(key.value())
                    .map_err(|e| e.to_string())?
                    .map_or(0, |r| r.value());
                rows.push(StoredStream {
                    key: key.value().to_owned(),
                    revision,
                    record: value.value().to_vec(),
                });
            }
        }
        Ok((
            Store {
                path,
                db: Mutex::new(Some(db)),
            },
            rows,
        ))
    }

    /// Writes a stream record and commits durably, unless a newer revision is already stored.
    /// Blocking: call from `spawn_blocking`.
    ///
    /// # Errors
    /// When the store is closed or the transaction fails.
    pub fn save(&self, key: &str, revision: u64, record: &[u8]) -> Result<(), String> {
        let guard = match self.db.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let db = guard.as_ref().ok_or("store is closed")?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut revisions = txn.open_table(REVISIONS).map_err(|e| e.to_string())?;
            let stored = revisions
                .get(key)
                .map_err(|e| e.to_string())?
                .map(|r| r.value());
            if stored.is_some_and(|stored| stored >= revision) {
                return Ok(());
            }
            revisions.insert(key, revision).map_err(|e| e.to_string())?;
            let mut records = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
            records.insert(key, record).map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())
    }

    /// Closes the database file so another server can open the same directory.
    pub fn close(&self) {
        let mut guard = match self.db.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.take();
    }
}

/// A [`RecordStore`] in front of a real one whose next commits fail on demand, for the tests
/// of what a failed commit leaves behind.
#[cfg(test)]
pub(crate) struct FailingStore {
    inner: std::sync::Arc<dyn RecordStore>,
    fail_next: std::sync::atomic::AtomicU32,
    pub saves: std::sync::atomic::AtomicU32,
}

#[cfg(test)]
impl FailingStore {
    pub fn new(inner: std::sync::Arc<dyn RecordStore>) -> Self {
        FailingStore {
            inner,
            fail_next: std::sync::atomic::AtomicU32::new(0),
            saves: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Makes the next `n` commits fail (without touching the real store).
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
impl RecordStore for FailingStore {
    fn save(&self, key: &str, revision: u64, record: &[u8]) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err("injected commit failure".to_owned());
        }
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, revision, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_newer_revisions_only_and_reloads() {
        let dir = std::env::temp_dir().join(format!("hlsplice-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let (store, rows) = Store::open(&dir).unwrap();
            assert!(rows.is_empty());
            store.save("live/a", 2, b"two").unwrap();
            store.save("live/a", 1, b"one").unwrap();
            store.save("live/b", 1, b"b1").unwrap();
            store.close();
            assert!(store.save("live/a", 3, b"three").is_err());
        }
        let (_store, mut rows) = Store::open(&dir).unwrap();
        rows.sort();
        let rows: Vec<_> = rows
            .into_iter()
            .map(|r| (r.key, r.revision, r.record))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("live/a".to_owned(), 2, b"two".to_vec()),
                ("live/b".to_owned(), 1, b"b1".to_vec())
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
