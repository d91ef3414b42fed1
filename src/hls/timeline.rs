//! A stream's ad-break timeline: the breaks that can still appear in a playlist, their requested
//! and decided times, and the SCTE-35 sections encoded once when each break is created.
//!
//! Rules (see the [`crate::hls`] module docs, "Timeline rules"):
//! - a break's start snaps to the first segment boundary at or after its requested time; its end is
//!   the decided start + planned duration (auto-scheduled IN) or the requested end of an early IN,
//!   snapped the same way. The rewriter computes the snapped values; the caller stores them with
//!   [`Timeline::apply`], after which they never change (RFC 8216bis §4.4.5.1: attributes published
//!   under a DATERANGE ID must not change);
//! - the OUT and IN `splice_insert` sections (SCTE 35 §9.7.3) are encoded once in
//!   [`Timeline::add_break`] and stored, so every rendition and refresh carries the same bytes;
//! - the DATERANGE ID is unique within the stream for ever, even when splice_event_ids repeat
//!   (RFC 8216bis §4.4.5.1.1): `splice-<event id>` when the event id is larger than every event
//!   id the stream used before (always so for automatically assigned ones), else
//!   `splice-<event id>-<break id>`. Only the largest event id is remembered, so this needs no
//!   history.
//!
//! # Bounded
//! The timeline holds the breaks that can still appear in a playlist: scheduled and active ones,
//! and ended ones until [`Timeline::prune`] is told that no window reaches back to their end
//! any more (RFC 8216bis §6.2.1: a date range stays while any of its dates maps to a listed
//! segment). Cancelled breaks leave at once. What leaves is history: the caller keeps it where it
//! keeps history (the proxy's store), the timeline never needs it again. So the memory and the
//! cost of every operation depend on how many breaks are scheduled or recent, never on how long
//! the stream has run.
//!
//! # Changes
//! Every change (a break added, ended, cancelled, or a decision applied) is recorded, and
//! [`Timeline::take_changes`] hands back the breaks as they now are, with the small
//! [`TimelineMeta`] the timeline needs besides its breaks. A caller that persists those and
//! rebuilds with [`Timeline::restore`] gets the same timeline back.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::ads::AdSource;

/// One ad break of a stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Break {
    /// Stable, unique within the stream (1, 2, 3, ...).
    pub id: u64,
    /// The SCTE-35 splice_event_id carried in the OUT and IN sections.
    pub splice_event_id: u32,
    /// The EXT-X-DATERANGE ID, unique within the stream even when event ids repeat.
    pub daterange_id: String,
    /// When the operator asked the break to start (program time).
    pub requested_start: DateTime<Utc>,
    /// Planned duration in milliseconds (PLANNED-DURATION, CUE-OUT DURATION).
    pub planned_duration_ms: u64,
    /// Requested early end (early IN), if any.
    pub requested_end: Option<DateTime<Utc>>,
    /// Cancelled before it was published.
    pub cancelled: bool,
    /// Snapped start, set once from a rewrite decision and never changed.
    pub decided_start: Option<DateTime<Utc>>,
    /// Snapped end, set once from a rewrite decision and never changed.
    pub decided_end: Option<DateTime<Utc>>,
    /// `splice_insert` OUT section (out_of_network_indicator 1, break_duration, auto_return).
    pub scte35_out: Vec<u8>,
    /// `splice_insert` IN section (out_of_network_indicator 0), same splice_event_id.
    pub scte35_in: Vec<u8>,
    /// The idempotency key the break was created with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Where the ads of the break's interstitial come from, when the break names its own source
    /// (else the server's). Set when the break is created, never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ads: Option<AdSource>,
}

/// Where a break stands relative to a live edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakState {
    /// Its start is not published yet.
    Scheduled,
    /// Started, its end not yet reached.
    Active,
    /// Over.
    Ended,
    /// Cancelled before it was published.
    Cancelled,
}

