//! The break rules an ad-break API applies on top of a [`Timeline`], shared by the proxy's API
//! styles and by a packager that embeds the library.
//!
//! - **Now is the live edge**: the program time at the end of the newest complete segment any
//!   rendition listed, never a clock. [`Start::Now`] without a known live edge is refused.
//! - A start before the live edge is refused: it would describe content already published.
//! - Breaks form a schedule: any number may be planned ahead, as long as none overlaps another
//!   (a conflict names the break in the way).
//! - **Idempotency**: a request repeating the idempotency key (`request_id`) of a break the
//!   timeline holds gets that break back, and nothing new is made.
//! - **Ending as soon as possible** ([`Timeline::end_now`]): an active break's IN is requested
//!   at the live edge (or just after its start when the start is at the live edge), which the
//!   rewriter snaps to the first segment boundary not yet published; a repeated IN does not move
//!   it; a break that has not started is cancelled instead.
//! - States follow what was published ([`Break::published_state`]).
use std::fmt;

use chrono::{DateTime, Utc};

use super::ads::AdSource;
use super::timeline::{Break, BreakRequest, BreakState, Timeline, TimelineError};

/// When a break should start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the stream's live edge.
    Now,
    /// At this program time (not before the live edge).
    At(DateTime<Utc>),
}

/// A request to schedule a break, as an API receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRequest {
    /// When.
    pub start: Start,
    /// Planned duration in milliseconds.
    pub duration_ms: u64,
    /// The splice_event_id to use; the next free one when `None`.
    pub event_id: Option<u32>,
    /// Idempotency key: a repeated key returns the break it made.
    pub request_id: Option<String>,
    /// The break's own ad source for the interstitial family (else the server's).
    pub ads: Option<AdSource>,
}

/// What [`Timeline::schedule`] did.
#[derive(Debug, PartialEq)]
#[must_use = "a new break must be persisted before it is acknowledged"]
pub enum Scheduled<'a> {
    /// A new break.
    Created(&'a Break),
    /// The request repeated an idempotency key: the break it made, unchanged.
    Repeated(&'a Break),
}

/// Which break an IN or a cancel refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakTarget {
    /// By break id.
    Id(u64),
    /// The break that is active, or due to start at the live edge (OvenMediaEngine's `in`);
    /// when an event id is given it must be that break's.
    Current {
        /// The splice_event_id the caller expects the current break to have.
        event_id: Option<u32>,
    },
}

