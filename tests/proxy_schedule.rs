//! A schedule of breaks, the paginated history, and bounded state through the proxy: ended
//! breaks leave memory but stay readable until their retention, idempotency keys expire, idle
//! streams leave memory and come back exactly as they were.
mod proxy_support;

use std::time::Duration;

use hlsplice::packager::PackagerConfig;
use http::{Method, StatusCode};
use proxy_support::*;
use serde_json::{Value, json};

const VIDEO: &str = "/live/demo/video.m3u8";
const AUDIO: &str = "/live/demo/audio.m3u8";

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

fn at_seconds(s: i64) -> String {
    (t0() + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn list(h: &Harness, query: &str) -> Value {
    let (status, value) = h
        .api(
            Method::GET,
            &format!("/api/v1/streams/live/demo/breaks{query}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {value}");
    value
}

fn ids(page: &Value) -> Vec<u64> {
    page["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect()
}

/// Breaks planned ahead in any order run in start order, each at its own time; an overlap is
/// refused naming the break in the way; the list is newest first, paginated and filtered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_of_breaks_runs_in_start_order() {
    // A window long enough that no break's OUT slides out of it during the test (a range that
    // began before the first listed segment is written before that segment, §6.2.1).
    let h = Harness::start(
        "schedule",
        PackagerConfig {
            window: 60,
            ..classic()
        },
    )
    .await;
    h.playlist(VIDEO).await;
    h.playlist(AUDIO).await;
    let mut created = Vec::new();
    for (start, ms) in [(20, 4000), (30, 4000), (10, 4000)] {
        let (status, b) = h
            .create_break(
                "live/demo",
                json!({"duration_ms": ms, "start": at_seconds(start)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
        assert_eq!(b["state"], "scheduled");
        created.push(b);
    }
    let (status, refused) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "start": at_seconds(21)}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["break"]["id"], created[0]["id"], "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("break 1"),
        "{refused}"
    );

    assert_eq!(ids(&list(&h, "").await), [3, 2, 1]);
    let first = list(&h, "?limit=2").await;
    assert_eq!(ids(&first), [3, 2]);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = list(&h, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), [1]);
    assert!(second["next_cursor"].is_null(), "{second}");
    assert_eq!(ids(&list(&h, "?state=scheduled").await), [3, 2, 1]);
    assert!(ids(&list(&h, "?state=active").await).is_empty());
    for bad in [
        "?limit=0",
        "?limit=1001",
        "?state=soon",
        "?cursor=x",
        "?page=2",
    ] {
        let (status, body) = h
            .api(
                Method::GET,
                &format!("/api/v1/streams/live/demo/breaks{bad}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // Run the schedule: each break's OUT lands on the segment starting at its requested time.
    let (mut video, mut audio) = (Published::default(), Published::default());
    let mut outs = Vec::new();
    for _ in 0..40 {
        h.advance_ms(1000);
        let playlist = h.playlist(VIDEO).await;
        video.check(&playlist);
        audio.check(&h.playlist(AUDIO).await);
        for (uri, tags) in markers(&playlist) {
            if tags.iter().any(|t| t.starts_with("#EXT-X-CUE-OUT:")) && !outs.contains(&uri) {
                outs.push(uri);
            }
        }
    }
    let starts: Vec<u64> = outs.iter().map(|uri| msn_of(uri)).collect();
    let first_msn = starts[0];
    assert_eq!(
        starts,
        [first_msn, first_msn + 10, first_msn + 20],
        "{outs:?}"
    );
    let ended = list(&h, "?state=ended").await;
    assert_eq!(ids(&ended), [3, 2, 1], "{ended}");
    for b in ended["breaks"].as_array().unwrap() {
        assert_eq!(b["decided_start"], b["requested_start"], "{b}");
    }
}

/// Waits (bounded) until the stream summary reports `held` breaks in memory.
async fn held_breaks_reach(h: &Harness, held: u64) {
    for _ in 0..100 {
        let (_, streams) = h.api(Method::GET, "/api/v1/streams", None).await;
        if streams["streams"][0]["breaks"].as_u64() == Some(held) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, streams) = h.api(Method::GET, "/api/v1/streams", None).await;
    panic!("the stream never held {held} breaks: {streams}");
}

/// An ended break leaves memory once no window lists it and an hour passed, and is still read
/// from the store by id; after the retention it is gone. Its idempotency key expires too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_outlives_memory_until_its_retention() {
    let h = Harness::start_with("history", classic(), |c| hlsplice::server::ServerConfig {
        housekeeping_ms: 100,
        history_days: 1,
        request_id_ttl_hours: 1,
        ..c
    })
    .await;
    h.playlist(VIDEO).await;
    let (status, b) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "request_id": "keep-me"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let id = b["id"].as_u64().unwrap();
    for _ in 0..4 {
        h.advance_ms(1000);
        h.playlist(VIDEO).await;
    }
    let (status, repeated) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "request_id": "keep-me"}),
        )
        .await;
    assert_eq!(
        (status, &repeated["id"]),
        (StatusCode::OK, &b["id"]),
        "{repeated}"
    );
    held_breaks_reach(&h, 1).await;

    // Two hours on: out of every window, and older than the hour kept for the policy.
    h.advance_ms(2 * 3600 * 1000);
    h.playlist(VIDEO).await;
    held_breaks_reach(&h, 0).await;
    let (status, read) = h
        .api(
            Method::GET,
            &format!("/api/v1/streams/live/demo/breaks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["state"], "ended");
    assert_eq!(ids(&list(&h, "").await), [id]);
    // Ending or cancelling it now is refused as before, from the history.
    let (status, body) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live/demo/breaks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The key expired (one hour): the same request_id makes a new break.
    let mut expired = false;
    for _ in 0..100 {
        let (status, again) = h
            .api(
                Method::GET,
                "/api/v1/streams/live/demo/breaks?limit=1",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{again}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (status, created) = h
            .create_break(
                "live/demo",
                json!({"duration_ms": 2000, "request_id": "keep-me"}),
            )
            .await;
        if status == StatusCode::CREATED {
            assert_ne!(created["id"].as_u64(), Some(id));
            expired = true;
            break;
        }
        assert_eq!(status, StatusCode::OK, "{created}");
    }
    assert!(expired, "the request_id never expired");

    // Two days on: past the retention of one day, the first break is deleted.
    h.advance_ms(2 * 86_400 * 1000);
    h.playlist(VIDEO).await;
    let mut gone = false;
    for _ in 0..100 {
        let (status, _) = h
            .api(
                Method::GET,
                &format!("/api/v1/streams/live/demo/breaks/{id}"),
                None,
            )
            .await;
        if status == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "break {id} outlived its retention");
    assert!(!ids(&list(&h, "").await).contains(&id));
}

/// A stream nobody asks for leaves memory; the next request loads it from the store and
/// serves the very same marker lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_leaves_memory_and_comes_back_the_same() {
    let h = Harness::start_with("idle", classic(), |c| hlsplice::server::ServerConfig {
        housekeeping_ms: 100,
        stream_idle_ms: 300,
        ..c
    })
    .await;
    h.playlist(VIDEO).await;
    let (status, b) = h
        .create_break("live/demo", json!({"duration_ms": 30000}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    h.advance_ms(3000);
    let before = h.playlist(VIDEO).await;
    assert!(before.contains("#EXT-X-CUE-OUT"), "{before}");
    assert_eq!(h.metric("hlsplice_streams").await, 1.0);

    let mut evicted = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if h.metric("hlsplice_streams").await == 0.0 {
            evicted = true;
            break;
        }
    }
    assert!(evicted, "the idle stream stayed in memory");
    let after = h.playlist(VIDEO).await;
    assert_eq!(after, before, "reloaded from the store, rendered the same");
    assert_eq!(h.metric("hlsplice_streams").await, 1.0);
}

/// Every break of the stream the store holds, through the paginated list.
async fn stored_breaks(h: &Harness) -> usize {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=1000&cursor={c}"),
            None => "?limit=1000".to_owned(),
        };
        let page = list(h, &query).await;
        count += page["breaks"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return count,
        }
    }
}

/// Three days of program time, a break every 20 minutes: what the stream holds in memory and
/// in the store stays bounded by the retention (one day here), not by the stream's age.
/// benches/simulated_year.rs runs the same for a year and reports memory, store size and
/// rendering time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_stream_keeps_its_state_bounded() {
    let h = Harness::start_with("simulated", classic(), |c| hlsplice::server::ServerConfig {
        housekeeping_ms: 50,
        history_days: 1,
        ..c
    })
    .await;
    let mut days = 0;
    simulation::run(&h, 3, |_| days += 1).await;
    assert_eq!(days, 3);
    let per_day = simulation::BREAKS_PER_DAY as usize;
    let mut stored = 0;
    for _ in 0..100 {
        stored = stored_breaks(&h).await;
        if stored <= per_day + 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        (per_day - 4..=per_day + 4).contains(&stored),
        "the store holds {stored} breaks after three days with a one-day retention"
    );
    // In memory: the breaks that ended within the last hour (kept for the break policy's
    // rolling hour), three at one every 20 minutes.
    held_breaks_reach(&h, 3).await;
    // Ids carry on from the whole history.
    let newest = list(&h, "?limit=1").await;
    assert_eq!(ids(&newest), [3 * simulation::BREAKS_PER_DAY]);
}
