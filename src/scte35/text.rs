//! Text forms of a section: `0x` + uppercase hex (the form EXT-X-DATERANGE SCTE35-OUT/-IN/-CMD
//! requires, RFC 8216bis §4.4.5.1.1) and standard padded base64 (the `#EXT-X-CUE` / `CUE=` form).

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::{DecodeError, EncodeError};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Accepts base64 with or without padding.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Length of `"0x"` + hex of `n` bytes.
pub const fn hex_len(n: usize) -> usize {
    2 + 2 * n
}

/// Length of padded base64 of `n` bytes.
pub const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes `"0x"` + uppercase hex of `bytes` into `out`; returns the bytes written. Allocates nothing.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`hex_len`]`(bytes.len())`.
pub fn hex_into(bytes: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let needed = hex_len(bytes.len());
    let Some(out) = out.get_mut(..needed) else {
        return Err(EncodeError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    };
    let (prefix, digits) = out.split_at_mut(2);
    prefix.copy_from_slice(b"0x");
    for (pair, &b) in digits.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_UPPER[usize::from(b >> 4)];
        pair[1] = HEX_UPPER[usize::from(b & 0x0F)];
    }
    Ok(needed)
}

/// Writes standard padded base64 of `bytes` into `out`; returns the bytes written. Allocates nothing.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`base64_len`]`(bytes.len())`.
pub fn base64_into(bytes: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let needed = base64_len(bytes.len());
    general_purpose::STANDARD
        .encode_slice(bytes, out)
        .map_err(|_| EncodeError::BufferTooSmall {
            needed,
            available: out.len(),
        })
}

/// `"0x"` + uppercase hex, the EXT-X-DATERANGE SCTE35-OUT form.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; hex_len(bytes.len())];
    let n = hex_into(bytes, &mut out).unwrap_or(0);
    out.truncate(n);
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

/// Standard alphabet, padded base64.
pub fn to_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

/// Decodes hex (`0x`/`0X` prefix optional, any case) or base64 (padding optional) to bytes.
/// Surrounding whitespace is ignored. Text of only hex digits (after an optional `0x`) is hex:
/// a section's base64 always starts with `/D`, so the two forms cannot be confused.
///
/// # Errors
/// [`DecodeError::InvalidText`] naming the first offending character.
pub fn decode_text(text: &str) -> Result<Vec<u8>, DecodeError> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DecodeError::InvalidText {
            offset: 0,
            reason: "empty input",
        });
    }
    let (digits, start) = match trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        Some(rest) => (rest, lead + 2),
        None => (trimmed, lead),
    };
    let forced_hex = digits.len() != trimmed.len();
    if forced_hex || digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return decode_hex(digits, start);
    }
    BASE64_LENIENT.decode(trimmed).map_err(|err| {
        let (offset, reason) = match err {
            base64::DecodeError::InvalidByte(at, _) => (at, "not a base64 character"),
            base64::DecodeError::InvalidLength(at) => (at, "base64 length is not valid"),
            base64::DecodeError::InvalidLastSymbol(at, _) => (at, "invalid last base64 symbol"),
            base64::DecodeError::InvalidPadding => (trimmed.len(), "invalid base64 padding"),
        };
        DecodeError::InvalidText {
            offset: lead + offset,
            reason,
        }
    })
}

fn decode_hex(digits: &str, start: usize) -> Result<Vec<u8>, DecodeError> {
    let bytes = digits.as_bytes();
    if bytes.is_empty() {
        return Err(DecodeError::InvalidText {
            offset: start,
            reason: "no hex digits after 0x",
        });
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::InvalidText {
            offset: start + bytes.len(),
            reason: "odd number of hex digits",
        });
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or(DecodeError::InvalidText {
            offset: start + 2 * i,
            reason: "not a hex digit",
        })?;
        let lo = hex_value(pair[1]).ok_or(DecodeError::InvalidText {
            offset: start + 2 * i + 1,
            reason: "not a hex digit",
        })?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
