//! The break operations every API style shares: create, end, cancel, read and list a stream's
//! breaks. They apply the break rules of [`crate::hls`] (see [`Timeline::schedule`]) to the
//! stream's committed timeline, commit the change, and answer typed results; the API modules
//! turn those into their own answers and status codes.
//!
//! A new break must also pass the stream's break policy ([`crate::hls::BreakPolicy`]: its own,
//! else the server's default), checked on the committed timeline after the timeline's own rules
//! (a start before the live edge, an overlap) so that those keep their answers; a disabled
//! stream refuses before anything else is looked at.
//!
//! "Now" is the stream's live edge, refreshed from upstream first by the `refresh` each call
//! is given; a repeated `request_id` is found among the breaks in memory, else in the store
//! (for as long as the key is remembered), and returns the original break without needing
//! "now".
//!
//! A change whose commit lost the compare-and-set to another writer (a replica of a fleet)
//! finds the stream reloaded with what that writer stored, and is made again from it, at most
//! [`CONFLICT_RETRIES`] times: it then answers as the rules say on the stored state (the
//! repeated `request_id`'s original, the overlap 409, the break already ended), never a
//! store error.
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::store::{BreakQuery, StoreError};
use super::stream::{CONFLICT_RETRIES, Stream};
use super::streams::Streams;
use crate::hls::{
    Break, BreakPolicy, BreakState, BreakTarget, Ended, PolicyLimits, PolicyRefusal, RuleError,
    ScheduleRequest, Scheduled, Timeline,
};

/// Longest accepted idempotency key.
pub const MAX_REQUEST_ID_LEN: usize = 256;
/// Default and largest page of `GET …/breaks`.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page of `GET …/breaks`.
pub const MAX_PAGE: usize = 1000;
/// Most history rows one page request examines (a filtered page may come back short, with a
/// cursor to go on).
const PAGE_SCAN: usize = 10_000;

/// Why a break operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BreakError {
    /// No such stream, in memory or in the store.
    UnknownStream(String),
    /// No such break in the stream (or it left the history).
    UnknownBreak {
        /// The stream.
        stream: String,
        /// The break id asked for.
        id: u64,
    },
    /// A value of the request is out of range; the message names it.
    Invalid(String),
    /// A break rule refused the request.
    Rule(RuleError),
    /// The stream's break policy refused the request.
    Policy(PolicyRefusal),
    /// The break was cancelled earlier.
    Cancelled(Box<Break>),
    /// The live edge could not be refreshed from upstream, so "now" is not known.
    LiveEdge(String),
    /// The start is further past the live edge than `max_schedule_ahead_hours` allows.
    TooFarAhead {
        /// Asked for.
        start: DateTime<Utc>,
        /// The latest start allowed now.
        latest: DateTime<Utc>,
    },
    /// The store failed; nothing was changed.
    Store(StoreError),
}

impl fmt::Display for BreakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownStream(key) => write!(f, "Could not find the stream: [{key}]"),
            Self::UnknownBreak { stream, id } => write!(f, "no break {id} in stream {stream}"),
            Self::Invalid(why) | Self::LiveEdge(why) => f.write_str(why),
            Self::TooFarAhead { start, latest } => write!(
                f,
                "start {} is too far ahead: breaks may be scheduled up to {} (max_schedule_ahead_hours past the live edge)",
                start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                latest.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            Self::Rule(e) => e.fmt(f),
            Self::Policy(refusal) => write!(f, "refused by the break policy: {refusal}"),
            Self::Cancelled(b) => write!(f, "break {} is already cancelled", b.id),
            Self::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BreakError {}

impl From<StoreError> for BreakError {
    fn from(e: StoreError) -> Self {
        BreakError::Store(e)
    }
}

/// Whether a create made a new break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    /// A new break.
    Created,
    /// A repeated `request_id`: the original break.
    Repeated,
}

/// A break with the live edge its state is reported at.
#[derive(Debug)]
pub struct BreakAt {
    /// The break.
    pub b: Break,
    /// The stream's live edge when it was read.
    pub live_edge: Option<DateTime<Utc>>,
}

