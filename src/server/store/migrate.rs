//! Migration of a data dir written by an earlier release.
//!
//! Schema 1 (hlsplice 0.1.0) kept one JSON record per stream in the `streams` table — the
//! whole timeline (every break ever made), the idempotency keys and the media playlist paths —
//! and a `revisions` table beside it. Schema 2 keeps one row per break. The migration runs in
//! the transaction that opens the file, so a data dir is either wholly migrated or untouched.
use std::collections::BTreeMap;

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::Deserialize;

use super::StreamRow;
use super::redb::{DbError, STREAMS, write_break};
use crate::hls::{Break, TimelineMeta};

const V1_REVISIONS: TableDefinition<&str, u64> = TableDefinition::new("revisions");

/// A schema-1 stream record.
#[derive(Deserialize)]
struct V1Record {
    timeline: V1Timeline,
    #[serde(default)]
    request_ids: BTreeMap<String, u64>,
    #[serde(default)]
    media_paths: Vec<String>,
}

#[derive(Deserialize)]
struct V1Timeline {
    breaks: Vec<Break>,
    #[serde(default)]
    next_id: u64,
}

/// What a migration moved.
pub(super) struct Migrated {
    pub streams: usize,
    pub breaks: usize,
}

/// Rewrites every schema-1 record as schema-2 rows. Revisions carry over, so they keep
/// growing.
pub(super) fn v1_to_v2(txn: &WriteTransaction) -> Result<Migrated, DbError> {
    let mut records = Vec::new();
    {
        let streams = txn.open_table(STREAMS)?;
        for entry in streams.iter()? {
            let (key, value) = entry?;
            let key = key.value().to_owned();
            let record: V1Record = serde_json::from_slice(value.value()).map_err(|e| {
                DbError::Store(super::StoreError::Corrupt(format!(
                    "schema-1 record of stream {key:?}: {e}"
                )))
            })?;
            records.push((key, record));
        }
    }
    let mut revisions = BTreeMap::new();
    if txn
        .list_tables()?
        .any(|t| redb::TableHandle::name(&t) == "revisions")
    {
        let table = txn.open_table(V1_REVISIONS)?;
        for entry in table.iter()? {
            let (key, value) = entry?;
            revisions.insert(key.value().to_owned(), value.value());
        }
    }
    let mut migrated = Migrated {
        streams: 0,
        breaks: 0,
    };
    for (key, record) in records {
        let by_break: BTreeMap<u64, String> = record
            .request_ids
            .into_iter()
            .map(|(request_id, id)| (id, request_id))
            .collect();
        let mut meta = TimelineMeta {
            last_id: record.timeline.next_id,
            max_event_id: None,
        };
        for mut b in record.timeline.breaks {
            meta.last_id = meta.last_id.max(b.id);
            meta.max_event_id = Some(
                meta.max_event_id
                    .map_or(b.splice_event_id, |m| m.max(b.splice_event_id)),
            );
            if b.request_id.is_none() {
                b.request_id = by_break.get(&b.id).cloned();
            }
            write_break(txn, &key, &b)?;
            migrated.breaks += 1;
        }
        let row = StreamRow {
            revision: revisions.get(&key).copied().unwrap_or(0).max(1),
            meta,
            media_paths: record.media_paths,
            ..StreamRow::default()
        };
        let bytes = serde_json::to_vec(&row).map_err(|e| {
            DbError::Store(super::StoreError::Unavailable(format!("encoding: {e}")))
        })?;
        txn.open_table(STREAMS)?
            .insert(key.as_str(), bytes.as_slice())?;
        migrated.streams += 1;
    }
    txn.delete_table(V1_REVISIONS)?;
    Ok(migrated)
}
