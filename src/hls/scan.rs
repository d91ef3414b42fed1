//! The scan: one pass over a media playlist that finds each segment's first line and program
//! time, the header values the rules need, and the byte ranges to remove. Tags are read only as
//! far as the rewrite needs them (RFC 8216bis §4.4); everything else is passed over.
//!
//! What a line means (the rule, which the plain reference in `scan_reference.rs` implements
//! line by line and a property test holds this scan to):
//! - the first line must start with `#EXTM3U` (§4.4.1.1; a UTF-8 byte order mark is allowed);
//!   its terminator is the one inserted lines use;
//! - a line not starting with `#` and not blank is a URI: it completes the open segment;
//! - a tag's name is the text before its first colon (the whole line without one). A segment
//!   opens at its first `EXTINF` or `EXT-X-PART` (§4.4.4.9: its tags go before its first part);
//!   `EXT-X-PROGRAM-DATE-TIME` belongs to the open segment (ffmpeg writes it between EXTINF and
//!   the URI), or else to the next one; an unreadable date is ignored;
//! - `EXT-X-MEDIA-SEQUENCE`, `-TARGETDURATION`, `-PART-INF`, `-ENDLIST`, `-SKIP` fill the header;
//!   an unreadable EXTINF, MEDIA-SEQUENCE, TARGETDURATION or SKIP value is an error naming the line;
//! - `CAN-SKIP-DATERANGES` is cut out of `EXT-X-SERVER-CONTROL` (see the module docs of
//!   [`crate::hls`]); `EXT-X-STREAM-INF` / `EXT-X-I-FRAME-STREAM-INF` end the scan of a
//!   multivariant playlist; when stripping, upstream marker lines are removed.
//!
//! Then [`resolve_times`] gives every segment its start from the dates found.
//!
//! # Cost
//! Most lines of a live playlist are EXTINF, PROGRAM-DATE-TIME and URI lines. Their fast paths
//! compare the tag prefix a word at a time and read the value in the same pass that finds the
//! line's end (none of the bytes they accept can be a line break, so no line search is needed);
//! a URI line is first tried at the previous URI line's length. Everything else goes through the
//! general path: a line split, a prefix dispatch for the tags on every playlist, and a name match.
//! Both paths call the same handler per tag.

use super::attributes::{Attributes, attribute, parse_u64, unquote};
use super::lines::{Line, Lines, has_newline, line_at, line_break_at, short_line_at};
use super::outcome::RewriteError;
use super::time::{PdtParser, parse_decimal_micros, plain_extinf, round_to_millis};

/// What the scan learnt about the playlist as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Header {
    pub media_sequence: u64,
    pub target_duration_us: Option<i64>,
    pub part_target_us: Option<i64>,
    pub ended: bool,
    pub skipped_segments: u64,
    pub multivariant: bool,
    pub has_pdt: bool,
    /// The first line ends in CRLF: inserted lines use the playlist's own terminator (that of
    /// its first line, LF otherwise).
    pub crlf: bool,
}

/// One segment as the scan found it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Segment {
    /// Byte offset of the segment's first line (its EXTINF, or its first EXT-X-PART), where
    /// its inserted tags go (RFC 8216bis §4.4.4.9: before the first part).
    pub at: usize,
    /// Program time of its start in µs, rounded to the millisecond ([`resolve_times`]).
    pub start: i64,
    /// EXTINF duration in µs (0 while the segment is still in progress).
    pub duration: i64,
    /// Its own EXT-X-PROGRAM-DATE-TIME, if any.
    pub pdt: Option<i64>,
    /// Its URI line was seen.
    pub complete: bool,
}

/// The scan's reusable memory, part of the rewrite scratch.
#[derive(Debug, Default)]
pub(super) struct ScanScratch {
    pub segments: Vec<Segment>,
    /// Byte ranges to leave out of the output, in order.
    pub removals: Vec<(usize, usize)>,
    /// Kept across rewrites: the minute it remembers is usually that of the next refresh (and
    /// of the other renditions) too.
    pub pdt_parser: PdtParser,
}

