//! The rewrite engine: one scan of the playlist to find its segments and their program times,
//! the timeline rules applied to those boundaries, and one copy into the caller's buffer with the
//! marker lines inserted before their segments. See the module docs of [`crate::hls`].

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::scan::{
    Attributes, Line, Lines, attribute, has_newline, line_at, line_break_at, parse_u64,
    short_line_at, unquote,
};
use super::time::{
    DateCache, MICROS_PER_MILLI, PdtParser, SmallText, from_micros, parse_decimal_micros,
    plain_extinf, push_date, push_seconds_3, put_seconds_3, round_to_millis, seconds_3, to_micros,
};
use super::timeline::{Break, Decision, Timeline};

/// Which marker tags the rewriter writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `#EXT-X-CUE-OUT` / `#EXT-X-CUE-OUT-CONT` / `#EXT-X-CUE-IN`.
    Cue,
    /// `#EXT-X-DATERANGE` with `SCTE35-OUT` / `SCTE35-IN` (RFC 8216bis §4.4.5.1.1).
    Daterange,
    /// DATERANGE and CUE tags together.
    #[default]
    Both,
    /// CUE tags with the SCTE-35 payload: `#EXT-OATCLS-SCTE35` and `,SCTE35=` on CUE-OUT-CONT.
    Enhanced,
}

impl Dialect {
    fn writes_daterange(self) -> bool {
        matches!(self, Self::Daterange | Self::Both)
    }

    fn writes_cue(self) -> bool {
        !matches!(self, Self::Daterange)
    }

    /// The name used on the command line and in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cue => "cue",
            Self::Daterange => "daterange",
            Self::Both => "both",
            Self::Enhanced => "enhanced",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown dialect name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown dialect {:?} (expected cue, daterange, both or enhanced)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cue" => Ok(Self::Cue),
            "daterange" => Ok(Self::Daterange),
            "both" => Ok(Self::Both),
            "enhanced" => Ok(Self::Enhanced),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

/// How to rewrite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewriteOptions {
    /// Which marker tags to insert (default [`Dialect::Both`]).
    pub dialect: Dialect,
    /// Remove upstream ad-marker lines (CUE family, EXT-OATCLS-SCTE35, EXT-X-ASSET, SCTE-35
    /// DATERANGEs) instead of passing them through.
    pub strip_upstream_markers: bool,
    /// Program time of the first segment of a playlist that has no EXT-X-PROGRAM-DATE-TIME.
    pub pdt_anchor: Option<DateTime<Utc>>,
    /// Renditions whose boundaries differ by less than this match the same decided time.
    pub tolerance_ms: u64,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        Self {
            dialect: Dialect::Both,
            strip_upstream_markers: false,
            pdt_anchor: None,
            tolerance_ms: 250,
        }
    }
}

/// Media or multivariant playlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaylistKind {
    /// A media playlist (has EXTINF segments or EXT-X-TARGETDURATION): rewritten.
    Media,
    /// A multivariant playlist (EXT-X-STREAM-INF …): passed through untouched.
    Multivariant,
}

/// What a rewrite found and decided.
///
/// Its [`decisions`](Self::decisions) must be stored ([`Timeline::apply`]) before the output
/// is published: dropping them lets the next rewrite decide again, and a published
/// DATERANGE would then change.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "store `decisions` with Timeline::apply before publishing the output"]
pub struct RewriteOutcome {
    /// New snapped values to store with [`Timeline::apply`] (empty: nothing new, no allocation).
    pub decisions: Vec<Decision>,
    /// Media or multivariant playlist.
    pub kind: PlaylistKind,
    /// Program time at the end of the newest full segment.
    pub live_edge: Option<DateTime<Utc>>,
    /// Program time of the first segment listed (less the span a delta update skipped, each
    /// skipped segment counted as one target duration): no range that ended before it is
    /// written (RFC 8216bis §6.2.1).
    pub window_start: Option<DateTime<Utc>>,
    /// EXT-X-TARGETDURATION in seconds.
    pub target_duration: Option<f64>,
    /// EXT-X-PART-INF PART-TARGET in seconds (LL-HLS).
    pub part_target: Option<f64>,
    /// EXT-X-MEDIA-SEQUENCE (0 when absent).
    pub media_sequence: u64,
    /// EXT-X-ENDLIST present.
    pub ended: bool,
}

/// Why a playlist was passed through unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RewriteError {
    /// The input does not start with `#EXTM3U` (RFC 8216bis §4.4.1.1).
    NotAPlaylist,
    /// A tag the rewriter needs has a value it cannot read.
    InvalidTag {
        /// Line number, from 1.
        line: usize,
        /// The tag, e.g. `EXTINF`.
        tag: &'static str,
    },
    /// No EXT-X-PROGRAM-DATE-TIME in the playlist and no `pdt_anchor`: DATERANGE needs program
    /// time (RFC 8216bis §4.4.5.1) and so does placing any break.
    NoProgramTime,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAPlaylist => f.write_str("not an HLS playlist: the first line is not #EXTM3U"),
            Self::InvalidTag { line, tag } => write!(f, "line {line}: invalid {tag} value"),
            Self::NoProgramTime => f.write_str(
                "the playlist has no EXT-X-PROGRAM-DATE-TIME and no program-time anchor was given",
            ),
        }
    }
}

