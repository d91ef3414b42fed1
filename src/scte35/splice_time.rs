//! splice_time() — SCTE 35 2023r1 §9.4.1 (Table 14) — and 33-bit PTS arithmetic.

use super::bits::{BitReader, BitWriter};
use super::{DecodeError, EncodeError};

/// PTS values are 33-bit counters of a 90 kHz clock; all arithmetic on them wraps modulo 2^33.
pub const PTS_MODULUS: u64 = 1 << 33;
/// Mask of the 33 PTS bits.
pub const PTS_MASK: u64 = PTS_MODULUS - 1;
/// Ticks of the 90 kHz PTS clock per second.
pub const TICKS_PER_SECOND: u64 = 90_000;

/// The largest tick count a SCTE-35 time field holds: segmentation_duration is 40 bits (about
/// 141 days); PTS values, pts_adjustment and break_duration are 33 bits ([`PTS_MASK`]).
pub const MAX_TICKS: u64 = (1 << 40) - 1;

/// When a splice happens, as the builders take it: now, or at a PTS (90 kHz ticks, 33 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpliceTime {
    /// splice_immediate_flag = 1 (splice_insert) / time_specified_flag = 0 (time_signal).
    Immediate,
    /// pts_time in 90 kHz ticks, at most [`PTS_MASK`]. A larger value is not wrapped: encoding
    /// refuses it with [`EncodeError::FieldRange`]. A PTS computed by adding to another wraps
    /// modulo 2^33 by the standard; say so explicitly with `pts & PTS_MASK` (or use
    /// [`effective_pts`]).
    Pts(u64),
}

/// Converts seconds to 90 kHz ticks, rounding to the nearest tick.
///
/// ```
/// use hlsplice::scte35::{seconds_to_ticks, EncodeError};
/// assert_eq!(seconds_to_ticks(30.0), Ok(2_700_000));
/// assert!(matches!(seconds_to_ticks(f64::NAN), Err(EncodeError::InvalidSeconds { .. })));
/// assert!(seconds_to_ticks(-1.0).is_err());
/// assert!(seconds_to_ticks(1e300).is_err());
/// ```
///
/// # Errors
/// [`EncodeError::InvalidSeconds`] when `seconds` is NaN or infinite, negative, or more than
/// [`MAX_TICKS`] ticks (the widest SCTE-35 time field). Whether the ticks fit the field they go
/// into (33 bits for a PTS or break_duration) is checked when the section is encoded.
pub fn seconds_to_ticks(seconds: f64) -> Result<u64, EncodeError> {
    if !seconds.is_finite() {
        return Err(EncodeError::InvalidSeconds {
            reason: "not a finite number",
        });
    }
    if seconds < 0.0 {
        return Err(EncodeError::InvalidSeconds { reason: "negative" });
    }
    let ticks = (seconds * TICKS_PER_SECOND as f64).round();
    // MAX_TICKS < 2^53: exact as an f64, so the comparison and the cast below are exact.
    if ticks > MAX_TICKS as f64 {
        return Err(EncodeError::InvalidSeconds {
            reason: "more than 2^40 - 1 ticks of 90 kHz, the widest SCTE-35 time field (segmentation_duration)",
        });
    }
    Ok(ticks as u64)
}

/// Converts 90 kHz ticks to seconds.
pub fn ticks_to_seconds(ticks: u64) -> f64 {
    ticks as f64 / TICKS_PER_SECOND as f64
}

/// The effective splice time: (pts_time + pts_adjustment) mod 2^33 (SCTE 35 §9.6.1, pts_adjustment).
pub fn effective_pts(pts_time: u64, pts_adjustment: u64) -> u64 {
    (pts_time & PTS_MASK).wrapping_add(pts_adjustment & PTS_MASK) & PTS_MASK
}

/// Encoded size of splice_time() holding `pts_time` (`None`: time_specified_flag = 0).
pub(crate) fn encoded_len(pts_time: Option<u64>) -> usize {
    if pts_time.is_some() { 5 } else { 1 }
}

/// Writes splice_time(); `field` names its pts_time in errors (the table it is part of).
#[inline]
pub(crate) fn encode(w: &mut BitWriter<'_>, pts_time: Option<u64>, field: &'static str) {
    match pts_time {
        Some(pts) => {
            w.flag(true); // time_specified_flag: 1
            w.reserved(6); // reserved: 6
            w.put(33, pts, field); // pts_time: 33
        }
        None => {
            w.flag(false); // time_specified_flag: 1
            w.reserved(7); // reserved: 7
        }
    }
}

#[inline(always)]
pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Option<u64>, DecodeError> {
    let time_specified_flag = r.flag("time_specified_flag")?; // 1
    if time_specified_flag {
        r.skip(6)?; // reserved: 6
        Ok(Some(r.get(33, "pts_time")?)) // pts_time: 33
    } else {
        r.skip(7)?; // reserved: 7
        Ok(None)
    }
}