/// Upstream ad-marker tags removed by `strip_upstream_markers` (SCTE-35 DATERANGEs are handled
/// separately, by attribute and ID).
pub(super) const UPSTREAM_MARKER_TAGS: &[&[u8]] = &[
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

/// How many stripped upstream DATERANGE IDs are remembered (to strip their closing tags too).
pub(super) const STRIPPED_IDS: usize = 16;

/// The tags the scan acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Part,
    Extinf,
    ProgramDateTime,
    MediaSequence,
    TargetDuration,
    PartInf,
    Endlist,
    Skip,
    ServerControl,
    StreamInf,
    Daterange,
    UpstreamMarker,
}

/// `#EXTINF:`, `#EXT-X-PROGRAM-DATE-TIME` and `#EXT-X-PART:` as little-endian words.
const EXTINF_0: u64 = u64::from_le_bytes(*b"#EXTINF:");
const PART_1: u64 = u32::from_le_bytes(*b"ART:") as u64;
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
/// Every name it lets through is longer than 9 bytes; `#EXTINF` is not among them.
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

/// The tag a `#EXT` line holds, and where its value starts (after the colon, or the line's end).
/// The tags on every segment and the two header tags every live playlist has are recognised by
/// their whole prefix, without a colon search; a name holds no colon, so this is what the name
/// match below would answer.
#[inline]
fn classify(text: &[u8]) -> Option<(Tag, usize)> {
    const PART: &[u8] = b"#EXT-X-PART:";
    const EXTINF: &[u8] = b"#EXTINF:";
    const PDT: &[u8] = b"#EXT-X-PROGRAM-DATE-TIME:";
    const MEDIA_SEQUENCE: &[u8] = b"#EXT-X-MEDIA-SEQUENCE:";
    const TARGET_DURATION: &[u8] = b"#EXT-X-TARGETDURATION:";
    if text.starts_with(PART) {
        return Some((Tag::Part, PART.len()));
    }
    if text.starts_with(EXTINF) {
        return Some((Tag::Extinf, EXTINF.len()));
    }
    if text.starts_with(PDT) {
        return Some((Tag::ProgramDateTime, PDT.len()));
    }
    if !may_be_read(text) {
        // The one name the prefilter does not let through: EXTINF without a value.
        return (text == b"#EXTINF").then_some((Tag::Extinf, text.len()));
    }
    if text.starts_with(MEDIA_SEQUENCE) {
        return Some((Tag::MediaSequence, MEDIA_SEQUENCE.len()));
    }
    if text.starts_with(TARGET_DURATION) {
        return Some((Tag::TargetDuration, TARGET_DURATION.len()));
    }
    let colon = memchr::memchr(b':', text);
    let name = &text[..colon.unwrap_or(text.len())];
    let tag = match name {
        b"#EXT-X-PART" => Tag::Part,
        b"#EXT-X-MEDIA-SEQUENCE" => Tag::MediaSequence,
        b"#EXT-X-TARGETDURATION" => Tag::TargetDuration,
        b"#EXT-X-PART-INF" => Tag::PartInf,
        b"#EXT-X-ENDLIST" => Tag::Endlist,
        b"#EXT-X-SKIP" => Tag::Skip,
        b"#EXT-X-SERVER-CONTROL" => Tag::ServerControl,
        b"#EXT-X-STREAM-INF" | b"#EXT-X-I-FRAME-STREAM-INF" => Tag::StreamInf,
        b"#EXT-X-DATERANGE" => Tag::Daterange,
        _ if UPSTREAM_MARKER_TAGS.contains(&name) => Tag::UpstreamMarker,
        _ => return None,
    };
    Some((tag, colon.map_or(text.len(), |c| c + 1)))
}

/// The EXTINF duration (the value before its comma), or the error naming the line.
pub(super) fn extinf_duration(value: &[u8], line: usize) -> Result<i64, RewriteError> {
    let comma = memchr::memchr(b',', value).unwrap_or(value.len());
    parse_decimal_micros(&value[..comma]).ok_or(RewriteError::InvalidTag {
        line,
        tag: "EXTINF",
    })
}