impl std::error::Error for RewriteError {}

/// One segment as the scan found it.
#[derive(Clone, Copy, Debug, Default)]
struct Segment {
    /// Byte offset of the segment's first line (its EXTINF, or its first EXT-X-PART), where
    /// its inserted tags go (RFC 8216bis §4.4.4.9: before the first part).
    at: usize,
    /// Program time of its start in µs, rounded to the millisecond.
    start: i64,
    /// EXTINF duration in µs (0 while the segment is still in progress).
    duration: i64,
    /// Its own EXT-X-PROGRAM-DATE-TIME, if any.
    pdt: Option<i64>,
    /// Its URI line was seen.
    complete: bool,
}

/// Where one break's tags go in this playlist.
#[derive(Clone, Copy, Debug)]
struct Placement {
    /// Index into `Timeline::breaks()`.
    index: usize,
    start: i64,
    end: Option<i64>,
    /// Segment before which the DATERANGE OUT goes (the first one when the break began earlier).
    out_seg: usize,
    /// The break's first segment is in the playlist (CUE-OUT rather than CUE-OUT-CONT).
    began_in_window: bool,
    /// Segment before which the IN tags go, once it exists.
    in_seg: Option<usize>,
    /// The break overlaps the listed segments (CUE tags are written).
    cue: bool,
    /// The planned duration as rendered (`30.000`), formatted once per rewrite.
    planned: SmallText,
    /// The end of every CUE-OUT-CONT line, `,Duration=<planned><eol>`, assembled once per
    /// rewrite (at most 10 + 17 + 2 bytes: `planned` has at most 13 whole digits).
    cont_suffix: [u8; 32],
    cont_suffix_len: usize,
}

/// Reusable working memory of [`rewrite_with`]. [`rewrite`] keeps one per thread, so a
/// steady-state rewrite allocates nothing but the (usually empty) decision list. Besides buffers
/// it remembers values that only depend on their inputs (the last DATERANGE OUT lines rendered,
/// the minute of the last program date read, the day of the last live edge), so one scratch may
/// serve any playlist and timeline in any order.
#[derive(Debug, Default)]
pub struct RewriteScratch {
    segments: Vec<Segment>,
    removals: Vec<(usize, usize)>,
    order: Vec<usize>,
    placements: Vec<Placement>,
    daterange_out: RenderedLines,
    planned_text: PlannedText,
    /// Kept across rewrites: the minute it remembers is usually that of the next refresh (and
    /// of the other renditions) too.
    pdt_parser: PdtParser,
    /// The live edge's day as a chrono date, for the same reason.
    dates: DateCache,
}

/// The rendered planned duration of the last break placed, with its CUE-OUT-CONT suffix: the
/// same on every refresh, so the steady state copies it instead of formatting it again.
#[derive(Debug, Default)]
struct PlannedText {
    key: Option<(u64, bool)>,
    planned: Option<SmallText>,
    cont_suffix: [u8; 32],
    cont_suffix_len: usize,
}

