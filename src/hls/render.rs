//! Rendering: one copy of the input into the caller's buffer, with the removed ranges left out
//! and each segment's marker lines spliced in before its first line, in the order the module
//! docs of [`crate::hls`] give.
//!
//! Two caches make the steady state (the same break on every refresh and rendition) copy bytes
//! instead of formatting them again: the text of each planned duration with its CUE-OUT-CONT
//! suffix, and the DATERANGE OUT lines rendered by earlier rewrites. Both are keyed by
//! everything their text depends on, so any scratch may serve any playlist and timeline.

use super::interstitial::{push_interstitial_close, push_interstitial_open};
use super::options::{CueStyle, RewriteOptions};
use super::place::Placement;
use super::scan::Segment;
use super::tags::{
    cont_prefix, cont_suffix, planned_micros, push_cue_in, push_cue_out, push_cue_out_cont,
    push_cue_out_cont_scte35, push_daterange_in, push_daterange_out, push_program_date_time,
};
use super::time::{SmallText, seconds_3};
use super::timeline::Break;

/// Rendering's reusable memory, part of the rewrite scratch.
#[derive(Debug, Default)]
pub(super) struct RenderScratch {
    planned: PlannedText,
    daterange_out: RenderedLines,
}

/// What one rewrite renders.
pub(super) struct RenderJob<'a> {
    pub input: &'a [u8],
    pub crlf: bool,
    pub segments: &'a [Segment],
    /// Byte ranges to leave out, in order.
    pub removals: &'a [(usize, usize)],
    pub placements: &'a [Placement],
    pub breaks: &'a [Break],
    pub opts: &'a RewriteOptions,
    /// Program time of the first segment, for a playlist without EXT-X-PROGRAM-DATE-TIME: a
    /// date line is inserted before it.
    pub anchor: Option<i64>,
}

/// A break's planned duration as rendered (`30.000`), and the end of its CUE-OUT-CONT lines
/// in the chosen style ([`cont_suffix`]).
#[derive(Clone, Copy, Debug)]
struct BreakText {
    planned: SmallText,
    cont_suffix: [u8; 32],
    cont_suffix_len: usize,
}

impl BreakText {
    fn new(planned_duration_ms: u64, style: CueStyle, crlf: bool) -> Self {
        let planned = seconds_3(planned_micros(planned_duration_ms));
        let (cont_suffix, cont_suffix_len) = cont_suffix(style, &planned, crlf);
        Self {
            planned,
            cont_suffix,
            cont_suffix_len,
        }
    }
}

impl Default for BreakText {
    fn default() -> Self {
        Self::new(0, CueStyle::Duration, false)
    }
}

/// The [`BreakText`] of the last planned duration rendered: the same on every refresh, so the
/// steady state reads it instead of formatting it again.
#[derive(Debug, Default)]
struct PlannedText {
    /// What `text` was rendered from, as [`PlannedText::key`]; 0 before the first.
    key: u128,
    text: BreakText,
}

impl PlannedText {
    /// Everything a [`BreakText`] depends on in one number, so the steady state's check is one
    /// compare per line: the planned duration, the style and the terminator, with a bit that
    /// is always set so that no key is 0.
    #[inline]
    fn key(planned_duration_ms: u64, style: CueStyle, crlf: bool) -> u128 {
        let style = match style {
            CueStyle::Duration => 0,
            CueStyle::Elemental => 1,
            CueStyle::Slash => 2,
        };
        u128::from(planned_duration_ms) << 8 | 1 << 7 | style << 1 | u128::from(crlf)
    }

    #[inline]
    fn get(&mut self, planned_duration_ms: u64, style: CueStyle, crlf: bool) -> &BreakText {
        let key = Self::key(planned_duration_ms, style, crlf);
        if self.key != key {
            self.text = BreakText::new(planned_duration_ms, style, crlf);
            self.key = key;
        }
        &self.text
    }
}

/// DATERANGE OUT lines rendered by earlier rewrites, each with everything its text depends on
/// (ID, decided start, planned duration, SCTE-35 bytes, terminator). A break's OUT tag is the
/// same on every refresh and rendition, so the steady state copies it instead of formatting the
/// date and the hex again. A few slots, reused round-robin: no allocation once they have grown.
#[derive(Debug, Default)]
struct RenderedLines {
    slots: Vec<RenderedLine>,
    next: usize,
}

#[derive(Debug, Default)]
struct RenderedLine {
    daterange_id: String,
    start: i64,
    planned_duration_ms: u64,
    scte35: Vec<u8>,
    crlf: bool,
    line: Vec<u8>,
}

/// How many DATERANGE OUT lines are kept: more than a playlist window holds breaks.
const RENDERED_LINES: usize = 8;

