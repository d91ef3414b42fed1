//! The check of the fuzz target `playlist_scan`, shared with the replay of its regression
//! inputs (`tests/fuzz_regressions.rs`): the rewriter's line scanner and tag readers
//! (`src/hls/lines.rs`, `attributes.rs`, `time.rs`, `scan.rs`, reached through
//! `hlsplice::hls::fuzzing`) on arbitrary bytes, the input being a playlist as it is.
//!
//! What must hold:
//! - the scan finds what the plain reference scan (`src/hls/scan_reference.rs`, the rule
//!   written line by line) finds: header, segments and their times, ranges to remove, or the
//!   same error; with and without stripping and an anchor, and again with the date parser's
//!   memory of the first scan;
//! - segments start at line starts, in order; removed ranges are in order, disjoint and within
//!   the input (the render copies around them);
//! - the word-at-a-time line search finds the line `memchr` finds;
//! - on every line's value: the attribute list's pairs are in order and within it, and a
//!   lookup finds the first pair of that name; the integer reader agrees with the plain one;
//!   the decimal reader agrees with the plain rule below, and the EXTINF fast path with it
//!   wherever it answers; a date reads the same with a fresh parser, with one that remembers
//!   the minute of the lines before, and on the same-minute fast path wherever that answers;
//!   and every RFC 3339 date chrono reads, it reads to the same microsecond;
//! - in a multivariant playlist, the primary rendition is a variant the playlist lists.

use hlsplice::hls::DateTime;
use hlsplice::hls::fuzzing::{self, PdtParser, Scanner};
use hlsplice::hls::multivariant;

/// 2026-01-01T00:00:00Z in µs: the program time of the first segment when no date is found.
const ANCHOR_US: i64 = 1_767_225_600_000_000;

/// Runs one input; panics on a violation.
pub fn check(data: &[u8]) {
    scan_agrees_with_reference(data);
    line_search(data);
    let mut remembering = PdtParser::default();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let value = match line.iter().position(|&b| b == b':') {
            Some(colon) => &line[colon + 1..],
            None => line,
        };
        attribute_list(value);
        numbers(value);
        date(value, &mut remembering);
    }
    primary_rendition(data);
}

fn scan_agrees_with_reference(data: &[u8]) {
    let mut scanner = Scanner::default();
    for (strip, anchor) in [(false, None), (true, Some(ANCHOR_US))] {
        let want = fuzzing::reference_scan(data, strip, anchor);
        // The second scan starts with the minute the first one read last.
        for pass in 0..2 {
            let got = scanner.scan(data, strip, anchor);
            assert_eq!(
                got, want,
                "scan (strip {strip}, anchor {anchor:?}, pass {pass}) differs from the reference"
            );
        }
        let offsets = want.segment_offsets();
        for pair in offsets.windows(2) {
            assert!(pair[0] < pair[1], "segments out of order: {offsets:?}");
        }
        for &at in &offsets {
            assert!(
                at < data.len() && at > 0 && data[at - 1] == b'\n',
                "segment at {at} is not at a line start"
            );
        }
        let mut end = 0;
        for &(from, to) in want.removals() {
            assert!(
                end <= from && from < to && to <= data.len(),
                "removals out of order, overlapping or outside the input: {:?}",
                want.removals()
            );
            end = to;
        }
    }
}

fn line_search(data: &[u8]) {
    let mut start = 0;
    while start < data.len() {
        let line = fuzzing::line_at(data, start);
        assert_eq!(fuzzing::short_line_at(data, start), line, "line at {start}");
        let (from, end, next) = line;
        assert!(from == start && start <= end && end <= next && next <= data.len());
        assert!(next > start, "no progress at {start}");
        start = next;
    }
}

