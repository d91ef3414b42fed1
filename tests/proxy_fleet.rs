//! A replica fleet: three proxies (`server::run`, as `hlsplice serve --redis URL`) on one real
//! `redis-server`, in front of the clock-driven packager. Time moves only when a test advances
//! the packager's ManualClock. Each test starts its own Redis (tests/redis_server) and fails
//! when `redis-server` is missing, unless HLSPLICE_SKIP_REDIS=1.
mod proxy_support;
mod redis_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use http::{Method, StatusCode};
use proxy_support::*;
use redis_server::{Persistence, RedisServer};
use serde_json::{Value, json};

const STREAM: &str = "live/demo";
const VIDEO: &str = "/live/demo/video.m3u8";
const AUDIO: &str = "/live/demo/audio.m3u8";
const REPLICAS: usize = 3;

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

fn date(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("{value}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// The marker lines before each segment, by segment URI (see `markers`).
type Markers = Vec<(String, Vec<String>)>;

/// Packager + Redis + three replicas.
struct Fleet {
    h: Harness,
    redis: RedisServer,
    replicas: Vec<Option<Proxy>>,
    config: ServerConfig,
}

impl Fleet {
    /// `None` when the Redis tests are skipped on this machine.
    async fn start(name: &str, persistence: Persistence) -> Option<Fleet> {
        let redis = RedisServer::start(persistence)?;
        let url = redis.url();
        let mut h = Harness::start_with(name, classic(), |config| ServerConfig {
            redis: Some(url),
            // The safety net runs often here, the notifications are what is tested.
            housekeeping_ms: 1_000,
            ..config
        })
        .await;
        let first = h.proxy.take().expect("the harness started a proxy");
        let config = ServerConfig {
            redis: Some(redis.url()),
            housekeeping_ms: 1_000,
            ..h.server_config()
        };
        let mut replicas = vec![Some(first)];
        for _ in 1..REPLICAS {
            replicas.push(Some(Proxy::start(config.clone()).await));
        }
        Some(Fleet {
            h,
            redis,
            replicas,
            config,
        })
    }

    fn addr(&self, replica: usize) -> SocketAddr {
        self.replicas[replica]
            .as_ref()
            .expect("replica running")
            .addr
    }

    async fn get(&self, replica: usize, path: &str) -> Response {
        get(&self.h.client, self.addr(replica), path, &[]).await
    }

    async fn playlist(&self, replica: usize, path: &str) -> String {
        let response = self.get(replica, path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "replica {replica} GET {path}: {}",
            response.text()
        );
        response.text()
    }

    async fn api(
        &self,
        replica: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {TOKEN}");
        let response = request(
            &self.h.client,
            self.addr(replica),
            method,
            path,
            &[("authorization", &auth)],
            body.map(|b| b.to_string()),
        )
        .await;
        let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, value)
    }

    async fn create(&self, replica: usize, body: Value) -> (StatusCode, Value) {
        self.api(
            replica,
            Method::POST,
            &format!("/api/v1/streams/{STREAM}/breaks"),
            Some(body),
        )
        .await
    }

    async fn breaks(&self, replica: usize) -> Vec<Value> {
        let (status, value) = self
            .api(
                replica,
                Method::GET,
                &format!("/api/v1/streams/{STREAM}/breaks"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["breaks"].as_array().cloned().unwrap_or_default()
    }

    /// The revision Redis holds for the stream.
    fn stored_revision(&self) -> u64 {
        let mut con = self.redis.connection().unwrap();
        redis::cmd("HGET")
            .arg(format!("hlsplice:{{{STREAM}}}:row"))
            .arg("revision")
            .query::<Option<u64>>(&mut con)
            .unwrap()
            .unwrap_or(0)
    }

    /// The revision replica `replica` holds in memory (`GET /api/v1/streams`).
    async fn held_revision(&self, replica: usize) -> Option<u64> {
        let (status, value) = self
            .api(replica, Method::GET, "/api/v1/streams", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["streams"]
            .as_array()?
            .iter()
            .find(|s| s["stream"] == STREAM)
            .and_then(|s| s["revision"].as_u64())
    }

    /// Waits until every running replica holds what Redis holds (the change notifications
    /// arrived); how long that took.
    async fn converged(&self) -> Duration {
        let started = Instant::now();
        let stored = self.stored_revision();
        loop {
            let mut behind = Vec::new();
            for replica in 0..REPLICAS {
                if self.replicas[replica].is_some()
                    && self.held_revision(replica).await != Some(stored)
                {
                    behind.push(replica);
                }
            }
            if behind.is_empty() {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "replicas {behind:?} did not catch up with revision {stored}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every running replica's rendering of `path`, with the clock still: the marker lines of
    /// all must be byte-identical. Returns them.
    async fn same_markers_everywhere(&self, path: &str) -> Markers {
        let mut seen: Option<(usize, Markers)> = None;
        for replica in 0..REPLICAS {
            if self.replicas[replica].is_none() {
                continue;
            }
            let marks = markers(&self.playlist(replica, path).await);
            match &seen {
                Some((first, expected)) => assert_eq!(
                    &marks, expected,
                    "{path}: replica {replica} and replica {first} differ"
                ),
                None => seen = Some((replica, marks)),
            }
        }
        seen.map(|(_, marks)| marks).unwrap_or_default()
    }

    async fn metric(&self, replica: usize, name: &str) -> f64 {
        let text = self.get(replica, "/metrics").await.text();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    async fn kill(&mut self, replica: usize) {
        if let Some(proxy) = self.replicas[replica].take() {
            proxy.kill().await;
        }
    }

    async fn restart(&mut self, replica: usize) {
        self.kill(replica).await;
        self.replicas[replica] = Some(Proxy::start(self.config.clone()).await);
    }

    async fn stop(mut self) {
        for replica in 0..REPLICAS {
            if let Some(proxy) = self.replicas[replica].take() {
                proxy.stop().await;
            }
        }
    }
}

/// Checks `playlist` against what was published before: by whichever replica, no tag of a
/// segment ever changes.
fn check(published: &mut Published, playlist: &str) {
    published.check(playlist);
}

/// A break posted to one replica is rendered by all with byte-identical DATERANGE and CUE
/// lines in every rendition, and a player alternating replicas on every refresh never sees
/// a published tag change, through the OUT, the break and the IN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_posted_to_one_replica_is_rendered_identically_by_all() {
    let Some(fleet) = Fleet::start("fleet-identical", Persistence::None).await else {
        return;
    };
    let (mut video, mut audio) = (Published::default(), Published::default());
    for replica in 0..REPLICAS {
        check(&mut video, &fleet.playlist(replica, VIDEO).await);
        check(&mut audio, &fleet.playlist(replica, AUDIO).await);
    }
    let newest = msn_of(&last_segment(&fleet.playlist(0, VIDEO).await));
    let (status, created) = fleet
        .create(0, json!({"duration_ms": 3000, "request_id": "fleet-1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // The documented staleness bound: the change notification reaches the other replicas
    // well before a packager publishes its next segment (seconds).
    let delay = fleet.converged().await;
    assert!(delay < Duration::from_secs(1), "{delay:?}");
    for replica in 1..REPLICAS {
        let (status, again) = fleet
            .create(
                replica,
                json!({"duration_ms": 3000, "request_id": "fleet-1"}),
            )
            .await;
        assert_eq!((status, &again["id"]), (StatusCode::OK, &created["id"]));
    }

    // The player: one refresh per segment, each from the next replica.
    let mut ended_at = None;
    for step in 0..8u64 {
        fleet.h.advance_ms(1000);
        let replica = (step as usize + 1) % REPLICAS;
        let playlist = fleet.playlist(replica, VIDEO).await;
        check(&mut video, &playlist);
        check(&mut audio, &fleet.playlist(replica, AUDIO).await);
        // Every replica renders every rendition with the same marker lines.
        for path in [VIDEO, AUDIO] {
            for (_, tags) in fleet.same_markers_everywhere(path).await {
                for tag in tags {
                    check_marker_is_known(&tag);
                }
            }
        }
        if ended_at.is_none() && playlist.contains("#EXT-X-CUE-IN") {
            ended_at = first_segment_with(&playlist, "#EXT-X-CUE-IN").map(|u| msn_of(&u));
        }
    }
    let out =
        first_segment_with(&fleet.playlist(2, VIDEO).await, "#EXT-X-CUE-OUT:").map(|u| msn_of(&u));
    assert_eq!(out, Some(newest + 1), "OUT on the next segment");
    assert_eq!(ended_at, Some(newest + 4), "IN 3 s later");
    for replica in 0..REPLICAS {
        let breaks = fleet.breaks(replica).await;
        assert_eq!(breaks.len(), 1, "replica {replica}: {breaks:?}");
        assert_eq!(breaks[0]["state"], "ended");
        assert_eq!(
            date(&breaks[0]["decided_end"]) - date(&breaks[0]["decided_start"]),
            chrono::Duration::seconds(3)
        );
    }
    let video_ranges = dateranges(&fleet.playlist(1, VIDEO).await);
    assert_eq!(video_ranges.len(), 2, "{video_ranges:?}");
    assert_eq!(dateranges(&fleet.playlist(2, AUDIO).await), video_ranges);
    fleet.stop().await;
}

fn check_marker_is_known(tag: &str) {
    assert!(is_marker(tag), "{tag}");
}

/// Idempotency and conflicts hold across the fleet: one request id sent to every replica
/// makes one break; 300 OUT requests racing across the three make exactly one 201, the rest
/// 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_across_replicas_make_one_break() {
    let Some(fleet) = Fleet::start("fleet-race", Persistence::None).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    for replica in 0..REPLICAS {
        fleet.playlist(replica, VIDEO).await;
    }
    let mut tasks = Vec::new();
    for i in 0..30 {
        let fleet = Arc::clone(&fleet);
        tasks.push(tokio::spawn(async move {
            fleet
                .create(
                    i % REPLICAS,
                    json!({"duration_ms": 2000, "request_id": "same-everywhere"}),
                )
                .await
        }));
    }
    let (mut created, mut ids) = (0, std::collections::HashSet::new());
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("{other}: {body}"),
        }
        ids.insert(body["id"].as_u64().unwrap());
    }
    assert_eq!((created, ids.len()), (1, 1), "one break for one request id");

    // Past that break, 300 OUTs at once, 100 per replica.
    for _ in 0..4 {
        fleet.h.advance_ms(1000);
        fleet.playlist(0, VIDEO).await;
    }
    fleet.converged().await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let fleet = Arc::clone(&fleet);
        tasks.push(tokio::spawn(async move {
            fleet
                .create(i % REPLICAS, json!({"duration_ms": 2000}))
                .await
        }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
        if status == StatusCode::CONFLICT {
            assert!(body["break"]["id"].as_u64().is_some(), "{body}");
        }
    }
    eprintln!("300 racing OUTs answered in {:?}", started.elapsed());
    assert_eq!(
        statuses,
        [(201, 1), (409, 299)].into_iter().collect(),
        "exactly one OUT wins"
    );
    for replica in 0..REPLICAS {
        assert_eq!(fleet.breaks(replica).await.len(), 2, "replica {replica}");
    }
    let conflicts: f64 = {
        let mut sum = 0.0;
        for replica in 0..REPLICAS {
            sum += fleet
                .metric(replica, "hlsplice_store_conflicts_total")
                .await;
        }
        sum
    };
    eprintln!("store conflicts across the fleet: {conflicts}");
    Arc::into_inner(fleet)
        .expect("no task holds the fleet")
        .stop()
        .await;
}

/// The moment a break's start is decided, all three replicas render at once: one decision is
/// stored, and every replica publishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renderings_racing_at_the_decision_publish_one_start() {
    let Some(fleet) = Fleet::start("fleet-decide", Persistence::None).await else {
        return;
    };
    let fleet = Arc::new(fleet);
    for replica in 0..REPLICAS {
        fleet.playlist(replica, VIDEO).await;
        fleet.playlist(replica, AUDIO).await;
    }
    let (status, created) = fleet.create(1, json!({"duration_ms": 5000})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    fleet.converged().await;
    let commits_before = fleet.stored_revision();
    fleet.h.advance_ms(1000);
    // Four requests per replica and rendition, all at once.
    let mut tasks = Vec::new();
    for i in 0..4 * REPLICAS * 2 {
        let fleet = Arc::clone(&fleet);
        let path = if i % 2 == 0 { VIDEO } else { AUDIO };
        tasks.push(tokio::spawn(async move {
            (path, fleet.playlist(i / 2 % REPLICAS, path).await)
        }));
    }
    let mut outs = std::collections::BTreeMap::<&str, std::collections::BTreeSet<String>>::new();
    for task in tasks {
        let (path, playlist) = task.await.unwrap();
        let out: Vec<String> = markers(&playlist)
            .into_iter()
            .flat_map(|(uri, tags)| tags.into_iter().map(move |t| format!("{uri} {t}")))
            .collect();
        // Audio boundaries trail the video's by a few ms: its OUT may come a segment later.
        assert!(
            path == AUDIO || out.iter().any(|t| t.contains("#EXT-X-CUE-OUT:")),
            "{path}: {playlist}"
        );
        outs.entry(path).or_default().insert(out.join("\n"));
    }
    for (path, variants) in &outs {
        assert_eq!(variants.len(), 1, "{path}: {variants:#?}");
    }
    // One start stored (one commit for it: revision + 1), the one every replica reports.
    assert_eq!(fleet.stored_revision(), commits_before + 1);
    let mut starts = std::collections::BTreeSet::new();
    for replica in 0..REPLICAS {
        let breaks = fleet.breaks(replica).await;
        starts.insert(breaks[0]["decided_start"].as_str().unwrap().to_owned());
    }
    assert_eq!(starts.len(), 1, "{starts:?}");
    Arc::into_inner(fleet)
        .expect("no task holds the fleet")
        .stop()
        .await;
}

/// A replica killed mid-break: the others go on and place the IN on time; restarted, it
/// catches up and renders what they render.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_break_leaves_the_others_going() {
    let Some(mut fleet) = Fleet::start("fleet-kill", Persistence::None).await else {
        return;
    };
    let mut video = Published::default();
    for replica in 0..REPLICAS {
        check(&mut video, &fleet.playlist(replica, VIDEO).await);
    }
    let newest = msn_of(&last_segment(&fleet.playlist(0, VIDEO).await));
    let (status, created) = fleet.create(0, json!({"duration_ms": 4000})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    fleet.converged().await;
    fleet.h.advance_ms(2000);
    for replica in 0..REPLICAS {
        let playlist = fleet.playlist(replica, VIDEO).await;
        check(&mut video, &playlist);
        assert!(playlist.contains("#EXT-X-CUE-OUT-CONT"), "{playlist}");
    }

    fleet.kill(0).await;
    for step in 0..3u64 {
        // Step 2 publishes the segment 4 s after the OUT's.
        fleet.h.advance_ms(1000);
        for replica in 1..REPLICAS {
            check(&mut video, &fleet.playlist(replica, VIDEO).await);
        }
        let markers = fleet.same_markers_everywhere(VIDEO).await;
        let has_in = markers
            .iter()
            .any(|(_, tags)| tags.iter().any(|t| t.starts_with("#EXT-X-CUE-IN")));
        assert_eq!(has_in, step >= 2, "IN 4 s after the OUT (step {step})");
    }
    let back = fleet.playlist(1, VIDEO).await;
    assert_eq!(
        first_segment_with(&back, "#EXT-X-CUE-IN").map(|u| msn_of(&u)),
        Some(newest + 5)
    );

    fleet.restart(0).await;
    let caught_up = fleet.playlist(0, VIDEO).await;
    check(&mut video, &caught_up);
    assert_eq!(
        markers(&caught_up),
        markers(&fleet.playlist(2, VIDEO).await)
    );
    let breaks = fleet.breaks(0).await;
    assert_eq!(breaks[0]["state"], "ended", "{breaks:?}");
    fleet.stop().await;
}

/// Redis killed (SIGKILL) and restarted with `appendonly yes`, `appendfsync always`: every
/// acknowledged break and decision is still there, and the fleet goes on from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_with_aof_loses_nothing_acknowledged() {
    let Some(mut fleet) = Fleet::start("fleet-aof", Persistence::AofAlways).await else {
        return;
    };
    for replica in 0..REPLICAS {
        fleet.playlist(replica, VIDEO).await;
    }
    let mut acknowledged = Vec::new();
    for i in 0..6u64 {
        let (status, body) = fleet
            .create(
                (i as usize) % REPLICAS,
                json!({"duration_ms": 2000, "request_id": format!("aof-{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        acknowledged.push(body);
        // Every replica heard of the break before the clock moves: one that served newer
        // segments before it heard would start the break later (never on content it
        // published), which is not what this test is about.
        fleet.converged().await;
        // The break starts and ends: decisions are committed too; four refreshes for a 2 s
        // break (the shortest the default policy allows on 1 s segments is 1.5 s).
        for _ in 0..4 {
            fleet.h.advance_ms(1000);
            fleet.playlist((i as usize + 1) % REPLICAS, VIDEO).await;
        }
    }
    fleet.converged().await;
    // What is stored (the state is reported at each replica's own live edge).
    let stored = |breaks: Vec<Value>| -> Vec<Value> {
        breaks
            .into_iter()
            .map(|mut b| {
                b.as_object_mut().unwrap().remove("state");
                b
            })
            .collect()
    };
    let before: Vec<Value> = fleet.breaks(0).await;
    let revision = fleet.stored_revision();
    assert!(before.iter().all(|b| b["state"] == "ended"), "{before:?}");

    fleet.redis.restart();
    assert_eq!(fleet.stored_revision(), revision, "the revision survived");
    for replica in 0..REPLICAS {
        let mut after = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let (status, value) = fleet
                .api(
                    replica,
                    Method::GET,
                    &format!("/api/v1/streams/{STREAM}/breaks"),
                    None,
                )
                .await;
            if status == StatusCode::OK {
                after = value["breaks"].as_array().cloned().unwrap_or_default();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(stored(after), stored(before.clone()), "replica {replica}");
    }
    for (i, b) in acknowledged.iter().enumerate() {
        let (status, again) = fleet
            .create(
                i % REPLICAS,
                json!({"duration_ms": 2000, "request_id": format!("aof-{i}")}),
            )
            .await;
        assert_eq!((status, &again["id"]), (StatusCode::OK, &b["id"]));
    }
    // Commits go on from the stored revision.
    let (status, body) = fleet.create(2, json!({"duration_ms": 2000})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(fleet.stored_revision(), revision + 1);
    fleet.stop().await;
}

/// Redis stopped: API writes answer 503 with a clear body, /healthz reports the store, the
/// metrics count store errors, and what is decided keeps being served. Redis back: the fleet
/// recovers by itself within a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_then_back() {
    let Some(mut fleet) = Fleet::start("fleet-down", Persistence::AofAlways).await else {
        return;
    };
    let mut video = Published::default();
    for replica in 0..REPLICAS {
        check(&mut video, &fleet.playlist(replica, VIDEO).await);
    }
    let (status, created) = fleet.create(0, json!({"duration_ms": 10_000})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    fleet.converged().await;
    fleet.h.advance_ms(1000);
    for replica in 0..REPLICAS {
        let playlist = fleet.playlist(replica, VIDEO).await;
        check(&mut video, &playlist);
        assert!(playlist.contains("#EXT-X-CUE-OUT:"), "{playlist}");
    }

    fleet.redis.kill();
    // Health: every replica notices (its subscription drops) and answers 503.
    for replica in 0..REPLICAS {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let health = fleet.get(replica, "/healthz").await;
            if health.status == StatusCode::SERVICE_UNAVAILABLE {
                assert!(health.text().contains("Redis"), "{}", health.text());
                break;
            }
            assert!(Instant::now() < deadline, "replica {replica} still healthy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // API writes: 503 with a body that says why and what to do.
    let (status, body) = fleet
        .create(
            1,
            json!({"duration_ms": 2000, "start": "2026-01-01T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("unreachable") && message.contains("retry"),
        "{body}"
    );
    let (status, body) = fleet
        .api(
            2,
            Method::POST,
            &format!("/api/v1/streams/{STREAM}/breaks/1/end"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(fleet.metric(1, "hlsplice_store_errors_total").await >= 1.0);
    // Playlists: the decided break goes on being served (CONT needs no new decision).
    for step in 0..2 {
        fleet.h.advance_ms(1000);
        for replica in 0..REPLICAS {
            let playlist = fleet.playlist(replica, VIDEO).await;
            check(&mut video, &playlist);
            assert!(
                playlist.contains("#EXT-X-CUE-OUT-CONT"),
                "step {step}, replica {replica}: {playlist}"
            );
        }
    }

    fleet.redis.restart();
    let back = Instant::now();
    for replica in 0..REPLICAS {
        loop {
            if fleet.get(replica, "/healthz").await.status == StatusCode::OK {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(5),
                "replica {replica} not healthy again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (status, body) = fleet
        .api(
            1,
            Method::POST,
            &format!("/api/v1/streams/{STREAM}/breaks/{}/end", created["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eprintln!("recovered {:?} after Redis came back", back.elapsed());
    assert!(back.elapsed() < Duration::from_secs(5));
    fleet.converged().await;
    fleet.h.advance_ms(1000);
    for replica in 0..REPLICAS {
        let playlist = fleet.playlist(replica, VIDEO).await;
        check(&mut video, &playlist);
        assert!(playlist.contains("#EXT-X-CUE-IN"), "{playlist}");
    }
    fleet.stop().await;
}

/// Redis stopped while a break waits for its start: no replica publishes it until Redis is
/// back (a start that cannot be recorded is not shown), playlists are served meanwhile, and
/// once Redis is back the break is placed, identically everywhere.
///
/// NOTE: the "served without the undecided break while Redis is down" assertions below rely
/// on the server serving a rendering whose decision cannot be committed without that break
/// (and not caching it), which the render path of this branch does not do yet (it answers
/// 503); they pass once that change is merged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_publishes_nothing_undecided() {
    let Some(mut fleet) = Fleet::start("fleet-undecided", Persistence::AofAlways).await else {
        return;
    };
    let mut video = Published::default();
    for replica in 0..REPLICAS {
        check(&mut video, &fleet.playlist(replica, VIDEO).await);
    }
    let (status, created) = fleet.create(2, json!({"duration_ms": 3000})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    fleet.converged().await;
    fleet.redis.kill();
    for _ in 0..2 {
        fleet.h.advance_ms(1000);
        for replica in 0..REPLICAS {
            // Depends on the render-path change described above.
            let playlist = fleet.playlist(replica, VIDEO).await;
            check(&mut video, &playlist);
            assert!(
                !playlist.contains("#EXT-X-CUE") && !playlist.contains("#EXT-X-DATERANGE"),
                "an undecided break was published while Redis was down:\n{playlist}"
            );
        }
    }
    fleet.redis.restart();
    let back = Instant::now();
    loop {
        fleet.h.advance_ms(1000);
        let mut placed = 0;
        for replica in 0..REPLICAS {
            let response = fleet.get(replica, VIDEO).await;
            if response.status != StatusCode::OK {
                continue;
            }
            let playlist = response.text();
            check(&mut video, &playlist);
            placed += usize::from(playlist.contains("#EXT-X-CUE-OUT"));
        }
        if placed == REPLICAS {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not placed after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.same_markers_everywhere(VIDEO).await;
    fleet.stop().await;
}
