//! Crash safety: an acknowledged event is never lost, and nothing is applied twice.
//!
//! A few hundred API events (native creates with `request_id`s, repeats of them, ends and
//! cancels; OvenMediaEngine `out`s and `in`s at the live edge) go to `hlsplice serve` while the
//! process is SIGKILLed at random moments, between requests and while one is in flight, and
//! started again on the same data directory. A seeded xorshift picks the events and the moments
//! (`HLSPLICE_CRASH_SEED` replays another seed). Then the program time runs on through every
//! scheduled break, with more kills, while the playlist is read at every segment. At the end:
//! - the store opened on every restart (each start must log its address, or the test fails);
//! - every event answered 2xx is there: a create's break by its id and `request_id`, a cancel
//!   as a cancelled break, an `out` as a break with its event id, an `in` as an ended break;
//! - nothing is duplicated: one break per `request_id` and per event id, none nobody asked for;
//! - every break that was not cancelled was rendered in the playlists (its DATERANGE with the
//!   START-DATE the API reports, and its END-DATE), and no published tag ever changed across
//!   refreshes and restarts (but those a break that began earlier puts on the first segment).
#![cfg(unix)]
mod proxy_support;
mod serve_process;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use hlsplice::packager::{Clock, ManualClock, PackagerConfig};
use proxy_support::{Api, TOKEN, markers, t0, temp_dir};
use serde_json::{Value, json};
use serve_process::{packager_upstream, spawn_serve};

/// API events sent while the proxy is being killed.
const EVENTS: usize = 300;
/// Breaks are scheduled from this far past the first live edge, so that none is due while the
/// events are sent (the OvenMediaEngine events move the clock 1 s each).
const SCHEDULE_FROM_S: i64 = 240;
/// Scheduled breaks start this far apart, and last half as long.
const SLOT_S: i64 = 3;
const DURATION_MS: u64 = 1500;
const PLAYLIST: &str = "/live/demo/video.m3u8";
const BREAKS: &str = "/api/v1/streams/live%2Fdemo/breaks";
const OME: &str = "/v1/vhosts/default/apps/live/streams/demo:sendEvent";

/// xorshift64* (Vigna): enough randomness to pick events and moments, reproducible by seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// The proxy process, started again on the same data directory after every kill.
struct Serve {
    child: Child,
    addr: SocketAddr,
    upstream: SocketAddr,
    dir: PathBuf,
    kills: usize,
}

impl Serve {
    fn start(upstream: SocketAddr, dir: PathBuf) -> Serve {
        let (child, addr) = spawn_serve(upstream, &dir);
        Serve {
            child,
            addr,
            upstream,
            dir,
            kills: 0,
        }
    }

    /// SIGKILL, then a new process on the same data directory (which must open).
    fn kill_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.kills += 1;
        let (child, addr) = spawn_serve(self.upstream, &self.dir);
        self.child = child;
        self.addr = addr;
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A native create, as sent (and sent again with the same body).
struct Create {
    body: String,
    request_id: String,
    event_id: u32,
    /// The break id of its 2xx answer.
    acked: Option<u64>,
}

/// What the playlists showed: each DATERANGE ID's START-DATE, the IDs seen with END-DATE, and
/// the marker tags of each segment.
#[derive(Default)]
struct Rendered {
    starts: HashMap<String, String>,
    ended: HashSet<String>,
    tags: HashMap<String, Vec<String>>,
}

impl Rendered {
    fn read(&mut self, playlist: &str) {
        // A published segment's tags never change; the first listed segment is the exception,
        // as it also carries the tags of a break that began before the window.
        for (uri, tags) in markers(playlist).into_iter().skip(1) {
            let before = self.tags.entry(uri.clone()).or_insert_with(|| tags.clone());
            assert_eq!(*before, tags, "the tags of {uri} changed:\n{playlist}");
        }
        for line in playlist.lines() {
            let Some(attributes) = line.strip_prefix("#EXT-X-DATERANGE:") else {
                continue;
            };
            let quoted = |name: &str| {
                let at = attributes.find(&format!("{name}=\""))? + name.len() + 2;
                attributes[at..].split('"').next().map(str::to_owned)
            };
            let (Some(id), Some(start)) = (quoted("ID"), quoted("START-DATE")) else {
                panic!("a DATERANGE without ID or START-DATE: {line}");
            };
            if let Some(before) = self.starts.insert(id.clone(), start.clone()) {
                assert_eq!(before, start, "{id} was rendered with two START-DATEs");
            }
            if quoted("END-DATE").is_some() {
                self.ended.insert(id);
            }
        }
    }
}

struct Run {
    serve: Serve,
    api: Api,
    ome: Api,
    rng: XorShift,
    clock: Arc<ManualClock>,
    rendered: Rendered,
    creates: Vec<Create>,
    /// Break ids whose cancel (DELETE, or an IN before the start) was answered 2xx.
    cancelled: HashSet<u64>,
    /// OvenMediaEngine event ids whose `out` / `in` was answered 2xx.
    ome_out: Vec<u32>,
    ome_in: Vec<u32>,
    ome_sent: HashSet<u32>,
    /// The OvenMediaEngine break that may be running (its `out` may have been applied).
    ome_open: Option<u32>,
    requests: usize,
    lost: usize,
    /// Creates whose break was made though their answer was lost to a kill.
    made_unanswered: usize,
}

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Delete,
}

