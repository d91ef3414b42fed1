//! A plain reference for the scan, for the property tests and the fuzz target `playlist_scan`
//! that hold the fast scan to it (compiled for tests and with feature `fuzzing` only).
//!
//! It implements the rule stated in `scan.rs` line by line, as written: the input is split on
//! `\n` (a `\r` before it belongs to the terminator), a tag's name is the text before its first
//! colon, and one `match` on the name decides. No fast paths, no guessed line lengths, no
//! word-at-a-time compares, no prefilter, no prefix dispatch, no state kept between calls (each
//! date is read by a fresh parser, so nothing is remembered from the previous one). It shares
//! with the scan only the value parsers (decimal, date, integer and attribute list), which
//! have their own tests against plain forms and chrono.

use super::attributes::{Attributes, attribute, unquote};
use super::outcome::RewriteError;
use super::scan::{
    Header, STRIPPED_IDS, Segment, UPSTREAM_MARKER_TAGS, can_skip_dateranges, extinf_duration,
};
use super::time::{PdtParser, parse_decimal_micros, round_to_millis};

/// What the reference scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Scanned {
    pub header: Header,
    pub segments: Vec<Segment>,
    pub removals: Vec<(usize, usize)>,
}

/// A `decimal-integer` (RFC 8216bis §4.2): 1 to 20 digits up to 2^64 - 1; surrounding blanks
/// are tolerated, as the scan does.
pub(super) fn decimal_integer(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Scans `input` as the rule says.
///
/// # Errors
/// As the scan.
pub(super) fn reference_scan(input: &[u8], strip: bool) -> Result<Scanned, RewriteError> {
    let mut header = Header::default();
    let mut segments: Vec<Segment> = Vec::new();
    let mut removals = Vec::new();
    let mut open: Option<usize> = None;
    let mut pending_pdt: Option<i64> = None;
    let mut stripped_ids: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for (index, raw) in input.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_start = start;
        let next = start + raw.len();
        start = next;
        let number = index + 1;
        let text = match raw.strip_suffix(b"\n") {
            Some(t) => t.strip_suffix(b"\r").unwrap_or(t),
            None => raw,
        };
        if index == 0 {
            let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            if !text.starts_with(b"#EXTM3U") {
                return Err(RewriteError::NotAPlaylist);
            }
            header.crlf = raw.ends_with(b"\r\n");
            continue;
        }
        if !text.starts_with(b"#") {
            if !text.trim_ascii().is_empty()
                && let Some(i) = open.take()
            {
                segments[i].complete = true;
            }
            continue;
        }
        let (name, value, value_at) = match text.iter().position(|&b| b == b':') {
            Some(colon) => (&text[..colon], &text[colon + 1..], colon + 1),
            None => (text, &text[text.len()..], text.len()),
        };
        let invalid = |tag| RewriteError::InvalidTag { line: number, tag };
        match name {
            b"#EXT-X-PART" if open.is_none() => {
                open = Some(segments.len());
                segments.push(Segment {
                    at: line_start,
                    pdt: pending_pdt.take(),
                    ..Segment::default()
                });
            }
            b"#EXTINF" => {
                let duration = extinf_duration(value, number)?;
                match open {
                    Some(i) => segments[i].duration = duration,
                    None => {
                        open = Some(segments.len());
                        segments.push(Segment {
                            at: line_start,
                            duration,
                            pdt: pending_pdt.take(),
                            ..Segment::default()
                        });
                    }
                }
            }
            b"#EXT-X-PROGRAM-DATE-TIME" => {
                if let Some(t) = PdtParser::default().parse(value) {
                    header.has_pdt = true;
                    match open {
                        Some(i) => {
                            segments[i].pdt.get_or_insert(t);
                        }
                        None => pending_pdt = Some(t),
                    }
                }
            }
            b"#EXT-X-MEDIA-SEQUENCE" => {
                header.media_sequence =
                    decimal_integer(value).ok_or(invalid("EXT-X-MEDIA-SEQUENCE"))?;
            }
            b"#EXT-X-TARGETDURATION" => {
                header.target_duration_us =
                    Some(parse_decimal_micros(value).ok_or(invalid("EXT-X-TARGETDURATION"))?);
            }
            b"#EXT-X-PART-INF" => {
                header.part_target_us =
                    attribute(value, b"PART-TARGET").and_then(parse_decimal_micros);
            }
            b"#EXT-X-ENDLIST" => header.ended = true,
            b"#EXT-X-SKIP" => {
                header.skipped_segments = attribute(value, b"SKIPPED-SEGMENTS")
                    .and_then(decimal_integer)
                    .ok_or(invalid("EXT-X-SKIP"))?;
            }
            b"#EXT-X-SERVER-CONTROL" => {
                removals.extend(can_skip_dateranges(value, line_start + value_at));
            }
            b"#EXT-X-STREAM-INF" | b"#EXT-X-I-FRAME-STREAM-INF" => {
                header.multivariant = true;
                break;
            }
            b"#EXT-X-DATERANGE" if strip => {
                let is_scte35 = Attributes::new(value).any(|(n, _, _)| n.starts_with(b"SCTE35-"));
                let id = attribute(value, b"ID").map(unquote);
                let known = id.is_some_and(|id| stripped_ids.contains(&id));
                if is_scte35 || known {
                    removals.push((line_start, next));
                }
                if let Some(id) = id
                    && is_scte35
                    && !known
                    && stripped_ids.len() < STRIPPED_IDS
                {
                    stripped_ids.push(id);
                }
            }
            _ if strip && UPSTREAM_MARKER_TAGS.contains(&name) => {
                removals.push((line_start, next));
            }
            _ => {}
        }
    }
    if input.is_empty() {
        return Err(RewriteError::NotAPlaylist);
    }
    Ok(Scanned {
        header,
        segments,
        removals,
    })
}

