//! Per-stream state: the break timeline, the live edge, the renderings, and the break
//! operations both API styles share.
//!
//! Locking: each stream has one `std::sync::Mutex`, held only for in-memory work
//! (rendering is a pure function over a few kilobytes), never across `.await`.
//! Durability: every change bumps the stream's `revision`. Before anything that depends on a
//! revision is answered — the API's 2xx as well as a playlist rendering that shows the change —
//! [`Stream::ensure_durable`] makes sure a snapshot at least that new is committed to the store.
//! One request per stream commits at a time (the latest state, off the async threads, so many
//! changes share one commit); the others watch the stream's durable revision. A failed commit
//! is reported to everyone waiting and retried by the next request that needs it.
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::error::Failure;
use super::store::{Store, StoredStream};
use crate::hls::{self, Break, BreakRequest, BreakState, PlaylistKind, RewriteOptions, Timeline};

/// How long a request waits for another request's store commit before giving up.
const DURABLE_WAIT: Duration = Duration::from_secs(10);
/// Longest accepted idempotency key.
const MAX_REQUEST_ID_LEN: usize = 256;

/// What is stored per stream.
#[derive(Serialize, Deserialize)]
struct StreamRecord {
    timeline: Timeline,
    #[serde(default)]
    request_ids: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct StreamRecordRef<'a> {
    timeline: &'a Timeline,
    request_ids: &'a BTreeMap<String, u64>,
}

/// One stream (all renditions in one playlist directory).
pub struct Stream {
    pub key: String,
    state: Mutex<StreamState>,
    durable: watch::Sender<Durability>,
    /// A commit of this stream is running.
    committing: AtomicBool,
}

/// What the store holds of a stream, as the committer last reported it.
#[derive(Clone, Copy, Debug, Default)]
struct Durability {
    revision: u64,
    /// Failed commits so far; waiters give up when it changes.
    failures: u64,
}

struct StreamState {
    timeline: Timeline,
    request_ids: BTreeMap<String, u64>,
    revision: u64,
    live_edge: Option<DateTime<Utc>>,
    target_duration: Option<f64>,
    part_target: Option<f64>,
    /// Last rendering per playlist path; reused while upstream bytes and timeline version match.
    renders: HashMap<String, Arc<Rendered>>,
}

/// A rewritten playlist, rendered once per (upstream bytes, timeline version).
pub struct Rendered {
    upstream: Bytes,
    version: u64,
    /// The stream revision that must be durable before this rendering is served.
    pub revision: u64,
    pub body: Bytes,
    gzip: OnceLock<Bytes>,
    pub media: bool,
    pub ended: bool,
    /// `max-age` for a live (non-blocking) answer: half the part target, else half the target duration.
    pub live_cache_control: http::HeaderValue,
}

impl Rendered {
    /// The gzip form, compressed on first use and then shared.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            use std::io::Write as _;
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.body.len() / 3 + 64),
                flate2::Compression::default(),
            );
            // Writing into a Vec cannot fail; on the impossible error serve an empty member.
            let _ = encoder.write_all(&self.body);
            Bytes::from(encoder.finish().unwrap_or_default())
        })
    }
}

/// What [`Stream::render`] produced.
pub struct Rendering {
    pub rendered: Arc<Rendered>,
    /// Served from an earlier rendering of the same bytes and timeline version.
    pub cache_hit: bool,
}

/// When a break should start.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// At the stream's live edge.
    Now,
    At(DateTime<Utc>),
}

/// A request to create a break, from either API style.
#[derive(Debug)]
pub struct NewBreak {
    pub start: Start,
    pub duration_ms: u64,
    pub event_id: Option<u32>,
    pub request_id: Option<String>,
}

/// Which break an IN or cancel refers to.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// By break id (native API).
    Id(u64),
    /// The scheduled or active one, optionally checked against a splice_event_id (OvenMediaEngine).
    Current(Option<u32>),
}

