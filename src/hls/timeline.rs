//! A stream's ad-break timeline: the breaks, their requested and decided times, and the SCTE-35
//! sections encoded once when each break is created.
//!
//! Rules (issue 3, "Timeline rules"):
//! - a break's start snaps to the first segment boundary at or after its requested time; its end is
//!   the decided start + planned duration (auto-scheduled IN) or the requested end of an early IN,
//!   snapped the same way. The rewriter computes the snapped values; the caller stores them with
//!   [`Timeline::apply`], after which they never change (RFC 8216bis §4.4.5.1: attributes published
//!   under a DATERANGE ID must not change);
//! - the OUT and IN `splice_insert` sections (SCTE 35 §9.7.3) are encoded once in
//!   [`Timeline::add_break`] and stored, so every rendition and refresh carries the same bytes;
//! - the DATERANGE ID is unique within the stream even when splice_event_ids repeat
//!   (RFC 8216bis §4.4.5.1.1).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

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
}

/// Where a break stands relative to a live edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakState {
    /// Its start is still ahead of the live edge.
    Scheduled,
    /// The live edge is inside it.
    Active,
    /// The live edge is at or past its end.
    Ended,
    /// Cancelled before it was published.
    Cancelled,
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

    /// The state at `live_edge` (program time at the end of the newest full segment). Without a
    /// live edge, the decided values say how far the break got.
    pub fn state(&self, live_edge: Option<DateTime<Utc>>) -> BreakState {
        if self.cancelled {
            return BreakState::Cancelled;
        }
        let start = self.decided_start.unwrap_or(self.requested_start);
        let end = self.decided_end.unwrap_or_else(|| self.end_target());
        match live_edge {
            Some(edge) if edge >= end => BreakState::Ended,
            Some(edge) if edge >= start => BreakState::Active,
            Some(_) => BreakState::Scheduled,
            None if self.decided_end.is_some() => BreakState::Ended,
            None if self.decided_start.is_some() => BreakState::Active,
            None => BreakState::Scheduled,
        }
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
    /// splice_event_id; assigned automatically (largest in use + 1) when `None`.
    pub event_id: Option<u32>,
    /// Requested start (program time).
    pub start: DateTime<Utc>,
    /// Planned duration in milliseconds (at least 1).
    pub planned_duration_ms: u64,
}

/// Snapped values a rewrite decided, to be stored with [`Timeline::apply`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// [`Break::id`] of the break decided on.
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
    /// No break with this id.
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
        /// The break it overlaps.
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
        }
    }
}

impl std::error::Error for TimelineError {}

/// The largest planned duration: a break_duration is 33 bits of 90 kHz ticks (~95443.7 s).
const MAX_PLANNED_MS: u64 = ((1u64 << 33) - 1) / 90;