impl RenderedLines {
    /// The DATERANGE OUT line of `b` starting at `start`, from a slot or rendered into one.
    fn daterange_out(&mut self, b: &Break, start: i64, text: &BreakText, crlf: bool) -> &[u8] {
        let found = self.slots.iter().position(|s| {
            s.start == start
                && s.planned_duration_ms == b.planned_duration_ms
                && s.crlf == crlf
                && s.daterange_id == b.daterange_id
                && s.scte35 == b.scte35_out
        });
        let index = match found {
            Some(i) => i,
            None => {
                let i = if self.slots.len() < RENDERED_LINES {
                    self.slots.push(RenderedLine::default());
                    self.slots.len() - 1
                } else {
                    let i = self.next % RENDERED_LINES;
                    self.next = i + 1;
                    i
                };
                let slot = &mut self.slots[i];
                slot.daterange_id.clear();
                slot.daterange_id.push_str(&b.daterange_id);
                slot.start = start;
                slot.planned_duration_ms = b.planned_duration_ms;
                slot.scte35.clear();
                slot.scte35.extend_from_slice(&b.scte35_out);
                slot.crlf = crlf;
                slot.line.clear();
                push_daterange_out(&mut slot.line, b, start, &text.planned, crlf);
                i
            }
        };
        &self.slots[index].line
    }
}

/// Copies the input into the output up to a position, leaving out the removed ranges.
struct Copier<'a> {
    input: &'a [u8],
    removals: &'a [(usize, usize)],
    /// The next removal not yet passed.
    removal: usize,
    /// How far the input has been copied (or skipped).
    cursor: usize,
}

impl Copier<'_> {
    #[inline]
    fn copy_until(&mut self, out: &mut Vec<u8>, pos: usize) {
        while let Some(&(a, b)) = self.removals.get(self.removal) {
            if a >= pos {
                break;
            }
            if a > self.cursor {
                out.extend_from_slice(&self.input[self.cursor..a]);
            }
            self.cursor = self.cursor.max(b);
            self.removal += 1;
        }
        if pos > self.cursor {
            out.extend_from_slice(&self.input[self.cursor..pos]);
            self.cursor = pos;
        }
    }
}

/// Renders `job` into `out` (which the caller has cleared).
// Inlined into `rewrite_with`, its one caller (see `scan`).
#[inline(always)]
pub(super) fn render(job: &RenderJob<'_>, scratch: &mut RenderScratch, out: &mut Vec<u8>) {
    let RenderJob {
        input,
        crlf,
        segments,
        removals,
        placements,
        breaks,
        opts,
        anchor,
    } = *job;
    let RenderScratch {
        planned,
        daterange_out,
    } = scratch;
    // Room for a break's DATERANGE and interstitial pairs and a few CUE lines: a hint only, the
    // caller's buffer keeps its capacity from one rewrite to the next.
    out.reserve(input.len() + 64 + placements.len() * 1024);
    let mut copier = Copier {
        input,
        removals,
        removal: 0,
        cursor: 0,
    };
    let dialect = opts.dialect;
    let enhanced = dialect.enhanced();
    let asset_list = opts
        .interstitial_asset_list
        .as_ref()
        .filter(|_| dialect.writes_interstitial());
    let style = opts.cue_style;
    // The enhanced CUE-OUT-CONT carries the payload, except in the slash style.
    let cont_payload = enhanced && style != CueStyle::Slash;
    let prefix = cont_prefix(style);
    for (i, segment) in segments.iter().enumerate() {
        let insert_pdt = i == 0 && anchor.is_some();
        if !insert_pdt && !placements.iter().any(|p| p.touches(i)) {
            continue;
        }
        copier.copy_until(out, segment.at);
        if insert_pdt {
            push_program_date_time(out, segment.start, crlf);
        }
        for p in placements {
            let b = &breaks[p.index];
            if dialect.writes_daterange() {
                if p.out_seg == i {
                    let text = planned.get(b.planned_duration_ms, style, crlf);
                    out.extend_from_slice(daterange_out.daterange_out(b, p.start, text, crlf));
                }
                if let (Some(end), true) = (p.end, p.in_seg == Some(i)) {
                    push_daterange_in(out, b, p.start, end, crlf);
                }
            }
            if let Some(asset_list) = asset_list {
                if p.out_seg == i {
                    let text = planned.get(b.planned_duration_ms, style, crlf);
                    push_interstitial_open(out, b, p.start, &text.planned, asset_list, crlf);
                }
                if let (Some(end), true) = (p.end, p.in_seg == Some(i)) {
                    push_interstitial_close(out, b, p.start, end, crlf);
                }
            }
            if dialect.writes_cue() && p.cue {
                if p.in_seg == Some(i) {
                    push_cue_in(out, crlf);
                } else if p.covers(i) {
                    let text = planned.get(b.planned_duration_ms, style, crlf);
                    if i == p.out_seg && p.began_in_window {
                        push_cue_out(out, b, &text.planned, style, enhanced, crlf);
                    } else {
                        let elapsed = segment.start.saturating_sub(p.start);
                        if cont_payload && !b.scte35_out.is_empty() {
                            push_cue_out_cont_scte35(out, b, elapsed, &text.planned, crlf);
                        } else {
                            let suffix = (&text.cont_suffix, text.cont_suffix_len);
                            push_cue_out_cont(out, prefix, elapsed, suffix);
                        }
                    }
                }
            }
        }
    }
    copier.copy_until(out, input.len());
}
