//! The entry points: [`rewrite`] and [`rewrite_with`] run the scan, the placement and the
//! render (see the module docs of [`crate::hls`]) in the caller's or the thread's scratch.

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use super::options::RewriteOptions;
use super::outcome::{PlaylistKind, RewriteError, RewriteOutcome};
use super::place::{PlaceScratch, place_breaks};
use super::render::{RenderJob, RenderScratch, render};
use super::scan::{ScanScratch, resolve_times, scan};
use super::time::{DateCache, round_to_millis, to_micros};
use super::timeline::Timeline;

/// What the caller of a rewrite knows about publication, for a caller that serves several
/// renditions of a stream to many clients (the proxy):
/// - only one rendition should decide when a break starts and ends (the primary one, whose
///   boundaries the SCTE-35 times then follow exactly); the others render what was decided;
/// - a decided start or end must be a boundary after everything any client was already given,
///   in any rendition, so no tag is ever inserted before content that was published.
///
/// [`rewrite`] and [`rewrite_with`] use [`Publication::default`]: decide, nothing published
/// yet — right for a caller that rewrites one playlist for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    /// Whether this rendering may decide breaks' starts and ends. When false, a break whose time
    /// has come but is not decided is rendered as if it had not (not shown; or, for an end,
    /// still running) and [`RewriteOutcome::undecided`] is set.
    pub decides: bool,
    /// The latest [`RewriteOutcome::published_until`] of every rendering served so far, in any
    /// rendition: a decided start or end is a segment boundary strictly after it.
    pub published_until: Option<DateTime<Utc>>,
}

impl Default for Publication {
    fn default() -> Self {
        Publication {
            decides: true,
            published_until: None,
        }
    }
}

/// Reusable working memory of [`rewrite_with`]. [`rewrite`] keeps one per thread, so a
/// steady-state rewrite allocates nothing but the (usually empty) decision list. Besides buffers
/// it remembers values that only depend on their inputs (the last DATERANGE OUT lines rendered,
/// the last planned duration's text, the minute of the last program date read, the day of the
/// last live edge), so one scratch may serve any playlist and timeline in any order.
#[derive(Debug, Default)]
pub struct RewriteScratch {
    scan: ScanScratch,
    place: PlaceScratch,
    render: RenderScratch,
    /// The live edge's day as a chrono date: the next refresh (and the other renditions) is
    /// almost always on the same day.
    dates: DateCache,
}

thread_local! {
    static SCRATCH: RefCell<RewriteScratch> = RefCell::new(RewriteScratch::default());
}

/// Rewrites `input` into `out` (cleared first, capacity reused): the input with the timeline's
/// marker lines inserted. Pure: no I/O.
///
/// This is the raw rewrite, for callers that store decisions themselves: the values it decides
/// come back in [`RewriteOutcome::decisions`] and must be stored ([`Timeline::apply`], and
/// persisted) before the output is published, or a later rewrite decides again and a published
/// tag changes. [`Splicer`](super::Splicer) owns a stream's timeline and does that inside its
/// rewrite; use it unless you keep the timeline elsewhere (the proxy does, with a
/// compare-and-set across replicas).
///
/// # Errors
/// When `input` is not a valid media playlist (or has no program time and no anchor while the
/// timeline has breaks), `out` holds `input` unchanged and the error says why.
pub fn rewrite(
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    rewrite_published(input, timeline, opts, Publication::default(), out)
}

/// [`rewrite`] for a caller that serves several renditions to clients (see [`Publication`]).
///
/// # Errors
/// As [`rewrite`].
pub fn rewrite_published(
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    publication: Publication,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    SCRATCH.with(|cell| {
        let mut fresh;
        let mut kept;
        let scratch = match cell.try_borrow_mut() {
            Ok(scratch) => {
                kept = scratch;
                &mut *kept
            }
            // Only reachable if a caller re-enters from inside a rewrite; use fresh memory.
            Err(_) => {
                fresh = RewriteScratch::default();
                &mut fresh
            }
        };
        rewrite_with_publication(scratch, input, timeline, opts, publication, out)
    })
}

