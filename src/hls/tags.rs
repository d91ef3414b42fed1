//! The marker lines, formatted into the output buffer: the CUE family, the SCTE-35 DATERANGE
//! pair (RFC 8216bis §4.4.5.1.1) and the program date inserted into playlists without one.
//! Every value comes from a stored decision or the playlist, so each line is the same bytes in
//! every rendition and on every refresh.

use base64::Engine as _;

use super::options::CueStyle;
use super::time::{MICROS_PER_MILLI, SmallText, push_date, push_seconds_3, put_seconds_3};
use super::timeline::Break;

/// A planned duration in milliseconds as µs, saturating (stored values may be anything).
pub(super) fn planned_micros(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(MICROS_PER_MILLI)
}

/// Appends the line terminator of the playlist.
#[inline]
pub(super) fn push_eol(out: &mut Vec<u8>, crlf: bool) {
    if crlf {
        out.extend_from_slice(b"\r\n");
    } else {
        out.push(b'\n');
    }
}

/// `text` inside a quoted-string, which may carry neither `"` nor line breaks (RFC 8216bis
/// §4.2): they are left out.
pub(super) fn push_unquoted(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|b| !matches!(b, b'"' | b'\r' | b'\n')));
}

/// A quoted-string (see [`push_unquoted`]).
fn push_quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    push_unquoted(out, text);
    out.push(b'"');
}

/// A hexadecimal-sequence (`0x…`, RFC 8216bis §4.2), upper case.
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

/// Standard base64 with padding, as `EXT-OATCLS-SCTE35` and `SCTE35=` carry it.
pub(super) fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
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

/// `#EXT-X-PROGRAM-DATE-TIME:<date>`, for a playlist without any.
pub(super) fn push_program_date_time(out: &mut Vec<u8>, start: i64, crlf: bool) {
    out.extend_from_slice(b"#EXT-X-PROGRAM-DATE-TIME:");
    push_date(out, start);
    push_eol(out, crlf);
}

/// `#EXT-X-DATERANGE:ID="…",START-DATE="…",PLANNED-DURATION=…,SCTE35-OUT=0x…` (§4.4.5.1.1).
pub(super) fn push_daterange_out(
    out: &mut Vec<u8>,
    b: &Break,
    start: i64,
    planned: &SmallText,
    crlf: bool,
) {
    out.extend_from_slice(b"#EXT-X-DATERANGE:ID=");
    push_quoted(out, &b.daterange_id);
    out.extend_from_slice(b",START-DATE=\"");
    push_date(out, start);
    out.extend_from_slice(b"\",PLANNED-DURATION=");
    out.extend_from_slice(planned.as_bytes());
    if !b.scte35_out.is_empty() {
        out.extend_from_slice(b",SCTE35-OUT=");
        push_hex(out, &b.scte35_out);
    }
    push_eol(out, crlf);
}