impl BreakState {
    /// The name the APIs use (`scheduled`, `active`, `ended`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for BreakState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Break {
    /// `decided_start` (or `requested_start`) + planned duration.
    pub fn planned_end(&self) -> DateTime<Utc> {
        let start = self.decided_start.unwrap_or(self.requested_start);
        add_ms(start, self.planned_duration_ms)
    }

    /// The end the rewriter snaps: the early IN when one was requested before the planned end,
    /// the planned end otherwise.
    pub fn end_target(&self) -> DateTime<Utc> {
        let planned = self.planned_end();
        match self.requested_end {
            Some(end) if end < planned => end,
            _ => planned,
        }
    }

    /// The decided start, else the requested one.
    pub fn start(&self) -> DateTime<Utc> {
        self.decided_start.unwrap_or(self.requested_start)
    }

    /// The decided end, else the one it is heading for ([`Break::end_target`]).
    pub fn end(&self) -> DateTime<Utc> {
        self.decided_end.unwrap_or_else(|| self.end_target())
    }

    /// The state at `live_edge` (program time at the end of the newest full segment). Without a
    /// live edge, the decided values say how far the break got.
    pub fn state(&self, live_edge: Option<DateTime<Utc>>) -> BreakState {
        if self.cancelled {
            return BreakState::Cancelled;
        }
        let start = self.start();
        let end = self.end();
        match live_edge {
            Some(edge) if edge >= end => BreakState::Ended,
            Some(edge) if edge >= start => BreakState::Active,
            Some(_) => BreakState::Scheduled,
            None if self.decided_end.is_some() => BreakState::Ended,
            None if self.decided_start.is_some() => BreakState::Active,
            None => BreakState::Scheduled,
        }
    }

    /// The state by what has been published: `scheduled` until a rendering decided its start
    /// (even when the requested start is already at the live edge), `active` until a rendering
    /// decided its end, then `ended` once `live_edge` passed that end. This is the state the
    /// proxy reports and acts on.
    pub fn published_state(&self, live_edge: Option<DateTime<Utc>>) -> BreakState {
        if self.cancelled {
            BreakState::Cancelled
        } else if self.decided_start.is_none() {
            BreakState::Scheduled
        } else if self.decided_end.is_none() {
            BreakState::Active
        } else {
            self.state(live_edge)
        }
    }

    /// Whether the break may still appear in a playlist: not cancelled, and its end not decided
    /// or not before `horizon` (the oldest program time any window still lists).
    pub fn may_appear(&self, horizon: DateTime<Utc>) -> bool {
        !self.cancelled && self.decided_end.is_none_or(|end| end >= horizon)
    }
}

/// `t + ms`, saturating at chrono's range (values from deserialized state may be anything).
fn add_ms(t: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    i64::try_from(ms)
        .ok()
        .and_then(Duration::try_milliseconds)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A request to schedule a break.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakRequest {
    /// splice_event_id; assigned automatically (largest ever used + 1) when `None`.
    pub event_id: Option<u32>,
    /// Requested start (program time).
    pub start: DateTime<Utc>,
    /// Planned duration in milliseconds (at least 1).
    pub planned_duration_ms: u64,
}

/// Snapped values a rewrite decided, to be stored with [`Timeline::apply`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The break decided about.
    pub break_id: u64,
    /// Its snapped start, when this rewrite decided it.
    pub start: Option<DateTime<Utc>>,
    /// Its snapped end, when this rewrite decided it.
    pub end: Option<DateTime<Utc>>,
}

/// Why a timeline operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimelineError {
    /// No break with this id among those that can still appear.
    NotFound {
        /// The id asked for.
        id: u64,
    },
    /// The planned duration is zero or longer than a SCTE-35 break_duration can carry.
    InvalidDuration {
        /// The duration asked for.
        planned_duration_ms: u64,
    },
    /// The requested interval overlaps an existing, not cancelled break.
    Overlaps {
        /// The break in the way.
        id: u64,
    },
    /// The break was cancelled.
    Cancelled {
        /// The break.
        id: u64,
    },
    /// The break's end was already decided (it ended).
    AlreadyEnded {
        /// The break.
        id: u64,
    },
    /// The break's start was already decided (published), so it can no longer be cancelled.
    AlreadyStarted {
        /// The break.
        id: u64,
    },
    /// The requested end is not after the break's start.
    EndBeforeStart {
        /// The break.
        id: u64,
    },
    /// More breaks are scheduled than [`MAX_LIVE_BREAKS`] allows.
    TooManyBreaks {
        /// The limit.
        max: usize,
    },
    /// The break would start before year 0000 or end after [`latest_time`]: playlist dates
    /// have four-digit years (RFC 3339).
    OutOfRange {
        /// The requested start.
        start: DateTime<Utc>,
    },
}

