//! One stream's breaks, decided once by construction: a [`Splicer`] owns the stream's
//! [`Timeline`], the rewrite's working memory and what was already published, stores every
//! value a rewrite decides before the caller sees the output, and hands back what changed for
//! the caller to persist.
//!
//! The rules it enforces (the module docs of [`crate::hls`] have the placement rules):
//! - RFC 8216bis §4.4.5.1: the attributes of a date range never change once published. A
//!   decided start or end is stored inside [`Splicer::rewrite`] (the caller cannot forget
//!   [`Timeline::apply`]), so every later refresh, every other rendition and, once the caller
//!   persisted [`Spliced::changes`], every restart renders the same bytes.
//! - No tag goes before content already published: a decided start or end is a segment
//!   boundary more than the tolerance after the start of the newest segment any rendition
//!   listed ([`Publication::published_until`] plus [`RewriteOptions::tolerance_ms`]), because
//!   every rendition carries it at its first segment starting at or after it minus the
//!   tolerance, and none of those may have been published. (The proxy gets the same by having
//!   the primary rendition decide before another rendition's due playlist is served; a
//!   splicer's caller publishes whatever it rewrote.) After [`Splicer::restore`], what the
//!   first playlist of each rendition lists counts as published before anything is decided in
//!   it, because it may have been published before the restart, after the mark last persisted.
//! - Only the primary rendition decides ([`Splicer::set_primary`]), so SCTE-35 times follow its
//!   boundaries exactly; without one every rendition may decide (the first to see a boundary
//!   does). A rendition that may not decide renders a due break as if its time had not come
//!   ([`RewriteOutcome::undecided`]).
//! - The break rules the proxy applies ([`Timeline::schedule`], [`Timeline::end_now`],
//!   [`Timeline::cancel`], [`Timeline::current`]: now is the live edge, ending as soon as
//!   possible, states, idempotency by request id) apply with the live edge this splicer saw;
//!   each comes back with the changes to persist before acknowledging the request.
//!
//! # Bounded
//! The timeline holds at most [`MAX_LIVE_BREAKS`] breaks; ended ones leave once no rendition's
//! window reaches back to their end and they ended [`KEEP_ENDED_MS`] before the live edge
//! ([`SplicerChanges::pruned`] names them). At most [`MAX_RENDITIONS`] renditions' windows are
//! remembered, the one rewritten least recently forgotten first.
//!
//! # Cost
//! [`Splicer::rewrite`] is [`rewrite_with_publication`] over the splicer's own scratch, plus a
//! walk over the remembered renditions and the held breaks; a steady-state call (nothing new
//! decided or pruned, a rendition seen before) allocates nothing.
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::options::RewriteOptions;
use super::outcome::{PlaylistKind, RewriteError, RewriteOutcome};
use super::policy::HOUR_MS;
use super::rewrite::{Publication, RewriteScratch, rewrite_with_publication};
use super::schedule::{BreakTarget, Ended, RuleError, ScheduleRequest, Scheduled};
#[cfg(doc)]
use super::timeline::MAX_LIVE_BREAKS;
use super::timeline::{Break, BreakState, Timeline, TimelineChanges, TimelineMeta};

/// Most renditions whose playlist window a [`Splicer`] remembers (to know which ended breaks
/// can no longer appear). A stream has a handful (video ladders of 6 to 8, a few audio and
/// subtitle renditions); past this the one rewritten least recently is forgotten, which only
/// lets its old ranges be pruned sooner.
pub const MAX_RENDITIONS: usize = 64;

/// How long after the live edge passed its end an ended break stays in the timeline, in
/// milliseconds: an hour, as the proxy keeps them, so that a [`BreakPolicy`]'s rolling hour
/// and spacing rules checked against [`Splicer::timeline`] still see it.
///
/// [`BreakPolicy`]: super::BreakPolicy
pub const KEEP_ENDED_MS: u64 = HOUR_MS.unsigned_abs();

/// What a [`Splicer`] persists besides its breaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplicerMeta {
    /// The timeline's counters (ids are unique for ever).
    pub timeline: TimelineMeta,
    /// The start of the newest segment any rendition listed
    /// ([`Publication::published_until`]).
    pub published_until: Option<DateTime<Utc>>,
    /// The program time at the end of the newest complete segment any rendition listed: "now"
    /// for the break rules.
    pub live_edge: Option<DateTime<Utc>>,
}

