//! The store's tests. Those of the [`BreakStore`] contract run against every backend: the redb
//! file, and a real `redis-server` started for the test (see tests/redis_server).
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::redb::{META, SCHEMA_VERSION};
use super::*;
use crate::hls::{BreakRequest, Decision, Timeline};

#[path = "../../../tests/redis_server/mod.rs"]
pub(crate) mod redis_server;

use redis_server::{Persistence, RedisServer};

/// One store to run a contract test against.
struct Backend {
    name: &'static str,
    store: Arc<dyn BreakStore>,
    close: Box<dyn Fn()>,
    dir: Option<PathBuf>,
    _redis: Option<RedisServer>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh redb store and a fresh Redis store (each on its own server).
fn backends(name: &str) -> Vec<Backend> {
    let dir = temp_dir(name);
    let redb = Arc::new(RedbStore::open(&dir).unwrap());
    let closing = Arc::clone(&redb);
    let mut all = vec![Backend {
        name: "redb",
        store: redb,
        close: Box::new(move || closing.close()),
        dir: Some(dir),
        _redis: None,
    }];
    if let Some(server) = RedisServer::start(Persistence::None) {
        let redis = Arc::new(RedisStore::open(&server.url()).unwrap());
        let closing = Arc::clone(&redis);
        all.push(Backend {
            name: "redis",
            store: redis,
            close: Box::new(move || closing.close()),
            dir: None,
            _redis: Some(server),
        });
    }
    all
}

fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hlsplice-store-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Commits what changed in `tl` on top of `row`.
fn commit(store: &dyn BreakStore, stream: &str, row: &mut StreamRow, tl: &mut Timeline) {
    let changes = tl.take_changes();
    let new = StreamRow {
        revision: row.revision + 1,
        meta: changes.meta,
        media_paths: row.media_paths.clone(),
        ..row.clone()
    };
    store
        .commit(
            stream,
            &Commit {
                expected_revision: row.revision,
                row: &new,
                breaks: &changes.breaks,
                decides_from: None,
            },
        )
        .unwrap();
    *row = new;
}

fn add(tl: &mut Timeline, start: &str, request_id: Option<&str>) -> u64 {
    tl.add_keyed_break(
        BreakRequest {
            event_id: None,
            start: t(start),
            planned_duration_ms: 10_000,
        },
        request_id.map(str::to_owned),
    )
    .unwrap()
    .id
}

fn decide(tl: &mut Timeline, id: u64, start: &str, end: Option<&str>) {
    let changed = tl.apply(&[Decision {
        break_id: id,
        start: Some(t(start)),
        end: end.map(t),
    }]);
    assert!(changed);
}

#[test]
fn commits_load_back_as_the_live_set() {
    for backend in backends("roundtrip") {
        commits_load_back_as_the_live_set_in(&backend);
    }
}

fn commits_load_back_as_the_live_set_in(backend: &Backend) {
    let store = &*backend.store;
    assert_eq!(store.load("live/a").unwrap(), None);
    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    let a = add(&mut tl, "2026-11-21T08:00:00Z", Some("k-a"));
    let b = add(&mut tl, "2026-11-21T09:00:00Z", None);
    let c = add(&mut tl, "2026-11-21T10:00:00Z", None);
    commit(store, "live/a", &mut row, &mut tl);
    decide(
        &mut tl,
        a,
        "2026-11-21T08:00:00Z",
        Some("2026-11-21T08:00:10Z"),
    );
    tl.cancel_break(c).unwrap();
    commit(store, "live/a", &mut row, &mut tl);
    assert_eq!(row.revision, 2);
    assert_eq!(store.revision("live/a").unwrap(), 2, "{}", backend.name);
    assert_eq!(store.revision("live/b").unwrap(), 0, "{}", backend.name);

    let loaded = store.load("live/a").unwrap().unwrap();
    assert_eq!(loaded.row, row);
    let mut ids: Vec<u64> = loaded.breaks.iter().map(|b| b.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [a, b],
        "{}: the cancelled break is not live",
        backend.name
    );
    let restored = Timeline::restore(loaded.row.meta, loaded.breaks);
    assert_eq!(restored.breaks(), tl.breaks());
    // History keeps the cancelled one, readable by id.
    assert!(store.get_break("live/a", c).unwrap().unwrap().cancelled);
    assert_eq!(
        store.find_request("live/a", "k-a").unwrap().map(|b| b.id),
        Some(a)
    );
    assert_eq!(store.find_request("live/a", "k-b").unwrap(), None);
    assert_eq!(store.find_request("live/b", "k-a").unwrap(), None);
    assert_eq!(store.stream_keys(None, 10).unwrap(), ["live/a"]);
    // Listing goes on after a key, in byte order.
    let mut other = StreamRow::default();
    let mut tl_b = Timeline::new();
    add(&mut tl_b, "2026-11-21T08:00:00Z", None);
    commit(store, "live/b", &mut other, &mut tl_b);
    commit(
        store,
        "a/first",
        &mut StreamRow::default(),
        &mut Timeline::new(),
    );
    assert_eq!(
        store.stream_keys(None, 10).unwrap(),
        ["a/first", "live/a", "live/b"],
        "{}",
        backend.name
    );
    assert_eq!(
        store.stream_keys(Some("a/first"), 1).unwrap(),
        ["live/a"],
        "{}",
        backend.name
    );
    assert!(store.stream_keys(Some("live/b"), 10).unwrap().is_empty());
    (backend.close)();
    assert!(
        matches!(store.load("live/a"), Err(StoreError::Unavailable(_))),
        "{}",
        backend.name
    );
}

/// A commit made from a revision that is no longer the stored one changes nothing.
#[test]
fn a_commit_from_a_stale_revision_is_refused() {
    for backend in backends("cas") {
        a_commit_from_a_stale_revision_is_refused_in(&*backend.store);
    }
}

fn a_commit_from_a_stale_revision_is_refused_in(store: &dyn BreakStore) {
    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    add(&mut tl, "2026-11-21T08:00:00Z", None);
    commit(store, "live/a", &mut row, &mut tl);

    // A second writer that started from "not stored yet" (a stream recreated in memory).
    let mut other = Timeline::new();
    add(&mut other, "2026-11-21T12:00:00Z", None);
    let changes = other.take_changes();
    let stale = StreamRow {
        revision: 1,
        meta: changes.meta,
        media_paths: Vec::new(),
        ..StreamRow::default()
    };
    let refused = store.commit(
        "live/a",
        &Commit {
            expected_revision: 0,
            row: &stale,
            breaks: &changes.breaks,
            decides_from: None,
        },
    );
    assert_eq!(
        refused,
        Err(StoreError::Conflict {
            stream: "live/a".to_owned(),
            expected: 0,
            stored: 1
        })
    );
    let loaded = store.load("live/a").unwrap().unwrap();
    assert_eq!(loaded.row.revision, 1);
    assert_eq!(loaded.breaks.len(), 1);
    assert_eq!(loaded.breaks[0].requested_start, t("2026-11-21T08:00:00Z"));
    // A stale revision that is not 0 is refused the same way.
    let again = StreamRow {
        revision: 3,
        ..loaded.row.clone()
    };
    assert_eq!(
        store.commit(
            "live/a",
            &Commit {
                expected_revision: 2,
                row: &again,
                breaks: &[],
                decides_from: None,
            },
        ),
        Err(StoreError::Conflict {
            stream: "live/a".to_owned(),
            expected: 2,
            stored: 1
        })
    );
}

#[test]
fn pages_are_newest_first_with_a_cursor_and_a_scan_bound() {
    for backend in backends("pages") {
        pages_are_newest_first_with_a_cursor_and_a_scan_bound_in(&*backend.store);
    }
}

fn pages_are_newest_first_with_a_cursor_and_a_scan_bound_in(store: &dyn BreakStore) {
    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    let base = t("2026-11-21T08:00:00Z");
    for i in 0..25 {
        add(&mut tl, &(base + Duration::minutes(i)).to_rfc3339(), None);
    }
    commit(store, "live/a", &mut row, &mut tl);
    let mut keep_all = |_: &crate::hls::Break| true;
    let first = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: None,
                limit: 10,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    let ids: Vec<u64> = first.breaks.iter().map(|b| b.id).collect();
    assert_eq!(ids, (16..=25).rev().collect::<Vec<_>>());
    assert_eq!(first.next_before_id, Some(16));
    let last = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: Some(6),
                limit: 10,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    let ids: Vec<u64> = last.breaks.iter().map(|b| b.id).collect();
    assert_eq!(ids, [5, 4, 3, 2, 1]);
    assert_eq!(last.next_before_id, None, "nothing after the last");
    // A filter that keeps few rows stops at the scan bound and says where to go on.
    let mut even = |b: &crate::hls::Break| b.id.is_multiple_of(2);
    let filtered = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: None,
                limit: 10,
            },
            6,
            &mut even,
        )
        .unwrap();
    let ids: Vec<u64> = filtered.breaks.iter().map(|b| b.id).collect();
    assert_eq!(ids, [24, 22, 20]);
    assert_eq!(filtered.next_before_id, Some(20));
    // A page that ends exactly with the history has no cursor; one cut short has.
    let exact = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: Some(11),
                limit: 10,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    assert_eq!(exact.breaks.len(), 10);
    assert_eq!(exact.next_before_id, None);
    let short = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: Some(12),
                limit: 10,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    assert_eq!(short.next_before_id, Some(2));
    // Every page of a long filtered walk, joined, is the filtered history.
    let mut odd = |b: &crate::hls::Break| !b.id.is_multiple_of(2);
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_breaks(
                "live/a",
                BreakQuery {
                    before_id: cursor,
                    limit: 3,
                },
                4,
                &mut odd,
            )
            .unwrap();
        walked.extend(page.breaks.iter().map(|b| b.id));
        match page.next_before_id {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        walked,
        (1..=25).rev().filter(|id| id % 2 == 1).collect::<Vec<_>>()
    );
    let none = store
        .list_breaks(
            "live/b",
            BreakQuery {
                before_id: None,
                limit: 10,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    assert_eq!(none, BreakPage::default());
}

/// Ended breaks leave the live set, then the history, oldest first, a bounded number of rows
/// per call; idempotency keys expire by age.
#[test]
fn prune_moves_breaks_out_of_the_live_set_then_deletes_them() {
    for backend in backends("prune") {
        prune_moves_breaks_out_of_the_live_set_then_deletes_them_in(&*backend.store);
    }
}

fn prune_moves_breaks_out_of_the_live_set_then_deletes_them_in(store: &dyn BreakStore) {
    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    let base = t("2026-11-21T08:00:00Z");
    let mut ids = Vec::new();
    for i in 0..10 {
        let start = base + Duration::hours(i);
        let id = add(&mut tl, &start.to_rfc3339(), Some(&format!("k{i}")));
        ids.push(id);
        if i < 8 {
            decide(
                &mut tl,
                id,
                &start.to_rfc3339(),
                Some(&(start + Duration::seconds(10)).to_rfc3339()),
            );
        }
    }
    commit(store, "live/a", &mut row, &mut tl);
    assert_eq!(store.load("live/a").unwrap().unwrap().breaks.len(), 10);

    // Out of every window: the first five ended before 12:30.
    let cut = base + Duration::minutes(4 * 60 + 30);
    let pruned = store
        .prune(
            "live/a",
            &Prune {
                live_before: Some(cut),
                max_rows: 3,
                ..Prune::default()
            },
        )
        .unwrap();
    assert_eq!((pruned.left_live, pruned.more), (3, true));
    let pruned = store
        .prune(
            "live/a",
            &Prune {
                live_before: Some(cut),
                max_rows: 100,
                ..Prune::default()
            },
        )
        .unwrap();
    assert_eq!((pruned.left_live, pruned.more), (2, false));
    let live: Vec<u64> = {
        let mut v: Vec<u64> = store
            .load("live/a")
            .unwrap()
            .unwrap()
            .breaks
            .iter()
            .map(|b| b.id)
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(live, ids[5..]);
    assert!(
        store.get_break("live/a", ids[0]).unwrap().is_some(),
        "still history"
    );

    // Retention: the first three are deleted, keys made before 10:30 expire.
    let pruned = store
        .prune(
            "live/a",
            &Prune {
                history_before: Some(base + Duration::minutes(2 * 60 + 30)),
                requests_before: Some(base + Duration::minutes(150)),
                max_rows: 100,
                ..Prune::default()
            },
        )
        .unwrap();
    assert_eq!(pruned.deleted_breaks, 3);
    assert_eq!(pruned.deleted_requests, 3);
    assert!(store.get_break("live/a", ids[2]).unwrap().is_none());
    assert!(store.get_break("live/a", ids[3]).unwrap().is_some());
    assert_eq!(store.find_request("live/a", "k2").unwrap(), None);
    assert_eq!(
        store.find_request("live/a", "k3").unwrap().map(|b| b.id),
        Some(ids[3])
    );
    // Deleted breaks leave the pages too; nothing is left to prune before the same cut.
    let mut keep_all = |_: &crate::hls::Break| true;
    let page = store
        .list_breaks(
            "live/a",
            BreakQuery {
                before_id: None,
                limit: 100,
            },
            1000,
            &mut keep_all,
        )
        .unwrap();
    assert_eq!(page.breaks.len(), 7);
    let again = store
        .prune(
            "live/a",
            &Prune {
                history_before: Some(base + Duration::minutes(2 * 60 + 30)),
                requests_before: Some(base + Duration::minutes(150)),
                max_rows: 100,
                ..Prune::default()
            },
        )
        .unwrap();
    assert_eq!(again, Pruned::default());
}

/// A data dir written by hlsplice 0.1.0 (schema 1: one JSON record per stream), made by that
/// release's `hlsplice demo` (see testdata/store/v1/README.md), opens and is migrated.
#[test]
fn a_schema_1_data_dir_is_migrated() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/store/v1");
    let dir = temp_dir("migrate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture.join(FILE_NAME), dir.join(FILE_NAME)).unwrap();

    for round in 0..2 {
        let store = RedbStore::open(&dir).unwrap();
        let mut keys = store.stream_keys(None, 10).unwrap();
        keys.sort();
        assert_eq!(keys, ["live/demo", "ll/demo"], "round {round}");

        let live = store.load("live/demo").unwrap().unwrap();
        assert!(live.row.revision >= 1);
        assert_eq!(live.row.meta.last_id, 4);
        assert_eq!(live.row.meta.max_event_id, Some(2026));
        let mut paths = live.row.media_paths.clone();
        paths.sort();
        assert_eq!(paths, ["/live/demo/audio.m3u8", "/live/demo/video.m3u8"]);
        let mut live_ids: Vec<u64> = live.breaks.iter().map(|b| b.id).collect();
        live_ids.sort_unstable();
        assert_eq!(live_ids, [1, 2, 4], "the cancelled break 3 is history only");
        let cancelled = store.get_break("live/demo", 3).unwrap().unwrap();
        assert!(cancelled.cancelled);
        assert_eq!(cancelled.daterange_id, "splice-7");
        let ended_early = store.get_break("live/demo", 2).unwrap().unwrap();
        assert_eq!(ended_early.splice_event_id, 2025);
        assert!(ended_early.requested_end.is_some() && ended_early.decided_end.is_some());
        for (request_id, id) in [("v1-first", 1), ("v1-second", 2), ("v1-third", 4)] {
            let found = store
                .find_request("live/demo", request_id)
                .unwrap()
                .unwrap();
            assert_eq!(found.id, id, "{request_id}");
            assert_eq!(found.request_id.as_deref(), Some(request_id));
        }
        let ll = store.load("ll/demo").unwrap().unwrap();
        assert_eq!(ll.breaks.len(), 1);
        assert!(ll.breaks[0].decided_end.is_some());

        // Going on from the migrated state: ids and DATERANGE IDs continue.
        let mut tl = Timeline::restore(live.row.meta, live.breaks);
        let next = tl
            .add_break(BreakRequest {
                event_id: None,
                start: t("2030-01-01T00:00:00Z"),
                planned_duration_ms: 1000,
            })
            .unwrap();
        assert_eq!((next.id, next.daterange_id.as_str()), (5, "splice-2027"));
        store.close();
    }
    let db = ::redb::Database::open(dir.join(FILE_NAME)).unwrap();
    let txn = ::redb::ReadableDatabase::begin_read(&db).unwrap();
    let meta = txn.open_table(META).unwrap();
    assert_eq!(
        meta.get("schema_version").unwrap().map(|v| v.value()),
        Some(SCHEMA_VERSION)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file from a newer release is refused with a clear error, not misread.
#[test]
fn a_newer_schema_is_refused() {
    let dir = temp_dir("newer");
    RedbStore::open(&dir).unwrap().close();
    {
        let db = ::redb::Database::open(dir.join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let err = RedbStore::open(&dir).unwrap_err();
    assert!(err.to_string().contains("newer hlsplice"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every key of a stream carries its hash tag (one Redis Cluster slot per stream); the only
/// other key is the stream index. A commit publishes its change on the database's channel.
#[test]
fn redis_keys_are_hash_tagged_and_commits_are_published() {
    let Some(server) = RedisServer::start(Persistence::None) else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    assert_eq!(store.channel(), "hlsplice:changes:0");
    let mut listener = server.connection().unwrap();
    listener
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut pubsub = listener.as_pubsub();
    pubsub.subscribe(store.channel()).unwrap();

    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    let id = add(&mut tl, "2026-11-21T08:00:00Z", Some("k"));
    decide(
        &mut tl,
        id,
        "2026-11-21T08:00:00Z",
        Some("2026-11-21T08:00:10Z"),
    );
    add(&mut tl, "2026-11-21T09:00:00Z", None);
    commit(&store, "live/{x}a", &mut row, &mut tl);
    let message = pubsub.get_message().unwrap();
    let payload: String = message.get_payload().unwrap();
    assert_eq!(
        Change::parse(&payload),
        Some(Change {
            stream: "live/{x}a".to_owned(),
            revision: 1
        })
    );
    drop(pubsub);

    let mut con = server.connection().unwrap();
    let mut keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.sort();
    let tagged: Vec<String> = [
        "breaks",
        "ends",
        "ids",
        "live",
        "live_ends",
        "request_times",
        "requests",
        "row",
    ]
    .iter()
    .map(|name| format!("hlsplice:{{live/{{x}}a}}:{name}"))
    .collect();
    let mut expected = tagged;
    expected.push("hlsplice:streams".to_owned());
    expected.sort();
    assert_eq!(keys, expected);
    // A refused commit publishes nothing and writes nothing.
    let stale = StreamRow {
        revision: 1,
        ..StreamRow::default()
    };
    assert!(matches!(
        store.commit(
            "live/{x}a",
            &Commit {
                expected_revision: 0,
                row: &stale,
                breaks: &[],
                decides_from: None,
            }
        ),
        Err(StoreError::Conflict { stored: 1, .. })
    ));
    assert_eq!(store.load("live/{x}a").unwrap().unwrap().row, row);
    assert_eq!(Change::parse("x live/a"), None);
    assert_eq!(Change::parse("12"), None);
    assert_eq!(
        Change::parse("12 live/a b"),
        Some(Change {
            stream: "live/a b".to_owned(),
            revision: 12
        })
    );
}

/// Redis going away fails operations at once as `Unreachable` (health says since when), and
/// the store reconnects by itself once Redis is back, within the reconnect backoff.
#[test]
fn redis_unreachable_then_back_recovers_by_itself() {
    let Some(mut server) = RedisServer::start(Persistence::None) else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    let mut row = StreamRow::default();
    let mut tl = Timeline::new();
    add(&mut tl, "2026-11-21T08:00:00Z", None);
    commit(&store, "live/a", &mut row, &mut tl);
    assert_eq!(store.health(), StoreHealth::Ok);

    server.kill();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let failed = store.load("live/a");
        assert!(
            matches!(failed, Err(StoreError::Unreachable(_))),
            "{failed:?}"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "failing fast, not waiting for timeouts"
    );
    let StoreHealth::Failing { why, .. } = store.health() else {
        panic!("{:?}", store.health());
    };
    assert!(why.contains("127.0.0.1"), "{why}");
    let refused = store.commit(
        "live/a",
        &Commit {
            expected_revision: 1,
            row: &StreamRow {
                revision: 2,
                ..row.clone()
            },
            breaks: &[],
            decides_from: None,
        },
    );
    assert!(
        matches!(refused, Err(StoreError::Unreachable(_))),
        "{refused:?}"
    );

    server.restart();
    let back = std::time::Instant::now();
    loop {
        match store.load("live/a") {
            Ok(loaded) => {
                // Nothing persisted (no AOF here): the restarted server is empty.
                assert_eq!(loaded, None);
                break;
            }
            Err(StoreError::Unreachable(_)) => {
                assert!(
                    back.elapsed() < super::redis::RECONNECT_BACKOFF_MAX * 3,
                    "not reconnected within the backoff"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(store.health(), StoreHealth::Ok);
}

#[test]
fn a_redis_url_that_cannot_be_read_is_refused() {
    let err = RedisStore::open("http://127.0.0.1:6379").unwrap_err();
    assert!(err.to_string().contains("invalid Redis URL"), "{err}");
    let store = RedisStore::open("redis://:secret@127.0.0.1:1/3").unwrap();
    assert_eq!(store.channel(), "hlsplice:changes:3");
    assert!(!store.address().contains("secret"), "{}", store.address());
    assert!(format!("{store:?}").contains("127.0.0.1:1/3"));
}

/// What the fleet published: a shared store keeps the newest start reported and refuses a
/// commit deciding at or before it; a single server's store keeps nothing (it knows what it
/// published itself) and never refuses.
#[test]
fn a_decision_at_or_before_what_the_fleet_published_is_refused() {
    for backend in backends("published") {
        let store = &*backend.store;
        let at = |s: &str| t(s).timestamp_micros();
        let first = store
            .report_published("live/a", at("2026-01-01T00:00:10Z"))
            .unwrap();
        let older = store
            .report_published("live/a", at("2026-01-01T00:00:08Z"))
            .unwrap();
        let mut tl = Timeline::new();
        let id = add(&mut tl, "2026-01-01T00:00:10Z", None);
        let mut row = StreamRow::default();
        commit(store, "live/a", &mut row, &mut tl);
        let after_commit = store
            .report_published("live/a", at("2026-01-01T00:00:09Z"))
            .unwrap();
        let decide = |tl: &mut Timeline, row: &StreamRow, start: &str| {
            assert!(tl.apply(&[Decision {
                break_id: id,
                start: Some(t(start)),
                end: None,
            }]));
            let changes = tl.take_changes();
            let new = StreamRow {
                revision: row.revision + 1,
                meta: changes.meta,
                ..row.clone()
            };
            let result = store.commit(
                "live/a",
                &Commit {
                    expected_revision: row.revision,
                    row: &new,
                    breaks: &changes.breaks,
                    decides_from: Some(at(start)),
                },
            );
            (result, new)
        };
        let mut on_published = tl.clone();
        let (refused, _) = decide(&mut on_published, &row, "2026-01-01T00:00:10Z");
        let mut after = tl.clone();
        let (accepted, _) = decide(&mut after, &row, "2026-01-01T00:00:12Z");
        if store.shared() {
            assert_eq!(first.until, at("2026-01-01T00:00:10Z"), "{}", backend.name);
            assert_eq!(older.until, first.until, "an older report moves nothing");
            assert_eq!(first.revision, 0);
            assert_eq!(after_commit.revision, 1, "the stored revision comes back");
            assert!(
                matches!(refused, Err(StoreError::Published { until, .. }) if until == first.until),
                "{refused:?}"
            );
            accepted.unwrap();
        } else {
            assert_eq!(older.until, at("2026-01-01T00:00:08Z"), "{}", backend.name);
            refused.unwrap();
            assert!(
                matches!(accepted, Err(StoreError::Conflict { .. })),
                "the first decision landed: {accepted:?}"
            );
        }
        (backend.close)();
    }
}
