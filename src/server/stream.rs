//! One stream in memory: its committed timeline and media playlist paths, what its renderings
//! observed (live edge, windows, target durations), its render cache, and the commit protocol
//! every change goes through.
//!
//! Locking: each stream has one `std::sync::Mutex`, held only for in-memory work (rendering is
//! a pure function over a few kilobytes), never across `.await`.
//!
//! Durability: memory only ever holds what the store holds. A change — an API event, or the
//! start/end values a rendering decides — is made to a copy of the stream's durable part (a
//! [`Draft`]), the copy's changes are committed, and only then is the copy swapped in
//! ([`Stream::commit`]); a failed commit leaves memory exactly as it was, and its request
//! answers an error. One change per stream is committed at a time (the stream's `writer`
//! lock); the commit and the swap run in one blocking task that owns that lock, so a client
//! that goes away mid-commit cannot separate them. Renderings that decide nothing new, and
//! cached renderings, never wait for the store.
//!
//! A commit names the stored revision it was made from, and the store refuses it when another
//! writer came first (see [`BreakStore::commit`]). The stream then reloads itself from the
//! store, so it can never overwrite what it did not see.
//!
//! The media playlist paths (at most [`MAX_MEDIA_PATHS`], the newest first seen kept) let the
//! API refresh the live edge from upstream right after a restart, before any player asked. A
//! new path is committed in the background the first time it is rendered: a player's request
//! never waits for that write, and a failure is only logged.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;

use super::path::{stream_key_of, validate_path};
use super::renders::{PathRenders, RenderBudget, Rendered};
use super::store::{BreakStore, Commit, LoadedStream, StoreError, StreamRow};
use crate::hls::{self, PlaylistKind, RewriteError, RewriteOptions, RewriteOutcome, Timeline};

/// How long a change waits for other changes of the same stream to be committed.
const DURABLE_WAIT: Duration = Duration::from_secs(10);
/// Most media playlist paths kept per stream record (the newest first seen).
pub const MAX_MEDIA_PATHS: usize = 16;
/// Most renditions whose playlist window is remembered (for knowing which ended breaks can no
/// longer appear); the oldest seen is forgotten first.
const MAX_WINDOWS: usize = 64;

/// Why a rendering failed.
#[derive(Debug)]
pub enum RenderError {
    /// The upstream answer is not a playlist.
    NotAPlaylist(RewriteError),
    /// A decision could not be committed; nothing of it was kept.
    Store(StoreError),
}

/// One stream (all renditions in one playlist directory).
pub struct Stream {
    /// The stream key (the playlist directory).
    pub key: String,
    state: Mutex<StreamState>,
    /// Held from taking a copy of the durable part until the committed copy is swapped in (or
    /// the commit failed), so changes of one stream never commit over each other.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// The render budget's epoch when the stream was last used (idle streams leave memory).
    last_used: AtomicU64,
    /// The stream's own rewrite options, when it needs some (made on first use, see
    /// [`Stream::rewrite_options`]).
    options: OnceLock<RewriteOptions>,
}

/// The durable part of a stream, copied to make a change (see [`Stream::commit`]).
pub struct Draft {
    /// The timeline to change.
    pub timeline: Timeline,
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

pub(crate) struct StreamState {
    /// As committed: changed only by swapping in a committed [`Draft`] (and by pruning breaks
    /// that can no longer appear).
    pub timeline: Timeline,
    /// Media playlist paths as committed, oldest first.
    media_paths: Vec<String>,
    /// The stored revision the next commit is made from.
    revision: u64,
    pub live_edge: Option<DateTime<Utc>>,
    pub target_duration: Option<f64>,
    pub part_target: Option<f64>,
    /// The program time of the first segment each media rendition last listed (minus the span
    /// a delta update skipped): no ended break before the oldest of them can appear again.
    windows: Vec<(Box<str>, DateTime<Utc>)>,
    /// The horizon of the last prune (see [`Stream::prune`]).
    pruned_before: Option<DateTime<Utc>>,
    /// Renderings per playlist path, by upstream target.
    renders: HashMap<String, PathRenders>,
}

/// What [`Stream::render`] produced.
pub struct Rendering {
    /// The rendering to serve.
    pub rendered: Arc<Rendered>,
    /// Served from an earlier rendering of the same bytes and timeline version.
    pub cache_hit: bool,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Stream {
    /// A stream as loaded from the store, or a new one (`None`).
    pub fn new(key: String, loaded: Option<LoadedStream>, epoch: u64) -> Self {
        let (timeline, media_paths, revision) = match loaded {
            Some(LoadedStream { row, breaks }) => (
                Timeline::restore(row.meta, breaks),
                valid_media_paths(&key, row.media_paths),
                row.revision,
            ),
            None => (Timeline::new(), Vec::new(), 0),
        };
        Stream {
            key,
            state: Mutex::new(StreamState {
                timeline,
                media_paths,
                revision,
                live_edge: None,
                target_duration: None,
                part_target: None,
                windows: Vec::new(),
                pruned_before: None,
                renders: HashMap::new(),
            }),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            last_used: AtomicU64::new(epoch),
            options: OnceLock::new(),
        }
    }

    /// The stream's own rewrite options (e.g. its interstitial asset-list template): made by
    /// `make` the first time they are asked for, the same ones for the stream's life in memory.
    pub fn rewrite_options(&self, make: impl FnOnce() -> RewriteOptions) -> &RewriteOptions {
        self.options.get_or_init(make)
    }

    /// Locks the in-memory state (never across `.await`).
    pub(crate) fn state(&self) -> MutexGuard<'_, StreamState> {
        lock(&self.state)
    }