/// What changed in a [`Splicer`]: persist it before publishing the output or acknowledging the
/// request that made it, and rebuild with [`Splicer::restore`] from what was persisted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[must_use = "changes that are not persisted are lost on restart, and a published tag would change"]
pub struct SplicerChanges {
    /// The counters and the publication mark, as they are now. Persist them with any break;
    /// they advance on every rewrite, so a caller may also persist them more often (a fresher
    /// mark never hurts).
    pub meta: SplicerMeta,
    /// Every break added, decided, ended or cancelled, as it is now, in id order: store each by
    /// its id, replacing what was stored. Cancelled ones come once, with `cancelled` set.
    pub breaks: Vec<Break>,
    /// Ids of ended breaks that left the timeline: they can no longer appear in a playlist.
    /// Delete them (or move them to history); a restore given them anyway prunes them again.
    pub pruned: Vec<u64>,
}

impl SplicerChanges {
    /// Whether no break changed or left (the meta may still have advanced).
    pub fn is_empty(&self) -> bool {
        self.breaks.is_empty() && self.pruned.is_empty()
    }
}

/// What [`Splicer::rewrite`] did.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "persist `changes` before publishing the output"]
pub struct Spliced {
    /// What the rewrite found. Its `decisions` are already stored in the splicer (and in
    /// `changes`); they are there to be logged, not applied.
    pub outcome: RewriteOutcome,
    /// What to persist before the output is published.
    pub changes: SplicerChanges,
}

/// The result of a break rule, already applied to the splicer, with the changes to persist
/// before acknowledging the request.
#[derive(Debug, PartialEq)]
#[must_use = "persist `changes` before acknowledging the request"]
pub struct Applied<T> {
    /// What the rule did.
    pub value: T,
    /// What to persist.
    pub changes: SplicerChanges,
}

/// One rendition's window: the earliest program time at which its playlist still shows a
/// range (its first segment, less a delta update's skipped span and the tolerance).
#[derive(Debug)]
struct Window {
    rendition: Box<str>,
    shows_from: Option<DateTime<Utc>>,
}

