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
//! store, so it can never overwrite what it did not see. A rendering whose decision lost that
//! race is rendered again from what was reloaded (at most [`CONFLICT_RETRIES`] times), so it
//! serves the decision that was stored — in a replica fleet, another replica's.
//!
//! A replica hears of other replicas' commits (see `fleet`) and marks the stream stale
//! ([`Stream::mark_stale`]); a stale stream catches up from the store before its next
//! rendering, and a reload drops its cached renderings.
//!
//! The media playlist paths (at most [`MAX_MEDIA_PATHS`], the newest first seen kept) let the
//! API refresh the live edge from upstream right after a restart, before any player asked. A
//! new path is committed in the background the first time it is rendered: a player's request
//! never waits for that write, and a failure is only logged.
//!
//! The durable part also holds the stream's own break policy (`None`: the server's default),
//! changed through a [`Draft`] like everything else, and the first program time the proxy saw
//! for the stream: the program time of the first segment of the first media playlist rendered
//! once the stream had no stored value. It is committed in the background like a new path and,
//! until then, with whatever change of the stream is committed first; whichever replica
//! commits first wins (the others reload on the conflict), so every replica and restart
//! counts offsets from the same time.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;

use super::path::{resolve_reference, stream_key_of, validate_path};
use super::renders::{PathRenders, RenderBudget, Rendered};
use super::store::{BreakStore, Commit, LoadedStream, StoreError, StreamRow};
use crate::hls::{
    self, BreakPolicy, PlaylistKind, Publication, RewriteError, RewriteOptions, RewriteOutcome,
    Timeline,
};

/// How long a change waits for other changes of the same stream to be committed.
const DURABLE_WAIT: Duration = Duration::from_secs(10);
/// Most media playlist paths kept per stream record (the newest first seen).
pub const MAX_MEDIA_PATHS: usize = 16;
/// Most media playlists an API call refreshes the live edge from.
pub const MAX_REFRESH_PATHS: usize = 8;
/// How many times a rendering whose decision lost a compare-and-set to another writer is
/// rendered again from the reloaded timeline. One is enough unless the stream keeps changing
/// under it; past this the request answers the conflict as a store failure.
pub const CONFLICT_RETRIES: u32 = 3;
/// Most renditions whose playlist window is remembered (for knowing which ended breaks can no
/// longer appear); the oldest seen is forgotten first.
const MAX_WINDOWS: usize = 64;

/// Why a rendering failed.
#[derive(Debug)]
pub enum RenderError {
    /// The upstream answer is not a playlist.
    NotAPlaylist(RewriteError),
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
    /// An operator named the stream (a stream pattern): its record is kept from the first
    /// playlist on, not only from its first break (see [`crate::server::admission`]).
    named: AtomicBool,
    /// Another writer committed a revision newer than the one held: catch up before the next
    /// rendering.
    stale: AtomicBool,
    /// The stream's own rewrite options, when it needs some (made on first use, see
    /// [`Stream::rewrite_options`]).
    options: OnceLock<RewriteOptions>,
    /// In a fleet, the newest segment start (µs) this server reported to the store as
    /// published ([`BreakStore::report_published`]).
    reported_until: AtomicI64,
}

