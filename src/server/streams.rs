//! Per-stream state: the break timeline, the live edge, the renderings, and the break
//! operations both API styles share.
//!
//! Locking: each stream has one `std::sync::Mutex`, held only for in-memory work
//! (rendering is a pure function over a few kilobytes), never across `.await`.
//! Durability: memory only ever holds what the store holds. A change — an API event, or the
//! start/end values a rendering decides — is made to a copy of the stream's timeline, the copy
//! is committed, and only then swapped in ([`Stream::commit`]); a failed commit leaves memory
//! exactly as it was, and its request answers 5xx. One change per stream is committed at a
//! time (the stream's `writer` lock); the commit and the swap run in one blocking task that
//! owns that lock, so a client that goes away mid-commit cannot separate them. Renderings that
//! decide nothing new, and cached renderings, never wait for the store.
//!
//! The record also keeps the paths of the stream's media playlists (at most
//! [`MAX_MEDIA_PATHS`], newest first seen kept), so that right after a restart the API can
//! refresh the live edge from upstream before any player has asked for a playlist. A path is
//! committed the first time it is rendered, if the record does not hold it yet; a path already
//! known costs no commit and no allocation. The paths are a hint: a failed commit of one is
//! logged and the playlist is served all the same.
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use super::error::Failure;
use super::path::{stream_key_of, validate_path};
use super::store::{RecordStore, StoredStream};
use crate::hls::{
    self, Break, BreakRequest, BreakState, PlaylistKind, RewriteOptions, RewriteOutcome, Timeline,
};

/// How long a request waits for other changes of the same stream to be committed.
const DURABLE_WAIT: Duration = Duration::from_secs(10);
/// Longest accepted idempotency key.
const MAX_REQUEST_ID_LEN: usize = 256;
/// Most media playlist paths kept per stream record (the newest first seen).
pub const MAX_MEDIA_PATHS: usize = 16;
/// Most renderings kept per playlist path, one per upstream target (full reload, delta
/// update, blocking reload targets): enough for the targets live players ask for at once,
/// small enough that a stream of distinct `_HLS_msn` values cannot grow memory.
pub const MAX_RENDERS_PER_PATH: usize = 8;

/// What is stored per stream.
#[derive(Serialize, Deserialize)]
struct StreamRecord {
    timeline: Timeline,
    #[serde(default)]
    request_ids: BTreeMap<String, u64>,
    /// Media playlist paths of the stream, oldest first (records written before this field
    /// existed have none).
    #[serde(default)]
    media_paths: Vec<String>,
}

#[derive(Serialize)]
struct StreamRecordRef<'a> {
    timeline: &'a Timeline,
    request_ids: &'a BTreeMap<String, u64>,
    media_paths: &'a [String],
}

/// One stream (all renditions in one playlist directory).
pub struct Stream {
    pub key: String,
    state: Mutex<StreamState>,
    /// Held from taking a copy of the durable part until the committed copy is swapped in (or
    /// the commit failed), so changes of one stream never commit over each other.
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// The durable part of a stream, copied to make a change (see [`Stream::commit`]).
struct Draft {
    timeline: Timeline,
    request_ids: BTreeMap<String, u64>,
    media_paths: Vec<String>,
}

impl Draft {
    /// Adds `path` to the media playlist paths unless it is there already, dropping the oldest
    /// beyond [`MAX_MEDIA_PATHS`]. Whether it was added.
    fn add_media_path(&mut self, path: &str) -> bool {
        if self.media_paths.iter().any(|known| known == path) {
            return false;
        }
        if self.media_paths.len() >= MAX_MEDIA_PATHS {
            let excess = self.media_paths.len() + 1 - MAX_MEDIA_PATHS;
            self.media_paths.drain(..excess);
        }
        self.media_paths.push(path.to_owned());
        true
    }
}

struct StreamState {
    /// As committed: changed only by swapping in a committed [`Draft`].
    timeline: Timeline,
    request_ids: BTreeMap<String, u64>,
    /// Media playlist paths as committed, oldest first (see the module docs).
    media_paths: Vec<String>,
    /// Last revision number given to a commit attempt; never reused, even after a failure, so
    /// the store's "never overwrite a newer revision" rule cannot skip a retry.
    revision: u64,
    live_edge: Option<DateTime<Utc>>,
    target_duration: Option<f64>,
    part_target: Option<f64>,
    /// Renderings per playlist path, by upstream target; reused while upstream bytes and
    /// timeline version match.
    renders: HashMap<String, PathRenders>,
}

/// The renderings of one playlist path, one per upstream target (the path plus the query
/// forwarded upstream), least recently used first, at most [`MAX_RENDERS_PER_PATH`]. Keyed
/// by target so that players alternating between targets of the same playlist (a full reload
/// and a delta update, blocking reloads for different parts) do not evict each other. A
/// lookup compares `&str`s and a hit reorders in place: neither allocates.
struct PathRenders {
    slots: Vec<(Box<str>, Arc<Rendered>)>,
}

impl PathRenders {
    fn new() -> Self {
        PathRenders {
            slots: Vec::with_capacity(MAX_RENDERS_PER_PATH),
        }
    }

