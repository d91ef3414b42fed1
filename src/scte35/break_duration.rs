//! break_duration() — SCTE 35 2023r1 §9.4.2 (Table 15).

use super::DecodeError;
use super::bits::{BitReader, BitWriter};

/// break_duration(): how long the break lasts, and whether the splicer returns on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BreakDuration {
    /// auto_return: 1
    pub auto_return: bool,
    /// duration: 33 (90 kHz ticks; at most [`PTS_MASK`](super::PTS_MASK), or encoding fails)
    pub duration: u64,
}

impl BreakDuration {
    pub(crate) const ENCODED_LEN: usize = 5;

    #[inline]
    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.flag(self.auto_return); // auto_return: 1
        w.reserved(6); // reserved: 6
        w.put(33, self.duration, "break_duration.duration"); // duration: 33
    }

    #[inline(always)]
    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let auto_return = r.flag("auto_return")?; // auto_return: 1
        r.skip(6)?; // reserved: 6
        let duration = r.get(33, "duration")?; // duration: 33
        Ok(BreakDuration {
            auto_return,
            duration,
        })
    }
}