/// The closing tag: same ID, the same START-DATE, plus END-DATE, DURATION and SCTE35-IN.
/// Written once per break and rewrite: kept out of line so that the render loop stays small.
#[inline(never)]
pub(super) fn push_daterange_in(out: &mut Vec<u8>, b: &Break, start: i64, end: i64, crlf: bool) {
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

/// `[#EXT-OATCLS-SCTE35:<base64>]` then `#EXT-X-CUE-OUT:DURATION=<planned>` (or
/// `#EXT-X-CUE-OUT:<planned>` in the elemental and slash styles), before the break's first
/// segment.
#[inline]
pub(super) fn push_cue_out(
    out: &mut Vec<u8>,
    b: &Break,
    planned: &SmallText,
    style: CueStyle,
    enhanced: bool,
    crlf: bool,
) {
    if enhanced && !b.scte35_out.is_empty() {
        out.extend_from_slice(b"#EXT-OATCLS-SCTE35:");
        push_base64(out, &b.scte35_out);
        push_eol(out, crlf);
    }
    out.extend_from_slice(match style {
        CueStyle::Duration => b"#EXT-X-CUE-OUT:DURATION=",
        CueStyle::Elemental | CueStyle::Slash => b"#EXT-X-CUE-OUT:",
    });
    out.extend_from_slice(planned.as_bytes());
    push_eol(out, crlf);
}

/// `#EXT-X-CUE-OUT-CONT:ElapsedTime=<elapsed>,Duration=<planned>,SCTE35=<base64>`, the
/// enhanced form of the duration and elemental styles (AWS MediaPackage's `SCTE35_ENHANCED`).
pub(super) fn push_cue_out_cont_scte35(
    out: &mut Vec<u8>,
    b: &Break,
    elapsed: i64,
    planned: &SmallText,
    crlf: bool,
) {
    out.extend_from_slice(b"#EXT-X-CUE-OUT-CONT:ElapsedTime=");
    push_seconds_3(out, elapsed);
    out.extend_from_slice(b",Duration=");
    out.extend_from_slice(planned.as_bytes());
    out.extend_from_slice(b",SCTE35=");
    push_base64(out, &b.scte35_out);
    push_eol(out, crlf);
}

/// The start of a CUE-OUT-CONT line, padded to 32 bytes (the padding is overwritten), and
/// its length: `#EXT-X-CUE-OUT-CONT:ElapsedTime=` in the duration and elemental styles,
/// `#EXT-X-CUE-OUT-CONT:` in the slash style.
pub(super) fn cont_prefix(style: CueStyle) -> (&'static [u8; 32], usize) {
    match style {
        CueStyle::Duration | CueStyle::Elemental => (b"#EXT-X-CUE-OUT-CONT:ElapsedTime=", 32),
        CueStyle::Slash => (b"#EXT-X-CUE-OUT-CONT:............", 20),
    }
}

/// The end of every CUE-OUT-CONT line of one break in one style, after the elapsed time:
/// `,Duration=<planned><eol>` or `/<planned><eol>`, at most 10 + 17 + 2 bytes (`planned` has
/// at most 13 whole digits).
pub(super) fn cont_suffix(style: CueStyle, planned: &SmallText, crlf: bool) -> ([u8; 32], usize) {
    let mut suffix = [0u8; 32];
    let mut len = 0;
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let separator: &[u8] = match style {
        CueStyle::Duration | CueStyle::Elemental => b",Duration=",
        CueStyle::Slash => b"/",
    };
    for part in [separator, planned.as_bytes(), eol] {
        if let Some(dst) = suffix.get_mut(len..len + part.len()) {
            dst.copy_from_slice(part);
            len += part.len();
        }
    }
    (suffix, len)
}

/// A CUE-OUT-CONT line without payload: `prefix` (its first `prefix_len` bytes), the elapsed
/// time, then `suffix` (its first `suffix_len` bytes), written on every segment of a break.
/// Written in place: the output grows by a fixed 96 bytes (a few vector stores), the parts are
/// stored into them whole (32, 24 and 32 bytes, each later one overwriting the padding of the
/// one before), and the output is cut to length. Copies of the exact length would be a
/// `memcpy` call each; assembling the line in a stack buffer first made the copy read bytes
/// still in the store buffer, a store-forwarding stall per line.
#[inline]
pub(super) fn push_cue_out_cont(
    out: &mut Vec<u8>,
    (prefix, prefix_len): (&[u8; 32], usize),
    elapsed: i64,
    (suffix, suffix_len): (&[u8; 32], usize),
) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 96]);
    let mut written = prefix_len.min(32);
    if let Some(line) = out.get_mut(start..start + 96) {
        line[..32].copy_from_slice(prefix);
        if let Some(number) = line
            .get_mut(written..written + 24)
            .and_then(|n| <&mut [u8; 24]>::try_from(n).ok())
        {
            written += put_seconds_3(number, elapsed);
        }
        // The prefix takes at most 32 bytes and the number at most 24, so the suffix fits.
        if let Some(dst) = line.get_mut(written..written + 32) {
            dst.copy_from_slice(suffix);
            written += suffix_len.min(32);
        }
    }
    out.truncate(start + written);
}

/// `#EXT-X-CUE-IN`, before the first segment after the break.
pub(super) fn push_cue_in(out: &mut Vec<u8>, crlf: bool) {
    out.extend_from_slice(b"#EXT-X-CUE-IN");
    push_eol(out, crlf);
}