impl fmt::Display for TimelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { id } => write!(f, "no break with id {id}"),
            Self::InvalidDuration {
                planned_duration_ms,
            } => write!(
                f,
                "planned duration {planned_duration_ms} ms is out of range (1 ms ..= 95443 s)"
            ),
            Self::Overlaps { id } => write!(f, "the break overlaps break {id}"),
            Self::Cancelled { id } => write!(f, "break {id} is cancelled"),
            Self::AlreadyEnded { id } => write!(f, "break {id} already ended"),
            Self::AlreadyStarted { id } => {
                write!(
                    f,
                    "break {id} already started and was published; it cannot be cancelled"
                )
            }
            Self::EndBeforeStart { id } => {
                write!(f, "the end of break {id} is not after its start")
            }
            Self::TooManyBreaks { max } => write!(
                f,
                "the stream already has {max} breaks scheduled or in its playlists' windows"
            ),
            Self::OutOfRange { start } => write!(
                f,
                "a break starting at {} does not fit in 0000-01-01 to 9999-12-31T23:59:59.999Z, the times a playlist can carry",
                start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
        }
    }
}

impl std::error::Error for TimelineError {}

/// The largest planned duration: a break_duration is 33 bits of 90 kHz ticks (~95443.7 s).
pub const MAX_PLANNED_MS: u64 = ((1u64 << 33) - 1) / 90;

/// Most breaks a timeline holds at once (scheduled, active, and ended ones still in a window).
/// A day of 30-second breaks back to back is 2,880; an operator loading an evening's schedule
/// needs a few dozen. The cap keeps what one client can make the timeline hold (and every
/// rewrite walk) bounded.
pub const MAX_LIVE_BREAKS: usize = 4096;

/// The latest program time a break may reach: RFC 3339 dates (EXT-X-PROGRAM-DATE-TIME,
/// START-DATE, END-DATE) have four-digit years.
pub fn latest_time() -> DateTime<Utc> {
    // 9999-12-31T23:59:59.999Z
    DateTime::from_timestamp_millis(253_402_300_799_999).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a timeline keeps besides its breaks: the counters that make ids unique for ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineMeta {
    /// The id given to the newest break (0: none yet).
    pub last_id: u64,
    /// The largest splice_event_id any break of the stream used.
    pub max_event_id: Option<u32>,
}

/// What changed since the last [`Timeline::take_changes`]: the breaks as they now are (added,
/// ended, cancelled or decided) and the meta to persist with them.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "changes that are not persisted are lost on restart"]
pub struct TimelineChanges {
    /// The counters, as they are after these changes.
    pub meta: TimelineMeta,
    /// Every break that changed, as it is now (cancelled ones included), in id order.
    pub breaks: Vec<Break>,
}

impl TimelineChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// The whole timeline as plain data (for callers that persist it in one piece).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineSnapshot {
    /// The counters.
    pub meta: TimelineMeta,
    /// The breaks the timeline holds.
    pub breaks: Vec<Break>,
}

/// The breaks of one stream that can still appear in a playlist, with a version that changes
/// whenever anything changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "TimelineSnapshot", into = "TimelineSnapshot")]
pub struct Timeline {
    /// Sorted by `(requested_start, id)`: the order breaks are decided in. No cancelled ones.
    breaks: Vec<Break>,
    version: u64,
    meta: TimelineMeta,
    /// Ids of held breaks changed since the last `take_changes`.
    changed: Vec<u64>,
    /// Breaks that left because they were cancelled, not yet handed out as changes.
    cancelled: Vec<Break>,
}