impl Run {
    /// Sends a request; with `kill`, SIGKILLs the proxy a random 0 to 3 ms after sending it
    /// and starts it again. Status 0: no answer.
    async fn send(&mut self, verb: Verb, path: &str, body: &str, kill: bool) -> (u16, String) {
        self.requests += 1;
        let api = if path.starts_with("/v1/") {
            self.ome.clone()
        } else {
            self.api.clone()
        };
        let (addr, path, body) = (self.serve.addr, path.to_owned(), body.to_owned());
        let request = tokio::spawn(async move {
            match verb {
                Verb::Get => api.get(addr, &path).await,
                Verb::Post => api.post(addr, &path, &body).await,
                Verb::Delete => api.delete(addr, &path).await,
            }
        });
        if kill {
            tokio::time::sleep(Duration::from_micros(self.rng.below(3000))).await;
            self.serve.kill_and_restart();
        }
        let answer = request.await.unwrap();
        if answer.0 == 0 {
            self.lost += 1;
        }
        answer
    }

    /// Sends until answered (the proxy is not killed while it retries).
    async fn send_until_answered(&mut self, verb: Verb, path: &str, body: &str) -> (u16, String) {
        loop {
            let answer = self.send(verb, path, body, false).await;
            if answer.0 != 0 {
                return answer;
            }
        }
    }

    /// Before an event: sometimes a kill between requests; sometimes one during the request.
    fn kill_during(&mut self) -> bool {
        if self.rng.percent(7) {
            self.serve.kill_and_restart();
        }
        self.rng.percent(7)
    }

    async fn create(&mut self) {
        let slot = self.creates.len();
        let start = t0() + chrono::Duration::seconds(SCHEDULE_FROM_S + SLOT_S * slot as i64);
        let request_id = format!("crash-{slot}");
        let event_id = 10_000 + slot as u32;
        let body = json!({
            "duration_ms": DURATION_MS,
            "start": start.to_rfc3339_opts(SecondsFormat::Millis, true),
            "event_id": event_id,
            "request_id": request_id,
        })
        .to_string();
        self.creates.push(Create {
            body,
            request_id,
            event_id,
            acked: None,
        });
        self.send_create(slot).await;
    }

    /// Sends (or sends again) create `index`; an unanswered one is sent again with the same
    /// `request_id` until answered, as a client would.
    async fn send_create(&mut self, index: usize) {
        let body = self.creates[index].body.clone();
        let kill = self.kill_during();
        let mut answer = self.send(Verb::Post, BREAKS, &body, kill).await;
        if answer.0 == 0 {
            answer = self.send_until_answered(Verb::Post, BREAKS, &body).await;
            if answer.0 == 200 && self.creates[index].acked.is_none() {
                // The lost request had made the break: the retry got it back.
                self.made_unanswered += 1;
            }
        }
        let (status, text) = answer;
        assert!(
            status == 201 || status == 200,
            "create {body}: {status} {text}"
        );
        let id = parse(&text)["id"].as_u64().expect("a break id");
        let create = &mut self.creates[index];
        if let Some(acked) = create.acked {
            assert_eq!(acked, id, "a repeated request_id answered another break");
        }
        create.acked = Some(id);
    }

