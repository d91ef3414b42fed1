//! time_descriptor() — SCTE 35 2023r1 §10.3.4 (Table 25).

use crate::scte35::DecodeError;
use crate::scte35::bits::{BitReader, BitWriter};

/// time_descriptor(): TAI time of the signal, for wall-clock alignment (tag 0x03).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimeDescriptor {
    /// TAI_seconds: 48
    pub tai_seconds: u64,
    /// TAI_ns: 32
    pub tai_ns: u32,
    /// UTC_offset: 16
    pub utc_offset: u16,
}

impl TimeDescriptor {
    pub(crate) fn body_len(&self) -> usize {
        12
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(48, self.tai_seconds, "time_descriptor.TAI_seconds"); // TAI_seconds: 48
        w.put(32, u64::from(self.tai_ns), "time_descriptor.TAI_ns"); // TAI_ns: 32
        w.put(16, u64::from(self.utc_offset), "time_descriptor.UTC_offset"); // UTC_offset: 16
    }

    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let tai_seconds = r.get(48, "TAI_seconds")?; // TAI_seconds: 48
        let tai_ns = r.u32(32, "TAI_ns")?; // TAI_ns: 32
        let utc_offset = r.u16(16, "UTC_offset")?; // UTC_offset: 16
        Ok(TimeDescriptor {
            tai_seconds,
            tai_ns,
            utc_offset,
        })
    }
}