impl PlannedText {
    /// `planned_duration_ms` as rendered, and `,Duration=<planned><eol>`.
    fn get(&mut self, planned_duration_ms: u64, crlf: bool) -> (SmallText, [u8; 32], usize) {
        let key = Some((planned_duration_ms, crlf));
        match self.planned {
            Some(_) if self.key == key => {}
            _ => {
                let planned = seconds_3(ms_to_micros(planned_duration_ms));
                let mut cont_suffix = [0u8; 32];
                let mut cont_suffix_len = 0;
                let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                for part in [&b",Duration="[..], planned.as_bytes(), eol] {
                    if let Some(dst) =
                        cont_suffix.get_mut(cont_suffix_len..cont_suffix_len + part.len())
                    {
                        dst.copy_from_slice(part);
                        cont_suffix_len += part.len();
                    }
                }
                *self = Self {
                    key,
                    planned: Some(planned),
                    cont_suffix,
                    cont_suffix_len,
                };
            }
        }
        match self.planned {
            Some(planned) => (planned, self.cont_suffix, self.cont_suffix_len),
            None => (seconds_3(0), [0; 32], 0),
        }
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

const RENDERED_LINES: usize = 8;

impl RenderedLines {
    /// The DATERANGE OUT line of `b` placed as `p`, from a slot or rendered into one.
    fn daterange_out(&mut self, b: &Break, p: &Placement, crlf: bool) -> &[u8] {
        let found = self.slots.iter().position(|s| {
            s.start == p.start
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
                slot.start = p.start;
                slot.planned_duration_ms = b.planned_duration_ms;
                slot.scte35.clear();
                slot.scte35.extend_from_slice(&b.scte35_out);
                slot.crlf = crlf;
                slot.line.clear();
                push_daterange_out(&mut slot.line, b, p, crlf);
                i
            }
        };
        &self.slots[index].line
    }
}

thread_local! {
    static SCRATCH: RefCell<RewriteScratch> = RefCell::new(RewriteScratch::default());
}

/// Rewrites `input` into `out` (cleared first, capacity reused): the input with the timeline's
/// marker lines inserted. Pure: no I/O.
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
        rewrite_with(scratch, input, timeline, opts, out)
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
    out.clear();
    let result = rewrite_inner(scratch, input, timeline, opts, out);
    if result.is_err() {
        out.clear();
        out.extend_from_slice(input);
    }
    result
}

/// What the scan learnt about the playlist as a whole.
#[derive(Debug, Default)]
struct Header {
    media_sequence: u64,
    target_duration_us: Option<i64>,
    part_target_us: Option<i64>,
    ended: bool,
    skipped_segments: u64,
    multivariant: bool,
    has_pdt: bool,
    /// The first line ends in CRLF: inserted lines use the playlist's own terminator (that of
    /// its first line, LF otherwise), as `scan::line_terminator` states.
    crlf: bool,
}

/// Upstream ad-marker tags removed by `strip_upstream_markers` (SCTE-35 DATERANGEs are handled
/// separately, by attribute and ID).
const UPSTREAM_MARKER_TAGS: &[&[u8]] = &[
    b"#EXT-X-CUE-OUT",
    b"#EXT-X-CUE-OUT-CONT",
    b"#EXT-X-CUE-IN",
    b"#EXT-X-CUE-SPAN",
    b"#EXT-X-CUE",
    b"#EXT-OATCLS-SCTE35",
    b"#EXT-X-ASSET",
    b"#EXT-X-SCTE35",
    b"#EXT-X-SPLICEPOINT-SCTE35",
];

/// `#EXTINF:` and `#EXT-X-PROGRAM-DATE-TIME` as little-endian words.
const EXTINF_0: u64 = u64::from_le_bytes(*b"#EXTINF:");
const PDT_0: u64 = u64::from_le_bytes(*b"#EXT-X-P");
const PDT_1: u64 = u64::from_le_bytes(*b"ROGRAM-D");
const PDT_2: u64 = u64::from_le_bytes(*b"ATE-TIME");

/// The eight bytes at `at` as a little-endian word (0 past the end, which no prefix is).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Whether a tag line may be one the scan reads or strips, by the two letters after `#EXT-X-`
/// (or `#EXT-O` for EXT-OATCLS-SCTE35): the others (VERSION, DISCONTINUITY-SEQUENCE,
/// INDEPENDENT-SEGMENTS, KEY, MAP, …) are passed over without looking for the colon.
/// Every name the scan matches is longer than 9 bytes.
#[inline]
fn may_be_read(text: &[u8]) -> bool {
    match text.get(4..9) {
        Some(&[b'-', b'X', b'-', a, b]) => matches!(
            (a, b),
            (b'M', b'E')
                | (b'T', b'A')
                | (b'P', b'A')
                | (b'E', b'N')
                | (b'S', _)
                | (b'I', b'-')
                | (b'D', b'A')
                | (b'C', b'U')
                | (b'A', b'S')
        ),
        Some(&[b'-', b'O', ..]) => true,
        _ => false,
    }
}

/// How many stripped upstream DATERANGE IDs are remembered (to strip their closing tags too).
const STRIPPED_IDS: usize = 16;

fn scan(
    input: &[u8],
    opts: &RewriteOptions,
    pdt_parser: &mut PdtParser,
    segments: &mut Vec<Segment>,
    removals: &mut Vec<(usize, usize)>,
) -> Result<Header, RewriteError> {
    let mut header = Header::default();
    let mut open: Option<usize> = None;
    let mut pending_pdt: Option<i64> = None;
    // Only filled when stripping: not initialised otherwise.
    let mut stripped_ids: Option<[&[u8]; STRIPPED_IDS]> = None;
    let mut stripped_count = 0;
    // The first line is almost always exactly `#EXTM3U`: its terminator is read in place,
    // without a line search.
    let first = match line_break_at(input, 7) {
        Some(skip) if input.starts_with(b"#EXTM3U") => Line {
            start: 0,
            end: 7,
            next: 7 + skip,
        },
        _ => {
            let first = Lines::new(input).next().ok_or(RewriteError::NotAPlaylist)?;
            let first_text = &input[first.start..first.end];
            let first_text = first_text
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(first_text);
            if !first_text.starts_with(b"#EXTM3U") {
                return Err(RewriteError::NotAPlaylist);
            }
            first
        }
    };
    header.crlf = first.next - first.end == 2;

    // The two tags on every segment, shared by the fast path and the general one.
    let extinf = |segments: &mut Vec<Segment>,
                  open: &mut Option<usize>,
                  pending_pdt: &mut Option<i64>,
                  start: usize,
                  duration: i64| {
        match *open {
            Some(i) => {
                if let Some(s) = segments.get_mut(i) {
                    s.duration = duration;
                }
            }
            None => {
                *open = Some(segments.len());
                segments.push(Segment {
                    at: start,
                    duration,
                    pdt: pending_pdt.take(),
                    ..Segment::default()
                });
            }
        }
    };
    let program_date_time = |segments: &mut Vec<Segment>,
                             open: Option<usize>,
                             pending_pdt: &mut Option<i64>,
                             header: &mut Header,
                             t: Option<i64>| {
        // Unreadable dates are ignored: time is then carried forward by EXTINF.
        if let Some(t) = t {
            header.has_pdt = true;
            match open {
                // ffmpeg writes the tag after EXTINF, before the URI.
                Some(i) => {
                    if segments[i].pdt.is_none() {
                        segments[i].pdt = Some(t);
                    }
                }
                None => *pending_pdt = Some(t),
            }
        }
    };

    let mut pos = first.next;
    let mut number = 0;
    let mut uri_len = 0;
    while pos < input.len() {
        number += 1;
        // Fast path: EXTINF and EXT-X-PROGRAM-DATE-TIME in the form packagers write, read in
        // one pass that also finds the end of the line (none of the bytes read can be a line
        // break), so neither needs a line search.
        // Prefixes compared a word at a time: most lines (URIs, parts) fail on the first word.
        let rest = &input[pos..];
        let word0 = word_at(rest, 0);
        if word0 == EXTINF_0 {
            let value = &rest[8..];
            if let Some((duration, comma)) = plain_extinf(value)
                && let Some(skip) = line_break_at(value, comma + 1)
            {
                extinf(segments, &mut open, &mut pending_pdt, pos, duration);
                pos += 8 + comma + 1 + skip;
                continue;
            }
        } else if word0 == PDT_0
            && word_at(rest, 8) == PDT_1
            && word_at(rest, 16) == PDT_2
            && rest.get(24) == Some(&b':')
            && let Some(date) = rest[25..].first_chunk::<24>()
        {
            // Same minute as the previous value: only `:ss.mmmZ` is read, and none of the
            // accepted bytes can be a line break.
            if let Some(t) = pdt_parser.parse_same_minute(date)
                && let Some(skip) = line_break_at(rest, 49)
            {
                program_date_time(segments, open, &mut pending_pdt, &mut header, Some(t));
                pos += 49 + skip;
                continue;
            }
            if date[23] != b'\r'
                && !has_newline(date)
                && let Some(skip) = line_break_at(&rest[25..], 24)
            {
                let t = pdt_parser.parse(date);
                program_date_time(segments, open, &mut pending_pdt, &mut header, t);
                pos += 25 + 24 + skip;
                continue;
            }
        }

        // A URI line: segment names in a live playlist usually keep their length, so the
        // previous URI line's length is tried first. The check that no line break comes
        // earlier only decides a branch, so the next line's start does not wait for a search.
        if uri_len != 0
            && let Some(&b0) = rest.first()
            && b0 != b'#'
            && !b0.is_ascii_whitespace()
            && rest.get(uri_len) == Some(&b'\n')
            && memchr::memchr(b'\n', &rest[..uri_len]).is_none()
        {
            if let Some(i) = open.take() {
                segments[i].complete = true;
            }
            pos += uri_len + 1;
            continue;
        }

        // Before the first segment come the header tags, nearly all short; after it the long
        // lines (parts, hints, reports, URIs) would make the in-place search a wasted step.
        let line = if segments.is_empty() {
            short_line_at(input, pos)
        } else {
            line_at(input, pos)
        };
        pos = line.next;
        let Line { start, end, next } = line;
        let text = &input[start..end];
        let Some(&b0) = text.first() else { continue };
        if b0 != b'#' {
            if text.trim_ascii().is_empty() {
                continue;
            }
            if let Some(i) = open.take() {
                segments[i].complete = true;
            }
            if next > start && input[next - 1] == b'\n' {
                uri_len = next - 1 - start;
            }
            continue;
        }
        if !text.starts_with(b"#EXT") {
            continue;
        }
        // line numbers are 1-based and the header was line 1
        let line_no = number + 1;
        // The tags on every segment first, by prefix, without searching for the colon.
        if text.starts_with(b"#EXT-X-PART:") {
            if open.is_none() {
                open = Some(segments.len());
                segments.push(Segment {
                    at: start,
                    pdt: pending_pdt.take(),
                    ..Segment::default()
                });
            }
            continue;
        }
        if let Some(value) = text.strip_prefix(b"#EXTINF:") {
            let comma = value.iter().position(|&b| b == b',').unwrap_or(value.len());
            let duration =
                parse_decimal_micros(&value[..comma]).ok_or(RewriteError::InvalidTag {
                    line: line_no,
                    tag: "EXTINF",
                })?;
            extinf(segments, &mut open, &mut pending_pdt, start, duration);
            continue;
        }
        if let Some(value) = text.strip_prefix(b"#EXT-X-PROGRAM-DATE-TIME:") {
            let t = pdt_parser.parse(value);
            program_date_time(segments, open, &mut pending_pdt, &mut header, t);
            continue;
        }
        if !may_be_read(text) {
            continue;
        }
        // The two header tags every live playlist has, by whole prefix: no colon search and no
        // name match (the names hold no colon, so this is what the general path below reads).
        if let Some(value) = text.strip_prefix(b"#EXT-X-MEDIA-SEQUENCE:") {
            header.media_sequence = parse_u64(value).ok_or(RewriteError::InvalidTag {
                line: line_no,
                tag: "EXT-X-MEDIA-SEQUENCE",
            })?;
            continue;
        }
        if let Some(value) = text.strip_prefix(b"#EXT-X-TARGETDURATION:") {
            header.target_duration_us =
                Some(parse_decimal_micros(value).ok_or(RewriteError::InvalidTag {
                    line: line_no,
                    tag: "EXT-X-TARGETDURATION",
                })?);
            continue;
        }
        let colon = memchr::memchr(b':', text).unwrap_or(text.len());
        let name = &text[..colon];
        let value = text.get(colon + 1..).unwrap_or(&[]);
        match name {
            b"#EXT-X-MEDIA-SEQUENCE" => {
                header.media_sequence = parse_u64(value).ok_or(RewriteError::InvalidTag {
                    line: line_no,
                    tag: "EXT-X-MEDIA-SEQUENCE",
                })?;
            }
            b"#EXT-X-TARGETDURATION" => {
                header.target_duration_us =
                    Some(parse_decimal_micros(value).ok_or(RewriteError::InvalidTag {
                        line: line_no,
                        tag: "EXT-X-TARGETDURATION",
                    })?);
            }
            b"#EXT-X-PART-INF" => {
                header.part_target_us =
                    attribute(value, b"PART-TARGET").and_then(parse_decimal_micros);
            }
            b"#EXT-X-ENDLIST" => header.ended = true,
            b"#EXT-X-SKIP" => {
                header.skipped_segments = attribute(value, b"SKIPPED-SEGMENTS")
                    .and_then(parse_u64)
                    .ok_or(RewriteError::InvalidTag {
                        line: line_no,
                        tag: "EXT-X-SKIP",
                    })?;
            }
            b"#EXT-X-SERVER-CONTROL" => {
                // We withdraw CAN-SKIP-DATERANGES (see the module docs): our ranges are always
                // written in full, so clients must not ask for v2 delta updates.
                // The attribute goes with one adjacent comma: the one before it, or the one
                // after it when it comes first.
                let list_at = start + colon + 1;
                let mut first = true;
                let mut attrs = Attributes::new(value).peekable();
                while let Some((attr, _, (a, b))) = attrs.next() {
                    if attr == b"CAN-SKIP-DATERANGES" {
                        let range = match attrs.peek() {
                            _ if !first => (list_at + a - 1, list_at + b),
                            Some((_, _, (next_start, _))) => (list_at + a, list_at + next_start),
                            None => (list_at + a, list_at + b),
                        };
                        removals.push(range);
                        break;
                    }
                    first = false;
                }
            }
            b"#EXT-X-STREAM-INF" | b"#EXT-X-I-FRAME-STREAM-INF" => {
                header.multivariant = true;
                return Ok(header);
            }
            b"#EXT-X-DATERANGE" if opts.strip_upstream_markers => {
                let is_scte35 = Attributes::new(value).any(|(n, _, _)| n.starts_with(b"SCTE35-"));
                let id = attribute(value, b"ID").map(unquote);
                let stripped_ids = stripped_ids.get_or_insert([&[]; STRIPPED_IDS]);
                let known_id = id.is_some_and(|id| stripped_ids[..stripped_count].contains(&id));
                if is_scte35 || known_id {
                    removals.push((start, next));
                    if let Some(id) = id
                        && !known_id
                        && stripped_count < STRIPPED_IDS
                    {
                        stripped_ids[stripped_count] = id;
                        stripped_count += 1;
                    }
                }
            }
            _ if opts.strip_upstream_markers && UPSTREAM_MARKER_TAGS.contains(&name) => {
                removals.push((start, next));
            }
            _ => {}
        }
    }
    Ok(header)
}

/// Fills in each segment's start: from its own PDT, carried forward by EXTINF, and carried
/// backwards from the first PDT to the segments before it. Returns false when there is no
/// program time at all.
fn resolve_times(segments: &mut [Segment], anchor: Option<i64>) -> bool {
    let Some((first_pdt_index, first_pdt)) = segments
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.pdt.map(|t| (i, t)))
        .or(anchor.map(|t| (0, t)))
    else {
        return false;
    };
    let (before, from_first) = segments.split_at_mut(first_pdt_index.min(segments.len()));
    let mut t = first_pdt;
    for s in before.iter_mut().rev() {
        t = t.saturating_sub(s.duration);
        s.start = round_to_millis(t);
    }
    let mut t = first_pdt;
    for s in from_first {
        if let Some(pdt) = s.pdt {
            t = pdt;
        }
        s.start = round_to_millis(t);
        t = t.saturating_add(s.duration);
    }
    true
}

