use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::*;
use crate::hls::{BreakRequest, Decision};
use crate::server::store::{FailingStore, RedbStore};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hlsplice-stream-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn media_playlist(first_msn: u64) -> Bytes {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{first_msn}\n"
    );
    for msn in first_msn..first_msn + 3 {
        text.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:{msn:02}.000Z\n#EXTINF:1.0,\nseg_{msn}.ts\n"
        ));
    }
    Bytes::from(text)
}

/// The body a render answered with.
fn served_text(outcome: &RenderOutcome) -> String {
    match outcome {
        RenderOutcome::Ready(r) => String::from_utf8_lossy(&r.rendered.plain.bytes).into_owned(),
        RenderOutcome::NeedsPrimary => panic!("not served: needs the primary"),
    }
}

struct Fixture {
    dir: std::path::PathBuf,
    redb: Arc<RedbStore>,
    failing: Arc<FailingStore>,
    store: Arc<dyn BreakStore>,
    budget: Arc<RenderBudget>,
}

impl Fixture {
    fn open(dir: std::path::PathBuf) -> Fixture {
        let redb = Arc::new(RedbStore::open(&dir).unwrap());
        let failing = Arc::new(FailingStore::new(redb.clone()));
        Fixture {
            dir,
            redb,
            store: failing.clone(),
            failing,
            budget: Arc::new(RenderBudget::new(usize::MAX)),
        }
    }

    /// A stream an operator named (a stream pattern matched): recorded from its first playlist.
    fn stream(&self, key: &str) -> Arc<Stream> {
        let stream = self.unnamed_stream(key);
        stream.mark_named();
        stream
    }

    /// A stream no pattern named: recorded with its first change.
    fn unnamed_stream(&self, key: &str) -> Arc<Stream> {
        let loaded = self.store.load(key).unwrap();
        Arc::new(Stream::new(key.to_owned(), loaded, 1))
    }

    async fn render(&self, stream: &Arc<Stream>, path: &str, target: &str, body: Bytes) -> bool {
        stream
            .render(
                &self.store,
                &self.budget,
                &RenderRequest {
                    path,
                    target,
                    upstream: &body,
                    opts: &RewriteOptions::default(),
                    primary_tried: false,
                },
            )
            .await
            .unwrap()
            .cache_hit()
    }

    fn commits(&self) -> u32 {
        self.failing.commits.load(Ordering::SeqCst)
    }