/// A page of `GET …/breaks`.
#[derive(Debug)]
pub struct BreakList {
    /// The breaks, newest first.
    pub breaks: Vec<Break>,
    /// The cursor of the next page.
    pub next_cursor: Option<u64>,
    /// The live edge the states are reported at.
    pub live_edge: Option<DateTime<Utc>>,
}

/// What `GET …/breaks` asks for.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListQuery {
    /// Page size (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]).
    pub limit: Option<usize>,
    /// Breaks older than this cursor (a break id).
    pub cursor: Option<u64>,
    /// Only breaks in this state.
    pub state: Option<BreakState>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
}

impl Streams {
    /// The break policy `stream` is held to: its own, else the server's default.
    pub fn policy_of(&self, stream: &Stream) -> BreakPolicy {
        stream.policy().unwrap_or(self.settings().default_policy)
    }

    /// The stream, caught up with the store if another writer changed it. With a store other
    /// servers write too, the stored revision is read first (one small read per API call), so
    /// an API call never starts from a state older than what the fleet acknowledged, even
    /// when a change notification has not arrived yet.
    pub(crate) async fn known(&self, key: &str) -> Result<Arc<Stream>, BreakError> {
        let stream = self
            .find(key)
            .await?
            .ok_or_else(|| BreakError::UnknownStream(key.to_owned()))?;
        if self.store().shared() {
            let store = Arc::clone(self.store());
            let owned = key.to_owned();
            let stored = blocking(move || store.revision(&owned)).await?;
            stream.mark_stale(stored);
        }
        if stream.is_stale() {
            stream.catch_up(self.store()).await?;
        }
        Ok(stream)
    }

    /// Creates a break, or returns the original for a repeated `request_id`.
    ///
    /// `refresh` brings the stream's live edge up to date from upstream ("now" is read after
    /// it); it runs once the request is known to be valid, before any lock is taken, and its
    /// failure is answered unless the request repeats a `request_id`.
    ///
    /// # Errors
    /// [`BreakError::Invalid`] for a duration out of range or a bad key,
    /// [`BreakError::UnknownStream`], [`BreakError::Rule`] (overlap, start before the live
    /// edge, no live edge, too many breaks), [`BreakError::Policy`], [`BreakError::LiveEdge`],
    /// [`BreakError::Store`].
    pub async fn create_break<F, R>(
        &self,
        key: &str,
        req: ScheduleRequest,
        refresh: F,
    ) -> Result<(Creation, BreakAt), BreakError>
    where
        F: FnOnce(Arc<Stream>) -> R,
        R: Future<Output = Result<(), String>>,
    {
        let max = self.settings().max_break_ms;
        if req.duration_ms == 0 {
            return Err(BreakError::Invalid("duration must be positive".to_owned()));
        }
        if req.duration_ms > max {
            return Err(BreakError::Invalid(format!(
                "duration {} ms is over the maximum of {max} ms",
                req.duration_ms
            )));
        }
        if let Some(id) = &req.request_id
            && (id.is_empty() || id.len() > MAX_REQUEST_ID_LEN)
        {
            return Err(BreakError::Invalid(format!(
                "request_id must be 1 to {MAX_REQUEST_ID_LEN} bytes"
            )));
        }
        let stream = self.known(key).await?;
        // Before the writer lock: the refresh renders, and a rendering may need to commit.
        let refreshed = refresh(Arc::clone(&stream)).await;
        let mut conflicts = 0;
        loop {
            match self
                .try_create(key, &stream, req.clone(), refreshed.clone())
                .await
            {
                Err(BreakError::Store(StoreError::Conflict { .. }))
                    if conflicts < CONFLICT_RETRIES =>
                {
                    conflicts += 1;
                }
                done => return done,
            }
        }
    }