// Inlined into its one caller, so the outcome is built where `rewrite_with` returns it:
// copying an outcome just written stalled on store forwarding (see BENCHMARKS.md).
#[inline(always)]
fn rewrite_inner(
    scratch: &mut RewriteScratch,
    input: &[u8],
    timeline: &Timeline,
    opts: &RewriteOptions,
    out: &mut Vec<u8>,
) -> Result<RewriteOutcome, RewriteError> {
    let RewriteScratch {
        segments,
        removals,
        order,
        placements,
        daterange_out,
        planned_text,
        pdt_parser,
        dates,
    } = scratch;
    segments.clear();
    removals.clear();
    placements.clear();

    let header = scan(input, opts, pdt_parser, segments, removals)?;
    let crlf = header.crlf;
    let mut outcome = RewriteOutcome {
        decisions: Vec::new(),
        kind: PlaylistKind::Media,
        live_edge: None,
        window_start: None,
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
    if has_time {
        outcome.live_edge = segments
            .iter()
            .rev()
            .find(|s| s.complete)
            .map(|s| dates.date(round_to_millis(s.start.saturating_add(s.duration))));
        outcome.window_start = segments.first().map(|first| {
            let skipped = header
                .target_duration_us
                .unwrap_or(0)
                .saturating_mul(i64::try_from(header.skipped_segments).unwrap_or(i64::MAX));
            dates.date(first.start.saturating_sub(skipped))
        });
        place_breaks(
            segments,
            &header,
            crlf,
            timeline,
            opts,
            order,
            placements,
            planned_text,
            &mut outcome.decisions,
        );
    }

    render(
        input,
        crlf,
        segments,
        removals,
        placements,
        daterange_out,
        timeline,
        opts,
        anchor,
        out,
    );
    Ok(outcome)
}

/// Applies the timeline rules to this playlist's boundaries (see the module docs).
#[allow(clippy::too_many_arguments)]
fn place_breaks(
    segments: &[Segment],
    header: &Header,
    crlf: bool,
    timeline: &Timeline,
    opts: &RewriteOptions,
    order: &mut Vec<usize>,
    placements: &mut Vec<Placement>,
    planned_text: &mut PlannedText,
    decisions: &mut Vec<Decision>,
) {
    let Some(first) = segments.first() else {
        return;
    };
    let t0 = first.start;
    let tolerance = i64::try_from(opts.tolerance_ms)
        .unwrap_or(i64::MAX / MICROS_PER_MILLI)
        .saturating_mul(MICROS_PER_MILLI);
    // In a delta update the skipped segments are still part of the playlist (§6.2.5.1): their
    // ranges stay. Their times are unknown, but each lasts at most the target duration.
    let skipped_span = header
        .target_duration_us
        .unwrap_or(0)
        .saturating_mul(i64::try_from(header.skipped_segments).unwrap_or(i64::MAX));
    let range_window_start = t0.saturating_sub(skipped_span);
    let first_at_or_after =
        |from: usize, t: i64| (from..segments.len()).find(|&i| segments[i].start >= t);

    // Breaks are decided in requested-start order, each no earlier than the decided end of the
    // one before: snapping moves starts later, and a break must not begin inside the previous
    // one. The order uses requested times only (they never change), so a later render walks the
    // breaks in the same order even when program time jumps backwards in the playlist.
    let breaks = timeline.breaks();
    order.clear();
    order.extend((0..breaks.len()).filter(|&i| !breaks[i].cancelled));
    order.sort_unstable_by_key(|&i| (breaks[i].requested_start, breaks[i].id));
    // The decided end of the previous break; `None` once a break's end is still open, which
    // holds back the decisions of the breaks after it.
    let mut floor: Option<i64> = Some(i64::MIN);
    // A decided start is never more than the tolerance before its requested start, and is
    // placed on a segment at most the tolerance before it; so once a break is requested more
    // than twice the tolerance past the newest segment, neither it nor any later one can be
    // placed here: breaks scheduled ahead cost nothing.
    let newest_start = segments.iter().map(|s| s.start).max().unwrap_or(t0);
    let reach = newest_start.saturating_add(tolerance.saturating_mul(2));

    for &index in order.iter() {
        let b = &breaks[index];
        if round_to_millis(to_micros(b.requested_start)) > reach {
            break;
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
                // Requested before the first segment: taken as already decided. Otherwise the
                // first boundary at or after the target, where "at" allows the tolerance so
                // that whichever rendition decides first, the others find their matching segment.
                let snapped = if target < t0.saturating_sub(tolerance) {
                    Some(target)
                } else {
                    first_at_or_after(0, target.saturating_sub(tolerance))
                        .map(|i| segments[i].start)
                };
                match snapped {
                    Some(s) => {
                        decision.start = Some(from_micros(s));
                        s
                    }
                    None => {
                        floor = None;
                        continue;
                    }
                }
            }
        };
        let end = match b.decided_end {
            Some(t) => Some(to_micros(t)),
            None => {
                let planned = start.saturating_add(
                    i64::try_from(b.planned_duration_ms)
                        .unwrap_or(i64::MAX / MICROS_PER_MILLI)
                        .saturating_mul(MICROS_PER_MILLI),
                );
                let target = match b.requested_end {
                    Some(e) => round_to_millis(to_micros(e)).min(planned),
                    None => planned,
                };
                let snapped = if target < t0.saturating_sub(tolerance) {
                    Some(target.max(start))
                } else {
                    (0..segments.len())
                        .find(|&i| {
                            segments[i].start >= target.saturating_sub(tolerance)
                                && segments[i].start > start.saturating_add(tolerance)
                        })
                        .map(|i| segments[i].start)
                };
                if let Some(e) = snapped {
                    decision.end = Some(from_micros(e));
                }
                snapped
            }
        };
        if decision.start.is_some() || decision.end.is_some() {
            decisions.push(decision);
        }
        floor = end;

        // §6.2.1: a range stays while any of its dates maps to a segment in the playlist.
        if end.is_some_and(|e| e < range_window_start.saturating_sub(tolerance)) {
            continue;
        }
        let (out_seg, began_in_window) = if start < t0.saturating_sub(tolerance) {
            (0, false)
        } else {
            match first_at_or_after(0, start.saturating_sub(tolerance)) {
                Some(i) => (i, true),
                // Its first segment is not in the playlist yet.
                None => continue,
            }
        };
        let in_seg = end.and_then(|e| {
            let from = if began_in_window { out_seg + 1 } else { 0 };
            first_at_or_after(from, e.saturating_sub(tolerance))
        });
        let (planned, cont_suffix, cont_suffix_len) = planned_text.get(b.planned_duration_ms, crlf);
        placements.push(Placement {
            index,
            start,
            end,
            out_seg,
            began_in_window,
            in_seg,
            cue: end.is_none_or(|e| e >= t0.saturating_sub(tolerance)),
            planned,
            cont_suffix,
            cont_suffix_len,
        });
    }
    placements.sort_unstable_by_key(|p| (p.start, p.index));
}