    /// The rendering of `target`, marked as the most recently used.
    fn get(&mut self, target: &str) -> Option<&Arc<Rendered>> {
        let i = self.slots.iter().position(|(t, _)| &**t == target)?;
        self.slots[i..].rotate_left(1);
        self.slots.last().map(|(_, rendered)| rendered)
    }

    /// Caches `rendered` for `target`, replacing its earlier rendering, else dropping the
    /// least recently used one when full.
    fn put(&mut self, target: &str, rendered: Arc<Rendered>) {
        if let Some(i) = self.slots.iter().position(|(t, _)| &**t == target) {
            self.slots[i..].rotate_left(1);
            if let Some(slot) = self.slots.last_mut() {
                slot.1 = rendered;
            }
            return;
        }
        if self.slots.len() >= MAX_RENDERS_PER_PATH {
            self.slots.remove(0);
        }
        self.slots.push((target.into(), rendered));
    }

    /// Whether the path is a media playlist (by its latest rendering).
    fn media(&self) -> bool {
        self.slots
            .last()
            .is_some_and(|(_, rendered)| rendered.media)
    }
}

/// One encoding of a rendering, with its `Content-Length` made once: serving it clones
/// reference-counted bytes and allocates nothing.
pub struct Payload {
    pub bytes: Bytes,
    pub content_length: http::HeaderValue,
}

impl Payload {
    fn new(bytes: Bytes) -> Self {
        Payload {
            content_length: http::HeaderValue::from(bytes.len()),
            bytes,
        }
    }
}

/// A rewritten playlist, rendered once per (upstream target, upstream bytes, timeline version).
pub struct Rendered {
    upstream: Bytes,
    version: u64,
    pub plain: Payload,
    gzip: OnceLock<Payload>,
    pub media: bool,
    pub ended: bool,
    /// `max-age` for a live (non-blocking) answer: half the part target, else half the target duration.
    pub live_cache_control: http::HeaderValue,
}

impl Rendered {
    /// The gzip form, compressed on first use and then shared.
    pub fn gzip(&self) -> &Payload {
        self.gzip.get_or_init(|| {
            use std::io::Write as _;
            let body = &self.plain.bytes;
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 3 + 64),
                flate2::Compression::default(),
            );
            // Writing into a Vec cannot fail; on the impossible error serve an empty member.
            let _ = encoder.write_all(body);
            Payload::new(Bytes::from(encoder.finish().unwrap_or_default()))
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
    store: Arc<dyn RecordStore>,
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
        let (timeline, request_ids, media_paths) = match record {
            Some(record) => {
                let media_paths = valid_media_paths(&key, record.media_paths);
                (record.timeline, record.request_ids, media_paths)
            }
            None => (Timeline::new(), BTreeMap::new(), Vec::new()),
        };
        Stream {
            key,
            state: Mutex::new(StreamState {
                timeline,
                request_ids,
                media_paths,
                revision,
                live_edge: None,
                target_duration: None,
                part_target: None,
                renders: HashMap::new(),
            }),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub fn target_duration(&self) -> Option<f64> {
        lock(&self.state).target_duration
    }

    /// Paths of the media playlists of this stream (the renditions an API call refreshes the
    /// live edge from): those the proxy has rendered since it started, and those its store
    /// record holds from before.
    pub fn media_paths(&self) -> Vec<String> {
        let state = lock(&self.state);
        let mut paths: Vec<String> = state
            .renders
            .iter()
            .filter(|(_, renders)| renders.media())
            .map(|(path, _)| path.clone())
            .collect();
        for path in &state.media_paths {
            if !state.renders.contains_key(path) {
                paths.push(path.clone());
            }
        }
        paths
    }

    /// Renders `upstream` (the body of `path`, fetched as `target`: the path plus the query
    /// forwarded upstream) with this stream's timeline, or returns the rendering already made
    /// for the same target, bytes and timeline version. A rendering that decides a break's
    /// start or end is returned only once that decision is committed.
    ///
    /// # Errors
    /// `BadGateway` when the upstream body is not a playlist; `Store` when a decision could
    /// not be committed (then nothing of it is kept in memory).
    pub async fn render(
        self: &Arc<Self>,
        store: &Arc<dyn RecordStore>,
        path: &str,
        target: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
    ) -> Result<Rendering, Failure> {
        let mut out = Vec::new();
        let step = lock(&self.state).render_step(path, target, upstream, opts, &mut out)?;
        let (rendering, new_path) = match step {
            Step::Done {
                rendering,
                new_path,
            } => (rendering, new_path),
            Step::Decided(_) => {
                self.render_decided(store, path, target, upstream, opts, out)
                    .await?
            }
        };
        if new_path {
            self.remember_media_path(store, path).await;
        }
        Ok(rendering)
    }

    /// The rendering decided something new: commits it before anyone sees it. Also whether
    /// `path` is a media playlist path the record does not hold yet.
    async fn render_decided(
        self: &Arc<Self>,
        store: &Arc<dyn RecordStore>,
        path: &str,
        target: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
        mut out: Vec<u8>,
    ) -> Result<(Rendering, bool), Failure> {
        let writer = self.writer().await?;
        let (draft, rendered, observed) = {
            let mut state = lock(&self.state);
            // Rendered again: a change committed while this request waited (e.g. another
            // rendition deciding the same start) may already hold these decisions.
            let mut outcome = match state.render_step(path, target, upstream, opts, &mut out)? {
                Step::Done {
                    rendering,
                    new_path,
                } => return Ok((rendering, new_path)),
                Step::Decided(outcome) => outcome,
            };
            let mut draft = state.draft();
            let changed = draft.timeline.apply(&outcome.decisions);
            if !draft.timeline.agrees_with(&outcome.decisions) {
                // A value was already stored (first decision wins): render with the stored
                // values, so nothing but the stored value is ever served.
                outcome = rewrite_or_pass(upstream, &draft.timeline, opts, &mut out, path)?;
            }
            let (rendered, observed) =
                Rendered::new(upstream, draft.timeline.version(), &outcome, out);
            if !changed {
                let (rendered, new_path) = state.install(path, target, rendered, observed);
                return Ok((
                    Rendering {
                        rendered,
                        cache_hit: false,
                    },
                    new_path,
                ));
            }
            if observed.media {
                // Committed with the decision, so it needs no commit of its own.
                draft.add_media_path(path);
            }
            (draft, rendered, observed)
        };
        let (path, target) = (path.to_owned(), target.to_owned());
        let (rendered, new_path) = self
            .commit(store, writer, draft, move |state| {
                state.install(&path, &target, rendered, observed)
            })
            .await?;
        Ok((
            Rendering {
                rendered,
                cache_hit: false,
            },
            new_path,
        ))
    }

    /// Commits `path` into this stream's media playlist paths unless the record holds it
    /// already. A failure is logged, not answered: the paths only help refresh the live edge
    /// after a restart.
    async fn remember_media_path(self: &Arc<Self>, store: &Arc<dyn RecordStore>, path: &str) {
        let writer = match self.writer().await {
            Ok(writer) => writer,
            Err(e) => {
                tracing::warn!(stream = %self.key, path, error = %e.message(), "media playlist path not saved");
                return;
            }
        };
        let draft = {
            let state = lock(&self.state);
            let mut draft = state.draft();
            if !draft.add_media_path(path) {
                return;
            }
            draft
        };
        if self.commit(store, writer, draft, |_| ()).await.is_ok() {
            tracing::debug!(stream = %self.key, path, "media playlist path saved");
        }
    }

    /// Waits for this stream's writer lock (see [`Stream::commit`]).
    async fn writer(&self) -> Result<OwnedMutexGuard<()>, Failure> {
        tokio::time::timeout(DURABLE_WAIT, Arc::clone(&self.writer).lock_owned())
            .await
            .map_err(|_| {
                Failure::Store("an earlier change of this stream did not commit in time".to_owned())
            })
    }

    /// Commits `draft` (a changed copy of the durable part, taken under `writer`), then swaps
    /// it into memory and runs `then` under the same state lock. The commit and the swap run
    /// in one blocking task that owns `writer`, so they stay together even if the request
    /// goes away. On failure memory is left exactly as it was.
    ///
    /// # Errors
    /// `Store` when the record cannot be serialized or the commit fails.
    async fn commit<T: Send + 'static>(
        self: &Arc<Self>,
        store: &Arc<dyn RecordStore>,
        writer: OwnedMutexGuard<()>,
        draft: Draft,
        then: impl FnOnce(&mut StreamState) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let bytes = serde_json::to_vec(&StreamRecordRef {
            timeline: &draft.timeline,
            request_ids: &draft.request_ids,
            media_paths: &draft.media_paths,
        })
        .map_err(|e| Failure::Store(format!("serializing timeline: {e}")))?;
        let revision = {
            let mut state = lock(&self.state);
            state.revision += 1;
            state.revision
        };
        let stream = Arc::clone(self);
        let store = Arc::clone(store);
        let done = tokio::task::spawn_blocking(move || {
            let _writer = writer;
            store.save(&stream.key, revision, &bytes)?;
            let mut state = lock(&stream.state);
            state.timeline = draft.timeline;
            state.request_ids = draft.request_ids;
            state.media_paths = draft.media_paths;
            Ok(then(&mut state))
        })
        .await;
        match done {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                tracing::error!(stream = %self.key, error = %e, "break store commit failed; change discarded");
                Err(Failure::Store(e))
            }
            Err(e) => Err(Failure::Store(e.to_string())),
        }
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
}

/// What [`StreamState::render_step`] got to.
enum Step {
    /// Served from the cache, or rendered without deciding anything new (and cached);
    /// `new_path` when it is the first rendering of a media playlist path the record lacks.
    Done {
        rendering: Rendering,
        new_path: bool,
    },
    /// The rendering decided new start/end values; it is served only after they are committed.
    Decided(RewriteOutcome),
}

/// What a media rendering observed about the stream (kept only once the rendering is served).
#[derive(Clone, Copy)]
struct Observed {
    media: bool,
    live_edge: Option<DateTime<Utc>>,
    target_duration: Option<f64>,
    part_target: Option<f64>,
}

/// Rewrites `upstream` into `out`. An answer that is not a playlist is an invalid upstream answer
/// (502). A media playlist the rewriter cannot mark (no program time to place a break by, a tag it
/// cannot read) is served exactly as the packager wrote it, which the rewriter leaves in `out`:
/// failing every player of the stream would turn one unplaceable break into an outage.
fn rewrite_or_pass(
    upstream: &Bytes,
    timeline: &hls::Timeline,
    opts: &RewriteOptions,
    out: &mut Vec<u8>,
    path: &str,
) -> Result<RewriteOutcome, Failure> {
    match hls::rewrite(upstream, timeline, opts, out) {
        Ok(outcome) => Ok(outcome),
        Err(e @ hls::RewriteError::NotAPlaylist) => Err(Failure::BadGateway(format!(
            "upstream playlist rejected: {e}"
        ))),
        Err(e) => {
            tracing::warn!(path, error = %e, "media playlist served without ad markers");
            Ok(RewriteOutcome {
                decisions: Vec::new(),
                kind: PlaylistKind::Media,
                live_edge: None,
                target_duration: None,
                part_target: None,
                media_sequence: 0,
                ended: false,
            })
        }
    }
}

impl Rendered {
    fn new(
        upstream: &Bytes,
        version: u64,
        outcome: &RewriteOutcome,
        out: Vec<u8>,
    ) -> (Rendered, Observed) {
        let media = matches!(outcome.kind, PlaylistKind::Media);
        let body = if media {
            Bytes::from(out)
        } else {
            upstream.clone()
        };
        let rendered = Rendered {
            upstream: upstream.clone(),
            version,
            plain: Payload::new(body),
            gzip: OnceLock::new(),
            media,
            ended: outcome.ended,
            live_cache_control: live_cache_control(outcome.part_target.or(outcome.target_duration)),
        };
        let observed = Observed {
            media,
            live_edge: outcome.live_edge,
            target_duration: outcome.target_duration,
            part_target: outcome.part_target,
        };
        (rendered, observed)
    }
}

impl StreamState {
    fn draft(&self) -> Draft {
        Draft {
            timeline: self.timeline.clone(),
            request_ids: self.request_ids.clone(),
            media_paths: self.media_paths.clone(),
        }
    }