impl From<TimelineSnapshot> for Timeline {
    fn from(snapshot: TimelineSnapshot) -> Self {
        Timeline::restore(snapshot.meta, snapshot.breaks)
    }
}

impl From<Timeline> for TimelineSnapshot {
    fn from(timeline: Timeline) -> Self {
        timeline.snapshot()
    }
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a timeline from persisted state: the meta and the breaks as last persisted.
    /// Cancelled breaks are left out; ids and event ids never go below what `meta` and the
    /// breaks say was used.
    pub fn restore(meta: TimelineMeta, breaks: impl IntoIterator<Item = Break>) -> Self {
        let mut timeline = Timeline {
            meta,
            ..Timeline::default()
        };
        for b in breaks {
            timeline.meta.last_id = timeline.meta.last_id.max(b.id);
            timeline.meta.max_event_id = Some(
                timeline
                    .meta
                    .max_event_id
                    .map_or(b.splice_event_id, |m| m.max(b.splice_event_id)),
            );
            if !b.cancelled && !timeline.breaks.iter().any(|held| held.id == b.id) {
                timeline.breaks.push(b);
            }
        }
        timeline.breaks.sort_by_key(|b| (b.requested_start, b.id));
        timeline
    }

    /// The whole timeline as plain data.
    pub fn snapshot(&self) -> TimelineSnapshot {
        TimelineSnapshot {
            meta: self.meta,
            breaks: self.breaks.clone(),
        }
    }

    /// Changes whenever anything in the timeline changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The counters persisted beside the breaks.
    pub fn meta(&self) -> TimelineMeta {
        self.meta
    }

    /// The breaks that can still appear (scheduled, active, and ended ones not pruned), in the
    /// order they are decided: by requested start, then id. Never cancelled ones.
    pub fn breaks(&self) -> &[Break] {
        &self.breaks
    }

    /// The break with this id, if the timeline holds it.
    pub fn get(&self, id: u64) -> Option<&Break> {
        self.breaks.iter().find(|b| b.id == id)
    }

    fn index(&self, id: u64) -> Result<usize, TimelineError> {
        self.breaks
            .iter()
            .position(|b| b.id == id)
            .ok_or(TimelineError::NotFound { id })
    }

    fn touch(&mut self, id: u64) {
        if !self.changed.contains(&id) {
            self.changed.push(id);
        }
        self.version += 1;
    }

    /// Creates a break (event id auto-assigned when `None`) and encodes its OUT and IN
    /// `splice_insert` sections once.
    ///
    /// # Errors
    /// [`TimelineError::InvalidDuration`] for a zero or too long duration,
    /// [`TimelineError::Overlaps`] when it would overlap a break that is not cancelled,
    /// [`TimelineError::TooManyBreaks`] past [`MAX_LIVE_BREAKS`].
    pub fn add_break(&mut self, req: BreakRequest) -> Result<&Break, TimelineError> {
        self.add_keyed_break(req, None)
    }

    /// [`Timeline::add_break`], remembering the idempotency key the break was asked with.
    ///
    /// # Errors
    /// As [`Timeline::add_break`].
    pub fn add_keyed_break(
        &mut self,
        req: BreakRequest,
        request_id: Option<String>,
    ) -> Result<&Break, TimelineError> {
        self.insert_break(req, request_id, None)
    }