/// What [`Timeline::end_now`] did.
#[derive(Debug, PartialEq)]
#[must_use = "a changed break must be persisted before it is acknowledged"]
pub enum Ended<'a> {
    /// The IN was requested as soon as possible.
    InRequested(&'a Break),
    /// An IN was already requested; nothing changed.
    AlreadyRequested(&'a Break),
    /// The break had not started, so it was cancelled (it left the timeline).
    Cancelled(Break),
}

/// Why a break rule refused a request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RuleError {
    /// "Now" was asked for and no live edge is known yet.
    NoLiveEdge,
    /// The requested start is before the live edge.
    StartBeforeLiveEdge {
        /// Asked for.
        start: DateTime<Utc>,
        /// The live edge.
        live_edge: DateTime<Utc>,
    },
    /// The break would overlap `existing`.
    Overlaps {
        /// The break in the way.
        existing: Box<Break>,
    },
    /// No break is active or due at the live edge.
    NothingCurrent,
    /// The current break has another splice_event_id than the one asked for.
    NotCurrent {
        /// The event id asked for.
        event_id: u32,
        /// The current break.
        current: Box<Break>,
    },
    /// The break started (it was published), so it cannot be cancelled; end it instead.
    AlreadyStarted {
        /// The break.
        existing: Box<Break>,
    },
    /// The break's end is already decided.
    AlreadyEnded {
        /// The break.
        existing: Box<Break>,
    },
    /// The timeline does not hold this break (unknown, cancelled, or old history).
    NotFound {
        /// The id asked for.
        id: u64,
    },
    /// Refused by the timeline (duration out of range, too many breaks).
    Timeline(TimelineError),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoLiveEdge => f.write_str("no live edge is known yet"),
            Self::StartBeforeLiveEdge { start, live_edge } => write!(
                f,
                "start {} is before the live edge {}",
                rfc3339(*start),
                rfc3339(*live_edge)
            ),
            Self::Overlaps { existing } => write!(
                f,
                "the break overlaps break {} ({})",
                existing.id,
                describe_span(existing)
            ),
            Self::NothingCurrent => f.write_str("no break is active or due at the live edge"),
            Self::NotCurrent { event_id, current } => write!(
                f,
                "the current break has splice_event_id {}, not {event_id}",
                current.splice_event_id
            ),
            Self::AlreadyStarted { existing } => write!(
                f,
                "break {} has already started; end it instead",
                existing.id
            ),
            Self::AlreadyEnded { existing } => {
                write!(f, "break {} already ended", existing.id)
            }
            Self::NotFound { id } => write!(f, "no break {id}"),
            Self::Timeline(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RuleError {}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn describe_span(b: &Break) -> String {
    format!("{} to {}", rfc3339(b.start()), rfc3339(b.end()))
}

impl Timeline {
    /// Schedules a break by the rules above: "now" is `live_edge`, a start before it is
    /// refused, overlaps are refused naming the other break, a repeated `request_id` returns
    /// its break.
    ///
    /// # Errors
    /// [`RuleError::NoLiveEdge`], [`RuleError::StartBeforeLiveEdge`], [`RuleError::Overlaps`],
    /// [`RuleError::Timeline`] for a duration out of range or too many breaks.
    pub fn schedule(
        &mut self,
        req: ScheduleRequest,
        live_edge: Option<DateTime<Utc>>,
    ) -> Result<Scheduled<'_>, RuleError> {
        if let Some(request_id) = req.request_id.as_deref()
            && let Some(id) = self.find_request(request_id).map(|b| b.id)
        {
            return Ok(Scheduled::Repeated(
                self.get(id).ok_or(RuleError::NotFound { id })?,
            ));
        }
        let start = match req.start {
            Start::Now => live_edge.ok_or(RuleError::NoLiveEdge)?,
            Start::At(at) => {
                if let Some(edge) = live_edge
                    && at < edge
                {
                    return Err(RuleError::StartBeforeLiveEdge {
                        start: at,
                        live_edge: edge,
                    });
                }
                at
            }
        };
        let request = BreakRequest {
            event_id: req.event_id,
            start,
            planned_duration_ms: req.duration_ms,
        };
        match self
            .insert_break(request, req.request_id, req.ads)
            .map(|b| b.id)
        {
            Ok(id) => Ok(Scheduled::Created(
                self.get(id).ok_or(RuleError::NotFound { id })?,
            )),
            Err(TimelineError::Overlaps { id }) => Err(match self.get(id) {
                Some(existing) => RuleError::Overlaps {
                    existing: Box::new(existing.clone()),
                },
                None => RuleError::Timeline(TimelineError::Overlaps { id }),
            }),
            Err(e) => Err(RuleError::Timeline(e)),
        }
    }

    /// The break an IN without an id refers to: the active one (its start published, its end
    /// not), else the earliest scheduled one due at `live_edge` (requested at or before it).
    pub fn current(&self, live_edge: Option<DateTime<Utc>>) -> Option<&Break> {
        self.breaks()
            .iter()
            .find(|b| b.published_state(live_edge) == BreakState::Active)
            .or_else(|| {
                let edge = live_edge?;
                self.breaks().iter().find(|b| {
                    b.published_state(live_edge) == BreakState::Scheduled
                        && b.requested_start <= edge
                })
            })
    }

    fn target(
        &self,
        target: BreakTarget,
        live_edge: Option<DateTime<Utc>>,
    ) -> Result<&Break, RuleError> {
        match target {
            BreakTarget::Id(id) => self.get(id).ok_or(RuleError::NotFound { id }),
            BreakTarget::Current { event_id } => {
                let current = self.current(live_edge).ok_or(RuleError::NothingCurrent)?;
                match event_id {
                    Some(event_id) if current.splice_event_id != event_id => {
                        Err(RuleError::NotCurrent {
                            event_id,
                            current: Box::new(current.clone()),
                        })
                    }
                    _ => Ok(current),
                }
            }
        }
    }

    /// Ends a break as soon as possible: an active break gets its IN at the live edge (see
    /// [`asap_end`]); a repeated IN changes nothing; a break that has not started is cancelled.
    ///
    /// # Errors
    /// [`RuleError::NotFound`], [`RuleError::NothingCurrent`], [`RuleError::NotCurrent`],
    /// [`RuleError::AlreadyEnded`], [`RuleError::NoLiveEdge`].
    pub fn end_now(
        &mut self,
        target: BreakTarget,
        live_edge: Option<DateTime<Utc>>,
    ) -> Result<Ended<'_>, RuleError> {
        let found = self.target(target, live_edge)?;
        let id = found.id;
        match found.published_state(live_edge) {
            BreakState::Scheduled => {
                let cancelled = self.cancel_break(id).map_err(RuleError::Timeline)?;
                Ok(Ended::Cancelled(cancelled))
            }
            BreakState::Active if found.requested_end.is_some() => Ok(Ended::AlreadyRequested(
                self.get(id).ok_or(RuleError::NotFound { id })?,
            )),
            BreakState::Active => {
                let edge = live_edge.ok_or(RuleError::NoLiveEdge)?;
                let at = asap_end(found, edge);
                match self.end_break(id, at).map(|_| ()) {
                    Ok(()) => Ok(Ended::InRequested(
                        self.get(id).ok_or(RuleError::NotFound { id })?,
                    )),
                    Err(TimelineError::AlreadyEnded { .. }) => Err(self.already_ended(id)),
                    Err(e) => Err(RuleError::Timeline(e)),
                }
            }
            BreakState::Ended | BreakState::Cancelled => Err(self.already_ended(id)),
        }
    }

    /// Cancels a break that has not started.
    ///
    /// # Errors
    /// [`RuleError::NotFound`], [`RuleError::AlreadyStarted`] for an active break,
    /// [`RuleError::AlreadyEnded`] for an ended one.
    pub fn cancel(
        &mut self,
        id: u64,
        live_edge: Option<DateTime<Utc>>,
    ) -> Result<Break, RuleError> {
        let found = self.get(id).ok_or(RuleError::NotFound { id })?;
        match found.published_state(live_edge) {
            BreakState::Scheduled => self.cancel_break(id).map_err(RuleError::Timeline),
            BreakState::Active => Err(RuleError::AlreadyStarted {
                existing: Box::new(found.clone()),
            }),
            BreakState::Ended | BreakState::Cancelled => Err(self.already_ended(id)),
        }
    }

    fn already_ended(&self, id: u64) -> RuleError {
        match self.get(id) {
            Some(b) => RuleError::AlreadyEnded {
                existing: Box::new(b.clone()),
            },
            None => RuleError::NotFound { id },
        }
    }
}