    /// The cached rendering of `target` (a request for `path`) for these bytes and this
    /// timeline version, or a new one made (and cached) now — unless it decides something
    /// new, which must be committed first.
    fn render_step(
        &mut self,
        path: &str,
        target: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
        out: &mut Vec<u8>,
    ) -> Result<Step, Failure> {
        let version = self.timeline.version();
        if let Some(existing) = self
            .renders
            .get_mut(path)
            .and_then(|renders| renders.get(target))
            && existing.version == version
            && existing.upstream == *upstream
        {
            return Ok(Step::Done {
                rendering: Rendering {
                    rendered: Arc::clone(existing),
                    cache_hit: true,
                },
                new_path: false,
            });
        }
        out.reserve(upstream.len() + 1024);
        let outcome = rewrite_or_pass(upstream, &self.timeline, opts, out, path)?;
        if !outcome.decisions.is_empty() {
            return Ok(Step::Decided(outcome));
        }
        let (rendered, observed) = Rendered::new(
            upstream,
            self.timeline.version(),
            &outcome,
            std::mem::take(out),
        );
        let (rendered, new_path) = self.install(path, target, rendered, observed);
        Ok(Step::Done {
            rendering: Rendering {
                rendered,
                cache_hit: false,
            },
            new_path,
        })
    }

