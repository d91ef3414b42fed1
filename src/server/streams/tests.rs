use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::hls::{BreakRequest, Decision, RewriteOptions};
use crate::server::store::RedbStore;
use crate::server::stream::RenderRequest;

fn temp_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hlsplice-streams-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn t0() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// A 3-segment media playlist whose first segment starts at `start`.
fn playlist(start: DateTime<Utc>, tag: &str) -> Bytes {
    let mut text = format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n# {tag}\n");
    for i in 0..3 {
        let at = start + Duration::seconds(2 * i);
        text.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:2.000,\nseg_{i}.ts\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ));
    }
    Bytes::from(text)
}

fn streams(dir: &std::path::Path, budget: usize, settings: StreamSettings) -> Streams {
    let store: Arc<dyn BreakStore> = Arc::new(RedbStore::open(dir).unwrap());
    Streams::new(store, Arc::new(RenderBudget::new(budget)), settings)
}

async fn render(streams: &Streams, key: &str, body: Bytes) -> bool {
    let stream = streams
        .find_or_create(key)
        .await
        .unwrap()
        .expect("admitted");
    let path = format!("/{key}/video.m3u8");
    let hit = stream
        .render(
            streams.store(),
            streams.budget(),
            &RenderRequest {
                path: &path,
                target: &path,
                upstream: &body,
                opts: &RewriteOptions::default(),
                primary_tried: false,
            },
        )
        .await
        .unwrap()
        .cache_hit();
    streams.enforce_budget();
    hit
}

