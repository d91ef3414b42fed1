//! DTMF_descriptor() — SCTE 35 2023r1 §10.3.2 (Table 18).

use crate::scte35::DecodeError;
use crate::scte35::bits::{BitReader, BitWriter};

/// DTMF_descriptor(): the DTMF sequence a legacy splicer should emit (tag 0x01).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DtmfDescriptor {
    /// preroll: 8 (tenths of a second)
    pub preroll: u8,
    /// DTMF_char: 8 × dtmf_count (dtmf_count: 3, so at most 7); ASCII "0-9", "*", "#".
    pub dtmf_chars: Vec<u8>,
}

impl DtmfDescriptor {
    pub(crate) fn body_len(&self) -> usize {
        2 + self.dtmf_chars.len()
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(8, u64::from(self.preroll), "DTMF_descriptor.preroll"); // preroll: 8
        w.put(
            3,
            self.dtmf_chars.len() as u64,
            "DTMF_descriptor.dtmf_count",
        ); // dtmf_count: 3
        w.reserved(5); // reserved: 5
        w.bytes(&self.dtmf_chars); // DTMF_char: 8 × dtmf_count
    }

    pub(crate) fn decode(r: &mut BitReader<'_>) -> Result<Self, DecodeError> {
        let preroll = r.u8(8, "preroll")?; // preroll: 8
        let dtmf_count = r.u8(3, "dtmf_count")?; // dtmf_count: 3
        r.skip(5)?; // reserved: 5
        let dtmf_chars = r.bytes(usize::from(dtmf_count), "DTMF_char")?.to_vec();
        Ok(DtmfDescriptor {
            preroll,
            dtmf_chars,
        })
    }
}