    /// Waits for background commits (media playlist paths) to reach `n`.
    async fn commits_reach(&self, n: u32) {
        for _ in 0..400 {
            if self.commits() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("{} commits, expected {n}", self.commits());
    }
}

#[tokio::test]
async fn a_known_media_path_costs_no_commit() {
    let f = Fixture::open(temp_dir("paths"));
    let stream = f.stream("live/a");
    f.render(
        &stream,
        "/live/a/video.m3u8",
        "/live/a/video.m3u8",
        media_playlist(0),
    )
    .await;
    f.commits_reach(1).await;
    assert!(
        f.render(
            &stream,
            "/live/a/video.m3u8",
            "/live/a/video.m3u8",
            media_playlist(0)
        )
        .await
    );
    f.render(
        &stream,
        "/live/a/video.m3u8",
        "/live/a/video.m3u8",
        media_playlist(1),
    )
    .await;
    let multivariant =
        Bytes::from_static(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nvideo.m3u8\n");
    f.render(
        &stream,
        "/live/a/master.m3u8",
        "/live/a/master.m3u8",
        multivariant,
    )
    .await;
    // The multivariant playlist names the primary rendition: committed once, in the background.
    f.commits_reach(2).await;
    assert_eq!(stream.primary_path().as_deref(), Some("/live/a/video.m3u8"));
    let multivariant =
        Bytes::from_static(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nvideo.m3u8\n\n");
    f.render(
        &stream,
        "/live/a/master.m3u8",
        "/live/a/master.m3u8",
        multivariant,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        f.commits(),
        2,
        "a known path, new bytes of it and the same primary again commit nothing"
    );
    f.render(
        &stream,
        "/live/a/audio.m3u8",
        "/live/a/audio.m3u8",
        media_playlist(1),
    )
    .await;
    f.commits_reach(3).await;
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// A stream no pattern named is not recorded by its playlists alone: what they taught the
/// proxy (paths, primary, first program time) stays in memory, costs no commit, and goes to the
/// store with the stream's first change.
#[tokio::test]
async fn an_unnamed_stream_is_recorded_with_its_first_change() {
    let f = Fixture::open(temp_dir("unnamed"));
    let stream = f.unnamed_stream("live/a");
    for path in ["/live/a/video.m3u8", "/live/a/audio.m3u8"] {
        f.render(&stream, path, path, media_playlist(0)).await;
    }
    let multivariant = Bytes::from_static(
        b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS=\"avc1.4d401f\"\nvideo.m3u8\n",
    );
    f.render(
        &stream,
        "/live/a/master.m3u8",
        "/live/a/master.m3u8",
        multivariant,
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(f.commits(), 0, "playlists alone record nothing");
    assert_eq!(f.store.load("live/a").unwrap(), None);
    assert_eq!(stream.media_paths().len(), 2, "known in memory");
    assert_eq!(stream.primary_path().as_deref(), Some("/live/a/video.m3u8"));

    let writer = stream.writer().await.unwrap();
    let mut draft = stream.draft();
    draft
        .timeline
        .add_keyed_break(
            BreakRequest {
                event_id: None,
                start: at("2026-01-01T00:00:10Z"),
                planned_duration_ms: 1000,
            },
            None,
        )
        .unwrap();
    stream
        .commit(&f.store, writer, draft, |_| ())
        .await
        .unwrap();
    assert_eq!(f.commits(), 1);
    let stored = f.store.load("live/a").unwrap().expect("recorded").row;
    let mut paths = stored.media_paths.clone();
    paths.sort();
    assert_eq!(paths, ["/live/a/audio.m3u8", "/live/a/video.m3u8"]);
    assert_eq!(stored.primary.as_deref(), Some("/live/a/video.m3u8"));
    assert_eq!(stored.first_program_time, Some(at("2026-01-01T00:00:00Z")));

    // Recorded now: a new rendition is committed like any other change.
    f.render(
        &stream,
        "/live/a/subs.m3u8",
        "/live/a/subs.m3u8",
        media_playlist(1),
    )
    .await;
    f.commits_reach(2).await;
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[tokio::test]
async fn media_paths_survive_a_restart_and_are_not_committed_again() {
    let dir = temp_dir("restart");
    {
        let f = Fixture::open(dir.clone());
        let stream = f.stream("live/a");
        for path in ["/live/a/video.m3u8", "/live/a/audio.m3u8"] {
            f.render(&stream, path, path, media_playlist(0)).await;
        }
        f.commits_reach(2).await;
        f.redb.close();
    }
    let f = Fixture::open(dir.clone());
    let stream = f.stream("live/a");
    let mut paths = stream.media_paths();
    paths.sort();
    assert_eq!(paths, ["/live/a/audio.m3u8", "/live/a/video.m3u8"]);
    f.render(
        &stream,
        "/live/a/video.m3u8",
        "/live/a/video.m3u8",
        media_playlist(2),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        f.commits(),
        0,
        "a path known from the store is not committed again"
    );
    assert_eq!(stream.media_paths().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first program time is the first listed segment of the first media playlist rendered;
/// it is committed once, a second copy of the stream (a replica) that saw a later one takes the
/// stored one, and so does a restart. The policy is committed with the stream like the rest.
#[tokio::test]
async fn the_first_program_time_and_the_policy_are_stored_once_for_every_copy() {
    let dir = temp_dir("first");
    {
        let f = Fixture::open(dir.clone());
        let first = f.stream("live/a");
        let replica = f.stream("live/a");
        assert_eq!(first.first_program_time(), None);
        f.render(
            &first,
            "/live/a/video.m3u8",
            "/live/a/video.m3u8",
            media_playlist(0),
        )
        .await;
        assert_eq!(first.first_program_time(), Some(at("2026-01-01T00:00:00Z")));
        f.commits_reach(1).await;
        // The replica saw the stream later, from an older revision: its own value loses.
        f.render(
            &replica,
            "/live/a/video.m3u8",
            "/live/a/video.m3u8",
            media_playlist(5),
        )
        .await;
        for _ in 0..400 {
            if replica.first_program_time() == Some(at("2026-01-01T00:00:00Z")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(
            replica.first_program_time(),
            Some(at("2026-01-01T00:00:00Z"))
        );
        // Later playlists change nothing.
        f.render(
            &first,
            "/live/a/video.m3u8",
            "/live/a/video.m3u8",
            media_playlist(9),
        )
        .await;
        assert_eq!(first.first_program_time(), Some(at("2026-01-01T00:00:00Z")));

        let writer = first.writer().await.unwrap();
        let mut draft = first.draft();
        draft.policy = Some(crate::hls::BreakPolicy::DAILYMOTION);
        first.commit(&f.store, writer, draft, |_| ()).await.unwrap();
        assert_eq!(first.policy(), Some(crate::hls::BreakPolicy::DAILYMOTION));
        f.redb.close();
    }
    let f = Fixture::open(dir.clone());
    let stream = f.stream("live/a");
    assert_eq!(
        stream.first_program_time(),
        Some(at("2026-01-01T00:00:00Z"))
    );
    assert_eq!(stream.policy(), Some(crate::hls::BreakPolicy::DAILYMOTION));
    f.render(
        &stream,
        "/live/a/video.m3u8",
        "/live/a/video.m3u8",
        media_playlist(20),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(f.commits(), 0, "nothing new to remember after a restart");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn renderings_are_kept_per_target_bounded_least_recently_used_first() {
    let f = Fixture::open(temp_dir("renders"));
    let stream = f.stream("live/a");
    let path = "/live/a/video.m3u8";
    assert!(!f.render(&stream, path, path, media_playlist(0)).await);
    let skip = format!("{path}?_HLS_skip=YES");
    assert!(!f.render(&stream, path, &skip, media_playlist(0)).await);
    assert!(
        f.render(&stream, path, path, media_playlist(0)).await,
        "not evicted by the delta update"
    );
    assert!(f.render(&stream, path, &skip, media_playlist(0)).await);
    for msn in 0..crate::server::renders::MAX_RENDERS_PER_PATH - 2 {
        let target = format!("{path}?_HLS_msn={msn}");
        assert!(!f.render(&stream, path, &target, media_playlist(0)).await);
    }
    assert_eq!(
        stream.cached_targets(path).len(),
        crate::server::renders::MAX_RENDERS_PER_PATH
    );
    // The full reload is the least recently used: a new target evicts it, not the others.
    assert!(f.render(&stream, path, &skip, media_playlist(0)).await);
    let target = format!("{path}?_HLS_msn=99");
    assert!(!f.render(&stream, path, &target, media_playlist(0)).await);
    let kept = stream.cached_targets(path);
    assert_eq!(kept.len(), crate::server::renders::MAX_RENDERS_PER_PATH);
    assert!(!kept.iter().any(|t| t == path), "{kept:?}");
    assert!(kept.contains(&skip), "{kept:?}");
    assert_eq!(
        stream.media_paths(),
        [path],
        "one path, however many targets"
    );
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn stored_media_paths_are_validated_and_bounded() {
    let stored: Vec<String> = [
        "/live/a/video.m3u8",
        "/live/a/../b/video.m3u8",
        "/live/b/video.m3u8",
        "http://evil/live/a/x.m3u8",
        "/live/a/seg_1.ts",
        "/live/a/x.m3u8?a=b",
        "/live/a/%2e%2e.m3u8",
        "/live/a/\u{1}.m3u8",
        "/live/a/video.m3u8",
        "/live/a/audio.m3u8",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(
        valid_media_paths("live/a", stored),
        ["/live/a/video.m3u8", "/live/a/audio.m3u8"]
    );
    let many: Vec<String> = (0..20).map(|i| format!("/live/a/r{i}.m3u8")).collect();
    let kept = valid_media_paths("live/a", many.clone());
    assert_eq!(kept, many[20 - MAX_MEDIA_PATHS..], "the newest are kept");

    let mut draft = Draft {
        timeline: Timeline::new(),
        media_paths: kept,
        primary: None,
        policy: None,
        first_program_time: None,
        decides_from: None,
    };
    assert!(!draft.add_media_path("/live/a/r19.m3u8"));
    assert!(draft.add_media_path("/live/a/new.m3u8"));
    assert_eq!(draft.media_paths.len(), MAX_MEDIA_PATHS);
    assert_eq!(draft.media_paths[0], "/live/a/r5.m3u8", "the oldest went");
    assert_eq!(draft.media_paths[MAX_MEDIA_PATHS - 1], "/live/a/new.m3u8");
}

#[tokio::test]
async fn a_failed_commit_leaves_memory_and_the_store_as_they_were() {
    let f = Fixture::open(temp_dir("failed"));
    let stream = f.stream("live/a");
    let add = |draft: &mut Draft| {
        draft
            .timeline
            .add_keyed_break(
                BreakRequest {
                    event_id: None,
                    start: at("2026-01-01T00:00:10Z"),
                    planned_duration_ms: 1000,
                },
                Some("one".to_owned()),
            )
            .unwrap()
            .id
    };
    f.failing.fail_next(1);
    let mut draft = stream.draft();
    add(&mut draft);
    let writer = stream.writer().await.unwrap();
    let failed = stream.commit(&f.store, writer, draft, |_| ()).await;
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "{failed:?}"
    );
    assert!(
        stream.state().timeline.breaks().is_empty(),
        "nothing in memory"
    );
    assert_eq!(f.store.load("live/a").unwrap(), None, "nothing stored");

    // The retry commits; the revision is the first one.
    let mut draft = stream.draft();
    let id = add(&mut draft);
    let writer = stream.writer().await.unwrap();
    stream
        .commit(&f.store, writer, draft, |_| ())
        .await
        .unwrap();
    assert_eq!(stream.state().timeline.get(id).map(|b| b.id), Some(1));
    let loaded = f.store.load("live/a").unwrap().unwrap();
    assert_eq!(loaded.row.revision, 1);
    assert_eq!(loaded.breaks.len(), 1);
    assert_eq!(
        f.store.find_request("live/a", "one").unwrap().map(|b| b.id),
        Some(1)
    );

    // A failed decision commit keeps the break undecided, in memory and in the store.
    f.failing.fail_next(1);
    let mut draft = stream.draft();
    assert!(draft.timeline.apply(&[Decision {
        break_id: 1,
        start: Some(at("2026-01-01T00:00:10Z")),
        end: None,
    }]));
    let writer = stream.writer().await.unwrap();
    assert!(
        stream
            .commit(&f.store, writer, draft, |_| ())
            .await
            .is_err()
    );
    assert_eq!(stream.state().timeline.get(1).unwrap().decided_start, None);
    assert_eq!(
        f.store.load("live/a").unwrap().unwrap().breaks[0].decided_start,
        None
    );
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// A stream made again in memory while the store holds a newer revision (it was evicted and
/// another copy committed meanwhile) cannot overwrite the store: its commit is refused, it
/// reloads, and the retry lands on top of what is stored.
#[tokio::test]
async fn a_stale_copy_of_a_stream_cannot_overwrite_the_store() {
    let f = Fixture::open(temp_dir("stale"));
    let first = f.stream("live/a");
    let stale = f.stream("live/a");
    let mut draft = first.draft();
    draft
        .timeline
        .add_break(BreakRequest {
            event_id: None,
            start: at("2026-01-01T00:00:10Z"),
            planned_duration_ms: 1000,
        })
        .unwrap();
    let writer = first.writer().await.unwrap();
    first.commit(&f.store, writer, draft, |_| ()).await.unwrap();

    let mut draft = stale.draft();
    draft
        .timeline
        .add_break(BreakRequest {
            event_id: None,
            start: at("2026-01-01T00:00:10Z"),
            planned_duration_ms: 5000,
        })
        .unwrap();
    let writer = stale.writer().await.unwrap();
    let refused = stale.commit(&f.store, writer, draft, |_| ()).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    // It reloaded what the store holds: the first break, and the next id after it.
    assert_eq!(stale.state().timeline.breaks().len(), 1);
    assert_eq!(stale.state().timeline.breaks()[0].planned_duration_ms, 1000);
    let mut draft = stale.draft();
    let overlap = draft.timeline.add_break(BreakRequest {
        event_id: None,
        start: at("2026-01-01T00:00:10Z"),
        planned_duration_ms: 5000,
    });
    assert!(overlap.is_err(), "the retry sees the stored break");
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// Two copies of one stream (as on two replicas of a fleet): the second decides a break's
/// start from its rendering while the first already stored another start. Its commit loses
/// the compare-and-set, it reloads, renders again and serves the stored start — no error.
#[tokio::test]
async fn a_rendering_that_lost_the_race_serves_the_stored_decision() {
    let f = Fixture::open(temp_dir("lost-race"));
    let first = f.stream("live/a");
    let mut draft = first.draft();
    let id = draft
        .timeline
        .add_break(BreakRequest {
            event_id: None,
            start: at("2026-01-01T00:00:00.500Z"),
            planned_duration_ms: 10_000,
        })
        .unwrap()
        .id;
    let writer = first.writer().await.unwrap();
    first.commit(&f.store, writer, draft, |_| ()).await.unwrap();
    let second = f.stream("live/a");

    // The first copy stores a start on segment 2 (its rendering saw other bytes).
    let mut draft = first.draft();
    assert!(draft.timeline.apply(&[Decision {
        break_id: id,
        start: Some(at("2026-01-01T00:00:02Z")),
        end: None,
    }]));
    let writer = first.writer().await.unwrap();
    first.commit(&f.store, writer, draft, |_| ()).await.unwrap();

    // The second would decide segment 1 from these bytes.
    let path = "/live/a/video.m3u8";
    let body = media_playlist(0);
    let rendering = second
        .render(
            &f.store,
            &f.budget,
            &RenderRequest {
                path,
                target: path,
                upstream: &body,
                opts: &RewriteOptions::default(),
                primary_tried: false,
            },
        )
        .await
        .unwrap();
    let text = served_text(&rendering);
    assert!(
        text.contains("START-DATE=\"2026-01-01T00:00:02.000Z\""),
        "the stored start is served:\n{text}"
    );
    assert!(
        !text.contains("START-DATE=\"2026-01-01T00:00:01.000Z\""),
        "{text}"
    );
    let out_line = text.lines().position(|l| l.starts_with("#EXT-X-CUE-OUT:"));
    let seg_2 = text.lines().position(|l| l == "seg_2.ts");
    assert!(out_line.is_some() && out_line < seg_2, "{text}");
    assert_eq!(second.revision(), 2, "reloaded what the first stored");
    assert_eq!(
        f.store.load("live/a").unwrap().unwrap().breaks[0].decided_start,
        Some(at("2026-01-01T00:00:02Z")),
        "one decision stored"
    );
    let _ = std::fs::remove_dir_all(&f.dir);
}

/// The retry after a conflict is bounded: a stream that keeps losing answers the conflict.
#[tokio::test]
async fn conflict_retries_are_bounded() {
    let f = Fixture::open(temp_dir("bounded-retry"));
    let stream = f.stream("live/a");
    let mut draft = stream.draft();
    draft
        .timeline
        .add_break(BreakRequest {
            event_id: None,
            start: at("2026-01-01T00:00:00.500Z"),
            planned_duration_ms: 10_000,
        })
        .unwrap();
    let writer = stream.writer().await.unwrap();
    stream
        .commit(&f.store, writer, draft, |_| ())
        .await
        .unwrap();
    let path = "/live/a/video.m3u8";
    let render = |stream: Arc<Stream>, first_msn: u64| {
        let (store, budget) = (Arc::clone(&f.store), Arc::clone(&f.budget));
        async move {
            let body = media_playlist(first_msn);
            stream
                .render(
                    &store,
                    &budget,
                    &RenderRequest {
                        path,
                        target: path,
                        upstream: &body,
                        opts: &RewriteOptions::default(),
                        primary_tried: false,
                    },
                )
                .await
        }
    };
    f.failing.conflict_next(CONFLICT_RETRIES + 1);
    // Past the retries, the playlist is served without the undecided break.
    let lost = render(Arc::clone(&stream), 0).await.unwrap();
    assert!(
        !served_text(&lost).contains("CUE-OUT"),
        "{}",
        served_text(&lost)
    );
    assert_eq!(
        f.failing.conflicts.load(Ordering::SeqCst),
        CONFLICT_RETRIES + 1,
        "one attempt and CONFLICT_RETRIES retries"
    );
    assert_eq!(stream.state().timeline.breaks()[0].decided_start, None);
    // Losing fewer times than that still serves, with the decision stored once (on the next
    // segment: those served without the break are published).
    f.failing.conflict_next(CONFLICT_RETRIES);
    let served = render(Arc::clone(&stream), 1).await.unwrap();
    assert!(
        served_text(&served).contains("#EXT-X-CUE-OUT:DURATION=10.000\n#EXTINF:1.0,\nseg_3.ts"),
        "served with the decision: {}",
        served_text(&served)
    );
    assert_eq!(
        f.failing.conflicts.load(Ordering::SeqCst),
        2 * CONFLICT_RETRIES + 1
    );
    assert!(
        f.store.load("live/a").unwrap().unwrap().breaks[0]
            .decided_start
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&f.dir);
}

use crate::server::store::tests::redis_server;

/// Two servers of a fleet on one Redis: one published segment 3 without knowing of a break
/// requested there (it had not heard of it yet); the other, which knows of it, must not start
/// it on segment 3 — the store refuses that decision — and starts it on the next segment, which
/// both then render alike.
#[tokio::test]
async fn no_server_marks_a_segment_another_one_already_published() {
    let Some(server) = redis_server::RedisServer::start(redis_server::Persistence::None) else {
        return;
    };
    let store: Arc<dyn BreakStore> =
        Arc::new(crate::server::store::RedisStore::open(&server.url()).unwrap());
    let budget = Arc::new(RenderBudget::new(usize::MAX));
    let unaware = Arc::new(Stream::new("live/a".to_owned(), None, 1));
    let aware = Arc::new(Stream::new("live/a".to_owned(), None, 1));
    let writer = aware.writer().await.unwrap();
    let mut draft = aware.draft();
    draft
        .timeline
        .add_keyed_break(
            BreakRequest {
                event_id: None,
                start: at("2026-01-01T00:00:03Z"),
                planned_duration_ms: 1000,
            },
            None,
        )
        .unwrap();
    aware.commit(&store, writer, draft, |_| ()).await.unwrap();

    let opts = RewriteOptions::default();
    let render = |stream: &Arc<Stream>, body: Bytes| {
        let (stream, store, budget, opts) = (
            Arc::clone(stream),
            Arc::clone(&store),
            Arc::clone(&budget),
            opts.clone(),
        );
        async move {
            let outcome = stream
                .render(
                    &store,
                    &budget,
                    &RenderRequest {
                        path: "/live/a/video.m3u8",
                        target: "/live/a/video.m3u8",
                        upstream: &body,
                        opts: &opts,
                        primary_tried: true,
                    },
                )
                .await
                .unwrap();
            served_text(&outcome)
        }
    };
    let first_out = |text: &str| {
        text.lines()
            .skip_while(|l| !l.starts_with("#EXT-X-CUE-OUT"))
            .find(|l| l.starts_with("seg_"))
            .map(str::to_owned)
    };
    // The server that had not heard of the break lists segment 3 (its report tells it of the
    // newer revision: it catches up, and may no longer start the break on segment 3).
    let served = render(&unaware, media_playlist(1)).await;
    assert_eq!(first_out(&served), None, "{served}");
    // The other one knows of the break but must not start it on segment 3 either.
    let served = render(&aware, media_playlist(1)).await;
    assert_eq!(first_out(&served), None, "{served}");
    assert_eq!(aware.state().timeline.get(1).unwrap().decided_start, None);
    // Segment 4 comes: the break starts there, the same in both.
    let aware_served = render(&aware, media_playlist(2)).await;
    assert_eq!(
        first_out(&aware_served).as_deref(),
        Some("seg_4.ts"),
        "{aware_served}"
    );
    let unaware_served = render(&unaware, media_playlist(2)).await;
    assert_eq!(unaware_served, aware_served);
}

/// A media playlist of three 1 s segments starting `first_ms` after midnight, named
/// `<prefix>_<msn>`.
fn offset_playlist(prefix: &str, first_msn: u64, first_ms: u64) -> Bytes {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{first_msn}\n"
    );
    for i in 0..3 {
        let ms = first_ms + i * 1000;
        text.push_str(&format!(
            "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:{:02}.{:03}Z\n#EXTINF:1.0,\n{prefix}_{}.ts\n",
            ms / 1000,
            ms % 1000,
            first_msn + i
        ));
    }
    Bytes::from(text)
}

/// Audio boundaries 60 ms before the video's: audio lists its segment at 19.940 s while a break
/// requested at 20.200 s is not yet due for it; the video (primary) then must not start the
/// break at 20.000 s — audio would place the OUT on its 19.940 s segment, already served — but
/// on the next video boundary.
#[tokio::test]
async fn a_start_is_never_within_the_tolerance_of_what_another_rendition_served() {
    let f = Fixture::open(temp_dir("tolerance"));
    let stream = f.stream("live/a");
    let multivariant = Bytes::from_static(
        b"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",URI=\"audio.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS=\"avc1.4d401f,mp4a.40.2\",AUDIO=\"a\"\nvideo.m3u8\n",
    );
    f.render(
        &stream,
        "/live/a/master.m3u8",
        "/live/a/master.m3u8",
        multivariant,
    )
    .await;
    assert_eq!(stream.primary_path().as_deref(), Some("/live/a/video.m3u8"));
    let writer = stream.writer().await.unwrap();
    let mut draft = stream.draft();
    draft
        .timeline
        .add_keyed_break(
            BreakRequest {
                event_id: None,
                start: at("2026-01-01T00:00:20.200Z"),
                planned_duration_ms: 2000,
            },
            None,
        )
        .unwrap();
    stream
        .commit(&f.store, writer, draft, |_| ())
        .await
        .unwrap();

    let served = |path: &'static str, body: Bytes| {
        let (stream, store, budget) = (
            Arc::clone(&stream),
            Arc::clone(&f.store),
            Arc::clone(&f.budget),
        );
        async move {
            let outcome = stream
                .render(
                    &store,
                    &budget,
                    &RenderRequest {
                        path,
                        target: path,
                        upstream: &body,
                        opts: &RewriteOptions::default(),
                        primary_tried: true,
                    },
                )
                .await
                .unwrap();
            served_text(&outcome)
        }
    };
    let first_out = |text: &str| {
        text.lines()
            .skip_while(|l| !l.starts_with("#EXT-X-CUE-OUT"))
            .find(|l| l.ends_with(".ts"))
            .map(str::to_owned)
    };
    let audio = served("/live/a/audio.m3u8", offset_playlist("audio", 17, 17_940)).await;
    assert_eq!(first_out(&audio), None, "{audio}");
    let video = served("/live/a/video.m3u8", offset_playlist("video", 18, 18_000)).await;
    assert_eq!(first_out(&video), None, "not at 20.000: {video}");
    let video = served("/live/a/video.m3u8", offset_playlist("video", 19, 19_000)).await;
    assert_eq!(first_out(&video).as_deref(), Some("video_21.ts"), "{video}");
    let audio = served("/live/a/audio.m3u8", offset_playlist("audio", 18, 18_940)).await;
    assert_eq!(first_out(&audio).as_deref(), Some("audio_20.ts"), "{audio}");
    let _ = std::fs::remove_dir_all(&f.dir);
}