    /// [`Timeline::add_keyed_break`], with the break's own ad source.
    pub(super) fn insert_break(
        &mut self,
        req: BreakRequest,
        request_id: Option<String>,
        ads: Option<AdSource>,
    ) -> Result<&Break, TimelineError> {
        if req.planned_duration_ms == 0 || req.planned_duration_ms > MAX_PLANNED_MS {
            return Err(TimelineError::InvalidDuration {
                planned_duration_ms: req.planned_duration_ms,
            });
        }
        if self.breaks.len() >= MAX_LIVE_BREAKS {
            return Err(TimelineError::TooManyBreaks {
                max: MAX_LIVE_BREAKS,
            });
        }
        let new_end = add_ms(req.start, req.planned_duration_ms);
        // 0000-01-01T00:00:00Z, the earliest four-digit year.
        if new_end > latest_time() || req.start.timestamp_millis() < -62_167_219_200_000 {
            return Err(TimelineError::OutOfRange { start: req.start });
        }
        if let Some(other) = self
            .breaks
            .iter()
            .find(|b| req.start < b.end() && b.start() < new_end)
        {
            return Err(TimelineError::Overlaps { id: other.id });
        }
        let fresh = self
            .meta
            .max_event_id
            .map_or(1, |m| m.wrapping_add(1).max(1));
        let event_id = req.event_id.unwrap_or(fresh);
        let id = self.meta.last_id + 1;
        // `splice-<event id>` is only ever issued for a new largest event id, so it never
        // repeats; `splice-<event id>-<break id>` is unique by the break id.
        let daterange_id = if self.meta.max_event_id.is_none_or(|m| event_id > m) {
            format!("splice-{event_id}")
        } else {
            format!("splice-{event_id}-{id}")
        };
        // Encoded before anything changes, so a refusal leaves the timeline as it was.
        let (scte35_out, scte35_in) =
            encode_sections(event_id, req.planned_duration_ms).map_err(|_| {
                TimelineError::InvalidDuration {
                    planned_duration_ms: req.planned_duration_ms,
                }
            })?;
        self.meta.last_id = id;
        self.meta.max_event_id = Some(self.meta.max_event_id.map_or(event_id, |m| m.max(event_id)));
        let at = self
            .breaks
            .partition_point(|b| (b.requested_start, b.id) < (req.start, id));
        self.breaks.insert(
            at,
            Break {
                id,
                splice_event_id: event_id,
                daterange_id,
                requested_start: req.start,
                planned_duration_ms: req.planned_duration_ms,
                requested_end: None,
                cancelled: false,
                decided_start: None,
                decided_end: None,
                scte35_out,
                scte35_in,
                request_id,
                ads,
            },
        );
        self.touch(id);
        Ok(&self.breaks[at])
    }

    /// The held break created with this idempotency key.
    pub fn find_request(&self, request_id: &str) -> Option<&Break> {
        self.breaks
            .iter()
            .find(|b| b.request_id.as_deref() == Some(request_id))
    }

    /// Early IN: sets `requested_end`.
    ///
    /// # Errors
    /// Unknown id, a break whose end is already decided, or an end that is not after the
    /// break's (decided or requested) start.
    pub fn end_break(&mut self, id: u64, at: DateTime<Utc>) -> Result<&Break, TimelineError> {
        let i = self.index(id)?;
        let b = &mut self.breaks[i];
        if b.decided_end.is_some() {
            return Err(TimelineError::AlreadyEnded { id });
        }
        if at <= b.start() {
            return Err(TimelineError::EndBeforeStart { id });
        }
        if b.requested_end != Some(at) {
            b.requested_end = Some(at);
            self.touch(id);
        }
        Ok(&self.breaks[i])
    }

    /// Cancels a break whose start has not been decided (so it was never published). It leaves
    /// the timeline; the cancelled break is returned (and handed out with the next changes).
    ///
    /// # Errors
    /// Unknown id, or [`TimelineError::AlreadyStarted`] once its start is decided.
    pub fn cancel_break(&mut self, id: u64) -> Result<Break, TimelineError> {
        let i = self.index(id)?;
        if self.breaks[i].decided_start.is_some() {
            return Err(TimelineError::AlreadyStarted { id });
        }
        let mut b = self.breaks.remove(i);
        b.cancelled = true;
        self.changed.retain(|&changed| changed != id);
        self.cancelled.push(b.clone());
        self.version += 1;
        Ok(b)
    }