/// [`rewrite`] with caller-owned working memory.
///
/// # Errors
/// As [`rewrite`].
pub fn rewrite_with(
    scratch: &mut RewriteScratch,
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    rewrite_with_publication(scratch, input, timeline, opts, Publication::default(), out)
}

/// [`rewrite_with`] with what the caller knows about publication (see [`Publication`]).
///
/// # Errors
/// As [`rewrite`].
pub fn rewrite_with_publication(
    scratch: &mut RewriteScratch,
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    publication: Publication,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    out.clear();
    let result = rewrite_inner(scratch, input, timeline, opts, publication, out);
    if result.is_err() {
        out.clear();
        out.extend_from_slice(input);
    }
    result
}

// Inlined into its one caller, so the outcome is built where `rewrite_with` returns it:
// copying an outcome just written stalled on store forwarding (see BENCHMARKS.md).
#[inline(always)]
fn rewrite_inner(
    scratch: &mut RewriteScratch,
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    publication: Publication,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    let header = scan(input, opts.strip_upstream_markers, &mut scratch.scan)?;
    let mut outcome = RewriteOutcome {
        decisions: Vec::new(),
        kind: PlaylistKind::Media,
        live_edge: None,
        window_start: None,
        published_until: None,
        undecided: false,
        target_duration: header.target_duration_us.map(|us| us as f64 / 1e6),
        part_target: header.part_target_us.map(|us| us as f64 / 1e6),
        media_sequence: header.media_sequence,
        ended: header.ended,
    };
    if header.multivariant {
        outcome.kind = PlaylistKind::Multivariant;
        outcome.target_duration = None;
        outcome.part_target = None;
        out.extend_from_slice(input);
        return Ok(outcome);
    }

    if opts.dialect.writes_interstitial() && opts.interstitial_asset_list.is_none() {
        return Err(RewriteError::NoAssetList);
    }

    let segments = &mut scratch.scan.segments;
    let anchor = if header.has_pdt {
        None
    } else {
        opts.pdt_anchor.map(to_micros)
    };
    let has_time = resolve_times(segments, anchor);
    let needs_time = !segments.is_empty() && timeline.breaks().iter().any(|b| !b.cancelled);
    if !has_time && needs_time {
        return Err(RewriteError::NoProgramTime);
    }
    scratch.place.placements.clear();
    if has_time {
        outcome.live_edge = segments.iter().rev().find(|s| s.complete).map(|s| {
            scratch
                .dates
                .date(round_to_millis(s.start.saturating_add(s.duration)))
        });
        outcome.window_start = segments.first().map(|first| {
            let skipped = header
                .target_duration_us
                .unwrap_or(0)
                .saturating_mul(i64::try_from(header.skipped_segments).unwrap_or(i64::MAX));
            scratch.dates.date(first.start.saturating_sub(skipped))
        });
        outcome.published_until = segments
            .iter()
            .map(|s| s.start)
            .max()
            .map(|newest| scratch.dates.date(newest));
        outcome.undecided = place_breaks(
            segments,
            &header,
            timeline,
            opts,
            publication,
            &mut scratch.place,
            &mut outcome.decisions,
        );
    }

    let job = RenderJob {
        input,
        crlf: header.crlf,
        segments: &scratch.scan.segments,
        removals: &scratch.scan.removals,
        placements: &scratch.place.placements,
        breaks: timeline.breaks(),
        opts,
        anchor,
    };
    render(&job, &mut scratch.render, out);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    /// The scan tries each URI line at the previous one's length; a line break before that
    /// point must win, or the tags after a shorter URI would be read as part of it.
    #[test]
    fn a_shorter_uri_line_does_not_swallow_the_tags_after_it() {
        let t0: DateTime<Utc> = "2026-11-21T08:00:00Z".parse().unwrap();
        for eol in ["\n", "\r\n"] {
            // The long URI ends where `b.ts`, its terminator and `#EXTINF:6.000,` end, so a
            // guess without the check would find a line end there.
            let long = if eol == "\n" {
                "segment-00000001.ts"
            } else {
                "segment-000000001.ts"
            };
            let lines = [
                "#EXTM3U",
                "#EXT-X-TARGETDURATION:6",
                "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z",
                "#EXTINF:4.000,",
                long,
                "#EXTINF:4.000,",
                "b.ts",
                "#EXTINF:6.000,",
                "c.ts",
                "#EXTINF:4.000,",
                long,
                "#EXTINF:4.000,",
                "d.ts",
                "#EXT-X-ENDLIST",
            ];
            let mut input = lines.join(eol);
            input.push_str(eol);
            let mut out = Vec::new();
            let outcome = rewrite(
                input.as_bytes(),
                &Timeline::new(),
                &RewriteOptions::default(),
                &mut out,
            )
            .unwrap();
            assert_eq!(out, input.as_bytes());
            assert!(outcome.ended, "{eol:?}");
            assert_eq!(
                outcome.live_edge,
                Some(t0 + chrono::Duration::seconds(22)),
                "{eol:?}"
            );
        }
    }

    /// What the scratch remembers across rewrites (rendered DATERANGE lines, the last minute
    /// and day read) depends only on its inputs: one scratch serving several streams in turn,
    /// across minute and day boundaries, answers exactly as a fresh one does each time.
    #[test]
    fn a_shared_scratch_answers_as_a_fresh_one() {
        use super::super::timeline::BreakRequest;

        let playlist = |t0: DateTime<Utc>, msn: u64, crlf: bool| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text =
                format!("#EXTM3U{eol}#EXT-X-TARGETDURATION:4{eol}#EXT-X-MEDIA-SEQUENCE:{msn}{eol}");
            for i in 0..6 {
                let t = t0 + chrono::Duration::seconds(4 * i);
                text += &format!(
                    "#EXT-X-PROGRAM-DATE-TIME:{}{eol}#EXTINF:4.000,{eol}s{}.ts{eol}",
                    t.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    msn + i as u64,
                );
            }
            text
        };
        let stream = |t0: DateTime<Utc>, event_id: u32| {
            let mut timeline = Timeline::new();
            timeline
                .add_break(BreakRequest {
                    event_id: Some(event_id),
                    start: t0 + chrono::Duration::seconds(8),
                    planned_duration_ms: 30_000 + u64::from(event_id),
                })
                .unwrap();
            timeline
        };
        // Two streams, one window each side of a midnight, one within a minute: every pair of
        // consecutive rewrites below differs in minute, day, stream or terminator.
        let before_midnight: DateTime<Utc> = "2026-11-21T23:59:40Z".parse().unwrap();
        let after_midnight: DateTime<Utc> = "2026-11-22T00:00:20Z".parse().unwrap();
        let same_minute: DateTime<Utc> = "2026-11-21T23:59:00Z".parse().unwrap();
        let mut cases = Vec::new();
        for (t0, event_id) in [(before_midnight, 7), (after_midnight, 7), (same_minute, 9)] {
            let timeline = stream(t0, event_id);
            for crlf in [false, true] {
                cases.push((playlist(t0, 100, crlf), timeline.clone()));
            }
        }
        let opts = RewriteOptions::default();
        let mut shared = RewriteScratch::default();
        for round in 0..3 {
            for (i, (input, timeline)) in cases.iter().enumerate().rev().skip(round) {
                let mut fresh_out = Vec::new();
                let fresh = rewrite_with(
                    &mut RewriteScratch::default(),
                    input.as_bytes(),
                    timeline,
                    &opts,
                    &mut fresh_out,
                )
                .unwrap();
                let mut shared_out = Vec::new();
                let answer = rewrite_with(
                    &mut shared,
                    input.as_bytes(),
                    timeline,
                    &opts,
                    &mut shared_out,
                )
                .unwrap();
                assert_eq!(shared_out, fresh_out, "case {i}, round {round}");
                assert_eq!(answer.live_edge, fresh.live_edge, "case {i}, round {round}");
                assert_eq!(answer.decisions, fresh.decisions, "case {i}, round {round}");
                assert!(
                    shared_out.len() > input.len(),
                    "case {i}: no marker inserted"
                );
            }
        }
    }
}