    /// One attempt of [`Streams::create_break`] once the live edge was refreshed.
    async fn try_create(
        &self,
        key: &str,
        stream: &Arc<Stream>,
        req: ScheduleRequest,
        refreshed: Result<(), String>,
    ) -> Result<(Creation, BreakAt), BreakError> {
        // Taken before reading the timeline: a request repeating a request_id whose original is
        // still committing waits for it, so it finds the break instead of creating a second.
        let writer = stream.writer().await?;
        if let Some(request_id) = req.request_id.clone() {
            let in_memory = {
                let state = stream.state();
                state
                    .timeline
                    .find_request(&request_id)
                    .cloned()
                    .map(|b| (b, state.live_edge))
            };
            let repeated = match in_memory {
                Some(found) => Some(found),
                None => {
                    let store = Arc::clone(self.store());
                    let key = key.to_owned();
                    blocking(move || store.find_request(&key, &request_id))
                        .await?
                        .map(|b| (b, stream.live_edge()))
                }
            };
            if let Some((b, live_edge)) = repeated {
                return Ok((Creation::Repeated, BreakAt { b, live_edge }));
            }
        }
        let policy = self.policy_of(stream);
        if !policy.enabled {
            return Err(BreakError::Policy(PolicyRefusal::Disabled));
        }
        refreshed.map_err(BreakError::LiveEdge)?;
        let (draft, created) = {
            let state = stream.state();
            let edge = state.live_edge;
            if let crate::hls::Start::At(start) = req.start {
                // How far ahead is measured from the live edge: without one (no media playlist
                // with program dates went through the proxy yet) it cannot be checked.
                let Some(edge) = edge else {
                    return Err(BreakError::LiveEdge(format!(
                        "the live edge of stream {key} is not known yet (no media playlist with EXT-X-PROGRAM-DATE-TIME went through the proxy), so a break at a program time cannot be checked against it; nothing was changed"
                    )));
                };
                let latest = edge + self.settings().max_schedule_ahead;
                if start > latest {
                    return Err(BreakError::TooFarAhead { start, latest });
                }
            }
            let limits = PolicyLimits {
                min_duration_ms: PolicyLimits::min_for_target_duration(state.target_duration),
                max_duration_ms: self.settings().max_break_ms,
            };
            drop(state);
            let mut draft = stream.draft();
            let created = match draft.timeline.schedule(req, edge) {
                Ok(Scheduled::Created(b) | Scheduled::Repeated(b)) => b.clone(),
                Err(e) => return Err(BreakError::Rule(e)),
            };
            let others = draft
                .timeline
                .breaks()
                .iter()
                .filter(|b| b.id != created.id);
            policy
                .check(created.start(), created.planned_duration_ms, others, limits)
                .map_err(BreakError::Policy)?;
            (
                draft,
                BreakAt {
                    b: created,
                    live_edge: edge,
                },
            )
        };
        stream.commit(self.store(), writer, draft, |_| ()).await?;
        tracing::info!(stream = %key, break_id = created.b.id, "break created");
        Ok((Creation::Created, created))
    }