#[allow(clippy::too_many_arguments)]
fn render(
    input: &[u8],
    crlf: bool,
    segments: &[Segment],
    removals: &[(usize, usize)],
    placements: &[Placement],
    daterange_out: &mut RenderedLines,
    timeline: &Timeline,
    opts: &RewriteOptions,
    anchor: Option<i64>,
    out: &mut Vec<u8>,
) {
    out.reserve(input.len() + 64 + placements.len() * 400);
    let mut cursor = 0;
    let mut removal = 0;
    let mut copy_until = |out: &mut Vec<u8>, cursor: &mut usize, pos: usize| {
        while let Some(&(a, b)) = removals.get(removal) {
            if a >= pos {
                break;
            }
            if a > *cursor {
                out.extend_from_slice(&input[*cursor..a]);
            }
            *cursor = (*cursor).max(b);
            removal += 1;
        }
        if pos > *cursor {
            out.extend_from_slice(&input[*cursor..pos]);
            *cursor = pos;
        }
    };
    let breaks = timeline.breaks();
    let dialect = opts.dialect;
    for (i, segment) in segments.iter().enumerate() {
        let insert_pdt = i == 0 && anchor.is_some();
        let touches = |p: &Placement| {
            p.out_seg == i
                || p.in_seg == Some(i)
                || (p.cue && i >= p.out_seg && p.in_seg.is_none_or(|s| i < s))
        };
        if !insert_pdt && !placements.iter().any(touches) {
            continue;
        }
        copy_until(out, &mut cursor, segment.at);
        if insert_pdt {
            out.extend_from_slice(b"#EXT-X-PROGRAM-DATE-TIME:");
            push_date(out, segment.start);
            push_eol(out, crlf);
        }
        for p in placements {
            let b = &breaks[p.index];
            if dialect.writes_daterange() {
                if p.out_seg == i {
                    out.extend_from_slice(daterange_out.daterange_out(b, p, crlf));
                }
                if let (Some(end), true) = (p.end, p.in_seg == Some(i)) {
                    push_daterange_in(out, b, p.start, end, crlf);
                }
            }
            if dialect.writes_cue() && p.cue {
                let enhanced = dialect == Dialect::Enhanced;
                if p.in_seg == Some(i) {
                    out.extend_from_slice(b"#EXT-X-CUE-IN");
                    push_eol(out, crlf);
                } else if i >= p.out_seg && p.in_seg.is_none_or(|s| i < s) {
                    if i == p.out_seg && p.began_in_window {
                        if enhanced && !b.scte35_out.is_empty() {
                            out.extend_from_slice(b"#EXT-OATCLS-SCTE35:");
                            push_base64(out, &b.scte35_out);
                            push_eol(out, crlf);
                        }
                        out.extend_from_slice(b"#EXT-X-CUE-OUT:DURATION=");
                        out.extend_from_slice(p.planned.as_bytes());
                    } else {
                        let elapsed = segment.start.saturating_sub(p.start);
                        if enhanced && !b.scte35_out.is_empty() {
                            out.extend_from_slice(b"#EXT-X-CUE-OUT-CONT:ElapsedTime=");
                            push_seconds_3(out, elapsed);
                            out.extend_from_slice(b",Duration=");
                            out.extend_from_slice(p.planned.as_bytes());
                            out.extend_from_slice(b",SCTE35=");
                            push_base64(out, &b.scte35_out);
                            push_eol(out, crlf);
                            continue;
                        }
                        push_cue_out_cont(out, elapsed, p);
                        continue;
                    }
                    push_eol(out, crlf);
                }
            }
        }
    }
    copy_until(out, &mut cursor, input.len());
}