/// The byte range that withdraws `CAN-SKIP-DATERANGES` from an EXT-X-SERVER-CONTROL attribute
/// list starting at `list_at`: the attribute and one adjacent comma, the one before it, or the
/// one after it when it comes first.
pub(super) fn can_skip_dateranges(list: &[u8], list_at: usize) -> Option<(usize, usize)> {
    let mut first = true;
    let mut attrs = Attributes::new(list).peekable();
    while let Some((name, _, (a, b))) = attrs.next() {
        if name == b"CAN-SKIP-DATERANGES" {
            return Some(match attrs.peek() {
                _ if !first => (list_at + a - 1, list_at + b),
                Some((_, _, (next_start, _))) => (list_at + a, list_at + next_start),
                None => (list_at + a, list_at + b),
            });
        }
        first = false;
    }
    None
}

/// Upstream DATERANGE IDs stripped so far, so that their later tags (same ID, e.g. the one that
/// adds END-DATE) go too. At most [`STRIPPED_IDS`]: a playlist rarely lists more ranges.
struct StrippedIds<'a> {
    /// Not initialised unless stripping meets a DATERANGE.
    ids: Option<[&'a [u8]; STRIPPED_IDS]>,
    count: usize,
}

impl<'a> StrippedIds<'a> {
    /// Whether a DATERANGE is stripped: it carries a `SCTE35-*` attribute or an ID stripped
    /// before. Its ID is remembered.
    fn strips(&mut self, list: &'a [u8]) -> bool {
        let is_scte35 = Attributes::new(list).any(|(n, _, _)| n.starts_with(b"SCTE35-"));
        let id = attribute(list, b"ID").map(unquote);
        let ids = self.ids.get_or_insert([&[]; STRIPPED_IDS]);
        let known = id.is_some_and(|id| ids[..self.count].contains(&id));
        if let Some(id) = id
            && is_scte35
            && !known
            && self.count < STRIPPED_IDS
        {
            ids[self.count] = id;
            self.count += 1;
        }
        is_scte35 || known
    }
}

/// Whether the scan goes on after a tag.
enum Flow {
    Continue,
    /// A multivariant playlist: nothing more to read.
    Stop,
}

/// The scan's state: the playlist read so far. One handler per tag, called by the fast paths
/// and the general path alike.
struct Scan<'a, 's> {
    input: &'a [u8],
    strip: bool,
    header: Header,
    segments: &'s mut Vec<Segment>,
    removals: &'s mut Vec<(usize, usize)>,
    pdt_parser: &'s mut PdtParser,
    /// The segment whose URI line has not been seen yet.
    open: Option<usize>,
    /// A date read before its segment's first line.
    pending_pdt: Option<i64>,
    stripped: StrippedIds<'a>,
}

impl<'a> Scan<'a, '_> {
    /// A segment's first line (`at`) when none is open.
    #[inline]
    fn open_segment(&mut self, at: usize, duration: i64) -> usize {
        let index = self.segments.len();
        self.open = Some(index);
        self.segments.push(Segment {
            at,
            duration,
            pdt: self.pending_pdt.take(),
            ..Segment::default()
        });
        index
    }

    #[inline]
    fn part(&mut self, at: usize) {
        if self.open.is_none() {
            self.open_segment(at, 0);
        }
    }

    #[inline]
    fn extinf(&mut self, at: usize, duration: i64) {
        match self.open {
            Some(i) => {
                if let Some(s) = self.segments.get_mut(i) {
                    s.duration = duration;
                }
            }
            None => {
                self.open_segment(at, duration);
            }
        }
    }

    /// Unreadable dates (`None`) are ignored: time is then carried forward by EXTINF.
    #[inline]
    fn program_date_time(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.header.has_pdt = true;
            match self.open {
                // ffmpeg writes the tag after EXTINF, before the URI.
                Some(i) => {
                    if let Some(s) = self.segments.get_mut(i)
                        && s.pdt.is_none()
                    {
                        s.pdt = Some(t);
                    }
                }
                None => self.pending_pdt = Some(t),
            }
        }
    }

    #[inline]
    fn uri(&mut self) {
        if let Some(i) = self.open.take()
            && let Some(s) = self.segments.get_mut(i)
        {
            s.complete = true;
        }
    }

    /// A tag line read by the general path: `value_at` is where its value starts in the line.
    // Inlined into the scan loop, its one caller: as a call it made the scan keep its state in
    // memory (LL-HLS playlists, with a tag line per part, 3 % more instructions).
    #[inline(always)]
    fn tag(
        &mut self,
        tag: Tag,
        line: Line,
        value_at: usize,
        number: usize,
    ) -> Result<Flow, RewriteError> {
        let input = self.input;
        let value = &input[line.start + value_at..line.end];
        let invalid = |tag| RewriteError::InvalidTag { line: number, tag };
        match tag {
            Tag::Part => self.part(line.start),
            Tag::Extinf => self.extinf(line.start, extinf_duration(value, number)?),
            Tag::ProgramDateTime => {
                let t = self.pdt_parser.parse(value);
                self.program_date_time(t);
            }
            Tag::MediaSequence => {
                self.header.media_sequence =
                    parse_u64(value).ok_or(invalid("EXT-X-MEDIA-SEQUENCE"))?;
            }
            Tag::TargetDuration => {
                self.header.target_duration_us =
                    Some(parse_decimal_micros(value).ok_or(invalid("EXT-X-TARGETDURATION"))?);
            }
            Tag::PartInf => {
                self.header.part_target_us =
                    attribute(value, b"PART-TARGET").and_then(parse_decimal_micros);
            }
            Tag::Endlist => self.header.ended = true,
            Tag::Skip => {
                self.header.skipped_segments = attribute(value, b"SKIPPED-SEGMENTS")
                    .and_then(parse_u64)
                    .ok_or(invalid("EXT-X-SKIP"))?;
            }
            Tag::ServerControl => {
                if let Some(range) = can_skip_dateranges(value, line.start + value_at) {
                    self.removals.push(range);
                }
            }
            Tag::StreamInf => {
                self.header.multivariant = true;
                return Ok(Flow::Stop);
            }
            Tag::Daterange => {
                if self.strip && self.stripped.strips(value) {
                    self.removals.push((line.start, line.next));
                }
            }
            Tag::UpstreamMarker => {
                if self.strip {
                    self.removals.push((line.start, line.next));
                }
            }
        }
        Ok(Flow::Continue)
    }
}