    /// Ends a break as soon as possible (see [`Timeline::end_now`]); a break that has not
    /// started is cancelled instead. `refresh` brings the live edge up to date first.
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::UnknownBreak`], [`BreakError::Cancelled`],
    /// [`BreakError::Rule`] (nothing current, not the current event id, already ended),
    /// [`BreakError::LiveEdge`], [`BreakError::Store`].
    pub async fn end_break<F, R>(
        &self,
        key: &str,
        target: BreakTarget,
        refresh: F,
    ) -> Result<BreakAt, BreakError>
    where
        F: FnOnce(Arc<Stream>) -> R,
        R: Future<Output = Result<(), String>>,
    {
        let stream = self.known(key).await?;
        refresh(Arc::clone(&stream))
            .await
            .map_err(BreakError::LiveEdge)?;
        self.change(&stream, move |timeline, edge| {
            timeline.end_now(target, edge).map(|ended| match ended {
                Ended::InRequested(b) => (b.clone(), true),
                Ended::AlreadyRequested(b) => (b.clone(), false),
                Ended::Cancelled(b) => (b, true),
            })
        })
        .await
    }

    /// Cancels a break that has not started. Needs no "now": only a break no rendering has
    /// started can be cancelled.
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::UnknownBreak`], [`BreakError::Cancelled`],
    /// [`BreakError::Rule`] (already started or ended), [`BreakError::Store`].
    pub async fn cancel_break(&self, key: &str, id: u64) -> Result<BreakAt, BreakError> {
        let stream = self.known(key).await?;
        self.change(&stream, move |timeline, edge| {
            timeline.cancel(id, edge).map(|b| (b, true))
        })
        .await
    }

    /// Applies `rule` to a copy of the timeline and commits it when it changed something;
    /// after a conflict, again on the reloaded timeline.
    async fn change(
        &self,
        stream: &Arc<Stream>,
        rule: impl Fn(&mut Timeline, Option<DateTime<Utc>>) -> Result<(Break, bool), RuleError>,
    ) -> Result<BreakAt, BreakError> {
        let mut conflicts = 0;
        loop {
            match self.try_change(stream, &rule).await {
                Err(BreakError::Store(StoreError::Conflict { .. }))
                    if conflicts < CONFLICT_RETRIES =>
                {
                    conflicts += 1;
                }
                done => return done,
            }
        }
    }

    async fn try_change(
        &self,
        stream: &Arc<Stream>,
        rule: &impl Fn(&mut Timeline, Option<DateTime<Utc>>) -> Result<(Break, bool), RuleError>,
    ) -> Result<BreakAt, BreakError> {
        let writer = stream.writer().await?;
        let edge = stream.live_edge();
        let mut draft = stream.draft();
        let (b, changed) = match rule(&mut draft.timeline, edge) {
            Ok(done) => done,
            Err(RuleError::NotFound { id }) => {
                // Not in memory: cancelled, or ended long enough ago to be history only.
                return Err(self.not_held(stream, id).await);
            }
            Err(e) => return Err(BreakError::Rule(e)),
        };
        if changed {
            stream.commit(self.store(), writer, draft, |_| ()).await?;
            tracing::info!(stream = %stream.key, break_id = b.id, state = %b.published_state(edge), "break changed");
        }
        Ok(BreakAt { b, live_edge: edge })
    }

    /// Why a break the timeline does not hold cannot be changed.
    async fn not_held(&self, stream: &Arc<Stream>, id: u64) -> BreakError {
        let store = Arc::clone(self.store());
        let key = stream.key.clone();
        match blocking(move || store.get_break(&key, id)).await {
            Ok(Some(b)) if b.cancelled => BreakError::Cancelled(Box::new(b)),
            Ok(Some(b)) => BreakError::Rule(RuleError::AlreadyEnded {
                existing: Box::new(b),
            }),
            Ok(None) => BreakError::UnknownBreak {
                stream: stream.key.clone(),
                id,
            },
            Err(e) => BreakError::Store(e),
        }
    }

    /// One break, from memory or the history.
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::UnknownBreak`], [`BreakError::Store`].
    pub async fn get_break(&self, key: &str, id: u64) -> Result<BreakAt, BreakError> {
        let stream = self.known(key).await?;
        let (held, live_edge) = {
            let state = stream.state();
            (state.timeline.get(id).cloned(), state.live_edge)
        };
        if let Some(b) = held {
            return Ok(BreakAt { b, live_edge });
        }
        let store = Arc::clone(self.store());
        let owned = key.to_owned();
        match blocking(move || store.get_break(&owned, id)).await? {
            Some(b) => Ok(BreakAt { b, live_edge }),
            None => Err(BreakError::UnknownBreak {
                stream: key.to_owned(),
                id,
            }),
        }
    }

    /// A page of the stream's breaks, newest first, optionally of one state.
    ///
    /// # Errors
    /// [`BreakError::Invalid`] for a page size out of range, [`BreakError::UnknownStream`],
    /// [`BreakError::Store`].
    pub async fn list_breaks(&self, key: &str, query: ListQuery) -> Result<BreakList, BreakError> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(BreakError::Invalid(format!(
                "limit must be 1 to {MAX_PAGE}, got {limit}"
            )));
        }
        let stream = self.known(key).await?;
        let live_edge = stream.live_edge();
        let store = Arc::clone(self.store());
        let owned = key.to_owned();
        let wanted = query.state;
        let page = blocking(move || {
            store.list_breaks(
                &owned,
                BreakQuery {
                    before_id: query.cursor,
                    limit,
                },
                PAGE_SCAN,
                &mut |b| wanted.is_none_or(|state| b.published_state(live_edge) == state),
            )
        })
        .await?;
        Ok(BreakList {
            breaks: page.breaks,
            next_cursor: page.next_before_id,
            live_edge,
        })
    }
}