/// All known streams plus the store they persist to.
pub struct Streams {
    map: Mutex<BTreeMap<String, Arc<Stream>>>,
    store: Arc<Store>,
    max_break_ms: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Stream {
    fn new(key: String, record: Option<StreamRecord>, revision: u64) -> Self {
        let (timeline, request_ids) = match record {
            Some(record) => (record.timeline, record.request_ids),
            None => (Timeline::new(), BTreeMap::new()),
        };
        let (durable, _) = watch::channel(Durability {
            revision,
            failures: 0,
        });
        Stream {
            key,
            state: Mutex::new(StreamState {
                timeline,
                request_ids,
                revision,
                live_edge: None,
                target_duration: None,
                part_target: None,
                renders: HashMap::new(),
            }),
            durable,
            committing: AtomicBool::new(false),
        }
    }

    pub fn target_duration(&self) -> Option<f64> {
        lock(&self.state).target_duration
    }

    /// Renders `upstream` (the body of `path`) with this stream's timeline, or returns the
    /// rendering already made for the same bytes and timeline version. New decisions are
    /// applied to the timeline; `rendered.revision` must be durable before the rendering is
    /// served.
    ///
    /// # Errors
    /// `BadGateway` when the upstream body is not a playlist.
    pub fn render(
        &self,
        path: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
    ) -> Result<Rendering, Failure> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if let Some(existing) = state.renders.get(path)
            && existing.version == state.timeline.version()
            && existing.upstream == *upstream
        {
            return Ok(Rendering {
                rendered: Arc::clone(existing),
                cache_hit: true,
            });
        }
        let mut out = Vec::with_capacity(upstream.len() + 1024);
        let rejected =
            |e: hls::RewriteError| Failure::BadGateway(format!("upstream playlist rejected: {e}"));
        let mut outcome =
            hls::rewrite(upstream, &state.timeline, opts, &mut out).map_err(rejected)?;
        let media = matches!(outcome.kind, PlaylistKind::Media);
        if !outcome.decisions.is_empty() && state.timeline.apply(&outcome.decisions) {
            state.revision += 1;
        }
        if !state.timeline.agrees_with(&outcome.decisions) {
            // A value was already stored (first decision wins): render with the stored values,
            // so nothing but the stored value is ever served.
            outcome = hls::rewrite(upstream, &state.timeline, opts, &mut out).map_err(rejected)?;
        }
        if media {
            if let Some(edge) = outcome.live_edge
                && state.live_edge.is_none_or(|known| edge > known)
            {
                state.live_edge = Some(edge);
            }
            if outcome.target_duration.is_some() {
                state.target_duration = outcome.target_duration;
            }
            if outcome.part_target.is_some() {
                state.part_target = outcome.part_target;
            }
        }
        let body = if media {
            Bytes::from(out)
        } else {
            upstream.clone()
        };
        let rendered = Arc::new(Rendered {
            upstream: upstream.clone(),
            version: state.timeline.version(),
            revision: state.revision,
            body,
            gzip: OnceLock::new(),
            media,
            ended: outcome.ended,
            live_cache_control: live_cache_control(outcome.part_target.or(outcome.target_duration)),
        });
        match state.renders.get_mut(path) {
            Some(slot) => *slot = Arc::clone(&rendered),
            None => {
                state.renders.insert(path.to_owned(), Arc::clone(&rendered));
            }
        }
        Ok(Rendering {
            rendered,
            cache_hit: false,
        })
    }

    /// A JSON summary for `GET /api/v1/streams`.
    pub fn summary(&self) -> serde_json::Value {
        let state = lock(&self.state);
        let edge = state.live_edge;
        let current = state.current(edge).map(|b| break_view(&self.key, b, edge));
        serde_json::json!({
            "stream": self.key,
            "live_edge": edge.map(rfc3339),
            "target_duration": state.target_duration,
            "part_target": state.part_target,
            "breaks": state.timeline.breaks().len(),
            "active_break": current,
        })
    }

    /// Whether a break is active at this stream's live edge (for the metrics gauge).
    pub fn has_active_break(&self) -> bool {
        let state = lock(&self.state);
        let edge = state.live_edge;
        state
            .timeline
            .breaks()
            .iter()
            .any(|b| break_state(b, edge) == BreakState::Active)
    }

