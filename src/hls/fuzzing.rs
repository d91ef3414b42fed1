//! The rewriter's scanner and tag readers, reachable by the fuzz target `playlist_scan` (`fuzz/`)
//! and by the replay of its regression inputs (`tests/fuzz_regressions.rs`). Feature `fuzzing`;
//! not a public API and never needed by a user.
//!
//! Each function is a thin call of the private one, plus the plain reference the scan is held
//! to (`scan_reference.rs`, the rule of `scan.rs` written line by line). What must hold between
//! them, the fuzz target's check says (`fuzz/checks/playlist_scan.rs`).

use super::attributes;
use super::lines::{self, Line};
use super::outcome::RewriteError;
use super::scan::{self, Header, ScanScratch, Segment};
use super::scan_reference;
use super::time;

/// What a scan found: the header, every segment (with its start once times are resolved) and
/// the byte ranges to remove; or the error. Compared whole, printed with `{:?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned(Result<Found, RewriteError>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    header: Header,
    segments: Vec<Segment>,
    removals: Vec<(usize, usize)>,
    /// Whether any program time was found (or the anchor given).
    has_time: bool,
}

impl Scanned {
    /// The error, when the scan refused the input.
    pub fn error(&self) -> Option<&RewriteError> {
        self.0.as_ref().err()
    }

    /// The byte offset of each segment's first line, in playlist order (empty on error).
    pub fn segment_offsets(&self) -> Vec<usize> {
        self.0
            .as_ref()
            .map(|found| found.segments.iter().map(|s| s.at).collect())
            .unwrap_or_default()
    }

    /// The byte ranges the render leaves out (empty on error).
    pub fn removals(&self) -> &[(usize, usize)] {
        self.0.as_ref().map_or(&[], |found| &found.removals)
    }

    /// Whether the playlist is a multivariant playlist.
    pub fn multivariant(&self) -> bool {
        self.0.as_ref().is_ok_and(|found| found.header.multivariant)
    }
}

/// The scan as a rewrite runs it, keeping its memory between calls (the date parser remembers
/// the last minute it read) as a rewrite's scratch does across refreshes.
#[derive(Debug, Default)]
pub struct Scanner(ScanScratch);

impl Scanner {
    /// Scans `input` (`strip`: remove upstream markers) and resolves segment times, `anchor`
    /// (µs since the epoch) being the first segment's program time when no date is found.
    pub fn scan(&mut self, input: &[u8], strip: bool, anchor: Option<i64>) -> Scanned {
        let scratch = &mut self.0;
        Scanned(scan::scan(input, strip, scratch).map(|header| {
            let has_time = scan::resolve_times(&mut scratch.segments, anchor);
            Found {
                header,
                segments: scratch.segments.clone(),
                removals: scratch.removals.clone(),
                has_time,
            }
        }))
    }
}

/// The plain reference scan, with times resolved by the plain rule: what [`Scanner::scan`]
/// must find.
pub fn reference_scan(input: &[u8], strip: bool, anchor: Option<i64>) -> Scanned {
    Scanned(
        scan_reference::reference_scan(input, strip).map(|mut found| {
            let has_time = scan_reference::reference_times(&mut found.segments, anchor);
            Found {
                header: found.header,
                segments: found.segments,
                removals: found.removals,
                has_time,
            }
        }),
    )
}

fn parts(line: Line) -> (usize, usize, usize) {
    (line.start, line.end, line.next)
}

/// The line starting at `start` (at most `input.len()`): its text's start and end and where
/// the next line starts.
pub fn line_at(input: &[u8], start: usize) -> (usize, usize, usize) {
    parts(lines::line_at(input, start))
}

/// [`line_at`] by the word-at-a-time search the scan uses for short lines.
pub fn short_line_at(input: &[u8], start: usize) -> (usize, usize, usize) {
    parts(lines::short_line_at(input, start))
}

/// One pair of an attribute list: name, value (quotes kept) and the pair's byte range.
pub type Attribute<'a> = (&'a [u8], &'a [u8], (usize, usize));

/// The pairs of an attribute list (RFC 8216bis §4.2).
pub fn attributes(list: &[u8]) -> Vec<Attribute<'_>> {
    attributes::Attributes::new(list).collect()
}

/// The value of attribute `name` in `list`, quotes kept.
pub fn attribute<'a>(list: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    attributes::attribute(list, name)
}

/// A `decimal-integer` as the scan reads it.
pub fn parse_u64(value: &[u8]) -> Option<u64> {
    attributes::parse_u64(value)
}

/// A `decimal-integer` as the reference scan reads it (plain, checked arithmetic).
pub fn reference_decimal_integer(value: &[u8]) -> Option<u64> {
    scan_reference::decimal_integer(value)
}

/// The EXTINF fast path: `(µs, index of the comma)` for `<digits>[.<digits>],`.
pub fn plain_extinf(value: &[u8]) -> Option<(i64, usize)> {
    time::plain_extinf(value)
}

/// A non-negative decimal in µs (EXTINF, TARGETDURATION, PART-TARGET).
pub fn parse_decimal_micros(value: &[u8]) -> Option<i64> {
    time::parse_decimal_micros(value)
}

/// The EXT-X-PROGRAM-DATE-TIME parser, with its memory of the last minute read.
#[derive(Debug, Default)]
pub struct PdtParser(time::PdtParser);

impl PdtParser {
    /// A value (the text after the colon) in µs since the epoch.
    pub fn parse(&mut self, value: &[u8]) -> Option<i64> {
        self.0.parse(value)
    }

    /// The scan's fast path for a 24-byte `…:ss.mmmZ` in the minute read last.
    pub fn parse_same_minute(&self, value: &[u8; 24]) -> Option<i64> {
        self.0.parse_same_minute(value)
    }
}