/// `#EXT-X-CUE-OUT-CONT:ElapsedTime=<elapsed>,Duration=<planned><eol>`, written on every
/// segment of a break. Written in place: the output grows by a fixed 96 bytes (a few vector
/// stores), the parts are stored into them, and the output is cut to length. Copies of the
/// exact length would be a `memcpy` call each; assembling the line in a stack buffer first
/// made the copy read bytes still in the store buffer, a store-forwarding stall per line.
#[inline]
fn push_cue_out_cont(out: &mut Vec<u8>, elapsed: i64, p: &Placement) {
    const PREFIX: &[u8; 32] = b"#EXT-X-CUE-OUT-CONT:ElapsedTime=";
    let start = out.len();
    out.extend_from_slice(&[0u8; 96]);
    let mut len = 32;
    if let Some(line) = out.get_mut(start..start + 96) {
        line[..32].copy_from_slice(PREFIX);
        if let Ok(number) = <&mut [u8; 24]>::try_from(&mut line[32..56]) {
            len += put_seconds_3(number, elapsed);
        }
        // len <= 56, so the suffix fits.
        if let Some(dst) = line.get_mut(len..len + 32) {
            dst.copy_from_slice(&p.cont_suffix);
            len += p.cont_suffix_len;
        }
    }
    out.truncate(start + len);
}