/// The breaks of one stream, with a version that changes whenever anything changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeline {
    breaks: Vec<Break>,
    version: u64,
    next_id: u64,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes whenever anything in the timeline changes.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// All breaks, in creation order (ids ascending), cancelled ones included.
    pub fn breaks(&self) -> &[Break] {
        &self.breaks
    }

    /// The break with [`Break::id`] `id`.
    pub fn get(&self, id: u64) -> Option<&Break> {
        self.breaks.iter().find(|b| b.id == id)
    }

    fn index(&self, id: u64) -> Result<usize, TimelineError> {
        self.breaks
            .iter()
            .position(|b| b.id == id)
            .ok_or(TimelineError::NotFound { id })
    }

    /// Creates a break (event id auto-assigned when `None`) and encodes its OUT and IN
    /// `splice_insert` sections once.
    ///
    /// # Errors
    /// [`TimelineError::InvalidDuration`] for a zero or too long duration,
    /// [`TimelineError::Overlaps`] when it would overlap a break that is not cancelled.
    pub fn add_break(&mut self, req: BreakRequest) -> Result<&Break, TimelineError> {
        if req.planned_duration_ms == 0 || req.planned_duration_ms > MAX_PLANNED_MS {
            return Err(TimelineError::InvalidDuration {
                planned_duration_ms: req.planned_duration_ms,
            });
        }
        let new_end = add_ms(req.start, req.planned_duration_ms);
        for other in self.breaks.iter().filter(|b| !b.cancelled) {
            let start = other.decided_start.unwrap_or(other.requested_start);
            let end = other.decided_end.unwrap_or_else(|| other.end_target());
            if req.start < end && start < new_end {
                return Err(TimelineError::Overlaps { id: other.id });
            }
        }
        let event_id = req.event_id.unwrap_or_else(|| {
            self.breaks
                .iter()
                .map(|b| b.splice_event_id)
                .max()
                .map_or(1, |m| m.wrapping_add(1).max(1))
        });
        // Encoded before anything changes, so a refusal leaves the timeline as it was.
        let (scte35_out, scte35_in) =
            encode_sections(event_id, req.planned_duration_ms).map_err(|_| {
                TimelineError::InvalidDuration {
                    planned_duration_ms: req.planned_duration_ms,
                }
            })?;
        self.next_id = self
            .next_id
            .max(self.breaks.iter().map(|b| b.id).max().unwrap_or(0))
            + 1;
        let id = self.next_id;
        let mut daterange_id = format!("splice-{event_id}");
        if self.breaks.iter().any(|b| b.daterange_id == daterange_id) {
            daterange_id = format!("splice-{event_id}-{id}");
        }
        self.breaks.push(Break {
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
        });
        self.version += 1;
        let last = self.breaks.len() - 1;
        Ok(&self.breaks[last])
    }

    /// Early IN: sets `requested_end`.
    ///
    /// # Errors
    /// Unknown id, a cancelled break, a break whose end is already decided, or an end that is not
    /// after the break's (decided or requested) start.
    pub fn end_break(&mut self, id: u64, at: DateTime<Utc>) -> Result<&Break, TimelineError> {
        let i = self.index(id)?;
        let b = &mut self.breaks[i];
        if b.cancelled {
            return Err(TimelineError::Cancelled { id });
        }
        if b.decided_end.is_some() {
            return Err(TimelineError::AlreadyEnded { id });
        }
        if at <= b.decided_start.unwrap_or(b.requested_start) {
            return Err(TimelineError::EndBeforeStart { id });
        }
        if b.requested_end != Some(at) {
            b.requested_end = Some(at);
            self.version += 1;
        }
        Ok(&self.breaks[i])
    }

    /// Cancels a break whose start has not been decided (so it was never published).
    /// Cancelling a cancelled break is a no-op.
    ///
    /// # Errors
    /// Unknown id, or [`TimelineError::AlreadyStarted`] once its start is decided.
    pub fn cancel_break(&mut self, id: u64) -> Result<&Break, TimelineError> {
        let i = self.index(id)?;
        let b = &mut self.breaks[i];
        if b.cancelled {
            return Ok(&self.breaks[i]);
        }
        if b.decided_start.is_some() {
            return Err(TimelineError::AlreadyStarted { id });
        }
        b.cancelled = true;
        self.version += 1;
        Ok(&self.breaks[i])
    }

    /// Records snapped values a rewrite decided. Values already decided are kept (first wins);
    /// unknown ids are ignored. Returns whether anything new was set (and the version bumped):
    /// then the timeline must be persisted before the rewritten output is published.
    #[must_use = "when true, persist the timeline before publishing the output"]
    pub fn apply(&mut self, decisions: &[Decision]) -> bool {
        let mut changed = false;
        for d in decisions {
            let Some(b) = self.breaks.iter_mut().find(|b| b.id == d.break_id) else {
                continue;
            };
            if let (None, Some(start)) = (b.decided_start, d.start) {
                b.decided_start = Some(start);
                changed = true;
            }
            if let (None, Some(end)) = (b.decided_end, d.end) {
                b.decided_end = Some(end);
                changed = true;
            }
        }
        if changed {
            self.version += 1;
        }
        changed
    }
}