    /// Returns once the store holds this stream at `revision` or newer, committing the
    /// latest state itself when no other request is already doing so.
    ///
    /// # Errors
    /// `Store` when the commit fails or does not finish in time.
    pub async fn ensure_durable(
        self: &Arc<Self>,
        store: &Arc<Store>,
        revision: u64,
    ) -> Result<(), Failure> {
        let mut receiver = self.durable.subscribe();
        let seen = *receiver.borrow_and_update();
        if seen.revision >= revision {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + DURABLE_WAIT;
        loop {
            if !self.committing.swap(true, Ordering::AcqRel) {
                self.commit_latest(store).await?;
            } else {
                match tokio::time::timeout_at(deadline, receiver.changed()).await {
                    Ok(Ok(())) => {}
                    _ => return Err(Failure::Store("commit did not finish in time".to_owned())),
                }
            }
            let now = *receiver.borrow_and_update();
            if now.revision >= revision {
                return Ok(());
            }
            if now.failures != seen.failures {
                return Err(Failure::Store(
                    "committing the break timeline failed".to_owned(),
                ));
            }
        }
    }

    /// Commits a snapshot of the current state. The caller holds `committing`; the blocking
    /// task itself publishes the outcome and releases it, so a request that goes away
    /// mid-commit cannot leave the stream without a committer.
    async fn commit_latest(self: &Arc<Self>, store: &Arc<Store>) -> Result<(), Failure> {
        let snapshot = {
            let state = lock(&self.state);
            state.snapshot().map(|bytes| (state.revision, bytes))
        };
        let (revision, bytes) = match snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => {
                self.committing.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let stream = Arc::clone(self);
        let store = Arc::clone(store);
        let done = tokio::task::spawn_blocking(move || {
            let saved = store.save(&stream.key, revision, &bytes);
            // Release first: a waiter woken by the news may need to commit a newer revision.
            stream.committing.store(false, Ordering::Release);
            stream.durable.send_modify(|durable| match &saved {
                Ok(()) => durable.revision = durable.revision.max(revision),
                Err(_) => durable.failures += 1,
            });
            saved
        })
        .await;
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::error!(stream = %self.key, error = %e, "break store commit failed");
                Err(Failure::Store(e))
            }
            Err(e) => Err(Failure::Store(e.to_string())),
        }
    }
}

impl StreamState {
    fn snapshot(&self) -> Result<Vec<u8>, Failure> {
        serde_json::to_vec(&StreamRecordRef {
            timeline: &self.timeline,
            request_ids: &self.request_ids,
        })
        .map_err(|e| Failure::Store(format!("serializing timeline: {e}")))
    }

    /// The break scheduled or active at `edge`, if any.
    fn current(&self, edge: Option<DateTime<Utc>>) -> Option<&Break> {
        self.timeline.breaks().iter().find(|b| {
            matches!(
                break_state(b, edge),
                BreakState::Scheduled | BreakState::Active
            )
        })
    }
}

