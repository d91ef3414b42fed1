//! splice_descriptor() — SCTE 35 2023r1 §10.2 (Table 16) and the descriptor loop.
//!
//! Every descriptor is `splice_descriptor_tag: 8`, `descriptor_length: 8`, `identifier: 32`, then its
//! body. SCTE descriptors (identifier "CUEI") with tags 0x00–0x04 are decoded into typed values;
//! anything else (other tags, other identifiers, or a typed descriptor with bytes the standard does
//! not define after its last field) is kept as opaque bytes and re-encoded unchanged.
//!
//! ```
//! use hlsplice::scte35::descriptors::{CUEI, SegmentationDescriptor, SpliceDescriptor, tag};
//! use hlsplice::scte35::{self, SpliceInfoSection, SpliceTime};
//!
//! // Provider Placement Opportunity Start (0x34), 60 s, with a 12-byte Ad-ID UPID (type 0x03).
//! let mut placement = SegmentationDescriptor::new(1, 0x34);
//! placement.segmentation_duration = Some(60 * 90_000);
//! placement.segmentation_upid_type = 0x03;
//! placement.segmentation_upid = b"ABCD01234567".to_vec();
//! assert_eq!(scte35::segmentation_upid_fixed_length(0x03), Some(12));
//!
//! let section = scte35::time_signal_segmentation(SpliceTime::Pts(900_000), placement);
//! let back = SpliceInfoSection::decode(&section.to_vec()?).unwrap();
//! let descriptor = &back.splice_descriptors()[0];
//! assert_eq!(descriptor.splice_descriptor_tag(), tag::SEGMENTATION);
//! assert_eq!(descriptor.identifier(), Some(CUEI));
//! let SpliceDescriptor::Segmentation(seg) = descriptor else { unreachable!() };
//! assert_eq!(seg.segmentation_upid, b"ABCD01234567");
//!
//! // A UPID longer than segmentation_upid_length (8 bits) can say is refused.
//! let mut long = SegmentationDescriptor::new(2, 0x34);
//! long.segmentation_upid_type = 0x0C;
//! long.segmentation_upid = vec![b'x'; 256];
//! let err = scte35::time_signal_segmentation(SpliceTime::Immediate, long).to_vec().unwrap_err();
//! assert!(err.to_string().contains("segmentation_descriptor.segmentation_upid_length"));
//! # Ok::<(), scte35::EncodeError>(())
//! ```

use super::bits::{BitReader, BitWriter, range_error};
use super::{DecodeError, EncodeError};

mod audio;
mod avail;
mod dtmf;
mod segmentation;
mod time;

pub use audio::{AudioComponent, AudioDescriptor};
pub use avail::AvailDescriptor;
pub use dtmf::DtmfDescriptor;
pub use segmentation::{
    DeliveryRestrictions, SUB_SEGMENT_TYPES, SegmentationComponent, SegmentationDescriptor,
    SubSegment, segmentation_upid_fixed_length,
};
pub use time::TimeDescriptor;

/// "CUEI", the identifier of SCTE 35 descriptors.
pub const CUEI: u32 = 0x4355_4549;

/// splice_descriptor_tag values of the SCTE descriptors (Table 16).
///
/// ```
/// use hlsplice::scte35::descriptors::{AvailDescriptor, SpliceDescriptor, tag};
/// let avail = SpliceDescriptor::Avail(AvailDescriptor { provider_avail_id: 309 });
/// assert_eq!(avail.splice_descriptor_tag(), tag::AVAIL);
/// ```
pub mod tag {
    /// avail_descriptor() (§10.3.1).
    pub const AVAIL: u8 = 0x00;
    /// DTMF_descriptor() (§10.3.2).
    pub const DTMF: u8 = 0x01;
    /// segmentation_descriptor() (§10.3.3).
    pub const SEGMENTATION: u8 = 0x02;
    /// time_descriptor() (§10.3.4).
    pub const TIME: u8 = 0x03;
    /// audio_descriptor() (§10.3.5).
    pub const AUDIO: u8 = 0x04;
}