    /// DELETE, or POST …/end (an IN before the start cancels), of an acknowledged create.
    async fn cancel(&mut self, end: bool) {
        let acked: Vec<u64> = self.creates.iter().filter_map(|c| c.acked).collect();
        if acked.is_empty() {
            return;
        }
        let id = acked[self.rng.below(acked.len() as u64) as usize];
        let kill = self.kill_during();
        let (status, _) = if end {
            let path = format!("{BREAKS}/{id}/end");
            self.send(Verb::Post, &path, "", kill).await
        } else {
            self.send(Verb::Delete, &format!("{BREAKS}/{id}"), "", kill)
                .await
        };
        if (200..300).contains(&status) {
            self.cancelled.insert(id);
        }
    }

    /// An OvenMediaEngine `in` for the running break, or an `out` at the live edge; then the
    /// clock moves one segment and the playlist is read (which decides what is due).
    async fn ome_event(&mut self) {
        let kill = self.kill_during();
        match self.ome_open {
            Some(id) => {
                let body = json!({"eventFormat": "scte35",
                    "events": [{"spliceCommand": "spliceInsert", "id": id, "type": "in"}]});
                let (status, text) = self.send(Verb::Post, OME, &body.to_string(), kill).await;
                if status == 200 {
                    self.ome_in.push(id);
                }
                if status != 0 {
                    assert!(status == 200 || status == 409, "in {id}: {status} {text}");
                    self.ome_open = None;
                }
            }
            None => {
                let id = 500_000 + self.ome_sent.len() as u32;
                self.ome_sent.insert(id);
                let body = json!({"eventFormat": "scte35", "events": [{"spliceCommand":
                    "spliceInsert", "id": id, "type": "out", "duration": 2000}]});
                let (status, text) = self.send(Verb::Post, OME, &body.to_string(), kill).await;
                if status == 200 {
                    self.ome_out.push(id);
                }
                assert!([0, 200].contains(&status), "out {id}: {status} {text}");
                // Unanswered, it may have been applied: the next OME event sends its `in`.
                self.ome_open = Some(id);
            }
        }
        self.step(false).await;
    }

    /// One segment of program time, then the playlist (read again after a lost answer).
    async fn step(&mut self, kills: bool) {
        self.clock.advance(Duration::from_millis(1000));
        let kill = kills && {
            if self.rng.percent(4) {
                self.serve.kill_and_restart();
            }
            self.rng.percent(4)
        };
        let mut answer = self.send(Verb::Get, PLAYLIST, "", kill).await;
        if answer.0 == 0 {
            answer = self.send_until_answered(Verb::Get, PLAYLIST, "").await;
        }
        assert_eq!(answer.0, 200, "{PLAYLIST}: {}", answer.1);
        self.rendered.read(&answer.1);
    }