    /// Marks the stream used at `epoch`.
    pub fn touch(&self, epoch: u64) {
        if self.last_used.load(Ordering::Relaxed) != epoch {
            self.last_used.store(epoch, Ordering::Relaxed);
        }
    }

    /// The epoch the stream was last used at.
    pub fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Whether no change of the stream is being committed right now.
    pub fn is_quiet(&self) -> bool {
        self.writer.try_lock().is_ok()
    }

    /// The newest EXT-X-TARGETDURATION seen.
    pub fn target_duration(&self) -> Option<f64> {
        self.state().target_duration
    }

    /// The live edge: the program time at the end of the newest complete segment seen in any
    /// rendition.
    pub fn live_edge(&self) -> Option<DateTime<Utc>> {
        self.state().live_edge
    }

    /// Paths of the media playlists of this stream (the renditions an API call refreshes the
    /// live edge from): those the proxy has rendered since it started, and those its store
    /// record holds from before.
    pub fn media_paths(&self) -> Vec<String> {
        let state = self.state();
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
    /// [`RenderError::NotAPlaylist`] when the upstream body is not a playlist;
    /// [`RenderError::Store`] when a decision could not be committed (then nothing of it is
    /// kept in memory).
    pub async fn render(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        budget: &Arc<RenderBudget>,
        path: &str,
        target: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
    ) -> Result<Rendering, RenderError> {
        let epoch = budget.epoch();
        self.touch(epoch);
        let mut out = Vec::new();
        let step = self
            .state()
            .render_step(path, target, upstream, opts, budget, &mut out)?;
        let (rendering, new_path) = match step {
            Step::Done {
                rendering,
                new_path,
            } => (rendering, new_path),
            Step::Decided(_) => {
                self.render_decided(store, budget, path, target, upstream, opts, out)
                    .await?
            }
        };
        if new_path {
            let stream = Arc::clone(self);
            let store = Arc::clone(store);
            let path = path.to_owned();
            tokio::spawn(async move { stream.remember_media_path(&store, &path).await });
        }
        Ok(rendering)
    }

    /// The rendering decided something new: commits it before anyone sees it. Also whether
    /// `path` is a media playlist path the record does not hold yet.
    #[allow(clippy::too_many_arguments)]
    async fn render_decided(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        budget: &Arc<RenderBudget>,
        path: &str,
        target: &str,
        upstream: &Bytes,
        opts: &RewriteOptions,
        mut out: Vec<u8>,
    ) -> Result<(Rendering, bool), RenderError> {
        let writer = self.writer().await.map_err(RenderError::Store)?;
        let (draft, rendered, observed) = {
            let mut state = self.state();
            // Rendered again: a change committed while this request waited (e.g. another
            // rendition deciding the same start) may already hold these decisions.
            let mut outcome =
                match state.render_step(path, target, upstream, opts, budget, &mut out)? {
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
            let (rendered, observed) = rendering_of(
                upstream,
                draft.timeline.version(),
                &outcome,
                std::mem::take(&mut out),
                budget,
            );
            if !changed {
                let (rendered, new_path) =
                    state.install(path, target, rendered, observed, budget.epoch());
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
        let epoch = budget.epoch();
        let (rendered, new_path) = self
            .commit(store, writer, draft, move |state| {
                state.install(&path, &target, rendered, observed, epoch)
            })
            .await
            .map_err(RenderError::Store)?;
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
    async fn remember_media_path(self: &Arc<Self>, store: &Arc<dyn BreakStore>, path: &str) {
        let writer = match self.writer().await {
            Ok(writer) => writer,
            Err(e) => {
                tracing::warn!(stream = %self.key, path, error = %e, "media playlist path not saved");
                return;
            }
        };
        let draft = {
            let state = self.state();
            let mut draft = state.draft();
            if !draft.add_media_path(path) {
                return;
            }
            draft
        };
        match self.commit(store, writer, draft, |_| ()).await {
            Ok(()) => tracing::debug!(stream = %self.key, path, "media playlist path saved"),
            Err(e) => {
                tracing::warn!(stream = %self.key, path, error = %e, "media playlist path not saved");
            }
        }
    }

    /// Waits for this stream's writer lock (see [`Stream::commit`]).
    ///
    /// # Errors
    /// When an earlier change did not commit within [`DURABLE_WAIT`].
    pub async fn writer(&self) -> Result<OwnedMutexGuard<()>, StoreError> {
        tokio::time::timeout(DURABLE_WAIT, Arc::clone(&self.writer).lock_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(
                    "an earlier change of this stream did not commit in time".to_owned(),
                )
            })
    }

    /// A copy of the durable part, to change and then [`Stream::commit`].
    pub fn draft(&self) -> Draft {
        self.state().draft()
    }

    /// Commits `draft` (a changed copy of the durable part, taken under `writer`), then swaps
    /// it into memory and runs `then` under the same state lock. The commit and the swap run
    /// in one blocking task that owns `writer`, so they stay together even if the request
    /// goes away. On failure memory is left exactly as it was; on a conflict (another writer
    /// committed first) the stream reloads itself from the store.
    ///
    /// # Errors
    /// The store's error; nothing of the draft is kept.
    pub async fn commit<T: Send + 'static>(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        writer: OwnedMutexGuard<()>,
        mut draft: Draft,
        then: impl FnOnce(&mut StreamState) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let changes = draft.timeline.take_changes();
        let expected_revision = self.state().revision;
        let row = StreamRow {
            revision: expected_revision + 1,
            meta: changes.meta,
            media_paths: draft.media_paths.clone(),
        };
        let stream = Arc::clone(self);
        let store = Arc::clone(store);
        let done = tokio::task::spawn_blocking(move || {
            let _writer = writer;
            let committed = store.commit(
                &stream.key,
                &Commit {
                    expected_revision,
                    row: &row,
                    breaks: &changes.breaks,
                },
            );
            match committed {
                Ok(()) => {
                    let mut state = stream.state();
                    state.timeline = draft.timeline;
                    // A draft taken before the last prune still holds what it let go of.
                    if let Some(horizon) = state.pruned_before {
                        state.timeline.prune(horizon);
                    }
                    state.media_paths = draft.media_paths;
                    state.revision = row.revision;
                    Ok(then(&mut state))
                }
                Err(e @ StoreError::Conflict { .. }) => {
                    tracing::warn!(stream = %stream.key, error = %e, "stream changed in the store meanwhile; reloading it");
                    if let Ok(Some(loaded)) = store.load(&stream.key) {
                        stream.state().reload(&stream.key, loaded);
                    }
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })
        .await;
        match done {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                tracing::error!(stream = %self.key, error = %e, "break store commit failed; change discarded");
                Err(e)
            }
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }

    /// Lets go of what can no longer appear in a playlist: ended breaks whose end is before
    /// every window the renditions listed and before `keep_from`. The horizon used, if any.
    pub fn prune(&self, keep_from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut state = self.state();
        let oldest_window = state.windows.iter().map(|(_, start)| *start).min()?;
        let horizon = oldest_window.min(keep_from);
        state.timeline.prune(horizon);
        state.pruned_before = Some(horizon);
        Some(horizon)
    }

    /// Drops the cached rendering of `target` of `path`; the bytes it held.
    pub fn evict_render(&self, path: &str, target: &str) -> usize {
        let mut state = self.state();
        let Some(renders) = state.renders.get_mut(path) else {
            return 0;
        };
        let freed = renders.evict(target);
        if renders.is_empty() {
            state.renders.remove(path);
        }
        freed
    }

    /// Every cached rendering: (last use, bytes, path, target), appended to `into`.
    pub fn render_usage(&self, into: &mut Vec<(u64, usize, Box<str>, Box<str>)>) {
        let state = self.state();
        for (path, renders) in &state.renders {
            into.extend(
                renders.usage().map(|(target, used, bytes)| {
                    (used, bytes, path.as_str().into(), target.into())
                }),
            );
        }
    }

    #[cfg(test)]
    pub(crate) fn cached_targets(&self, path: &str) -> Vec<String> {
        self.state()
            .renders
            .get(path)
            .map(PathRenders::targets)
            .unwrap_or_default()
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
pub(crate) struct Observed {
    media: bool,
    live_edge: Option<DateTime<Utc>>,
    window_start: Option<DateTime<Utc>>,
    target_duration: Option<f64>,
    part_target: Option<f64>,
}

/// Rewrites `upstream` into `out`. An answer that is not a playlist is an invalid upstream
/// answer. A media playlist the rewriter cannot mark (no program time to place a break by, a
/// tag it cannot read) is served exactly as the packager wrote it, which the rewriter leaves in
/// `out`: failing every player of the stream would turn one unplaceable break into an outage.
fn rewrite_or_pass(
    upstream: &Bytes,
    timeline: &Timeline,
    opts: &RewriteOptions,
    out: &mut Vec<u8>,
    path: &str,
) -> Result<RewriteOutcome, RenderError> {
    match hls::rewrite(upstream, timeline, opts, out) {
        Ok(outcome) => Ok(outcome),
        Err(e @ RewriteError::NotAPlaylist) => Err(RenderError::NotAPlaylist(e)),
        Err(e) => {
            tracing::warn!(path, error = %e, "media playlist served without ad markers");
            Ok(RewriteOutcome {
                decisions: Vec::new(),
                kind: PlaylistKind::Media,
                live_edge: None,
                window_start: None,
                target_duration: None,
                part_target: None,
                media_sequence: 0,
                ended: false,
            })
        }
    }
}

fn rendering_of(
    upstream: &Bytes,
    version: u64,
    outcome: &RewriteOutcome,
    out: Vec<u8>,
    budget: &Arc<RenderBudget>,
) -> (Rendered, Observed) {
    let media = matches!(outcome.kind, PlaylistKind::Media);
    let body = if media {
        Bytes::from(out)
    } else {
        upstream.clone()
    };
    let rendered = Rendered::new(
        upstream,
        version,
        body,
        media,
        outcome.ended,
        outcome.part_target.or(outcome.target_duration),
        budget,
    );
    let observed = Observed {
        media,
        live_edge: outcome.live_edge,
        window_start: outcome.window_start,
        target_duration: outcome.target_duration,
        part_target: outcome.part_target,
    };
    (rendered, observed)
}

impl StreamState {
    fn draft(&self) -> Draft {
        Draft {
            timeline: self.timeline.clone(),
            media_paths: self.media_paths.clone(),
        }
    }

    /// Whether nothing of the stream was ever committed, rendered or made.
    pub fn is_unused(&self) -> bool {
        self.revision == 0
            && self.timeline.meta().last_id == 0
            && self.media_paths.is_empty()
            && self.renders.is_empty()
    }

    /// Replaces the durable part with what the store holds (after a conflict).
    fn reload(&mut self, key: &str, loaded: LoadedStream) {
        self.timeline = Timeline::restore(loaded.row.meta, loaded.breaks);
        self.media_paths = valid_media_paths(key, loaded.row.media_paths);
        self.revision = loaded.row.revision;
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
        budget: &Arc<RenderBudget>,
        out: &mut Vec<u8>,
    ) -> Result<Step, RenderError> {
        let version = self.timeline.version();
        let epoch = budget.epoch();
        if let Some(existing) = self
            .renders
            .get_mut(path)
            .and_then(|renders| renders.get(target, epoch))
            && existing.is_of(upstream, version)
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
        let (rendered, observed) =
            rendering_of(upstream, version, &outcome, std::mem::take(out), budget);
        let (rendered, new_path) = self.install(path, target, rendered, observed, epoch);
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
        epoch: u64,
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
            if let Some(start) = observed.window_start {
                self.note_window(path, start);
            }
        }
        let rendered = Arc::new(rendered);
        let new_path = match self.renders.get_mut(path) {
            Some(renders) => {
                renders.put(target, Arc::clone(&rendered), epoch);
                false
            }
            None => {
                let mut renders = PathRenders::default();
                renders.put(target, Arc::clone(&rendered), epoch);
                self.renders.insert(path.to_owned(), renders);
                observed.media && !self.media_paths.iter().any(|known| known == path)
            }
        };
        (rendered, new_path)
    }

    fn note_window(&mut self, path: &str, start: DateTime<Utc>) {
        if let Some(known) = self.windows.iter_mut().find(|(p, _)| &**p == path) {
            known.1 = start;
            return;
        }
        if self.windows.len() >= MAX_WINDOWS {
            self.windows.remove(0);
        }
        self.windows.push((path.into(), start));
    }
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

#[cfg(test)]
mod tests;
