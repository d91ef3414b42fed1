//! time_signal() — SCTE 35 2023r1 §9.7.4 (Table 11).

use super::DecodeError;
use super::bits::{BitReader, BitWriter};
use super::splice_time;

/// time_signal(): a splice_time() that its descriptors (usually segmentation) refer to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimeSignal {
    /// splice_time(): pts_time: 33, `None` when time_specified_flag is 0 (immediate).
    pub pts_time: Option<u64>,
}

impl TimeSignal {
    pub(crate) fn encoded_len(&self) -> usize {
        splice_time::encoded_len(self.pts_time)
    }

    #[inline]
    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        splice_time::encode(w, self.pts_time, "time_signal.splice_time.pts_time");
    }

    #[inline(always)]
    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        Ok(TimeSignal {
            pts_time: splice_time::decode(r)?,
        })
    }
}