    /// Keeps what a served rendering observed and caches it for `target` (a request for
    /// `path`). Also whether this is the first rendering of a media playlist path the record
    /// does not hold (only then is the list searched: later renderings of a path cost nothing
    /// here).
    fn install(
        &mut self,
        path: &str,
        target: &str,
        rendered: Rendered,
        observed: Observed,
    ) -> (Arc<Rendered>, bool) {
        if observed.media {
            if let Some(edge) = observed.live_edge
                && self.live_edge.is_none_or(|known| edge > known)
            {
                self.live_edge = Some(edge);
            }
            if observed.target_duration.is_some() {
                self.target_duration = observed.target_duration;
            }
            if observed.part_target.is_some() {
                self.part_target = observed.part_target;
            }
        }
        let rendered = Arc::new(rendered);
        let new_path = match self.renders.get_mut(path) {
            Some(renders) => {
                renders.put(target, Arc::clone(&rendered));
                false
            }
            None => {
                let mut renders = PathRenders::new();
                renders.put(target, Arc::clone(&rendered));
                self.renders.insert(path.to_owned(), renders);
                observed.media && !self.media_paths.iter().any(|known| known == path)
            }
        };
        (rendered, new_path)
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
        store: Arc<dyn RecordStore>,
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

    pub fn store(&self) -> &Arc<dyn RecordStore> {
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
    ///
    /// `refresh` brings the stream's live edge up to date from upstream ("now" is read after
    /// it); it runs once the request is known to be valid, before any lock is taken, and its
    /// failure is answered unless the request repeats a `request_id` (that answer needs no "now").
    pub async fn create_break<F, R>(
        &self,
        key: &str,
        req: NewBreak,
        refresh: F,
    ) -> Result<(StatusCode, serde_json::Value), Failure>
    where
        F: FnOnce(Arc<Stream>) -> R,
        R: Future<Output = Result<(), Failure>>,
    {
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
        // Before the writer lock: the refresh renders, and a rendering may need to commit.
        let refreshed = refresh(Arc::clone(&stream)).await;
        // Taken before reading the timeline: a request repeating a request_id whose original is
        // still committing waits for it, so it finds the break instead of creating a second.
        let writer = stream.writer().await?;
        // The lock guard must not live across an await: the block decides, the awaits follow.
        let (draft, view) = {
            let state = lock(&stream.state);
            let edge = state.live_edge;
            if let Some(request_id) = &req.request_id
                && let Some(existing) = state
                    .request_ids
                    .get(request_id)
                    .and_then(|id| state.timeline.get(*id))
            {
                // Memory holds only committed changes: the original is durable.
                return Ok((StatusCode::OK, break_view(&stream.key, existing, edge)));
            } else {
                refreshed?;
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
                let mut draft = state.draft();
                let created = draft
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
                    draft.request_ids.insert(request_id, id);
                }
                (draft, view)
            }
        };
        stream.commit(&self.store, writer, draft, |_| ()).await?;
        tracing::info!(stream = %key, break_id = view["id"].as_u64(), "break created");
        Ok((StatusCode::CREATED, view))
    }

    /// Ends a break early (IN at the live edge, or on the first segment boundary after the
    /// break's start when that start is not before the live edge; see [`asap_end`]); a break
    /// that has not started yet is cancelled instead.
    /// `refresh` brings the stream's live edge up to date from upstream first (see
    /// [`Streams::create_break`]).
    ///
    /// # Errors
    /// 404 unknown stream/break, 409 nothing to end, 422 refused by the timeline, 503 the live
    /// edge could not be refreshed, 500 store failure.
    pub async fn end_break<F, R>(
        &self,
        key: &str,
        target: Target,
        refresh: F,
    ) -> Result<serde_json::Value, Failure>
    where
        F: FnOnce(Arc<Stream>) -> R,
        R: Future<Output = Result<(), Failure>>,
    {
        let stream = self.known(key)?;
        refresh(Arc::clone(&stream)).await?;
        self.change(stream, target, false).await
    }

    /// Cancels a break that has not started.
    ///
    /// # Errors
    /// 404 unknown stream/break, 409 already started or over, 500 store failure.
    pub async fn cancel_break(&self, key: &str, id: u64) -> Result<serde_json::Value, Failure> {
        // No "now" needed: only a break no rendering has started can be cancelled.
        let stream = self.known(key)?;
        self.change(stream, Target::Id(id), true).await
    }

    async fn change(
        &self,
        stream: Arc<Stream>,
        target: Target,
        cancel_only: bool,
    ) -> Result<serde_json::Value, Failure> {
        let key = stream.key.as_str();
        let writer = stream.writer().await?;
        let (draft, view) = {
            let state = lock(&stream.state);
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
                return Ok(break_view(&stream.key, found, edge));
            } else {
                let mut draft = state.draft();
                let changed = match (status, cancel_only) {
                    (BreakState::Scheduled, _) => draft.timeline.cancel_break(id),
                    (BreakState::Active, false) => {
                        // Active implies a live edge is known.
                        let edge = edge
                            .ok_or_else(|| Failure::Unavailable("no live edge known".to_owned()))?;
                        draft.timeline.end_break(id, asap_end(found, edge))
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
                (draft, changed)
            }
        };
        stream.commit(&self.store, writer, draft, |_| ()).await?;
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

/// Where an IN "now" (native `…/end`, OvenMediaEngine `in`) is requested for the started break
/// `b`: the live edge, or 1 ms after the break's start when that start is at or after the live
/// edge, which the rewriter snaps to the first segment boundary after the start.
///
/// The start can be at the live edge: on LL-HLS the OUT is decided on the segment being built,
/// which begins exactly at the live edge (the end of the newest complete segment). An IN right
/// after that OUT means "as soon as possible", not "at a time that is not after the start",
/// which [`Timeline::end_break`] rightly refuses for an explicit time. The clamp is here, not
/// in the timeline, because only the proxy knows that "now" was asked for: the timeline takes
/// program times and must keep refusing an end that is not after the start.
fn asap_end(b: &Break, edge: DateTime<Utc>) -> DateTime<Utc> {
    let start = b.decided_start.unwrap_or(b.requested_start);
    let just_after_start = start
        .checked_add_signed(chrono::Duration::milliseconds(1))
        .unwrap_or(start);
    edge.max(just_after_start)
}

/// The stored media playlist paths of stream `key` that a request for them would be allowed
/// to fetch (the same validation as a player's request, a `.m3u8` of this very stream),
/// without repeats, the newest [`MAX_MEDIA_PATHS`]. Others are dropped with a warning: a
/// damaged record must not make the proxy ask upstream for anything else.
fn valid_media_paths(key: &str, stored: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(stored.len().min(MAX_MEDIA_PATHS));
    for path in stored {
        let problem = validate_path(&path).err().or_else(|| {
            if !path.ends_with(".m3u8") || path.contains(['?', '#']) {
                Some("not a playlist path")
            } else if stream_key_of(&path) != key {
                Some("path of another stream")
            } else {
                None
            }
        });
        match problem {
            Some(why) => {
                tracing::warn!(
                    stream = key,
                    path,
                    why,
                    "stored media playlist path ignored"
                );
            }
            None if kept.contains(&path) => {}
            None => kept.push(path),
        }
    }
    if kept.len() > MAX_MEDIA_PATHS {
        kept.drain(..kept.len() - MAX_MEDIA_PATHS);
    }
    kept
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

    /// A live edge refresh that has nothing to do (these streams have no playlists).
    async fn fresh(_: Arc<Stream>) -> Result<(), Failure> {
        Ok(())
    }

    fn count(streams: &Streams) -> usize {
        streams.list_breaks("live/a").unwrap()["breaks"]
            .as_array()
            .map_or(0, Vec::len)
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

    fn saves(store: &super::super::store::FailingStore) -> u32 {
        store.saves.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_known_media_path_costs_no_commit() {
        use super::super::store::{FailingStore, Store};
        let dir = std::env::temp_dir().join(format!("hlsplice-paths-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, rows) = Store::open(&dir).unwrap();
        let store = Arc::new(store);
        let failing = Arc::new(FailingStore::new(store.clone()));
        let records: Arc<dyn RecordStore> = failing.clone();
        let streams = Streams::load(records.clone(), rows, 60_000).unwrap();
        let stream = streams.get_or_create("live/a");
        let opts = RewriteOptions::default();
        let render = |path: &'static str, bytes: Bytes| {
            let (stream, records, opts) = (Arc::clone(&stream), records.clone(), opts.clone());
            async move {
                stream
                    .render(&records, path, path, &bytes, &opts)
                    .await
                    .unwrap()
            }
        };

        render("/live/a/video.m3u8", media_playlist(0)).await;
        assert_eq!(saves(&failing), 1, "a new path is committed");
        let cached = render("/live/a/video.m3u8", media_playlist(0)).await;
        assert!(cached.cache_hit);
        render("/live/a/video.m3u8", media_playlist(1)).await;
        let multivariant =
            Bytes::from_static(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nvideo.m3u8\n");
        render("/live/a/master.m3u8", multivariant).await;
        assert_eq!(
            saves(&failing),
            1,
            "a known path, new bytes of it and a multivariant playlist commit nothing"
        );
        render("/live/a/audio.m3u8", media_playlist(1)).await;
        assert_eq!(saves(&failing), 2);

        // After a restart: the paths come from the store, and rendering them commits nothing.
        store.close();
        let (store, rows) = Store::open(&dir).unwrap();
        let failing = Arc::new(FailingStore::new(Arc::new(store)));
        let records: Arc<dyn RecordStore> = failing.clone();
        let streams = Streams::load(records.clone(), rows, 60_000).unwrap();
        let stream = streams.get("live/a").expect("known from the store");
        let mut paths = stream.media_paths();
        paths.sort();
        assert_eq!(paths, ["/live/a/audio.m3u8", "/live/a/video.m3u8"]);
        stream
            .render(
                &records,
                "/live/a/video.m3u8",
                "/live/a/video.m3u8",
                &media_playlist(2),
                &opts,
            )
            .await
            .unwrap();
        assert_eq!(
            saves(&failing),
            0,
            "a path known from the store is not committed again"
        );
        assert_eq!(stream.media_paths().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn renderings_are_kept_per_target_bounded_least_recently_used_first() {
        use super::super::store::{FailingStore, Store};
        let dir =
            std::env::temp_dir().join(format!("hlsplice-renders-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, rows) = Store::open(&dir).unwrap();
        let records: Arc<dyn RecordStore> = Arc::new(FailingStore::new(Arc::new(store)));
        let streams = Streams::load(records.clone(), rows, 60_000).unwrap();
        let stream = streams.get_or_create("live/a");
        let opts = RewriteOptions::default();
        let path = "/live/a/video.m3u8";
        let render = |target: String| {
            let (stream, records, opts) = (Arc::clone(&stream), records.clone(), opts.clone());
            async move {
                stream
                    .render(&records, path, &target, &media_playlist(0), &opts)
                    .await
                    .unwrap()
                    .cache_hit
            }
        };
        let targets = |stream: &Stream| -> Vec<String> {
            lock(&stream.state).renders[path]
                .slots
                .iter()
                .map(|(target, _)| target.to_string())
                .collect()
        };

        assert!(!render(path.to_owned()).await);
        let skip = format!("{path}?_HLS_skip=YES");
        assert!(!render(skip.clone()).await);
        assert!(
            render(path.to_owned()).await,
            "not evicted by the delta update"
        );
        assert!(render(skip.clone()).await);
        for msn in 0..MAX_RENDERS_PER_PATH - 2 {
            assert!(!render(format!("{path}?_HLS_msn={msn}")).await);
        }
        assert_eq!(targets(&stream).len(), MAX_RENDERS_PER_PATH);
        // The full reload is the least recently used: a new target evicts it, not the others.
        assert!(render(skip.clone()).await);
        assert!(!render(format!("{path}?_HLS_msn=99")).await);
        let kept = targets(&stream);
        assert_eq!(kept.len(), MAX_RENDERS_PER_PATH);
        assert!(!kept.iter().any(|t| t == path), "{kept:?}");
        assert!(kept.contains(&skip), "{kept:?}");
        assert_eq!(
            stream.media_paths(),
            [path],
            "one path, however many targets"
        );
        let _ = std::fs::remove_dir_all(&dir);
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
            request_ids: BTreeMap::new(),
            media_paths: kept,
        };
        assert!(!draft.add_media_path("/live/a/r19.m3u8"));
        assert!(draft.add_media_path("/live/a/new.m3u8"));
        assert_eq!(draft.media_paths.len(), MAX_MEDIA_PATHS);
        assert_eq!(draft.media_paths[0], "/live/a/r5.m3u8", "the oldest went");
        assert_eq!(draft.media_paths[MAX_MEDIA_PATHS - 1], "/live/a/new.m3u8");

        // A record written before the paths were stored still loads.
        let old = serde_json::json!({ "timeline": Timeline::new(), "request_ids": {} });
        let old: StreamRecord = serde_json::from_value(old).unwrap();
        assert!(old.media_paths.is_empty());
    }

    #[tokio::test]
    async fn a_failed_commit_answers_an_error_and_leaves_memory_as_it_was() {
        use super::super::store::{FailingStore, Store};
        let dir =
            std::env::temp_dir().join(format!("hlsplice-streams-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, rows) = Store::open(&dir).unwrap();
        let store = Arc::new(store);
        let failing = Arc::new(FailingStore::new(store.clone()));
        let streams = Streams::load(failing.clone(), rows, 60_000).unwrap();
        streams.get_or_create("live/a");

        failing.fail_next(1);
        let failed = streams
            .create_break("live/a", new_break("one"), fresh)
            .await;
        assert!(matches!(failed, Err(Failure::Store(_))), "{failed:?}");
        assert_eq!(count(&streams), 0, "the refused break is not in memory");

        // The retry (same request_id) creates exactly one; a repeat returns it.
        let (status, view) = streams
            .create_break("live/a", new_break("one"), fresh)
            .await
            .unwrap();
        assert_eq!(
            (status, view["id"].as_u64()),
            (StatusCode::CREATED, Some(1))
        );
        let (status, view) = streams
            .create_break("live/a", new_break("one"), fresh)
            .await
            .unwrap();
        assert_eq!((status, view["id"].as_u64()), (StatusCode::OK, Some(1)));
        assert_eq!(count(&streams), 1);

        failing.fail_next(1);
        let failed = streams.cancel_break("live/a", 1).await;
        assert!(matches!(failed, Err(Failure::Store(_))), "{failed:?}");
        let list = streams.list_breaks("live/a").unwrap();
        assert_eq!(list["breaks"][0]["state"], "scheduled", "{list}");

        // On disk: exactly what memory holds.
        store.close();
        let (reopened, rows) = Store::open(&dir).unwrap();
        assert_eq!(rows.len(), 1);
        let record: StreamRecord = serde_json::from_slice(&rows[0].record).unwrap();
        assert_eq!(record.timeline.breaks().len(), 1);
        assert!(!record.timeline.breaks()[0].cancelled);
        assert_eq!(record.request_ids.get("one"), Some(&1));
        drop(reopened);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