/// Where an IN "now" is requested for the started break `b`: the live edge, or 1 ms after the
/// break's start when that start is at or after the live edge, which the rewriter snaps to the
/// first segment boundary after the start.
///
/// The start can be at the live edge: on LL-HLS the OUT is decided on the segment being built,
/// which begins exactly at the live edge (the end of the newest complete segment). An IN right
/// after that OUT means "as soon as possible", not "at a time that is not after the start",
/// which [`Timeline::end_break`] rightly refuses for an explicit time.
pub fn asap_end(b: &Break, live_edge: DateTime<Utc>) -> DateTime<Utc> {
    let start = b.start();
    let just_after_start = start
        .checked_add_signed(chrono::Duration::milliseconds(1))
        .unwrap_or(start);
    live_edge.max(just_after_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::Decision;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn now(ms: u64, request_id: Option<&str>) -> ScheduleRequest {
        ScheduleRequest {
            start: Start::Now,
            duration_ms: ms,
            event_id: None,
            request_id: request_id.map(str::to_owned),
            ads: None,
        }
    }

    fn at(start: &str, ms: u64) -> ScheduleRequest {
        ScheduleRequest {
            start: Start::At(t(start)),
            ..now(ms, None)
        }
    }

    fn created(s: Result<Scheduled<'_>, RuleError>) -> Break {
        match s {
            Ok(Scheduled::Created(b)) => b.clone(),
            other => panic!("not created: {other:?}"),
        }
    }

    #[test]
    fn now_is_the_live_edge_and_the_past_is_refused() {
        let mut tl = Timeline::new();
        assert_eq!(
            tl.schedule(now(1000, None), None),
            Err(RuleError::NoLiveEdge)
        );
        let edge = Some(t("2026-11-21T08:00:00Z"));
        let b = created(tl.schedule(now(1000, None), edge));
        assert_eq!(b.requested_start, t("2026-11-21T08:00:00Z"));
        assert!(matches!(
            tl.schedule(at("2026-11-21T07:59:59Z", 1000), edge),
            Err(RuleError::StartBeforeLiveEdge { .. })
        ));
        // Without a live edge an explicit time is taken as is.
        assert!(tl.schedule(at("2026-11-21T07:00:00Z", 1000), None).is_ok());
    }

    #[test]
    fn a_schedule_of_breaks_ahead_overlaps_refused_naming_the_other() {
        let mut tl = Timeline::new();
        let edge = Some(t("2026-11-21T08:00:00Z"));
        for hour in [21, 19, 20] {
            created(tl.schedule(at(&format!("2026-11-21T{hour}:00:00Z"), 120_000), edge));
        }
        let refused = tl.schedule(at("2026-11-21T19:01:00Z", 120_000), edge);
        match refused {
            Err(RuleError::Overlaps { existing }) => assert_eq!(existing.id, 2),
            other => panic!("{other:?}"),
        }
        let message = tl
            .schedule(at("2026-11-21T20:01:59Z", 1000), edge)
            .unwrap_err()
            .to_string();
        assert!(message.contains("break 3"), "{message}");
    }

    #[test]
    fn a_repeated_request_id_returns_its_break() {
        let mut tl = Timeline::new();
        let edge = Some(t("2026-11-21T08:00:00Z"));
        let first = created(tl.schedule(now(5000, Some("r-1")), edge));
        let later = Some(t("2026-11-21T08:00:30Z"));
        match tl.schedule(now(9000, Some("r-1")), later) {
            Ok(Scheduled::Repeated(b)) => assert_eq!(b, &first),
            other => panic!("{other:?}"),
        }
        assert_eq!(tl.breaks().len(), 1);
    }

    #[test]
    fn ending_now_cancels_ends_or_repeats() {
        let mut tl = Timeline::new();
        let edge = Some(t("2026-11-21T08:00:00Z"));
        let b = created(tl.schedule(now(30_000, None), edge));
        // Not started: an IN cancels it.
        match tl.end_now(BreakTarget::Current { event_id: None }, edge) {
            Ok(Ended::Cancelled(c)) => assert!(c.cancelled && c.id == b.id),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            tl.end_now(BreakTarget::Current { event_id: None }, edge),
            Err(RuleError::NothingCurrent)
        );
        let b = created(tl.schedule(now(30_000, None), edge));
        assert!(tl.apply(&[Decision {
            break_id: b.id,
            start: Some(t("2026-11-21T08:00:00Z")),
            end: None,
        }]));
        assert!(matches!(
            tl.end_now(BreakTarget::Current { event_id: Some(99) }, edge),
            Err(RuleError::NotCurrent { event_id: 99, .. })
        ));
        assert!(matches!(
            tl.cancel(b.id, edge),
            Err(RuleError::AlreadyStarted { .. })
        ));
        // The start is at the live edge: the IN goes just after it.
        match tl.end_now(BreakTarget::Id(b.id), edge) {
            Ok(Ended::InRequested(ended)) => {
                assert_eq!(ended.requested_end, Some(t("2026-11-21T08:00:00.001Z")));
            }
            other => panic!("{other:?}"),
        }
        let later = Some(t("2026-11-21T08:00:05Z"));
        match tl.end_now(BreakTarget::Id(b.id), later) {
            Ok(Ended::AlreadyRequested(again)) => {
                assert_eq!(again.requested_end, Some(t("2026-11-21T08:00:00.001Z")));
            }
            other => panic!("{other:?}"),
        }
        assert!(tl.apply(&[Decision {
            break_id: b.id,
            start: None,
            end: Some(t("2026-11-21T08:00:01Z")),
        }]));
        let after = Some(t("2026-11-21T08:00:02Z"));
        assert!(matches!(
            tl.end_now(BreakTarget::Id(b.id), after),
            Err(RuleError::AlreadyEnded { .. })
        ));
        assert_eq!(
            tl.end_now(BreakTarget::Id(77), after),
            Err(RuleError::NotFound { id: 77 })
        );
    }

    /// A break planned for later is not "current": an IN without an id does not cancel the
    /// evening's schedule.
    #[test]
    fn the_current_break_is_active_or_due() {
        let mut tl = Timeline::new();
        let edge = Some(t("2026-11-21T08:00:00Z"));
        created(tl.schedule(at("2026-11-21T20:00:00Z", 30_000), edge));
        assert_eq!(tl.current(edge), None);
        let due = created(tl.schedule(now(30_000, None), edge));
        assert_eq!(tl.current(edge).map(|b| b.id), Some(due.id));
        assert_eq!(tl.current(None), None);
    }
}