fn ms_to_micros(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(MICROS_PER_MILLI)
}

/// Appends the line terminator of the playlist.
#[inline]
fn push_eol(out: &mut Vec<u8>, crlf: bool) {
    if crlf {
        out.extend_from_slice(b"\r\n");
    } else {
        out.push(b'\n');
    }
}

/// The ID as a quoted-string may carry neither `"` nor line breaks (RFC 8216bis §4.2).
fn push_quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    out.extend(text.bytes().filter(|b| !matches!(b, b'"' | b'\r' | b'\n')));
    out.push(b'"');
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(b"0x");
    let at = out.len();
    out.resize(at + 2 * bytes.len(), 0);
    for (pair, &b) in out[at..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0F)];
    }
}

fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let Some(len) = base64::encoded_len(bytes.len(), true) else {
        return;
    };
    let at = out.len();
    out.resize(at + len, 0);
    match engine.encode_slice(bytes, &mut out[at..]) {
        Ok(written) => out.truncate(at + written),
        Err(_) => out.truncate(at),
    }
}

/// `#EXT-X-DATERANGE:ID="…",START-DATE="…",PLANNED-DURATION=…,SCTE35-OUT=0x…` (§4.4.5.1.1).
fn push_daterange_out(out: &mut Vec<u8>, b: &Break, p: &Placement, crlf: bool) {
    out.extend_from_slice(b"#EXT-X-DATERANGE:ID=");
    push_quoted(out, &b.daterange_id);
    out.extend_from_slice(b",START-DATE=\"");
    push_date(out, p.start);
    out.extend_from_slice(b"\",PLANNED-DURATION=");
    out.extend_from_slice(p.planned.as_bytes());
    if !b.scte35_out.is_empty() {
        out.extend_from_slice(b",SCTE35-OUT=");
        push_hex(out, &b.scte35_out);
    }
    push_eol(out, crlf);
}