impl Timeline {
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
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn req(event_id: Option<u32>, start: &str, ms: u64) -> BreakRequest {
        BreakRequest {
            event_id,
            start: t(start),
            planned_duration_ms: ms,
        }
    }

    #[test]
    fn add_assigns_ids_and_unique_daterange_ids() {
        let mut tl = Timeline::new();
        let v0 = tl.version();
        let a = tl
            .add_break(req(Some(7), "2026-11-21T08:00:00Z", 30_000))
            .unwrap()
            .clone();
        assert_eq!(
            (a.id, a.splice_event_id, a.daterange_id.as_str()),
            (1, 7, "splice-7")
        );
        let b = tl
            .add_break(req(Some(7), "2026-11-21T08:01:00Z", 30_000))
            .unwrap()
            .clone();
        assert_eq!((b.id, b.splice_event_id), (2, 7));
        assert_eq!(b.daterange_id, "splice-7-2");
        let c = tl
            .add_break(req(None, "2026-11-21T08:02:00Z", 30_000))
            .unwrap()
            .clone();
        assert_eq!(c.splice_event_id, 8);
        assert!(tl.version() > v0);
        assert_eq!(tl.breaks().len(), 3);
        assert_eq!(tl.get(2), Some(&b));
        // The sections are encoded once, with the break's event id and duration.
        let out = crate::scte35::SpliceInfoSection::decode(&a.scte35_out).unwrap();
        let want = crate::scte35::splice_insert_out(
            7,
            crate::scte35::SpliceTime::Immediate,
            Some(30_000 * 90),
            true,
        );
        assert_eq!(out, want);
        let back_in = crate::scte35::SpliceInfoSection::decode(&a.scte35_in).unwrap();
        assert_eq!(
            back_in,
            crate::scte35::splice_insert_in(7, crate::scte35::SpliceTime::Immediate)
        );
        assert_ne!(a.scte35_out, a.scte35_in);
        assert_eq!(tl.get(9), None);
    }

    #[test]
    fn add_refuses_overlap_and_bad_durations() {
        let mut tl = Timeline::new();
        tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
            .unwrap();
        assert_eq!(
            tl.add_break(req(None, "2026-11-21T08:00:29Z", 30_000)),
            Err(TimelineError::Overlaps { id: 1 })
        );
        assert!(
            tl.add_break(req(None, "2026-11-21T08:00:30Z", 30_000))
                .is_ok()
        );
        assert_eq!(
            tl.add_break(req(None, "2026-11-21T09:00:00Z", 0))
                .unwrap_err(),
            TimelineError::InvalidDuration {
                planned_duration_ms: 0
            }
        );
        assert!(
            tl.add_break(req(None, "2026-11-21T09:00:00Z", MAX_PLANNED_MS + 1))
                .is_err()
        );
        // A cancelled break frees its slot.
        let mut tl = Timeline::new();
        tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
            .unwrap();
        tl.cancel_break(1).unwrap();
        assert!(
            tl.add_break(req(None, "2026-11-21T08:00:10Z", 30_000))
                .is_ok()
        );
    }