/// The first line, which must start with `#EXTM3U` (after an optional byte order mark).
#[inline]
fn first_line(input: &[u8]) -> Result<Line, RewriteError> {
    // Almost always exactly `#EXTM3U`: its terminator is read in place, without a line search.
    if input.starts_with(b"#EXTM3U")
        && let Some(skip) = line_break_at(input, 7)
    {
        return Ok(Line {
            start: 0,
            end: 7,
            next: 7 + skip,
        });
    }
    let first = Lines::new(input).next().ok_or(RewriteError::NotAPlaylist)?;
    let text = &input[first.start..first.end];
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    if !text.starts_with(b"#EXTM3U") {
        return Err(RewriteError::NotAPlaylist);
    }
    Ok(first)
}

/// Scans `input` into `scratch.segments` and `scratch.removals` (cleared first).
///
/// # Errors
/// Not a playlist, or a tag the rules need with an unreadable value.
// Inlined into `rewrite_with`, its one caller, as the render is: called as functions, the stages
// cost 2 to 7 % more instructions per rewrite (BENCHMARKS.md).
#[inline(always)]
pub(super) fn scan(
    input: &[u8],
    strip: bool,
    scratch: &mut ScanScratch,
) -> Result<Header, RewriteError> {
    let ScanScratch {
        segments,
        removals,
        pdt_parser,
    } = scratch;
    segments.clear();
    removals.clear();
    let first = first_line(input)?;
    let mut scan = Scan {
        input,
        strip,
        header: Header {
            crlf: first.next - first.end == 2,
            ..Header::default()
        },
        segments,
        removals,
        pdt_parser,
        open: None,
        pending_pdt: None,
        stripped: StrippedIds {
            ids: None,
            count: 0,
        },
    };

    let mut pos = first.next;
    // 1-based; the first line was line 1.
    let mut number = 1;
    let mut uri_len = 0;
    while pos < input.len() {
        number += 1;
        // Fast paths: EXTINF and EXT-X-PROGRAM-DATE-TIME in the form packagers write, read in
        // one pass that also finds the end of the line (none of the bytes read can be a line
        // break), so neither needs a line search; EXT-X-PART by its prefix. Prefixes are compared a word at a time: most
        // lines (URIs, parts) fail on the first word.
        let rest = &input[pos..];
        let word0 = word_at(rest, 0);
        if word0 == EXTINF_0 {
            let value = &rest[8..];
            if let Some((duration, comma)) = plain_extinf(value)
                && let Some(skip) = line_break_at(value, comma + 1)
            {
                scan.extinf(pos, duration);
                pos += 8 + comma + 1 + skip;
                continue;
            }
        } else if word0 == PDT_0 {
            let word1 = word_at(rest, 8);
            if word1 == PDT_1
                && word_at(rest, 16) == PDT_2
                && rest.get(24) == Some(&b':')
                && let Some(date) = rest[25..].first_chunk::<24>()
            {
                // Same minute as the previous value: only `:ss.mmmZ` is read, and none of the
                // accepted bytes can be a line break.
                if let Some(t) = scan.pdt_parser.parse_same_minute(date)
                    && let Some(skip) = line_break_at(rest, 49)
                {
                    scan.program_date_time(Some(t));
                    pos += 49 + skip;
                    continue;
                }
                if date[23] != b'\r'
                    && !has_newline(date)
                    && let Some(skip) = line_break_at(&rest[25..], 24)
                {
                    let t = scan.pdt_parser.parse(date);
                    scan.program_date_time(t);
                    pos += 25 + 24 + skip;
                    continue;
                }
            } else if word1 & 0xFFFF_FFFF == PART_1 {
                // An LL-HLS part: its attributes are not read, so only the line's end is needed.
                scan.part(pos);
                pos = line_at(input, pos).next;
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
            scan.uri();
            pos += uri_len + 1;
            continue;
        }

        // Before the first segment come the header tags, nearly all short; after it the long
        // lines (parts, hints, reports, URIs) would make the in-place search a wasted step.
        let line = if scan.segments.is_empty() {
            short_line_at(input, pos)
        } else {
            line_at(input, pos)
        };
        pos = line.next;
        let text = &input[line.start..line.end];
        let Some(&b0) = text.first() else { continue };
        if b0 != b'#' {
            if text.trim_ascii().is_empty() {
                continue;
            }
            scan.uri();
            if line.next > line.start && input[line.next - 1] == b'\n' {
                uri_len = line.next - 1 - line.start;
            }
            continue;
        }
        if !text.starts_with(b"#EXT") {
            continue;
        }
        let Some((tag, value_at)) = classify(text) else {
            continue;
        };
        if let Flow::Stop = scan.tag(tag, line, value_at, number)? {
            break;
        }
    }
    Ok(scan.header)
}

/// Fills in each segment's start: from its own PDT, carried forward by EXTINF, and carried
/// backwards from the first PDT (or `anchor`, the first segment's time) to the segments before
/// it. Returns false when there is no program time at all.
pub(super) fn resolve_times(segments: &mut [Segment], anchor: Option<i64>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_the_scan_reads_passes_the_prefilter() {
        let read: &[&[u8]] = &[
            b"#EXT-X-MEDIA-SEQUENCE",
            b"#EXT-X-TARGETDURATION",
            b"#EXT-X-PART",
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
            assert!(
                classify(name).is_some(),
                "{}",
                String::from_utf8_lossy(name)
            );
            let mut line = name.to_vec();
            line.extend_from_slice(b":X");
            assert!(may_be_read(&line), "{}", String::from_utf8_lossy(name));
            assert!(
                classify(&line).is_some(),
                "{}",
                String::from_utf8_lossy(name)
            );
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
            assert_eq!(classify(other), None, "{}", String::from_utf8_lossy(other));
        }
        // The prefix dispatch answers what the name match would.
        for (line, tag) in [
            (&b"#EXTINF:4.000,"[..], Tag::Extinf),
            (b"#EXTINF", Tag::Extinf),
            (b"#EXT-X-PART:DURATION=1", Tag::Part),
            (b"#EXT-X-PROGRAM-DATE-TIME:x", Tag::ProgramDateTime),
            (b"#EXT-X-MEDIA-SEQUENCE:1", Tag::MediaSequence),
            (b"#EXT-X-TARGETDURATION:4", Tag::TargetDuration),
        ] {
            assert_eq!(classify(line).map(|(t, _)| t), Some(tag));
        }
        assert_eq!(classify(b"#EXTINF:4,").map(|(_, at)| at), Some(8));
        assert_eq!(classify(b"#EXT-X-ENDLIST").map(|(_, at)| at), Some(14));
    }
}
