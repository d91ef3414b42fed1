//! The cost of committing one API event (a new break, with its idempotency key) to the redb
//! break store, on a stream with 100,000 breaks of history beside a new stream, in the same
//! run: a commit writes one stream row and the rows of what changed, so it must not grow with
//! the history.
//!
//! Both stores live in a temporary directory on the same file system, and every commit is
//! durable (fsync) as the proxy's are. Setting up the history writes 100,000 break rows in
//! batches of 1,000 first (about a minute).
//!
//! `cargo bench --bench store -- --warm-up-time 2 --measurement-time 10`

use std::hint::black_box;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use hlsplice::hls::{BreakRequest, Decision, Timeline};
use hlsplice::server::store::{BreakStore, Commit, RedbStore, StreamRow};

const HISTORY: u32 = 100_000;

fn t0() -> DateTime<Utc> {
    "2026-11-21T08:00:00Z".parse().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hlsplice-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A stream as the proxy keeps it: its timeline in memory and its row as stored.
struct Stream {
    key: &'static str,
    timeline: Timeline,
    row: StreamRow,
}

impl Stream {
    fn new(key: &'static str) -> Self {
        Stream {
            key,
            timeline: Timeline::new(),
            row: StreamRow::default(),
        }
    }

    /// Commits what changed in the timeline, as `Stream::commit` in the server does.
    fn commit(&mut self, store: &RedbStore) {
        let changes = self.timeline.take_changes();
        let row = StreamRow {
            revision: self.row.revision + 1,
            meta: changes.meta,
            ..self.row.clone()
        };
        store
            .commit(
                self.key,
                &Commit {
                    expected_revision: self.row.revision,
                    row: &row,
                    breaks: &changes.breaks,
                    decides_from: None,
                },
            )
            .unwrap();
        self.row = row;
    }

    /// Lets go of the breaks in memory (as if they had ended and left every window), so both
    /// streams hold the same nothing between events.
    fn forget_live(&mut self) {
        self.timeline = Timeline::restore(self.timeline.meta(), []);
    }

    /// One API event: a break at `start`, with an idempotency key.
    fn add(&mut self, start: DateTime<Utc>, n: u64) {
        self.timeline
            .add_keyed_break(
                BreakRequest {
                    event_id: None,
                    start,
                    planned_duration_ms: 30_000,
                },
                Some(format!("request-{n}")),
            )
            .unwrap();
    }
}

/// A stream whose history holds `HISTORY` ended breaks, one every 20 minutes, committed and
/// pruned from the live set as the proxy's housekeeping does.
fn aged(store: &RedbStore) -> Stream {
    let mut stream = Stream::new("live/aged");
    for i in 0..HISTORY {
        let start = t0() + Duration::minutes(20 * i64::from(i));
        stream.add(start, u64::from(i));
        let id = stream.timeline.meta().last_id;
        assert!(stream.timeline.apply(&[Decision {
            break_id: id,
            start: Some(start),
            end: Some(start + Duration::seconds(30)),
        }]));
        if i % 1000 == 999 {
            stream.commit(store);
            let horizon = start + Duration::seconds(31);
            stream.timeline.prune(horizon);
            store
                .prune(
                    stream.key,
                    &hlsplice::server::store::Prune {
                        live_before: Some(horizon),
                        max_rows: 2000,
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }
    stream.commit(store);
    stream
}

fn bench(c: &mut Criterion) {
    let dir = temp_dir("store");
    let store = RedbStore::open(&dir).unwrap();
    let mut aged = aged(&store);
    let mut fresh = Stream::new("live/fresh");
    let mut page_scan = |_: &hlsplice::hls::Break| true;
    let page = store
        .list_breaks(
            aged.key,
            hlsplice::server::store::BreakQuery {
                before_id: None,
                limit: 1,
            },
            1,
            &mut page_scan,
        )
        .unwrap();
    assert_eq!(
        page.breaks[0].id,
        u64::from(HISTORY),
        "the history is stored"
    );
    assert!(aged.timeline.breaks().is_empty(), "nothing live");

    let mut group = c.benchmark_group("commit_api_event");
    let mut n = 10_000_000u64;
    // Each event is a break 20 minutes after the previous one, far past the history.
    let mut next_aged = t0() + Duration::days(4000);
    let mut next_fresh = next_aged;
    group.bench_function("new_stream", |b| {
        b.iter(|| {
            n += 1;
            next_fresh += Duration::minutes(20);
            fresh.add(next_fresh, n);
            fresh.commit(&store);
            fresh.forget_live();
            black_box(&fresh.row);
        })
    });
    group.bench_function("stream_with_100k_breaks_of_history", |b| {
        b.iter(|| {
            n += 1;
            next_aged += Duration::minutes(20);
            aged.add(next_aged, n);
            aged.commit(&store);
            aged.forget_live();
            black_box(&aged.row);
        })
    });
    group.finish();
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
