//! avail_descriptor() — SCTE 35 2023r1 §10.3.1 (Table 17).

use crate::scte35::DecodeError;
use crate::scte35::bits::{BitReader, BitWriter};

/// avail_descriptor(): identifies the avail by a provider-assigned number (tag 0x00).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AvailDescriptor {
    /// provider_avail_id: 32
    pub provider_avail_id: u32,
}

impl AvailDescriptor {
    pub(crate) fn body_len(&self) -> usize {
        4
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            32,
            u64::from(self.provider_avail_id),
            "avail_descriptor.provider_avail_id",
        ); // provider_avail_id: 32
    }

    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        Ok(AvailDescriptor {
            provider_avail_id: r.u32(32, "provider_avail_id")?,
        }) // 32
    }
}