/// Segment starts as the rule says: the first segment with a date (or the anchor on the first
/// segment) fixes the time; it runs forward by EXTINF, restarting at each date, and backwards
/// by EXTINF before the first date. `false` without any time.
pub(super) fn reference_times(segments: &mut [Segment], anchor: Option<i64>) -> bool {
    let first_dated = segments.iter().position(|s| s.pdt.is_some());
    let (from, time) = match (first_dated, anchor) {
        (Some(i), _) => (i, segments[i].pdt.unwrap_or_default()),
        (None, Some(t)) => (0, t),
        (None, None) => return false,
    };
    let mut t = time;
    for i in (0..from).rev() {
        t = t.saturating_sub(segments[i].duration);
        segments[i].start = round_to_millis(t);
    }
    let mut t = time;
    for segment in &mut segments[from..] {
        t = segment.pdt.unwrap_or(t);
        segment.start = round_to_millis(t);
        t = t.saturating_add(segment.duration);
    }
    true
}

#[cfg(test)]
#[path = "../../tests/common/playlists.rs"]
mod playlists;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::scan::{ScanScratch, resolve_times, scan};
    use super::*;

    /// Compares the fast scan with the reference on `input`: header, every segment's offset,
    /// duration, date and completeness, the removed ranges, the error if any, and every
    /// segment's start once times are resolved. `scratch` may have scanned other playlists
    /// before (its date parser remembers the last minute).
    fn agree(input: &[u8], strip: bool, anchor: Option<i64>, scratch: &mut ScanScratch) {
        let fast = scan(input, strip, scratch);
        let reference = reference_scan(input, strip);
        let text = String::from_utf8_lossy(input);
        match (fast, reference) {
            (Ok(header), Ok(mut want)) => {
                assert_eq!(header, want.header, "header of\n{text}");
                assert_eq!(scratch.removals, want.removals, "removals in\n{text}");
                let has_time = resolve_times(&mut scratch.segments, anchor);
                assert_eq!(
                    has_time,
                    reference_times(&mut want.segments, anchor),
                    "time of\n{text}"
                );
                assert_eq!(scratch.segments, want.segments, "segments of\n{text}");
            }
            (Err(e), Err(want)) => assert_eq!(e, want, "error on\n{text}"),
            (fast, reference) => panic!(
                "scan {:?} but reference {:?} on\n{text}",
                fast.map(|_| ()),
                reference.map(|_| ())
            ),
        }
    }

    /// Lines that exercise the rule's corners, inserted between a generated playlist's lines.
    const EXTRA_LINES: &[&str] = &[
        "",
        "   ",
        "\t",
        "# comment",
        "#EXT",
        "#EXTINF",
        "#EXTINF:",
        "#EXTINF:4.5",
        "#EXTINF:12.000000001,title",
        "#EXTINF: 3.25 ,",
        "#EXTINF:x,",
        "#EXT-X-PART",
        "#EXT-X-PART:DURATION=1.0,URI=\"x.m4s\"",
        "#EXT-X-PROGRAM-DATE-TIME",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:30.000Z",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:30.000",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T09:00:30.5+01:00",
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:01:00.000Z",
        "#EXT-X-PROGRAM-DATE-TIME:not a date",
        "#EXT-X-MEDIA-SEQUENCE:42",
        "#EXT-X-MEDIA-SEQUENCE",
        "#EXT-X-MEDIA-SEQUENCE:00000000000000000000042",
        "#EXT-X-TARGETDURATION:8",
        "#EXT-X-TARGETDURATION:-1",
        "#EXT-X-PART-INF:PART-TARGET=0.5",
        "#EXT-X-ENDLIST",
        "#EXT-X-ENDLIST:",
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=3",
        "#EXT-X-SKIP:SKIPPED-SEGMENTS=3,RECENTLY-REMOVED-DATERANGES=\"a\"",
        "#EXT-X-SERVER-CONTROL:CAN-SKIP-DATERANGES=YES,CAN-SKIP-UNTIL=12",
        "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12,CAN-SKIP-DATERANGES=YES",
        "#EXT-X-CUE-OUT:30",
        "#EXT-X-CUE-OUT",
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=4,Duration=30",
        "#EXT-X-CUE-IN",
        "#EXT-X-CUE",
        "#EXT-OATCLS-SCTE35:/DAlAAAAAAAAAP/wFAUAAAABf+//wpiQkv4ARKogAAEBAQAAQ6sodg==",
        "#EXT-X-ASSET:CAID=1",
        "#EXT-X-DATERANGE:ID=\"a\",START-DATE=\"2026-11-21T08:00:00Z\",SCTE35-OUT=0xFC",
        "#EXT-X-DATERANGE:ID=\"a\",START-DATE=\"2026-11-21T08:00:00Z\",DURATION=4",
        "#EXT-X-DATERANGE:ID=\"b\",START-DATE=\"2026-11-21T08:00:00Z\"",
        "#EXT-X-DATERANGE:ID=\"b\",START-DATE=\"2026-11-21T08:00:00Z\",SCTE35-IN=0xFC",
        "#EXT-X-VERSION:9",
        "#EXT-X-MAP:URI=\"init.mp4\"",
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p.m4s\"",
        "a.ts",
        "segment-with-a-much-longer-name-00000001.ts",
        " leading-space.ts",
        "x",
        "#EXT-X-STREAM-INF:BANDWIDTH=1",
    ];

    /// A generated playlist with extra lines inserted (at line indexes, in order), with LF or
    /// CRLF (the generated playlist's own, or the other one for some extra lines).
    fn decorated() -> impl Strategy<Value = Vec<u8>> {
        (
            playlists::playlist(),
            prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    0..EXTRA_LINES.len(),
                    any::<bool>(),
                ),
                0..8,
            ),
        )
            .prop_map(|(spec, extras)| {
                let (input, _) = spec.render();
                let mut lines: Vec<Vec<u8>> = input
                    .split_inclusive(|&b| b == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                for (at, extra, other_eol) in extras {
                    let eol: &[u8] = if spec.crlf != other_eol {
                        b"\r\n"
                    } else {
                        b"\n"
                    };
                    let mut line = EXTRA_LINES[extra].as_bytes().to_vec();
                    line.extend_from_slice(eol);
                    // Never before the first line: that one must stay #EXTM3U.
                    let at = 1 + at.index(lines.len());
                    lines.insert(at.min(lines.len()), line);
                }
                lines.concat()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn fast_scan_agrees_with_the_reference_on_generated_playlists(
            spec in playlists::playlist(),
            strip in any::<bool>(),
        ) {
            let (input, _) = spec.render();
            let mut scratch = ScanScratch::default();
            // Twice with one scratch: the second scan starts with the last minute remembered.
            agree(&input, strip, Some(1), &mut scratch);
            agree(&input, strip, None, &mut scratch);
        }

        #[test]
        fn fast_scan_agrees_with_the_reference_with_extra_lines(
            inputs in prop::collection::vec(decorated(), 1..4),
            strip in any::<bool>(),
            anchor in any::<bool>(),
        ) {
            let mut scratch = ScanScratch::default();
            for input in &inputs {
                agree(input, strip, anchor.then_some(1_795_000_000_000_000), &mut scratch);
            }
        }

        #[test]
        fn fast_scan_agrees_with_the_reference_on_mutated_playlists(
            inputs in prop::collection::vec(playlists::mutated_playlist(), 1..4),
            strip in any::<bool>(),
        ) {
            let mut scratch = ScanScratch::default();
            for input in &inputs {
                agree(input, strip, None, &mut scratch);
            }
        }
    }

    /// Every playlist in testdata, as it is.
    #[test]
    fn fast_scan_agrees_with_the_reference_on_testdata() {
        let mut scratch = ScanScratch::default();
        let files = playlists::testdata_playlists();
        assert!(files.len() > 10, "testdata/playlists is missing");
        for input in &files {
            for strip in [false, true] {
                agree(input, strip, None, &mut scratch);
            }
        }
    }
}