/// The durable part of a stream, copied to make a change (see [`Stream::commit`]).
pub struct Draft {
    /// The timeline to change.
    pub timeline: Timeline,
    media_paths: Vec<String>,
    primary: Option<String>,
    /// The stream's own break policy (`None`: the server's default).
    pub policy: Option<BreakPolicy>,
    /// The committed first program time, else the one seen in memory (committed with the
    /// draft).
    first_program_time: Option<DateTime<Utc>>,
    /// The earliest start or end the change decides (see [`Commit::decides_from`]).
    decides_from: Option<DateTime<Utc>>,
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
    /// The stream's own break policy as committed.
    policy: Option<BreakPolicy>,
    /// The first program time as committed.
    first_program_time: Option<DateTime<Utc>>,
    /// The first program time this process saw while none was committed.
    seen_first_program_time: Option<DateTime<Utc>>,
    /// The primary rendition's path as committed.
    stored_primary: Option<String>,
    /// The primary rendition's path, as the newest multivariant playlist (or the store) says:
    /// only it decides when breaks start and end.
    primary: Option<String>,
    /// The start of the newest segment any client was served, wholly or in part, in any
    /// rendition ([`hls::Publication::published_until`]).
    published_until: Option<DateTime<Utc>>,
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
        let (timeline, media_paths, primary, revision, policy, first_program_time) = match loaded {
            Some(LoadedStream { row, breaks }) => (
                Timeline::restore(row.meta, breaks),
                valid_media_paths(&key, row.media_paths),
                valid_primary(&key, row.primary),
                row.revision,
                row.policy,
                row.first_program_time,
            ),
            None => (Timeline::new(), Vec::new(), None, 0, None, None),
        };
        Stream {
            key,
            state: Mutex::new(StreamState {
                timeline,
                media_paths,
                policy,
                first_program_time,
                seen_first_program_time: None,
                stored_primary: primary.clone(),
                primary,
                published_until: None,
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
            named: AtomicBool::new(false),
            stale: AtomicBool::new(false),
            options: OnceLock::new(),
            reported_until: AtomicI64::new(i64::MIN),
        }
    }

    /// The stored revision memory holds.
    pub fn revision(&self) -> u64 {
        self.state().revision
    }

    /// Notes that the store holds `revision` (heard from another writer): when it is newer
    /// than what memory holds, the stream is stale until it catches up. Whether this marked it
    /// (it was not marked already), so that one catch-up is started per change heard, however
    /// many are heard meanwhile.
    pub fn mark_stale(&self, revision: u64) -> bool {
        let newer = revision > self.state().revision;
        newer && !self.stale.swap(true, Ordering::SeqCst)
    }

    /// Whether another writer committed a revision memory does not hold yet.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::SeqCst)
    }