fn attribute_list(list: &[u8]) {
    let pairs = fuzzing::attributes(list);
    let mut previous_end = None;
    for &(name, value, (from, to)) in &pairs {
        assert!(
            from <= to && to <= list.len(),
            "pair {from}..{to} outside the list"
        );
        if let Some(end) = previous_end {
            assert!(end < from, "pairs out of order");
        }
        previous_end = Some(to);
        let pair = &list[from..to];
        assert!(!pair.is_empty());
        for part in [name, value] {
            let inside = part.is_empty()
                || pair.as_ptr_range().contains(&part.as_ptr()) && part.len() <= pair.len();
            assert!(inside, "a name or value outside its pair");
        }
        let first = pairs.iter().find(|(n, _, _)| *n == name).map(|p| p.1);
        assert_eq!(fuzzing::attribute(list, name), first);
    }
}

fn numbers(value: &[u8]) {
    assert_eq!(
        fuzzing::parse_u64(value),
        fuzzing::reference_decimal_integer(value),
        "decimal-integer {:?}",
        String::from_utf8_lossy(value)
    );
    let decimal = fuzzing::parse_decimal_micros(value);
    assert_eq!(
        decimal,
        plain_decimal_micros(value),
        "decimal {:?}",
        String::from_utf8_lossy(value)
    );
    if let Some((micros, comma)) = fuzzing::plain_extinf(value) {
        assert_eq!(value.get(comma), Some(&b','));
        assert_eq!(
            Some(micros),
            fuzzing::parse_decimal_micros(&value[..comma]),
            "EXTINF fast path on {:?}",
            String::from_utf8_lossy(value)
        );
    }
}

/// `parse_decimal_micros` as its documentation states the rule: surrounding ASCII blanks
/// allowed, at most 12 whole digits, an optional `.` and fractional digits, at least one digit
/// in all; microseconds rounded half up on the seventh fractional digit (later ones ignored).
fn plain_decimal_micros(value: &[u8]) -> Option<i64> {
    let v = value.trim_ascii();
    let (whole, fraction) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (&v[..dot], &v[dot + 1..]),
        None => (v, &v[v.len()..]),
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if whole.len() > 12 || !digits(whole) || !digits(fraction) {
        return None;
    }
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digit = |s: &[u8], i: usize| s.get(i).map_or(0, |&d| i64::from(d - b'0'));
    let seconds = (0..whole.len()).fold(0, |n, i| n * 10 + digit(whole, i));
    let mut micros = (0..6).fold(0, |n, i| n * 10 + digit(fraction, i));
    if digit(fraction, 6) >= 5 {
        micros += 1;
    }
    Some(seconds * 1_000_000 + micros)
}

fn date(value: &[u8], remembering: &mut PdtParser) {
    let fresh = PdtParser::default().parse(value);
    if let Some(chunk) = value.first_chunk::<24>()
        && let Some(fast) = remembering.parse_same_minute(chunk)
    {
        assert_eq!(
            Some(fast),
            PdtParser::default().parse(chunk),
            "same-minute path on {:?}",
            String::from_utf8_lossy(chunk)
        );
    }
    assert_eq!(
        remembering.parse(value),
        fresh,
        "date {:?} read with the last minute remembered",
        String::from_utf8_lossy(value)
    );
    if let Ok(text) = std::str::from_utf8(value)
        && let Ok(t) = DateTime::parse_from_rfc3339(text)
    {
        // chrono keeps nanoseconds (a leap second as 1e9 and more); the parser rounds half up
        // on the seventh fractional digit.
        let nanos = i64::from(t.timestamp_subsec_nanos());
        let round = i64::from(nanos / 100 % 10 >= 5);
        let micros = t.timestamp() * 1_000_000 + nanos / 1000 + round;
        assert_eq!(fresh, Some(micros), "RFC 3339 date {text:?}");
    }
}

fn primary_rendition(data: &[u8]) {
    let renditions = multivariant::renditions(data);
    if let Some(primary) = multivariant::primary_rendition(data) {
        assert!(
            renditions.iter().any(|r| r.variant && r.uri == primary),
            "primary {primary:?} is not a listed variant"
        );
    } else {
        assert!(
            renditions.iter().all(|r| !r.variant),
            "variants but no primary"
        );
    }
}
