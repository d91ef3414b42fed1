//! Placement: the timeline rules (see the module docs of [`crate::hls`]) applied to one
//! playlist's segment boundaries. Decides what is not decided yet (snapped starts and ends,
//! returned for the caller to store) and says before which segment each break's tags go.
//! Nothing here formats text.

use super::options::RewriteOptions;
use super::rewrite::Publication;
use super::scan::{Header, Segment};
use super::time::{MICROS_PER_MILLI, from_micros, round_to_millis, to_micros};
use super::timeline::{Break, Decision, Timeline};

/// Where one break's tags go in this playlist.
#[derive(Clone, Copy, Debug)]
pub(super) struct Placement {
    /// Index into `Timeline::breaks()`.
    pub index: usize,
    /// Decided start, µs.
    pub start: i64,
    /// Decided end, µs, once known.
    pub end: Option<i64>,
    /// Segment before which the DATERANGE OUT goes (the first one when the break began earlier).
    pub out_seg: usize,
    /// The break's first segment is in the playlist (CUE-OUT rather than CUE-OUT-CONT).
    pub began_in_window: bool,
    /// Segment before which the IN tags go, once it exists.
    pub in_seg: Option<usize>,
    /// The break overlaps the listed segments (CUE tags are written).
    pub cue: bool,
}

impl Placement {
    /// Whether segment `i` lies inside the break (a CUE-OUT or CUE-OUT-CONT goes before it).
    #[inline]
    pub fn covers(&self, i: usize) -> bool {
        self.cue && i >= self.out_seg && self.in_seg.is_none_or(|s| i < s)
    }

    /// Whether any tag of the break goes before segment `i`.
    #[inline]
    pub fn touches(&self, i: usize) -> bool {
        self.out_seg == i || self.in_seg == Some(i) || self.covers(i)
    }
}

/// Placement's reusable memory, part of the rewrite scratch.
#[derive(Debug, Default)]
pub(super) struct PlaceScratch {
    /// The result, in (decided start, index) order.
    pub placements: Vec<Placement>,
}

/// The playlist's segments as the rules see them.
struct Window<'a> {
    segments: &'a [Segment],
    /// Start of the first listed segment.
    t0: i64,
    tolerance: i64,
    /// Earliest time a range may still map to: the first segment, or in a delta update the
    /// skipped segments before it.
    range_window_start: i64,
    /// A decided start or end is a boundary strictly after this (µs): everything up to it was
    /// already given to some client ([`Publication::published_until`]).
    published_until: Option<i64>,
}

impl Window<'_> {
    /// The first segment from `from` on starting at or after `t`.
    #[inline]
    fn first_at_or_after(&self, from: usize, t: i64) -> Option<usize> {
        (from..self.segments.len()).find(|&i| self.segments[i].start >= t)
    }

    /// Whether `t` lies before the first listed segment (by more than the tolerance): such a
    /// time is taken as already decided.
    #[inline]
    fn before_first(&self, t: i64) -> bool {
        t < self.t0.saturating_sub(self.tolerance)
    }

    /// Whether a boundary at `t` comes after everything already published.
    #[inline]
    fn unpublished(&self, t: i64) -> bool {
        self.published_until.is_none_or(|until| t > until)
    }

    /// The snapped start for a target: itself before the window, else the first boundary at
    /// or after it, where "at" allows the tolerance so that whichever rendition decides first,
    /// the others find their matching segment, and after everything already published. `None`
    /// while that boundary is not listed.
    fn snap_start(&self, target: i64) -> Option<i64> {
        if self.before_first(target) && self.unpublished(target) {
            return Some(target);
        }
        self.segments
            .iter()
            .find(|s| s.start >= target.saturating_sub(self.tolerance) && self.unpublished(s.start))
            .map(|s| s.start)
    }

    /// The snapped end for a target: as [`Window::snap_start`], and more than the tolerance
    /// after the start. A target before the window that was already published (the break was
    /// served as still running past it, e.g. while only another rendition could decide) is not
    /// taken as decided: the range would vanish from segments that carried it.
    fn snap_end(&self, target: i64, start: i64) -> Option<i64> {
        if self.before_first(target) && self.unpublished(target) {
            return Some(target.max(start));
        }
        self.segments
            .iter()
            .find(|s| {
                s.start >= target.saturating_sub(self.tolerance)
                    && s.start > start.saturating_add(self.tolerance)
                    && self.unpublished(s.start)
            })
            .map(|s| s.start)
    }

    /// Where the tags of a break with these decided times go, or `None` when nothing of it
    /// shows in this playlist.
    fn place(&self, index: usize, start: i64, end: Option<i64>) -> Option<Placement> {
        // §6.2.1: a range stays while any of its dates maps to a segment in the playlist.
        if end.is_some_and(|e| e < self.range_window_start.saturating_sub(self.tolerance)) {
            return None;
        }
        let (out_seg, began_in_window) = if self.before_first(start) {
            (0, false)
        } else {
            // `None`: its first segment is not in the playlist yet.
            (
                self.first_at_or_after(0, start.saturating_sub(self.tolerance))?,
                true,
            )
        };
        let in_seg = end.and_then(|e| {
            let from = if began_in_window { out_seg + 1 } else { 0 };
            self.first_at_or_after(from, e.saturating_sub(self.tolerance))
        });
        Some(Placement {
            index,
            start,
            end,
            out_seg,
            began_in_window,
            in_seg,
            cue: end.is_none_or(|e| !self.before_first(e)),
        })
    }
}