    #[test]
    fn end_and_cancel_rules() {
        let mut tl = Timeline::new();
        tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
            .unwrap();
        assert_eq!(
            tl.end_break(1, t("2026-11-21T08:00:00Z")).unwrap_err(),
            TimelineError::EndBeforeStart { id: 1 }
        );
        let v = tl.version();
        let b = tl.end_break(1, t("2026-11-21T08:00:12Z")).unwrap();
        assert_eq!(b.end_target(), t("2026-11-21T08:00:12Z"));
        assert!(tl.version() > v);
        // A late "early IN" does not extend the break.
        tl.end_break(1, t("2026-11-21T08:05:00Z")).unwrap();
        assert_eq!(tl.get(1).unwrap().end_target(), t("2026-11-21T08:00:30Z"));
        assert_eq!(
            tl.end_break(5, t("2026-11-21T08:05:00Z")).unwrap_err(),
            TimelineError::NotFound { id: 5 }
        );

        assert!(tl.apply(&[Decision {
            break_id: 1,
            start: Some(t("2026-11-21T08:00:02Z")),
            end: None
        }]));
        assert_eq!(
            tl.cancel_break(1).unwrap_err(),
            TimelineError::AlreadyStarted { id: 1 }
        );
        assert!(tl.apply(&[Decision {
            break_id: 1,
            start: None,
            end: Some(t("2026-11-21T08:00:32Z"))
        }]));
        assert_eq!(
            tl.end_break(1, t("2026-11-21T08:00:20Z")).unwrap_err(),
            TimelineError::AlreadyEnded { id: 1 }
        );

        tl.add_break(req(None, "2026-11-21T09:00:00Z", 30_000))
            .unwrap();
        let v = tl.version();
        assert!(tl.cancel_break(2).unwrap().cancelled);
        assert!(tl.version() > v);
        let v = tl.version();
        assert!(tl.cancel_break(2).is_ok());
        assert_eq!(tl.version(), v);
        assert_eq!(
            tl.end_break(2, t("2026-11-21T09:00:10Z")).unwrap_err(),
            TimelineError::Cancelled { id: 2 }
        );
    }

    #[test]
    fn apply_is_idempotent_and_first_value_wins() {
        let mut tl = Timeline::new();
        tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
            .unwrap();
        let d = Decision {
            break_id: 1,
            start: Some(t("2026-11-21T08:00:02Z")),
            end: None,
        };
        assert!(tl.apply(std::slice::from_ref(&d)));
        let v = tl.version();
        assert!(!tl.apply(std::slice::from_ref(&d)));
        let other = Decision {
            break_id: 1,
            start: Some(t("2026-11-21T08:00:04Z")),
            end: None,
        };
        assert!(!tl.apply(&[other]));
        assert!(!tl.apply(&[Decision {
            break_id: 42,
            start: Some(t("2026-11-21T08:00:04Z")),
            end: None
        }]));
        assert_eq!(tl.version(), v);
        assert_eq!(
            tl.get(1).unwrap().decided_start,
            Some(t("2026-11-21T08:00:02Z"))
        );
        assert_eq!(tl.get(1).unwrap().planned_end(), t("2026-11-21T08:00:32Z"));
    }

    #[test]
    fn states() {
        let mut tl = Timeline::new();
        tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
            .unwrap();
        let b = tl.get(1).unwrap().clone();
        assert_eq!(b.state(None), BreakState::Scheduled);
        assert_eq!(
            b.state(Some(t("2026-11-21T07:59:00Z"))),
            BreakState::Scheduled
        );
        assert_eq!(b.state(Some(t("2026-11-21T08:00:10Z"))), BreakState::Active);
        assert!(tl.apply(&[Decision {
            break_id: 1,
            start: Some(t("2026-11-21T08:00:02Z")),
            end: None,
        }]));
        let b = tl.get(1).unwrap().clone();
        assert_eq!(b.state(None), BreakState::Active);
        assert_eq!(b.state(Some(t("2026-11-21T08:00:40Z"))), BreakState::Ended);
        assert!(tl.apply(&[Decision {
            break_id: 1,
            start: None,
            end: Some(t("2026-11-21T08:00:32Z")),
        }]));
        assert_eq!(tl.get(1).unwrap().state(None), BreakState::Ended);
        tl.add_break(req(None, "2026-11-21T09:00:00Z", 30_000))
            .unwrap();
        tl.cancel_break(2).unwrap();
        assert_eq!(tl.get(2).unwrap().state(None), BreakState::Cancelled);
        let json = serde_json::to_string(&BreakState::Active).unwrap();
        assert_eq!(json, "\"active\"");
        let round: Timeline = serde_json::from_str(&serde_json::to_string(&tl).unwrap()).unwrap();
        assert_eq!(round.breaks(), tl.breaks());
        assert_eq!(round.version(), tl.version());
    }
}