    /// Records snapped values a rewrite decided. Values already decided are kept (first wins);
    /// unknown ids are ignored. Returns whether anything new was set (and the version bumped).
    #[must_use = "when true, persist the changes before publishing the output"]
    pub fn apply(&mut self, decisions: &[Decision]) -> bool {
        let mut changed = false;
        for d in decisions {
            let Some(i) = self.breaks.iter().position(|b| b.id == d.break_id) else {
                continue;
            };
            let b = &mut self.breaks[i];
            let mut set = false;
            if let (None, Some(start)) = (b.decided_start, d.start) {
                b.decided_start = Some(start);
                set = true;
            }
            if let (None, Some(end)) = (b.decided_end, d.end) {
                b.decided_end = Some(end);
                set = true;
            }
            if set {
                self.touch(d.break_id);
                changed = true;
            }
        }
        changed
    }

    /// Whether every value in `decisions` is what the timeline stores. A caller that renders
    /// renditions concurrently from one timeline version applies a render's decisions and, when
    /// this returns false (another render decided first, within the tolerance), renders again
    /// before publishing, so no client ever sees a value that is not the stored one.
    #[must_use]
    pub fn agrees_with(&self, decisions: &[Decision]) -> bool {
        decisions.iter().all(|d| {
            let Some(b) = self.get(d.break_id) else {
                return true;
            };
            d.start.is_none_or(|s| b.decided_start == Some(s))
                && d.end.is_none_or(|e| b.decided_end == Some(e))
        })
    }

    /// Lets go of the ended breaks that can no longer appear: those whose decided end is before
    /// `horizon`, the oldest program time any playlist window of the stream still lists (minus
    /// whatever the caller keeps for its own rules). Breaks with changes not yet taken stay.
    /// Returns how many left. Rendering is unchanged by this: a range whose end is before every
    /// window's first segment is not written (RFC 8216bis §6.2.1).
    pub fn prune(&mut self, horizon: DateTime<Utc>) -> usize {
        self.prune_reporting(horizon, |_| {})
    }

    /// [`Timeline::prune`], calling `left` with each break that leaves.
    pub(super) fn prune_reporting(
        &mut self,
        horizon: DateTime<Utc>,
        mut left: impl FnMut(&Break),
    ) -> usize {
        let before = self.breaks.len();
        let changed = &self.changed;
        self.breaks.retain(|b| {
            let keep = b.may_appear(horizon) || changed.contains(&b.id);
            if !keep {
                left(b);
            }
            keep
        });
        let pruned = before - self.breaks.len();
        if pruned > 0 {
            self.version += 1;
        }
        pruned
    }

    /// Whether changes are waiting for [`Timeline::take_changes`].
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty() || !self.cancelled.is_empty()
    }

    /// The breaks changed since the last call, as they are now, and the meta.
    pub fn take_changes(&mut self) -> TimelineChanges {
        let mut breaks = std::mem::take(&mut self.cancelled);
        for id in std::mem::take(&mut self.changed) {
            if let Some(b) = self.get(id) {
                breaks.push(b.clone());
            }
        }
        breaks.sort_by_key(|b| b.id);
        TimelineChanges {
            meta: self.meta,
            breaks,
        }
    }
}

/// The OUT and IN `splice_insert` sections of a break (SCTE 35 §9.7.3): splice_immediate_flag
/// set (HLS carries the position in the playlist, not a PTS), break_duration with auto_return on
/// the OUT, the same splice_event_id on both.
///
/// # Errors
/// When a field does not fit; with a planned duration within `MAX_PLANNED_MS` none can.
fn encode_sections(
    event_id: u32,
    planned_duration_ms: u64,
) -> Result<(Vec<u8>, Vec<u8>), crate::scte35::EncodeError> {
    use crate::scte35::{SpliceTime, splice_insert_in, splice_insert_out};
    // 90 kHz ticks; exact for whole milliseconds (MAX_PLANNED_MS keeps it within 33 bits).
    let ticks = planned_duration_ms.saturating_mul(90);
    let out = splice_insert_out(event_id, SpliceTime::Immediate, Some(ticks), true).to_vec()?;
    let r#in = splice_insert_in(event_id, SpliceTime::Immediate).to_vec()?;
    Ok((out, r#in))
}

#[cfg(test)]
mod tests;