/// One splice_descriptor().
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpliceDescriptor {
    /// avail_descriptor() (0x00, "CUEI").
    Avail(AvailDescriptor),
    /// DTMF_descriptor() (0x01, "CUEI").
    Dtmf(DtmfDescriptor),
    /// segmentation_descriptor() (0x02, "CUEI").
    Segmentation(SegmentationDescriptor),
    /// time_descriptor() (0x03, "CUEI").
    Time(TimeDescriptor),
    /// audio_descriptor() (0x04, "CUEI").
    Audio(AudioDescriptor),
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
            SpliceDescriptor::Avail(_) => tag::AVAIL,
            SpliceDescriptor::Dtmf(_) => tag::DTMF,
            SpliceDescriptor::Segmentation(_) => tag::SEGMENTATION,
            SpliceDescriptor::Time(_) => tag::TIME,
            SpliceDescriptor::Audio(_) => tag::AUDIO,
            SpliceDescriptor::Unknown {
                splice_descriptor_tag,
                ..
            } => *splice_descriptor_tag,
        }
    }

    /// identifier: 32 (`None` for an opaque descriptor shorter than 4 bytes).
    pub fn identifier(&self) -> Option<u32> {
        match self {
            SpliceDescriptor::Unknown { bytes, .. } => bytes
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes),
            _ => Some(CUEI),
        }
    }

    /// descriptor_length: 8 — the bytes after the length field.
    pub fn descriptor_length(&self) -> usize {
        match self {
            SpliceDescriptor::Avail(d) => 4 + d.body_len(),
            SpliceDescriptor::Dtmf(d) => 4 + d.body_len(),
            SpliceDescriptor::Segmentation(d) => 4 + d.body_len(),
            SpliceDescriptor::Time(d) => 4 + d.body_len(),
            SpliceDescriptor::Audio(d) => 4 + d.body_len(),
            SpliceDescriptor::Unknown { bytes, .. } => bytes.len(),
        }
    }

    /// Bytes on the wire, tag and length included.
    pub fn encoded_len(&self) -> usize {
        2 + self.descriptor_length()
    }

    /// The first count or length inside the descriptor that does not fit its field, then
    /// descriptor_length: an over-long UPID is reported as segmentation_upid_length, not as the
    /// descriptor_length it also overflows (asked by
    /// [`SpliceInfoSection::encode`](super::SpliceInfoSection::encode) on its error path).
    pub(crate) fn length_error(&self) -> Option<EncodeError> {
        let inner = match self {
            SpliceDescriptor::Segmentation(d) => d.length_error(),
            SpliceDescriptor::Dtmf(d) => {
                range_error(3, d.dtmf_chars.len() as u64, "DTMF_descriptor.dtmf_count")
            }
            SpliceDescriptor::Audio(d) => {
                range_error(4, d.components.len() as u64, "audio_descriptor.audio_count")
            }
            _ => None,
        };
        inner.or_else(|| {
            range_error(
                8,
                self.descriptor_length() as u64,
                "splice_descriptor.descriptor_length",
            )
        })
    }

    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        w.put(
            8,
            u64::from(self.splice_descriptor_tag()),
            "splice_descriptor.splice_descriptor_tag",
        ); // 8
        w.put(
            8,
            self.descriptor_length() as u64,
            "splice_descriptor.descriptor_length",
        ); // descriptor_length: 8
        if let SpliceDescriptor::Unknown { bytes, .. } = self {
            w.bytes(bytes);
            return;
        }
        w.put(32, u64::from(CUEI), "splice_descriptor.identifier"); // identifier: 32
        match self {
            SpliceDescriptor::Avail(d) => d.encode(w),
            SpliceDescriptor::Dtmf(d) => d.encode(w),
            SpliceDescriptor::Segmentation(d) => d.encode(w),
            SpliceDescriptor::Time(d) => d.encode(w),
            SpliceDescriptor::Audio(d) => d.encode(w),
            SpliceDescriptor::Unknown { .. } => {}
        }
    }

    /// Decodes one descriptor whose body (after descriptor_length) is exactly what `r` holds.
    pub(crate) fn decode(tag: u8, mut r: BitReader<'_>) -> Result<Self, DecodeError> {
        let body = r.rest();
        let offset = r.offset();
        let opaque = || SpliceDescriptor::Unknown {
            splice_descriptor_tag: tag,
            bytes: body.to_vec(),
        };
        let is_cuei = body.get(..4) == Some(&CUEI.to_be_bytes()[..]);
        if !is_cuei || tag > tag::AUDIO {
            return Ok(opaque());
        }
        r.skip(32)?; // identifier: 32
        let parsed = match tag {
            tag::AVAIL => AvailDescriptor::decode(&mut r).map(SpliceDescriptor::Avail),
            tag::DTMF => DtmfDescriptor::decode(&mut r).map(SpliceDescriptor::Dtmf),
            tag::SEGMENTATION => {
                SegmentationDescriptor::decode(&mut r).map(SpliceDescriptor::Segmentation)
            }
            tag::TIME => TimeDescriptor::decode(&mut r).map(SpliceDescriptor::Time),
            _ => AudioDescriptor::decode(&mut r).map(SpliceDescriptor::Audio),
        };
        match parsed {
            // Bytes after the last defined field (a later revision's extension): keep them all.
            Ok(_) if r.remaining() != 0 => Ok(opaque()),
            Ok(d) => Ok(d),
            Err(DecodeError::Truncated {
                offset: at, needed, ..
            }) => Err(DecodeError::DescriptorOverrun {
                offset: offset.saturating_sub(2),
                splice_descriptor_tag: tag,
                declared: body.len(),
                needed: at.saturating_sub(offset) + needed,
            }),
            Err(other) => Err(other),
        }
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
        let body = r.sub(len, "splice_descriptor")?;
        out.push(SpliceDescriptor::decode(tag, body)?);
    }
    Ok(())
}