/// The closing tag: same ID, the same START-DATE, plus END-DATE, DURATION and SCTE35-IN.
fn push_daterange_in(out: &mut Vec<u8>, b: &Break, start: i64, end: i64, crlf: bool) {
    out.extend_from_slice(b"#EXT-X-DATERANGE:ID=");
    push_quoted(out, &b.daterange_id);
    out.extend_from_slice(b",START-DATE=\"");
    push_date(out, start);
    out.extend_from_slice(b"\",END-DATE=\"");
    push_date(out, end);
    out.extend_from_slice(b"\",DURATION=");
    push_seconds_3(out, end.saturating_sub(start));
    if !b.scte35_in.is_empty() {
        out.extend_from_slice(b",SCTE35-IN=");
        push_hex(out, &b.scte35_in);
    }
    push_eol(out, crlf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_the_scan_reads_passes_the_prefilter() {
        let read: &[&[u8]] = &[
            b"#EXT-X-MEDIA-SEQUENCE",
            b"#EXT-X-TARGETDURATION",
            b"#EXT-X-PART-INF",
            b"#EXT-X-ENDLIST",
            b"#EXT-X-SKIP",
            b"#EXT-X-SERVER-CONTROL",
            b"#EXT-X-STREAM-INF",
            b"#EXT-X-I-FRAME-STREAM-INF",
            b"#EXT-X-DATERANGE",
        ];
        for name in read.iter().chain(UPSTREAM_MARKER_TAGS) {
            assert!(may_be_read(name), "{}", String::from_utf8_lossy(name));
            let mut line = name.to_vec();
            line.extend_from_slice(b":X");
            assert!(may_be_read(&line), "{}", String::from_utf8_lossy(name));
        }
        for other in [
            &b"#EXT-X-VERSION:6"[..],
            b"#EXT-X-DISCONTINUITY-SEQUENCE:3",
            b"#EXT-X-INDEPENDENT-SEGMENTS",
            b"#EXT-X-MAP:URI=\"init.mp4\"",
            b"#EXT-X-",
            b"#EXT",
        ] {
            assert!(!may_be_read(other), "{}", String::from_utf8_lossy(other));
        }
    }

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