    /// Reloads the durable part from the store if the store holds a newer revision, dropping
    /// the cached renderings. Whether it reloaded.
    ///
    /// # Errors
    /// The store's error (memory is left as it was, still marked stale).
    pub async fn catch_up(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await?;
        let stream = Arc::clone(self);
        let store = Arc::clone(store);
        tokio::task::spawn_blocking(move || {
            let _writer = writer;
            // Cleared first: a change heard while loading marks the stream again.
            let was_stale = stream.stale.swap(false, Ordering::SeqCst);
            let loaded = match store.load(&stream.key) {
                Ok(loaded) => loaded,
                Err(e) => {
                    if was_stale {
                        stream.stale.store(true, Ordering::SeqCst);
                    }
                    return Err(e);
                }
            };
            let mut state = stream.state();
            match loaded {
                Some(loaded) if loaded.row.revision > state.revision => {
                    tracing::debug!(stream = %stream.key, from = state.revision, to = loaded.row.revision, "caught up with the store");
                    state.reload(&stream.key, loaded);
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
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

    /// Marks the stream as named by an operator (its record is kept from the start).
    pub fn mark_named(&self) {
        self.named.store(true, Ordering::Relaxed);
    }

    /// The stream's own break policy as committed (`None`: the server's default applies).
    pub fn policy(&self) -> Option<BreakPolicy> {
        self.state().policy
    }

    /// The first program time the proxy saw for the stream: as committed, else as seen by this
    /// process (then committed with the stream's next change).
    pub fn first_program_time(&self) -> Option<DateTime<Utc>> {
        let state = self.state();
        state.first_program_time.or(state.seen_first_program_time)
    }

    /// The primary rendition's path, when a multivariant playlist (or the store) named it.
    pub fn primary_path(&self) -> Option<String> {
        self.state().primary.clone()
    }

    /// Paths of the media playlists an API call refreshes the live edge from: the primary
    /// rendition first, then those rendered most recently, then those the store record holds
    /// from before a restart; at most [`MAX_REFRESH_PATHS`], so an API call never fans out to
    /// every path a client ever made the proxy fetch.
    pub fn media_paths(&self) -> Vec<String> {
        let state = self.state();
        let mut paths: Vec<String> = Vec::with_capacity(MAX_REFRESH_PATHS);
        let mut add = |path: &str| {
            if paths.len() < MAX_REFRESH_PATHS && !paths.iter().any(|p| p == path) {
                paths.push(path.to_owned());
            }
        };
        if let Some(primary) = &state.primary {
            add(primary);
        }
        // The windows are noted per media rendering, newest last.
        for (path, _) in state.windows.iter().rev() {
            if state.renders.get(&**path).is_some_and(PathRenders::media) {
                add(path);
            }
        }
        for path in state.media_paths.iter().rev() {
            add(path);
        }
        paths
    }

    /// Renders `req.upstream` (the body of `req.path`, fetched as `req.target`) with this
    /// stream's timeline, or returns the rendering already made for the same target, bytes and
    /// timeline version.
    ///
    /// Only the primary rendition (see [`crate::hls::multivariant`]) decides when breaks start
    /// and end, at a boundary after everything already served ([`Publication`]); without a
    /// known primary, any rendition decides. A rendering that decides something is returned
    /// only once that decision is committed; when the commit fails, the playlist is served
    /// without the undecided break (it was never published, so nothing changes for anyone
    /// later) and the decision is made again on a later request. A rendition that is not the
    /// primary and finds a decision due answers [`RenderOutcome::NeedsPrimary`] the first time
    /// (`req.primary_tried` false), so that the caller has the primary rendered and then asks
    /// again.
    ///
    /// # Errors
    /// [`RenderError::NotAPlaylist`] when the upstream body is not a playlist.
    pub async fn render(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        budget: &Arc<RenderBudget>,
        req: &RenderRequest<'_>,
    ) -> Result<RenderOutcome, RenderError> {
        let epoch = budget.epoch();
        self.touch(epoch);
        if self.is_stale()
            && let Err(e) = self.catch_up(store).await
        {
            tracing::warn!(stream = %self.key, error = %e, "could not catch up with the store; rendering what is held");
        }
        let mut conflicts = 0;
        let mut behind = 0;
        let (rendering, remember) = loop {
            let (rendering, remember) =
                self.render_once(store, budget, req, &mut conflicts).await?;
            let Some((rendering, remember)) = rendering.map(|r| (r, remember)) else {
                return Ok(RenderOutcome::NeedsPrimary);
            };
            // In a fleet, the store learns what this server publishes before it does; a
            // decision another server committed meanwhile is caught up with and rendered.
            // A cached rendering counts too: it may have been made by a request whose report
            // has not landed yet.
            if store.shared() && self.report_published(store).await && behind < CONFLICT_RETRIES {
                behind += 1;
                if let Err(e) = self.catch_up(store).await {
                    tracing::warn!(stream = %self.key, error = %e, "could not catch up with the store; rendering what is held");
                }
                continue;
            }
            break (rendering, remember);
        };
        if remember != Remember::Nothing {
            if self.named.load(Ordering::Relaxed) || self.state().revision > 0 {
                let stream = Arc::clone(self);
                let store = Arc::clone(store);
                let path = req.path.to_owned();
                tokio::spawn(async move { stream.remember(&store, &path, remember).await });
            } else {
                // Not recorded yet (no break, no pattern named it): kept in memory, and stored
                // with the stream's first change.
                self.state().remember_unrecorded(req.path, remember);
            }
        }
        Ok(RenderOutcome::Ready(rendering))
    }

    /// One rendering: `None` when the primary rendition must decide first.
    async fn render_once(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        budget: &Arc<RenderBudget>,
        req: &RenderRequest<'_>,
        conflicts: &mut u32,
    ) -> Result<(Option<Rendering>, Remember), RenderError> {
        let (rendering, remember) = loop {
            let mut out = Vec::new();
            let step = self.state().render_step(req, budget, &mut out)?;
            match step {
                Step::Done {
                    rendering,
                    remember,
                } => break (rendering, remember),
                Step::NeedsPrimary => return Ok((None, Remember::Nothing)),
                Step::Decided(_) => match self.render_decided(store, budget, req, out).await? {
                    Decided::Served(rendering, remember) => break (rendering, remember),
                    // Another writer decided first and the stream reloaded what it stored, or
                    // the fleet published further than this server knew: render again, so
                    // that the stored decision is served, or a later one made.
                    Decided::Conflict(_) if *conflicts < CONFLICT_RETRIES => *conflicts += 1,
                    Decided::Conflict(e) => {
                        break (self.render_undecided(req, budget, &e)?, Remember::Nothing);
                    }
                },
            }
        };
        Ok((Some(rendering), remember))
    }

    /// Reports to a shared store what this server is about to publish of the stream (the
    /// newest segment start any of its renderings listed), when it is newer than what it
    /// reported before, and takes in what the fleet published. Whether the store holds a
    /// revision newer than memory (a decision committed meanwhile: catch up and render again).
    /// A failed report is logged and the rendering served: the store cannot commit anyone's
    /// decision either while it is unreachable.
    async fn report_published(self: &Arc<Self>, store: &Arc<dyn BreakStore>) -> bool {
        let Some(until) = self.state().published_until.map(|t| t.timestamp_micros()) else {
            return false;
        };
        if until <= self.reported_until.load(Ordering::Acquire) {
            return false;
        }
        let (key, shared_store) = (self.key.clone(), Arc::clone(store));
        let reported =
            tokio::task::spawn_blocking(move || shared_store.report_published(&key, until)).await;
        match reported {
            Ok(Ok(reported)) => {
                self.reported_until.fetch_max(until, Ordering::AcqRel);
                let mut state = self.state();
                state.note_published(reported.until);
                reported.revision > state.revision
            }
            Ok(Err(e)) => {
                tracing::warn!(stream = %self.key, error = %e, "could not report what is published to the store");
                false
            }
            Err(e) => {
                tracing::warn!(stream = %self.key, error = %e, "could not report what is published to the store");
                false
            }
        }
    }

    /// The rendering decided something new: commits it before anyone sees it. On a failed
    /// commit, the rendering without what it would have decided.
    async fn render_decided(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        budget: &Arc<RenderBudget>,
        req: &RenderRequest<'_>,
        mut out: Vec<u8>,
    ) -> Result<Decided, RenderError> {
        let writer = match self.writer().await {
            Ok(writer) => writer,
            Err(e) => {
                return self
                    .render_undecided(req, budget, &e)
                    .map(|r| Decided::Served(r, Remember::Nothing));
            }
        };
        let (draft, rendered, observed) = {
            let mut state = self.state();
            // Rendered again: a change committed while this request waited (e.g. another
            // rendition deciding the same start) may already hold these decisions.
            let mut outcome = match state.render_step(req, budget, &mut out)? {
                Step::Done {
                    rendering,
                    remember,
                } => return Ok(Decided::Served(rendering, remember)),
                Step::NeedsPrimary => {
                    return self
                        .render_undecided_locked(&mut state, req, budget)
                        .map(|r| Decided::Served(r, Remember::Nothing));
                }
                Step::Decided(outcome) => outcome,
            };
            let mut draft = state.draft();
            let changed = draft.timeline.apply(&outcome.decisions);
            let publication = state.publication(req.path, true, req.opts.tolerance_ms);
            if !draft.timeline.agrees_with(&outcome.decisions) {
                // A value was already stored (first decision wins): render with the stored
                // values, so nothing but the stored value is ever served.
                outcome = rewrite_or_pass(
                    req.upstream,
                    &draft.timeline,
                    req.opts,
                    publication,
                    &mut out,
                    req.path,
                )?;
            }
            let (rendered, observed) = rendering_of(
                req.upstream,
                draft.timeline.version(),
                &outcome,
                std::mem::take(&mut out),
                budget,
            );
            if !changed {
                let (rendered, remember) = state.install(
                    req.path,
                    req.target,
                    rendered,
                    observed,
                    budget.epoch(),
                    true,
                );
                return Ok(Decided::Served(
                    Rendering {
                        rendered,
                        cache_hit: false,
                    },
                    remember,
                ));
            }
            if observed.media {
                // Committed with the decision, so it needs no commit of its own.
                draft.add_media_path(req.path);
            }
            draft.decides_from = outcome
                .decisions
                .iter()
                .flat_map(|d| d.start.into_iter().chain(d.end))
                .min();
            (draft, rendered, observed)
        };
        let (path, target) = (req.path.to_owned(), req.target.to_owned());
        let epoch = budget.epoch();
        let committed = self
            .commit(store, writer, draft, move |state| {
                state.install(&path, &target, rendered, observed, epoch, true)
            })
            .await;
        match committed {
            Ok((rendered, remember)) => Ok(Decided::Served(
                Rendering {
                    rendered,
                    cache_hit: false,
                },
                remember,
            )),
            Err(e @ (StoreError::Conflict { .. } | StoreError::Published { .. })) => {
                Ok(Decided::Conflict(e))
            }
            Err(e) => self
                .render_undecided(req, budget, &e)
                .map(|r| Decided::Served(r, Remember::Nothing)),
        }
    }

    /// The playlist rendered without deciding anything (after a decision could not be
    /// committed): what was decided before, nothing new. Served, so what it lists counts as
    /// published, but not cached: the next request tries to decide again.
    fn render_undecided(
        &self,
        req: &RenderRequest<'_>,
        budget: &Arc<RenderBudget>,
        why: &StoreError,
    ) -> Result<Rendering, RenderError> {
        tracing::warn!(stream = %self.key, path = req.path, error = %why, "decision not committed; serving the playlist without it");
        let mut state = self.state();
        self.render_undecided_locked(&mut state, req, budget)
    }

    fn render_undecided_locked(
        &self,
        state: &mut StreamState,
        req: &RenderRequest<'_>,
        budget: &Arc<RenderBudget>,
    ) -> Result<Rendering, RenderError> {
        let mut out = Vec::with_capacity(req.upstream.len() + 1024);
        let publication = Publication {
            decides: false,
            ..state.publication(req.path, false, req.opts.tolerance_ms)
        };
        let outcome = rewrite_or_pass(
            req.upstream,
            &state.timeline,
            req.opts,
            publication,
            &mut out,
            req.path,
        )?;
        let (rendered, observed) = rendering_of(
            req.upstream,
            state.timeline.version(),
            &outcome,
            out,
            budget,
        );
        let (rendered, _) = state.install(
            req.path,
            req.target,
            rendered,
            observed,
            budget.epoch(),
            false,
        );
        Ok(Rendering {
            rendered,
            cache_hit: false,
        })
    }

    /// Commits what a rendering found out that the record does not hold yet (a new media
    /// playlist path, a new primary rendition). A failure is logged, not answered: these only
    /// help after a restart. After a conflict (another writer, e.g. a replica adding its own
    /// paths, committed first) it is tried again on top of what was reloaded.
    async fn remember(self: &Arc<Self>, store: &Arc<dyn BreakStore>, path: &str, what: Remember) {
        for _ in 0..=CONFLICT_RETRIES {
            match self.try_remember(store, path, what).await {
                Err(StoreError::Conflict { .. }) => {}
                Ok(()) => {
                    tracing::debug!(stream = %self.key, path, "playlist path saved");
                    return;
                }
                Err(e) => {
                    tracing::warn!(stream = %self.key, path, error = %e, "playlist path not saved");
                    return;
                }
            }
        }
        tracing::warn!(stream = %self.key, path, "playlist path not saved: the stream kept changing");
    }

    async fn try_remember(
        self: &Arc<Self>,
        store: &Arc<dyn BreakStore>,
        path: &str,
        what: Remember,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await?;
        let draft = {
            let state = self.state();
            let mut draft = state.draft();
            let changed = match what {
                Remember::Nothing | Remember::FirstProgramTime => false,
                Remember::MediaPath => draft.add_media_path(path),
                Remember::Primary => {
                    let primary = state.primary.clone();
                    let changed = draft.primary != primary;
                    draft.primary = primary;
                    changed
                }
            };
            // The first program time seen goes with any commit, and on its own.
            let new_first =
                state.first_program_time.is_none() && draft.first_program_time.is_some();
            if !changed && !new_first {
                return Ok(());
            }
            draft
        };
        self.commit(store, writer, draft, |_| ()).await
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
            primary: draft.primary.clone(),
            policy: draft.policy,
            first_program_time: draft.first_program_time,
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
                    decides_from: draft.decides_from.map(|t| t.timestamp_micros()),
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
                    state.stored_primary = draft.primary;
                    state.policy = draft.policy;
                    state.first_program_time = draft.first_program_time;
                    state.revision = row.revision;
                    Ok(then(&mut state))
                }
                Err(e @ StoreError::Conflict { .. }) => {
                    tracing::warn!(stream = %stream.key, error = %e, "stream changed in the store meanwhile; reloading it");
                    match store.load(&stream.key) {
                        Ok(Some(loaded)) => stream.state().reload(&stream.key, loaded),
                        // The store lost the stream (a Redis restarted without persistence):
                        // memory holds what the store holds, so the stream starts anew.
                        Ok(None) => {
                            tracing::error!(stream = %stream.key, "the store no longer holds this stream; starting it anew");
                            stream.state().reload(&stream.key, LoadedStream::default());
                        }
                        Err(_) => {}
                    }
                    Err(e)
                }
                Err(StoreError::Published { stream: key, until }) => {
                    // Another server of the fleet published further: what this one decided is
                    // too early; the next rendering decides after what the fleet published.
                    stream.state().note_published(until);
                    Err(StoreError::Published { stream: key, until })
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

/// A playlist to render.
pub struct RenderRequest<'a> {
    /// The playlist's path (which rendition).
    pub path: &'a str,
    /// The upstream request it was fetched as: the path plus the query forwarded upstream
    /// (renderings are cached per target).
    pub target: &'a str,
    /// The upstream's bytes.
    pub upstream: &'a Bytes,
    /// How to rewrite.
    pub opts: &'a RewriteOptions,
    /// The primary rendition was already asked to decide for this request: serve what can be
    /// served without it.
    pub primary_tried: bool,
}

/// What [`Stream::render`] produced.
pub enum RenderOutcome {
    /// The rendering to serve.
    Ready(Rendering),
    /// A decision is due that only the primary rendition makes: render the primary, then ask
    /// again with `primary_tried`.
    NeedsPrimary,
}

impl RenderOutcome {
    /// Whether it was served from the cache (tests).
    #[cfg(test)]
    pub fn cache_hit(&self) -> bool {
        matches!(self, RenderOutcome::Ready(r) if r.cache_hit)
    }
}

/// What [`Stream::render_decided`] got to.
enum Decided {
    /// The rendering to serve (with its decision committed, or without it after a store
    /// failure).
    Served(Rendering, Remember),
    /// Another writer committed first; the stream reloaded what the store holds.
    Conflict(StoreError),
}

/// What a rendering found that the stream record should hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remember {
    Nothing,
    /// A media playlist path the record does not hold.
    MediaPath,
    /// The primary rendition changed (a multivariant playlist named another one).
    Primary,
    /// The first program time of a stream whose record holds none was seen.
    FirstProgramTime,
}

/// What [`StreamState::render_step`] got to.
enum Step {
    /// Served from the cache, or rendered without deciding anything new (and cached);
    /// `remember` says what the record lacks.
    Done {
        rendering: Rendering,
        remember: Remember,
    },
    /// The rendering decided new start/end values; it is served only after they are committed.
    Decided(RewriteOutcome),
    /// A decision is due that this rendition may not make.
    NeedsPrimary,
}

/// What a rendering observed about the stream (kept only once the rendering is served).
#[derive(Clone, Copy)]
pub(crate) struct Observed {
    media: bool,
    live_edge: Option<DateTime<Utc>>,
    window_start: Option<DateTime<Utc>>,
    published_until: Option<DateTime<Utc>>,
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
    publication: Publication,
    out: &mut Vec<u8>,
    path: &str,
) -> Result<RewriteOutcome, RenderError> {
    match hls::rewrite_published(upstream, timeline, opts, publication, out) {
        Ok(outcome) => Ok(outcome),
        Err(e @ RewriteError::NotAPlaylist) => Err(RenderError::NotAPlaylist(e)),
        Err(e) => {
            tracing::warn!(path, error = %e, "media playlist served without ad markers");
            Ok(RewriteOutcome {
                decisions: Vec::new(),
                kind: PlaylistKind::Media,
                live_edge: None,
                window_start: None,
                published_until: None,
                undecided: false,
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
        published_until: outcome.published_until,
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
            primary: self.stored_primary.clone(),
            policy: self.policy,
            first_program_time: self.first_program_time.or(self.seen_first_program_time),
            decides_from: None,
        }
    }

    /// Another server of the fleet published segments up to `until` (µs): decisions go after it.
    fn note_published(&mut self, until: i64) {
        if let Some(until) = DateTime::from_timestamp_micros(until)
            && self.published_until.is_none_or(|known| until > known)
        {
            self.published_until = Some(until);
        }
    }

    /// What a rendering of a stream without a record found out, kept for its first commit.
    fn remember_unrecorded(&mut self, path: &str, what: Remember) {
        match what {
            Remember::MediaPath => {
                if !self.media_paths.iter().any(|known| known == path) {
                    if self.media_paths.len() >= MAX_MEDIA_PATHS {
                        self.media_paths.remove(0);
                    }
                    self.media_paths.push(path.to_owned());
                }
            }
            Remember::Primary => self.stored_primary.clone_from(&self.primary),
            // The draft takes the seen first program time anyway.
            Remember::FirstProgramTime | Remember::Nothing => {}
        }
    }

    /// Whether nothing of the stream was ever committed, rendered or made.
    pub fn is_unused(&self) -> bool {
        self.revision == 0
            && self.timeline.meta().last_id == 0
            && self.media_paths.is_empty()
            && self.renders.is_empty()
    }

    /// Replaces the durable part with what the store holds (after a conflict, or a change
    /// another writer committed). The cached renderings go: they were made from the timeline
    /// replaced, and a restored timeline counts its versions anew.
    fn reload(&mut self, key: &str, loaded: LoadedStream) {
        self.timeline = Timeline::restore(loaded.row.meta, loaded.breaks);
        if let Some(horizon) = self.pruned_before {
            self.timeline.prune(horizon);
        }
        self.media_paths = valid_media_paths(key, loaded.row.media_paths);
        self.policy = loaded.row.policy;
        self.first_program_time = loaded.row.first_program_time;
        self.stored_primary = valid_primary(key, loaded.row.primary);
        if self.primary.is_none() {
            self.primary.clone_from(&self.stored_primary);
        }
        self.revision = loaded.row.revision;
        self.renders.clear();
    }

    /// What a rendering of `path` may decide, and what was already published — plus the
    /// tolerance: another rendition places a decided time on its own boundary up to the
    /// tolerance earlier, and that boundary must not have been published either (audio a few
    /// ms before video: a video boundary 60 ms after a listed audio segment would put the
    /// OUT before that already served audio segment).
    fn publication(&self, path: &str, may_decide: bool, tolerance_ms: u64) -> Publication {
        let margin = chrono::Duration::milliseconds(i64::try_from(tolerance_ms).unwrap_or(0));
        Publication {
            decides: may_decide && self.primary.as_deref().is_none_or(|p| p == path),
            published_until: self
                .published_until
                .and_then(|until| until.checked_add_signed(margin)),
        }
    }

    /// The cached rendering of `req.target` for these bytes and this timeline version, or a new
    /// one made (and cached) now — unless it decides something new, which must be committed
    /// first, or a decision is due that only the primary rendition makes.
    fn render_step(
        &mut self,
        req: &RenderRequest<'_>,
        budget: &Arc<RenderBudget>,
        out: &mut Vec<u8>,
    ) -> Result<Step, RenderError> {
        let version = self.timeline.version();
        let epoch = budget.epoch();
        if let Some(existing) = self
            .renders
            .get_mut(req.path)
            .and_then(|renders| renders.get(req.target, epoch))
            && existing.is_of(req.upstream, version)
        {
            return Ok(Step::Done {
                rendering: Rendering {
                    rendered: Arc::clone(existing),
                    cache_hit: true,
                },
                remember: Remember::Nothing,
            });
        }
        out.reserve(req.upstream.len() + 1024);
        let publication = self.publication(req.path, true, req.opts.tolerance_ms);
        let outcome = rewrite_or_pass(
            req.upstream,
            &self.timeline,
            req.opts,
            publication,
            out,
            req.path,
        )?;
        if !outcome.decisions.is_empty() {
            return Ok(Step::Decided(outcome));
        }
        if outcome.undecided && !req.primary_tried {
            // Not installed: what it lists must not count as published before the primary
            // had its chance to decide.
            return Ok(Step::NeedsPrimary);
        }
        let mut remember = Remember::Nothing;
        if outcome.kind == PlaylistKind::Multivariant
            && let Some(primary) = primary_of(req.path, req.upstream)
            && self.primary.as_deref() != Some(primary.as_str())
        {
            tracing::debug!(path = req.path, primary, "primary rendition");
            self.primary = Some(primary);
            remember = Remember::Primary;
        }
        let (rendered, observed) =
            rendering_of(req.upstream, version, &outcome, std::mem::take(out), budget);
        // A rendering that left a due decision open is served but not cached: the next request
        // tries again.
        let (rendered, installed) = self.install(
            req.path,
            req.target,
            rendered,
            observed,
            epoch,
            !outcome.undecided,
        );
        if remember == Remember::Nothing {
            remember = installed;
        }
        Ok(Step::Done {
            rendering: Rendering {
                rendered,
                cache_hit: false,
            },
            remember,
        })
    }

    /// Keeps what a served rendering observed (live edge, window, what is now published) and,
    /// when `cache`, caches it for `target` (a request for `path`). Also whether this is the
    /// first rendering of a media playlist path the record does not hold (only then is the list
    /// searched: later renderings of a path cost nothing here).
    fn install(
        &mut self,
        path: &str,
        target: &str,
        rendered: Rendered,
        observed: Observed,
        epoch: u64,
        cache: bool,
    ) -> (Arc<Rendered>, Remember) {
        let mut first_seen = false;
        if observed.media {
            if let Some(edge) = observed.live_edge
                && self.live_edge.is_none_or(|known| edge > known)
            {
                self.live_edge = Some(edge);
            }
            if let Some(edge) = observed.live_edge
                && self.first_program_time.is_none()
                && self.seen_first_program_time.is_none()
            {
                self.seen_first_program_time = Some(observed.window_start.unwrap_or(edge));
                first_seen = true;
            }
            if let Some(until) = observed.published_until
                && self.published_until.is_none_or(|known| until > known)
            {
                self.published_until = Some(until);
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
        let first = if first_seen {
            Remember::FirstProgramTime
        } else {
            Remember::Nothing
        };
        if !cache {
            return (rendered, first);
        }
        let remember = match self.renders.get_mut(path) {
            Some(renders) => {
                renders.put(target, Arc::clone(&rendered), epoch);
                Remember::Nothing
            }
            None => {
                let mut renders = PathRenders::default();
                renders.put(target, Arc::clone(&rendered), epoch);
                self.renders.insert(path.to_owned(), renders);
                if observed.media && !self.media_paths.iter().any(|known| known == path) {
                    Remember::MediaPath
                } else {
                    first
                }
            }
        };
        (
            rendered,
            if remember == Remember::Nothing {
                first
            } else {
                remember
            },
        )
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

/// The path of the primary rendition a multivariant playlist at `path` names, when it is a
/// playlist of the same stream the proxy may fetch.
fn primary_of(path: &str, multivariant: &[u8]) -> Option<String> {
    let uri = hls::multivariant::primary_rendition(multivariant)?;
    let resolved = resolve_reference(path, uri)?;
    valid_primary(stream_key_of(path), Some(resolved))
}

/// A stored primary path, if it is a playlist path of stream `key`.
fn valid_primary(key: &str, stored: Option<String>) -> Option<String> {
    let path = stored?;
    (validate_path(&path).is_ok()
        && path.ends_with(".m3u8")
        && !path.contains(['?', '#'])
        && stream_key_of(&path) == key)
        .then_some(path)
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