impl Streams {
    /// Loads every stored stream.
    ///
    /// # Errors
    /// When a stored record cannot be decoded.
    pub fn load(
        store: Arc<Store>,
        rows: Vec<StoredStream>,
        max_break_ms: u64,
    ) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for StoredStream {
            key,
            revision,
            record: bytes,
        } in rows
        {
            let record: StreamRecord = serde_json::from_slice(&bytes)
                .map_err(|e| format!("stored timeline of stream {key:?}: {e}"))?;
            map.insert(
                key.clone(),
                Arc::new(Stream::new(key, Some(record), revision)),
            );
        }
        Ok(Streams {
            map: Mutex::new(map),
            store,
            max_break_ms,
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn get(&self, key: &str) -> Option<Arc<Stream>> {
        lock(&self.map).get(key).cloned()
    }

    /// The stream for `key`, created on first sight (a playlist of it was fetched).
    pub fn get_or_create(&self, key: &str) -> Arc<Stream> {
        let mut map = lock(&self.map);
        if let Some(stream) = map.get(key) {
            return Arc::clone(stream);
        }
        let stream = Arc::new(Stream::new(key.to_owned(), None, 0));
        map.insert(key.to_owned(), Arc::clone(&stream));
        stream
    }

    /// Forgets a stream created for a playlist that then turned out not to be one, so only
    /// real playlists make a stream known. Streams with breaks are kept.
    pub fn forget_unused(&self, key: &str) {
        let mut map = lock(&self.map);
        let unused = map.get(key).is_some_and(|stream| {
            let state = lock(&stream.state);
            state.timeline.breaks().is_empty() && state.renders.is_empty()
        });
        if unused {
            map.remove(key);
        }
    }

    pub fn all(&self) -> Vec<Arc<Stream>> {
        lock(&self.map).values().cloned().collect()
    }

    fn known(&self, key: &str) -> Result<Arc<Stream>, Failure> {
        self.get(key)
            .ok_or_else(|| Failure::NotFound(format!("Could not find the stream: [{key}]")))
    }

    /// Creates a break; `Ok((200, ..))` for a repeated `request_id`, `Ok((201, ..))` for a new one.
    ///
    /// # Errors
    /// 400 for a bad duration, 404 unknown stream, 409 conflicting break, 422 refused by the
    /// timeline, 503 no live edge yet, 500 store failure.
    pub async fn create_break(
        &self,
        key: &str,
        req: NewBreak,
    ) -> Result<(StatusCode, serde_json::Value), Failure> {
        if req.duration_ms == 0 {
            return Err(Failure::BadRequest("duration must be positive".to_owned()));
        }
        if req.duration_ms > self.max_break_ms {
            return Err(Failure::BadRequest(format!(
                "duration {} ms is over the maximum of {} ms",
                req.duration_ms, self.max_break_ms
            )));
        }
        if let Some(id) = &req.request_id
            && (id.is_empty() || id.len() > MAX_REQUEST_ID_LEN)
        {
            return Err(Failure::BadRequest(format!(
                "request_id must be 1 to {MAX_REQUEST_ID_LEN} bytes"
            )));
        }
        let stream = self.known(key)?;
        // The lock guard must not live across an await: the block decides, the awaits follow.
        let (revision, created, view) = {
            let mut state = lock(&stream.state);
            let edge = state.live_edge;
            if let Some(request_id) = &req.request_id
                && let Some(existing) = state
                    .request_ids
                    .get(request_id)
                    .and_then(|id| state.timeline.get(*id))
            {
                (
                    state.revision,
                    false,
                    break_view(&stream.key, existing, edge),
                )
            } else {
                if let Some(current) = state.current(edge) {
                    return Err(Failure::Conflict {
                        reason: format!(
                            "break {} is already {}",
                            current.id,
                            state_name(break_state(current, edge))
                        ),
                        existing: Some(break_view(&stream.key, current, edge)),
                    });
                }
                let start = match req.start {
                Start::Now => edge.ok_or_else(|| {
                    Failure::Unavailable(format!("no live edge known yet for stream {key}: fetch one of its media playlists first"))
                })?,
                Start::At(at) => {
                    if let Some(edge) = edge
                        && at < edge
                    {
                        return Err(Failure::Refused(format!(
                            "start {} is before the live edge {}",
                            rfc3339(at),
                            rfc3339(edge)
                        )));
                    }
                    at
                }
            };
                let created = state
                    .timeline
                    .add_break(BreakRequest {
                        event_id: req.event_id,
                        start,
                        planned_duration_ms: req.duration_ms,
                    })
                    .map_err(|e| Failure::Refused(e.to_string()))?;
                let view = break_view(&stream.key, created, edge);
                let id = created.id;
                if let Some(request_id) = req.request_id {
                    state.request_ids.insert(request_id, id);
                }
                state.revision += 1;
                (state.revision, true, view)
            }
        };
        stream.ensure_durable(&self.store, revision).await?;
        if !created {
            // A repeated request_id: the original break.
            return Ok((StatusCode::OK, view));
        }
        tracing::info!(stream = %key, break_id = view["id"].as_u64(), "break created");
        Ok((StatusCode::CREATED, view))
    }

    /// Ends a break early (IN at the live edge); a break that has not started yet is cancelled instead.
    ///
    /// # Errors
    /// 404 unknown stream/break, 409 nothing to end, 422 refused by the timeline, 500 store failure.
    pub async fn end_break(&self, key: &str, target: Target) -> Result<serde_json::Value, Failure> {
        self.change(key, target, false).await
    }

    /// Cancels a break that has not started.
    ///
    /// # Errors
    /// 404 unknown stream/break, 409 already started or over, 500 store failure.
    pub async fn cancel_break(&self, key: &str, id: u64) -> Result<serde_json::Value, Failure> {
        self.change(key, Target::Id(id), true).await
    }

    async fn change(
        &self,
        key: &str,
        target: Target,
        cancel_only: bool,
    ) -> Result<serde_json::Value, Failure> {
        let stream = self.known(key)?;
        let (revision, view) = {
            let mut state = lock(&stream.state);
            let edge = state.live_edge;
            let found = match target {
                Target::Id(id) => state
                    .timeline
                    .get(id)
                    .ok_or_else(|| Failure::NotFound(format!("no break {id} in stream {key}")))?,
                Target::Current(event_id) => {
                    let current = state.current(edge).ok_or_else(|| Failure::Conflict {
                        reason: format!("no break is scheduled or active in stream {key}"),
                        existing: None,
                    })?;
                    if let Some(event_id) = event_id
                        && current.splice_event_id != event_id
                    {
                        return Err(Failure::Conflict {
                            reason: format!(
                                "the current break has splice_event_id {}, not {event_id}",
                                current.splice_event_id
                            ),
                            existing: Some(break_view(&stream.key, current, edge)),
                        });
                    }
                    current
                }
            };
            let id = found.id;
            let status = break_state(found, edge);
            let conflict = |reason: String, b: &Break| Failure::Conflict {
                reason,
                existing: Some(break_view(&stream.key, b, edge)),
            };
            if status == BreakState::Active && !cancel_only && found.requested_end.is_some() {
                // An IN was already requested: repeating it must not move the IN later.
                (state.revision, break_view(&stream.key, found, edge))
            } else {
                let changed = match (status, cancel_only) {
                    (BreakState::Scheduled, _) => state.timeline.cancel_break(id),
                    (BreakState::Active, false) => {
                        // Active implies a live edge is known.
                        let at = edge
                            .ok_or_else(|| Failure::Unavailable("no live edge known".to_owned()))?;
                        state.timeline.end_break(id, at)
                    }
                    (BreakState::Active, true) => {
                        return Err(conflict(
                            format!("break {id} has already started; end it instead"),
                            found,
                        ));
                    }
                    (BreakState::Ended | BreakState::Cancelled, _) => {
                        return Err(conflict(
                            format!("break {id} is already {}", state_name(status)),
                            found,
                        ));
                    }
                };
                let changed = match changed {
                    Ok(changed) => break_view(&stream.key, changed, edge),
                    Err(e) => {
                        let reason = e.to_string();
                        return Err(match state.timeline.get(id) {
                            Some(b) => conflict(reason, b),
                            None => Failure::Refused(reason),
                        });
                    }
                };
                state.revision += 1;
                (state.revision, changed)
            }
        };
        stream.ensure_durable(&self.store, revision).await?;
        tracing::info!(stream = %key, break_id = view["id"].as_u64(), state = view["state"].as_str(), "break changed");
        Ok(view)
    }

    /// All breaks of a stream.
    ///
    /// # Errors
    /// 404 unknown stream.
    pub fn list_breaks(&self, key: &str) -> Result<serde_json::Value, Failure> {
        let stream = self.known(key)?;
        let state = lock(&stream.state);
        let edge = state.live_edge;
        let breaks: Vec<_> = state
            .timeline
            .breaks()
            .iter()
            .map(|b| break_view(&stream.key, b, edge))
            .collect();
        Ok(
            serde_json::json!({ "stream": stream.key, "live_edge": edge.map(rfc3339), "breaks": breaks }),
        )
    }
}

/// A break's state as the API reports it, by what has been published: `scheduled` until a
/// rendering has decided its start (even when the requested start is already at the live
/// edge), `active` until a rendering has decided its end, then by the live edge.
pub fn break_state(b: &Break, edge: Option<DateTime<Utc>>) -> BreakState {
    if b.cancelled {
        BreakState::Cancelled
    } else if b.decided_start.is_none() {
        BreakState::Scheduled
    } else if b.decided_end.is_none() {
        BreakState::Active
    } else {
        b.state(edge)
    }
}

fn state_name(state: BreakState) -> &'static str {
    match state {
        BreakState::Scheduled => "scheduled",
        BreakState::Active => "active",
        BreakState::Ended => "ended",
        BreakState::Cancelled => "cancelled",
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The JSON form of a break (native API answers, 409 bodies).
pub fn break_view(stream: &str, b: &Break, edge: Option<DateTime<Utc>>) -> serde_json::Value {
    serde_json::json!({
        "id": b.id,
        "stream": stream,
        "event_id": b.splice_event_id,
        "daterange_id": b.daterange_id,
        "state": state_name(break_state(b, edge)),
        "requested_start": rfc3339(b.requested_start),
        "requested_end": b.requested_end.map(rfc3339),
        "decided_start": b.decided_start.map(rfc3339),
        "decided_end": b.decided_end.map(rfc3339),
        "planned_duration_ms": b.planned_duration_ms,
        "planned_end": rfc3339(b.planned_end()),
        "cancelled": b.cancelled,
        "scte35_out": {
            "hex": crate::scte35::to_hex(&b.scte35_out),
            "base64": crate::scte35::to_base64(&b.scte35_out),
        },
        "scte35_in": {
            "hex": crate::scte35::to_hex(&b.scte35_in),
            "base64": crate::scte35::to_base64(&b.scte35_in),
        },
    })
}

/// `max-age=<half of basis>` in whole seconds, rounded down.
fn live_cache_control(basis: Option<f64>) -> http::HeaderValue {
    let half = match basis {
        Some(basis) if basis.is_finite() && basis > 0.0 => {
            (basis / 2.0).floor().min(86_400.0) as u64
        }
        _ => 0,
    };
    http::HeaderValue::try_from(format!("max-age={half}"))
        .unwrap_or(http::HeaderValue::from_static("max-age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    fn new_break(request_id: &str) -> NewBreak {
        NewBreak {
            start: Start::At(at("2026-01-01T00:00:10Z")),
            duration_ms: 1000,
            event_id: None,
            request_id: Some(request_id.to_owned()),
        }
    }

    #[tokio::test]
    async fn commits_before_answering_and_reports_a_failed_commit_at_once() {
        let dir =
            std::env::temp_dir().join(format!("hlsplice-streams-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, rows) = Store::open(&dir).unwrap();
        let store = Arc::new(store);
        let streams = Streams::load(Arc::clone(&store), rows, 60_000).unwrap();
        streams.get_or_create("live/a");
        let (status, view) = streams
            .create_break("live/a", new_break("one"))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(view["state"], "scheduled");

        // Committed: a fresh load sees it (reading a second handle is not possible while open,
        // so close, reopen and compare).
        store.close();
        let (reopened, rows) = Store::open(&dir).unwrap();
        assert_eq!(rows.len(), 1);
        let record: StreamRecord = serde_json::from_slice(&rows[0].record).unwrap();
        assert_eq!(record.timeline.breaks().len(), 1);
        assert_eq!(record.request_ids.get("one"), Some(&1));
        drop(reopened);

        // The old store is closed, so the next commit fails: every waiter hears it at once.
        let stream = streams.get("live/a").unwrap();
        let started = std::time::Instant::now();
        let cancel = streams.cancel_break("live/a", 1);
        let wait = stream.ensure_durable(&store, 2);
        let (cancelled, waited) = tokio::join!(cancel, wait);
        assert!(matches!(cancelled, Err(Failure::Store(_))), "{cancelled:?}");
        assert!(matches!(waited, Err(Failure::Store(_))), "{waited:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
