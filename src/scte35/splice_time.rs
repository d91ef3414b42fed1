//! splice_time() — SCTE 35 2023r1 §9.4.1 (Table 14) — and 33-bit PTS arithmetic.

use super::DecodeError;
use super::bits::{BitReader, BitWriter};

/// PTS values are 33-bit counters of a 90 kHz clock; all arithmetic on them wraps modulo 2^33.
pub const PTS_MODULUS: u64 = 1 << 33;
/// Mask of the 33 PTS bits.
pub const PTS_MASK: u64 = PTS_MODULUS - 1;
/// Ticks of the 90 kHz PTS clock per second.
pub const TICKS_PER_SECOND: u64 = 90_000;

/// When a splice happens, as the builders take it: now, or at a PTS (90 kHz ticks, 33 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpliceTime {
    /// splice_immediate_flag = 1 (splice_insert) / time_specified_flag = 0 (time_signal).
    Immediate,
    /// pts_time in 90 kHz ticks; wrapped to 33 bits when encoded by a builder.
    Pts(u64),
}

/// Converts seconds to 90 kHz ticks, rounding to the nearest tick (negative and NaN give 0).
pub fn seconds_to_ticks(seconds: f64) -> u64 {
    // `as` saturates: NaN and negatives become 0, huge values u64::MAX.
    (seconds * TICKS_PER_SECOND as f64).round() as u64
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

pub(crate) fn encode(w: &mut BitWriter<'_>, pts_time: Option<u64>) {
    match pts_time {
        Some(pts) => {
            w.flag(true); // time_specified_flag: 1
            w.reserved(6); // reserved: 6
            w.put(33, pts, "pts_time"); // pts_time: 33
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