/// One stream's breaks and what was published of them, for a packager (or any caller) that
/// rewrites its own media playlists: decisions are stored inside [`Splicer::rewrite`], and
/// every change comes back to be persisted.
///
/// Use [`crate::hls::rewrite`] instead only when you store decisions yourself (the proxy does,
/// with a compare-and-set across replicas).
///
/// ```
/// use std::collections::BTreeMap;
///
/// use hlsplice::hls::{
///     Break, BreakTarget, Ended, RewriteOptions, ScheduleRequest, Splicer, SplicerChanges,
///     SplicerMeta, Start,
/// };
///
/// /// A live window of five 4 s segments from media sequence `msn` (segment 100 at 08:00:00).
/// fn window(msn: u64) -> Vec<u8> {
///     let mut text = format!("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{msn}\n");
///     for n in msn..msn + 5 {
///         let (m, s) = ((n - 100) * 4 / 60, (n - 100) * 4 % 60);
///         text += &format!("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:{m:02}:{s:02}.000Z\n");
///         text += &format!("#EXTINF:4.000,\nseg{n}.ts\n");
///     }
///     text.into_bytes()
/// }
///
/// /// Where the packager keeps what it must not lose (a database, a file).
/// #[derive(Default)]
/// struct Store {
///     meta: SplicerMeta,
///     breaks: BTreeMap<u64, Break>,
/// }
///
/// impl Store {
///     fn persist(&mut self, changes: SplicerChanges) {
///         self.meta = changes.meta;
///         for b in changes.breaks {
///             self.breaks.insert(b.id, b);
///         }
///         for id in changes.pruned {
///             self.breaks.remove(&id);
///         }
///     }
/// }
///
/// let opts = RewriteOptions::default();
/// let mut store = Store::default();
/// let mut splicer = Splicer::new();
/// let mut out = Vec::new();
///
/// // The live edge is the end of segment 104: 08:00:20.
/// let first = splicer.rewrite("video", &window(100), &opts, &mut out)?;
/// store.persist(first.changes);
/// assert_eq!(splicer.live_edge(), Some("2026-11-21T08:00:20Z".parse()?));
///
/// // A 12 s break now, asked twice with the same request id: one break.
/// let request = ScheduleRequest {
///     start: Start::Now,
///     duration_ms: 12_000,
///     event_id: None,
///     request_id: Some("evening-1".into()),
///     ads: None,
/// };
/// let scheduled = splicer.schedule(request.clone())?;
/// store.persist(scheduled.changes);
/// let again = splicer.schedule(request)?;
/// assert!(again.changes.is_empty());
///
/// // The next window lists segment 105 (08:00:20): the break starts there. Its START-DATE is
/// // stored inside the call; the change comes back to be persisted before publishing.
/// let spliced = splicer.rewrite("video", &window(101), &opts, &mut out)?;
/// assert_eq!(spliced.changes.breaks[0].decided_start, Some("2026-11-21T08:00:20Z".parse()?));
/// store.persist(spliced.changes);
/// let published = String::from_utf8(out.clone())?;
/// assert!(published.contains("START-DATE=\"2026-11-21T08:00:20.000Z\""));
///
/// // A refresh of the same window decides nothing and renders the same bytes.
/// let refresh = splicer.rewrite("video", &window(101), &opts, &mut out)?;
/// assert!(refresh.changes.is_empty());
/// assert_eq!(out, published.as_bytes());
///
/// // End it as soon as possible: at the live edge (08:00:24), the end of segment 105.
/// let ended = splicer.end_now(BreakTarget::Current { event_id: None })?;
/// assert!(matches!(ended.value, Ended::InRequested(_)));
/// store.persist(ended.changes);
/// let spliced = splicer.rewrite("video", &window(102), &opts, &mut out)?;
/// store.persist(spliced.changes);
/// assert!(String::from_utf8(out.clone())?.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg106.ts\n"));
/// let before_restart = out.clone();
///
/// // A restart: the splicer comes back from what was persisted and renders the same tags.
/// let mut splicer = Splicer::restore(store.meta, store.breaks.values().cloned());
/// let spliced = splicer.rewrite("video", &window(102), &opts, &mut out)?;
/// assert!(spliced.changes.is_empty());
/// assert_eq!(out, before_restart);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Splicer {
    timeline: Timeline,
    scratch: RewriteScratch,
    /// The rendition that decides, when known.
    primary: Option<Box<str>>,
    published_until: Option<DateTime<Utc>>,
    live_edge: Option<DateTime<Utc>>,
    /// Least recently rewritten first.
    windows: Vec<Window>,
    /// Built by [`Splicer::restore`]: a rendition's first playlist decides nothing.
    restored: bool,
}

impl Splicer {
    /// A splicer for a new stream: no breaks, nothing published.
    pub fn new() -> Self {
        Self::default()
    }

    /// A splicer rebuilt from what was persisted: the last meta and every break stored (changes
    /// replace by id; pruned ones may be left out or not). Cancelled breaks are left out.
    ///
    /// What the first playlist of each rendition lists after this counts as published and
    /// decides nothing: it may have been published after the meta was last persisted. So a
    /// break due in that playlist starts (or ends) one refresh later than it would have. A
    /// packager that starts embedding the library on a stream it already published may call
    /// this with nothing persisted for the same reason.
    ///
    /// The primary rendition is configuration, not state: name it again with
    /// [`Splicer::set_primary`].
    pub fn restore(meta: SplicerMeta, breaks: impl IntoIterator<Item = Break>) -> Self {
        Splicer {
            timeline: Timeline::restore(meta.timeline, breaks),
            published_until: meta.published_until,
            live_edge: meta.live_edge,
            restored: true,
            ..Splicer::default()
        }
    }

    /// Names the rendition whose boundaries decide when breaks start and end (e.g. the one
    /// [`super::multivariant::primary_rendition`] names), or `None`: every rendition may
    /// decide. A rendition is whatever name the caller passes to [`Splicer::rewrite`].
    pub fn set_primary(&mut self, rendition: Option<&str>) {
        if self.primary.as_deref() != rendition {
            self.primary = rendition.map(Box::from);
        }
    }

    /// The rendition that decides, if one was named.
    pub fn primary(&self) -> Option<&str> {
        self.primary.as_deref()
    }