    /// Every break the store lists, all pages.
    async fn all_breaks(&mut self) -> Vec<Value> {
        let mut breaks = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("{BREAKS}?limit=1000&cursor={c}"),
                None => format!("{BREAKS}?limit=1000"),
            };
            let (status, text) = self.send_until_answered(Verb::Get, &path, "").await;
            assert_eq!(status, 200, "{text}");
            let page = parse(&text);
            breaks.extend(page["breaks"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return breaks,
            }
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn date(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_at_random_moments() {
    let began = Instant::now();
    let seed = std::env::var("HLSPLICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CAFE_F00D_u64);
    eprintln!("seed {seed:#x} (HLSPLICE_CRASH_SEED)");
    let (clock, upstream) = packager_upstream(PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    })
    .await;
    let dir = temp_dir("crash");
    let mut run = Run {
        serve: Serve::start(upstream, dir.clone()),
        api: Api::bearer(TOKEN),
        ome: Api::basic(TOKEN),
        rng: XorShift(seed | 1),
        clock,
        rendered: Rendered::default(),
        creates: Vec::new(),
        cancelled: HashSet::new(),
        ome_out: Vec::new(),
        ome_in: Vec::new(),
        ome_sent: HashSet::new(),
        ome_open: None,
        requests: 0,
        lost: 0,
        made_unanswered: 0,
    };
    run.step(false).await;

    for _ in 0..EVENTS {
        match run.rng.below(100) {
            0..45 => run.create().await,
            45..55 if !run.creates.is_empty() => {
                let index = run.rng.below(run.creates.len() as u64) as usize;
                run.send_create(index).await;
            }
            55..65 => run.cancel(false).await,
            65..75 => run.cancel(true).await,
            _ => run.ome_event().await,
        }
    }
    let events_done = began.elapsed();

    // Program time runs on through every scheduled break and a window past the last.
    let last =
        t0() + chrono::Duration::seconds(SCHEDULE_FROM_S + SLOT_S * run.creates.len() as i64 + 15);
    while run.clock.now() < last {
        run.step(true).await;
    }
    run.serve.kill_and_restart();
    let breaks = run.all_breaks().await;

    // Nothing duplicated, nothing nobody asked for.
    let mut by_request: HashMap<&str, &Value> = HashMap::new();
    let mut by_event: HashMap<u64, &Value> = HashMap::new();
    let by_id: HashMap<u64, &Value> = breaks
        .iter()
        .map(|b| (b["id"].as_u64().expect("an id"), b))
        .collect();
    assert_eq!(by_id.len(), breaks.len(), "a break listed twice");
    let requested: HashSet<&str> = run.creates.iter().map(|c| c.request_id.as_str()).collect();
    for b in &breaks {
        let event_id = b["event_id"].as_u64().expect("an event id");
        assert!(
            by_event.insert(event_id, b).is_none(),
            "two breaks with event id {event_id}"
        );
        match b["request_id"].as_str() {
            Some(request_id) => {
                assert!(requested.contains(request_id), "unasked-for {b}");
                assert!(
                    by_request.insert(request_id, b).is_none(),
                    "two breaks for request_id {request_id}"
                );
            }
            None => assert!(run.ome_sent.contains(&(event_id as u32)), "unasked-for {b}"),
        }
    }

    // Every acknowledged event is there.
    let mut acked = 0;
    for create in &run.creates {
        let Some(id) = create.acked else { continue };
        acked += 1;
        let b = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("acked break {id} lost"));
        assert_eq!(b["request_id"], create.request_id.as_str(), "{b}");
        assert_eq!(b["event_id"], create.event_id, "{b}");
    }
    for id in &run.cancelled {
        assert_eq!(by_id[id]["state"], "cancelled", "acked cancel of {id} lost");
    }
    for id in &run.ome_out {
        let b = by_event
            .get(&u64::from(*id))
            .unwrap_or_else(|| panic!("acked out {id} lost"));
        assert!(b["request_id"].is_null(), "{b}");
    }
    for id in &run.ome_in {
        assert_eq!(
            by_event[&u64::from(*id)]["state"],
            "ended",
            "acked in {id} lost"
        );
    }
    acked += run.cancelled.len() + run.ome_out.len() + run.ome_in.len();

    // Every break that was not cancelled was rendered, at the start the API reports.
    let mut rendered = 0;
    for b in &breaks {
        if b["state"] == "cancelled" {
            continue;
        }
        assert_eq!(b["state"], "ended", "{b}");
        let range = b["daterange_id"].as_str().expect("a DATERANGE id");
        let start = run
            .rendered
            .starts
            .get(range)
            .unwrap_or_else(|| panic!("break never rendered: {b}"));
        let decided = b["decided_start"].as_str().expect("a decided start");
        assert_eq!(date(start), date(decided), "{b}");
        assert!(run.rendered.ended.contains(range), "no END-DATE for {b}");
        rendered += 1;
    }

    eprintln!(
        "{} requests ({} unanswered, {} creates made without an answer), {} acknowledged \
         events, {} kills, {} breaks ({} rendered); events {:.1} s, total {:.1} s",
        run.requests,
        run.lost,
        run.made_unanswered,
        acked,
        run.serve.kills,
        breaks.len(),
        rendered,
        events_done.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    // The run exercised what it claims to.
    assert!(acked >= 200, "only {acked} acknowledged events");
    assert!(run.serve.kills >= 20, "only {} kills", run.serve.kills);
    assert!(run.lost >= 5, "only {} requests lost to a kill", run.lost);
    assert!(rendered >= 100, "only {rendered} breaks rendered");
    drop(run);
    let _ = std::fs::remove_dir_all(dir);
}
