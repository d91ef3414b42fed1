//! Per-stream state: the break timeline, the live edge, the renderings, and the break
//! operations both API styles share.
//!
//! Locking: each stream has one `std::sync::Mutex`, held only for in-memory work
//! (rendering is a pure function over a few kilobytes), never across `.await`.
//! Durability: every change bumps the stream's `revision`; a snapshot of that revision is
//! committed to the store (off the async threads) before anything that depends on it is
//! answered — the API's 2xx as well as a playlist rendering that shows the change. Waiters
//! watch the stream's durable revision.
use std::collections::{BTreeMap, HashMap};
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
    durable: watch::Sender<u64>,
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
    /// New decisions were applied: this snapshot must be committed before serving.
    pub snapshot: Option<Vec<u8>>,
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
        let (durable, _) = watch::channel(revision);
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
        }
    }

    pub fn target_duration(&self) -> Option<f64> {
        lock(&self.state).target_duration
    }

    /// Renders `upstream` (the body of `path`) with this stream's timeline, or returns the
    /// rendering already made for the same bytes and timeline version. New decisions are
    /// applied to the timeline; the returned snapshot, if any, must be persisted before the
    /// rendering is served.
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
                snapshot: None,
            });
        }
        let mut out = Vec::with_capacity(upstream.len() + 1024);
        let rejected =
            |e: hls::RewriteError| Failure::BadGateway(format!("upstream playlist rejected: {e}"));
        let mut outcome =
            hls::rewrite(upstream, &state.timeline, opts, &mut out).map_err(rejected)?;
        let media = matches!(outcome.kind, PlaylistKind::Media);
        let mut snapshot = None;
        if !outcome.decisions.is_empty() && state.timeline.apply(&outcome.decisions) {
            state.revision += 1;
            snapshot = Some(state.snapshot()?);
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
            snapshot,
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

    /// Waits until `revision` is committed to the store.
    ///
    /// # Errors
    /// `Store` when it does not become durable in time (a commit failed).
    pub async fn wait_durable(&self, revision: u64) -> Result<(), Failure> {
        let mut receiver = self.durable.subscribe();
        match tokio::time::timeout(
            DURABLE_WAIT,
            receiver.wait_for(|durable| *durable >= revision),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Failure::Store(
                "change not committed to the store in time".to_owned(),
            )),
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

    /// Commits a snapshot of `revision` and marks it durable.
    ///
    /// # Errors
    /// `Store` when the commit fails.
    pub async fn persist(
        &self,
        stream: &Arc<Stream>,
        revision: u64,
        snapshot: Vec<u8>,
    ) -> Result<(), Failure> {
        let store = Arc::clone(&self.store);
        let key = stream.key.clone();
        let saved =
            tokio::task::spawn_blocking(move || store.save(&key, revision, &snapshot)).await;
        match saved {
            Ok(Ok(())) => {
                stream.durable.send_if_modified(|durable| {
                    let newer = *durable < revision;
                    if newer {
                        *durable = revision;
                    }
                    newer
                });
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::error!(stream = %stream.key, error = %e, "break store commit failed");
                Err(Failure::Store(e))
            }
            Err(e) => Err(Failure::Store(e.to_string())),
        }
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
        let (revision, snapshot, view) = {
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
                    None,
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
                (state.revision, Some(state.snapshot()?), view)
            }
        };
        let Some(snapshot) = snapshot else {
            // A repeated request_id: the original break, once it is durable.
            stream.wait_durable(revision).await?;
            return Ok((StatusCode::OK, view));
        };
        self.persist(&stream, revision, snapshot).await?;
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
        let (revision, snapshot, view) = {
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
                (state.revision, None, break_view(&stream.key, found, edge))
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
                (state.revision, Some(state.snapshot()?), changed)
            }
        };
        let Some(snapshot) = snapshot else {
            stream.wait_durable(revision).await?;
            return Ok(view);
        };
        self.persist(&stream, revision, snapshot).await?;
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