    /// Rewrites one media playlist of `rendition` into `out` (cleared first, capacity reused)
    /// with the stream's breaks, storing what it decided before returning. Persist
    /// [`Spliced::changes`], then publish `out`. A multivariant playlist passes through
    /// unchanged.
    ///
    /// Rewrite the primary rendition first in each round: a rendition that may not decide
    /// renders a break whose time came as not started (or still running), and once that is
    /// published the primary decides at its next boundary instead.
    ///
    /// # Errors
    /// As [`crate::hls::rewrite`]: `out` holds `input` unchanged and nothing in the splicer
    /// changed.
    pub fn rewrite(
        &mut self,
        rendition: &str,
        input: &[u8],
        opts: &RewriteOptions,
        out: &mut Vec<u8>,
    ) -> Result<Spliced, RewriteError> {
        let seen = self.windows.iter().position(|w| &*w.rendition == rendition);
        let first_since_restore = self.restored && seen.is_none();
        let publication = Publication {
            decides: !first_since_restore && self.primary.as_deref().is_none_or(|p| p == rendition),
            // Every rendition carries a decided time at its first segment starting at or after
            // it minus the tolerance; none of those may have been published already.
            published_until: self
                .published_until
                .map(|until| plus_ms(until, opts.tolerance_ms)),
        };
        let outcome = rewrite_with_publication(
            &mut self.scratch,
            input,
            &self.timeline,
            opts,
            publication,
            out,
        )?;
        if !outcome.decisions.is_empty() {
            // Rendered from this very timeline, so every decision is new and agrees.
            let stored = self.timeline.apply(&outcome.decisions);
            debug_assert!(stored && self.timeline.agrees_with(&outcome.decisions));
        }
        let mut pruned = Vec::new();
        if outcome.kind == PlaylistKind::Media {
            self.observe(seen, rendition, &outcome, opts.tolerance_ms);
            self.prune(&mut pruned);
        }
        Ok(Spliced {
            changes: self.changes(pruned),
            outcome,
        })
    }

    /// Notes what a published rewrite of `rendition` listed.
    fn observe(
        &mut self,
        seen: Option<usize>,
        rendition: &str,
        outcome: &RewriteOutcome,
        tolerance_ms: u64,
    ) {
        if let Some(edge) = outcome.live_edge {
            self.live_edge = Some(self.live_edge.map_or(edge, |known| known.max(edge)));
        }
        if let Some(until) = outcome.published_until {
            self.published_until =
                Some(self.published_until.map_or(until, |known| known.max(until)));
        }
        // A range stays in a playlist while its end is within the tolerance of the window's
        // start (see the placement rules).
        let shows_from = outcome
            .window_start
            .map(|start| minus_ms(start, tolerance_ms));
        match seen {
            Some(i) => {
                // Moved to the back: the least recently rewritten stays first.
                let mut window = self.windows.remove(i);
                window.shows_from = shows_from;
                self.windows.push(window);
            }
            None => {
                if self.windows.len() >= MAX_RENDITIONS {
                    self.windows.remove(0);
                }
                self.windows.push(Window {
                    rendition: rendition.into(),
                    shows_from,
                });
            }
        }
    }

    /// Lets go of ended breaks no remembered window shows and that ended [`KEEP_ENDED_MS`]
    /// before the live edge.
    fn prune(&mut self, pruned: &mut Vec<u64>) {
        let Some(edge) = self.live_edge else {
            return;
        };
        let kept = minus_ms(edge, KEEP_ENDED_MS);
        let horizon = self
            .windows
            .iter()
            .filter_map(|w| w.shows_from)
            .min()
            .map_or(kept, |oldest| oldest.min(kept));
        self.timeline
            .prune_reporting(horizon, |b| pruned.push(b.id));
    }

    fn changes(&mut self, pruned: Vec<u64>) -> SplicerChanges {
        let TimelineChanges { meta, breaks } = self.timeline.take_changes();
        SplicerChanges {
            meta: SplicerMeta {
                timeline: meta,
                published_until: self.published_until,
                live_edge: self.live_edge,
            },
            breaks,
            pruned,
        }
    }

    /// Forgets a rendition that is no longer published, so its old window stops holding ended
    /// breaks in the timeline. Whether it was remembered.
    pub fn forget_rendition(&mut self, rendition: &str) -> bool {
        let before = self.windows.len();
        self.windows.retain(|w| &*w.rendition != rendition);
        self.windows.len() < before
    }