fn ms_to_micros(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX / MICROS_PER_MILLI)
        .saturating_mul(MICROS_PER_MILLI)
}

/// The end a break's decided start leads to: start + planned duration, or the requested early
/// end when that comes first.
fn end_target(b: &Break, start: i64) -> i64 {
    let planned = start.saturating_add(ms_to_micros(b.planned_duration_ms));
    match b.requested_end {
        Some(e) => round_to_millis(to_micros(e)).min(planned),
        None => planned,
    }
}

/// Applies the timeline rules to this playlist's boundaries: fills `scratch.placements` and
/// appends what it newly decided to `decisions`. Returns whether a decision was due that
/// `publication` did not allow this rendering to make.
// Out of line: it runs once per rewrite, and inside `rewrite_with` it made LLVM stop inlining the
// scan's and the render's hot helpers there (BENCHMARKS.md).
#[inline(never)]
pub(super) fn place_breaks(
    segments: &[Segment],
    header: &Header,
    timeline: &Timeline,
    opts: &RewriteOptions,
    publication: Publication,
    scratch: &mut PlaceScratch,
    decisions: &mut Vec<Decision>,
) -> bool {
    let PlaceScratch { placements } = scratch;
    placements.clear();
    let Some(first) = segments.first() else {
        return false;
    };
    let mut undecided = false;
    let tolerance = ms_to_micros(opts.tolerance_ms);
    // In a delta update the skipped segments are still part of the playlist (§6.2.5.1): their
    // ranges stay. Their times are unknown, but each lasts at most the target duration.
    let skipped_span = header
        .target_duration_us
        .unwrap_or(0)
        .saturating_mul(i64::try_from(header.skipped_segments).unwrap_or(i64::MAX));
    let window = Window {
        segments,
        t0: first.start,
        tolerance,
        range_window_start: first.start.saturating_sub(skipped_span),
        published_until: publication
            .published_until
            .map(|t| round_to_millis(to_micros(t))),
    };

    // Breaks are decided in requested-start order, each no earlier than the decided end of the
    // one before: snapping moves starts later, and a break must not begin inside the previous
    // one. The order uses requested times only (they never change), so a later render walks the
    // breaks in the same order even when program time jumps backwards in the playlist. The
    // timeline holds its breaks in that order (and no cancelled ones), so nothing is sorted here.
    let breaks = timeline.breaks();
    // The decided end of the previous break; `None` once a break's end is still open, which
    // holds back the decisions of the breaks after it.
    let mut floor: Option<i64> = Some(i64::MIN);
    // A decided start is never more than the tolerance before its requested start, and is
    // placed on a segment at most the tolerance before it; so once a break is requested more
    // than twice the tolerance past the newest segment, neither it nor any later one can be
    // placed here: breaks scheduled ahead cost nothing.
    let newest_start = segments
        .iter()
        .map(|s| s.start)
        .max()
        .unwrap_or(first.start);
    let reach = newest_start.saturating_add(tolerance.saturating_mul(2));

    for (index, b) in breaks.iter().enumerate() {
        if round_to_millis(to_micros(b.requested_start)) > reach {
            break;
        }
        if b.cancelled {
            continue;
        }
        let mut decision = Decision {
            break_id: b.id,
            start: None,
            end: None,
        };
        let start = match b.decided_start {
            Some(t) => to_micros(t),
            None => {
                let Some(not_before) = floor else { continue };
                let target = round_to_millis(to_micros(b.requested_start)).max(not_before);
                let Some(s) = window.snap_start(target) else {
                    floor = None;
                    continue;
                };
                if !publication.decides {
                    // Due, but not ours to decide: not shown until the deciding rendition
                    // decides it; the breaks after it wait too.
                    undecided = true;
                    floor = None;
                    continue;
                }
                decision.start = Some(from_micros(s));
                s
            }
        };
        let end = match b.decided_end {
            Some(t) => Some(to_micros(t)),
            None => {
                let snapped = window.snap_end(end_target(b, start), start);
                if snapped.is_some() && !publication.decides {
                    // The break runs on here until its end is decided.
                    undecided = true;
                    None
                } else {
                    decision.end = snapped.map(from_micros);
                    snapped
                }
            }
        };
        if decision.start.is_some() || decision.end.is_some() {
            decisions.push(decision);
        }
        floor = end;
        placements.extend(window.place(index, start, end));
    }
    placements.sort_unstable_by_key(|p| (p.start, p.index));
    undecided
}