/// Past the budget, the least recently used renderings of any stream go first, until three
/// quarters of the budget are left; the recent ones stay cached.
#[tokio::test]
async fn renderings_of_all_streams_share_one_budget() {
    let dir = temp_dir("budget");
    // Each rendering holds its upstream copy and its body, about 2 × 260 bytes.
    let streams = streams(&dir, 12_000, StreamSettings::default());
    let body = playlist(t0(), "x");
    for i in 0..40 {
        // A tick per rendering: each has its own "last used" epoch.
        streams.budget().tick();
        assert!(!render(&streams, &format!("live/s{i:02}"), body.clone()).await);
        assert!(
            streams.budget().used() <= 12_000,
            "over budget after {i}: {}",
            streams.budget().used()
        );
    }
    assert!(streams.budget().used() > 0);
    // The newest are still cached, the oldest were evicted.
    assert!(render(&streams, "live/s39", body.clone()).await);
    assert!(render(&streams, "live/s38", body.clone()).await);
    assert!(!render(&streams, "live/s00", body.clone()).await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Housekeeping lets go of ended breaks no window lists (after the hour kept for the policy),
/// drops them from the store's live set, deletes them after the retention, and lets idle
/// streams leave memory; the store brings a stream back as it was.
#[tokio::test]
async fn housekeeping_bounds_memory_and_the_store() {
    let dir = temp_dir("housekeeping");
    let settings = StreamSettings {
        history: Duration::days(2),
        idle_ticks: 25,
        ..StreamSettings::default()
    };
    let streams = streams(&dir, usize::MAX, settings);
    render(&streams, "live/a", playlist(t0(), "start")).await;
    let stream = streams.find("live/a").await.unwrap().unwrap();
    // Ten ended breaks, one every minute, and one scheduled a day ahead.
    let writer = stream.writer().await.unwrap();
    let mut draft = stream.draft();
    for i in 0..10 {
        let start = t0() + Duration::minutes(i);
        let id = draft
            .timeline
            .add_break(BreakRequest {
                event_id: None,
                start,
                planned_duration_ms: 10_000,
            })
            .unwrap()
            .id;
        assert!(draft.timeline.apply(&[Decision {
            break_id: id,
            start: Some(start),
            end: Some(start + Duration::seconds(10)),
        }]));
    }
    draft
        .timeline
        .add_break(BreakRequest {
            event_id: None,
            start: t0() + Duration::days(1),
            planned_duration_ms: 10_000,
        })
        .unwrap();
    stream
        .commit(streams.store(), writer, draft, |_| ())
        .await
        .unwrap();
    assert_eq!(stream.state().timeline.breaks().len(), 11);

    // 30 minutes on: out of the window, but within the hour kept.
    render(
        &streams,
        "live/a",
        playlist(t0() + Duration::minutes(30), "later"),
    )
    .await;
    streams.housekeeping(TICKS_PER_PASS).await;
    assert_eq!(stream.state().timeline.breaks().len(), 11);

    // Two hours on: the ten ended breaks leave memory and the store's live set.
    render(
        &streams,
        "live/a",
        playlist(t0() + Duration::hours(2), "later"),
    )
    .await;
    streams.housekeeping(2 * TICKS_PER_PASS).await;
    assert_eq!(
        stream.state().timeline.breaks().len(),
        1,
        "the scheduled one"
    );
    let loaded = streams.store().load("live/a").unwrap().unwrap();
    assert_eq!(loaded.breaks.len(), 1);
    assert!(streams.store().get_break("live/a", 1).unwrap().is_some());

    // Three days on: past the retention of two days, deleted.
    render(
        &streams,
        "live/a",
        playlist(t0() + Duration::days(3), "later"),
    )
    .await;
    streams.housekeeping(3 * TICKS_PER_PASS).await;
    assert!(streams.store().get_break("live/a", 1).unwrap().is_none());
    assert!(streams.store().get_break("live/a", 11).unwrap().is_some());

    // Idle: nobody asked for the stream for more than 25 ticks.
    for tick in 0..30 {
        streams.housekeeping(3 * TICKS_PER_PASS + 1 + tick).await;
    }
    streams.housekeeping(10 * TICKS_PER_PASS).await;
    assert!(
        streams.cached("live/a").is_none(),
        "idle stream left memory"
    );
    drop(stream);
    // By the three-day window even the break planned a day ahead is past (a start before the
    // window is taken as decided), so nothing is live; the counters carry on.
    let back = streams
        .find("live/a")
        .await
        .unwrap()
        .expect("from the store");
    assert!(back.state().timeline.breaks().is_empty());
    assert_eq!(back.state().timeline.meta().last_id, 11);
    assert!(
        streams
            .store()
            .get_break("live/a", 11)
            .unwrap()
            .unwrap()
            .decided_end
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An API change whose commit loses the compare-and-set is made again on what was reloaded:
/// a create answers Created (or, had the other writer made it, Repeated), an end answers
/// the break — never the conflict. Two copies of one stream stand for two replicas.
#[tokio::test]
async fn api_changes_after_a_conflict_are_made_again_on_the_stored_state() {
    use crate::hls::{BreakTarget, ScheduleRequest, Start};
    use crate::server::breaks::Creation;
    use crate::server::store::FailingStore;

    let dir = temp_dir("api-retry");
    let redb: Arc<dyn BreakStore> = Arc::new(RedbStore::open(&dir).unwrap());
    let failing = Arc::new(FailingStore::new(redb));
    // As a fleet's store: API calls compare revisions first.
    failing.shared.store(true, Ordering::SeqCst);
    let store: Arc<dyn BreakStore> = failing.clone();
    // Two servers on one store.
    let a = Streams::new(
        Arc::clone(&store),
        Arc::new(RenderBudget::new(usize::MAX)),
        StreamSettings::default(),
    );
    let b = Streams::new(
        Arc::clone(&store),
        Arc::new(RenderBudget::new(usize::MAX)),
        StreamSettings::default(),
    );
    render(&a, "live/a", playlist(t0(), "x")).await;
    render(&b, "live/a", playlist(t0(), "x")).await;
    let no_refresh = |_| async { Ok::<(), String>(()) };
    let request = |request_id: &str| ScheduleRequest {
        start: Start::Now,
        duration_ms: 4_000,
        event_id: None,
        request_id: Some(request_id.to_owned()),
        ads: None,
    };
    // Let the media path commits of both land (b's after a conflict with a's).
    for _ in 0..200 {
        if a.store()
            .load("live/a")
            .unwrap()
            .is_some_and(|l| l.row.revision >= 2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // A lost race that changed nothing visible: made again, created once.
    failing.conflict_next(1);
    let (creation, at) = a
        .create_break("live/a", request("one"), no_refresh)
        .await
        .unwrap();
    assert_eq!(creation, Creation::Created);
    assert_eq!(failing.conflicts.load(Ordering::SeqCst), 1);

    // b still holds the revision before it (no change notification here): it catches up
    // first and finds a's break.
    assert!(b.holding("live/a").unwrap().revision() < store.revision("live/a").unwrap());
    let (creation, again) = b
        .create_break("live/a", request("one"), no_refresh)
        .await
        .unwrap();
    assert_eq!((creation, again.b.id), (Creation::Repeated, at.b.id));
    assert_eq!(
        b.holding("live/a").unwrap().revision(),
        store.revision("live/a").unwrap()
    );
    // A different break at the same time overlaps the stored one: the rule's answer.
    let overlap = a.create_break("live/a", request("two"), no_refresh).await;
    assert!(
        matches!(overlap, Err(crate::server::breaks::BreakError::Rule(_))),
        "{overlap:?}"
    );
    // An end that loses the race is made again, and ends the break once.
    failing.conflict_next(1);
    let ended = b
        .end_break("live/a", BreakTarget::Id(at.b.id), no_refresh)
        .await
        .unwrap();
    assert_eq!(ended.b.id, at.b.id);
    assert!(ended.b.requested_end.is_some() || ended.b.cancelled);
    let stored = store.get_break("live/a", at.b.id).unwrap().unwrap();
    assert_eq!(stored.requested_end, ended.b.requested_end);
    assert_eq!(stored.cancelled, ended.b.cancelled);
    // Beyond the bound the conflict is answered.
    failing.conflict_next(crate::server::stream::CONFLICT_RETRIES + 1);
    let lost = a.create_break("live/a", request("three"), no_refresh).await;
    assert!(
        matches!(
            lost,
            Err(crate::server::breaks::BreakError::Store(
                StoreError::Conflict { .. }
            ))
        ),
        "{lost:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