    /// Schedules a break by the rules of [`Timeline::schedule`], "now" being this splicer's
    /// live edge.
    ///
    /// # Errors
    /// As [`Timeline::schedule`]; nothing changed.
    pub fn schedule(&mut self, req: ScheduleRequest) -> Result<Applied<Scheduled<'_>>, RuleError> {
        let (id, created) = match self.timeline.schedule(req, self.live_edge)? {
            Scheduled::Created(b) => (b.id, true),
            Scheduled::Repeated(b) => (b.id, false),
        };
        let changes = self.changes(Vec::new());
        // Just created or found: the timeline holds it.
        let b = self.timeline.get(id).ok_or(RuleError::NotFound { id })?;
        Ok(Applied {
            value: if created {
                Scheduled::Created(b)
            } else {
                Scheduled::Repeated(b)
            },
            changes,
        })
    }

    /// Ends a break as soon as possible ([`Timeline::end_now`] at this splicer's live edge): an
    /// active break's IN goes on the first boundary not yet published; a break that has not
    /// started is cancelled.
    ///
    /// # Errors
    /// As [`Timeline::end_now`]; nothing changed.
    pub fn end_now(&mut self, target: BreakTarget) -> Result<Applied<Ended<'_>>, RuleError> {
        enum Did {
            Requested(u64),
            Already(u64),
            Cancelled(Break),
        }
        let did = match self.timeline.end_now(target, self.live_edge)? {
            Ended::InRequested(b) => Did::Requested(b.id),
            Ended::AlreadyRequested(b) => Did::Already(b.id),
            Ended::Cancelled(b) => Did::Cancelled(b),
        };
        let changes = self.changes(Vec::new());
        let value = match did {
            Did::Requested(id) => {
                Ended::InRequested(self.timeline.get(id).ok_or(RuleError::NotFound { id })?)
            }
            Did::Already(id) => {
                Ended::AlreadyRequested(self.timeline.get(id).ok_or(RuleError::NotFound { id })?)
            }
            Did::Cancelled(b) => Ended::Cancelled(b),
        };
        Ok(Applied { value, changes })
    }

    /// Requests a break's end at a program time ([`Timeline::end_break`]); the rewrite snaps it
    /// to the first boundary at or after it that is not yet published.
    ///
    /// # Errors
    /// [`RuleError::Timeline`] with the timeline's reason (unknown id, already ended, an end
    /// not after the start); nothing changed.
    pub fn end_at(&mut self, id: u64, at: DateTime<Utc>) -> Result<Applied<&Break>, RuleError> {
        self.timeline
            .end_break(id, at)
            .map_err(RuleError::Timeline)?;
        let changes = self.changes(Vec::new());
        let b = self.timeline.get(id).ok_or(RuleError::NotFound { id })?;
        Ok(Applied { value: b, changes })
    }

    /// Cancels a break that has not started ([`Timeline::cancel`]); the cancelled break comes
    /// back.
    ///
    /// # Errors
    /// As [`Timeline::cancel`]; nothing changed.
    pub fn cancel(&mut self, id: u64) -> Result<Applied<Break>, RuleError> {
        let cancelled = self.timeline.cancel(id, self.live_edge)?;
        Ok(Applied {
            value: cancelled,
            changes: self.changes(Vec::new()),
        })
    }

    /// The break an IN without an id refers to ([`Timeline::current`] at this splicer's live
    /// edge).
    pub fn current(&self) -> Option<&Break> {
        self.timeline.current(self.live_edge)
    }

    /// A break's state by what was published ([`Break::published_state`]), if the timeline
    /// holds it.
    pub fn state(&self, id: u64) -> Option<BreakState> {
        self.timeline
            .get(id)
            .map(|b| b.published_state(self.live_edge))
    }

    /// The stream's timeline (read-only: changes go through the splicer).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The program time at the end of the newest complete segment any rendition listed.
    pub fn live_edge(&self) -> Option<DateTime<Utc>> {
        self.live_edge
    }

    /// The start of the newest segment any rendition listed.
    pub fn published_until(&self) -> Option<DateTime<Utc>> {
        self.published_until
    }

    /// What to persist besides the breaks, as it is now.
    pub fn meta(&self) -> SplicerMeta {
        SplicerMeta {
            timeline: self.timeline.meta(),
            published_until: self.published_until,
            live_edge: self.live_edge,
        }
    }
}

/// `t + ms`, saturating at chrono's range.
fn plus_ms(t: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    i64::try_from(ms)
        .ok()
        .and_then(Duration::try_milliseconds)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t - ms`, saturating at chrono's range.
fn minus_ms(t: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    i64::try_from(ms)
        .ok()
        .and_then(Duration::try_milliseconds)
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests;
