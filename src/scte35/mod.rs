//! SCTE-35 codec: byte-exact encode and decode of `splice_info_section` (SCTE 35 2023r1 §9).
//!
//! One module per syntax table of the standard, fields named as the standard names them. The core
//! does no I/O and encodes into caller buffers without allocating ([`SpliceInfoSection::encode`],
//! [`hex_into`], [`base64_into`]); [`SpliceInfoSection::to_vec`] / [`to_hex`](SpliceInfoSection::to_hex)
//! / [`to_base64`](SpliceInfoSection::to_base64) are conveniences on top.
//!
//! Decoding never panics: every failure is a [`DecodeError`] naming the problem and its byte
//! offset. Encoding never masks: a value wider than its field (a PTS or break_duration over 33
//! bits, a segmentation_duration over 40, a UPID over 255 bytes, …) is an
//! [`EncodeError::FieldRange`] naming the field, and no bytes are produced. Sections are plain
//! values with public fields, so they can hold such values; the encoder is the one place that
//! checks, and every way to get bytes goes through it (`to_vec` and the text forms return a
//! `Result`).
//!
//! ```
//! use hlsplice::scte35::{self, EncodeError, SpliceInfoSection, SpliceTime};
//!
//! // A 30 s break (splice_insert OUT) at PTS 10 s, returning on its own.
//! let out = scte35::splice_insert_out(
//!     7,
//!     SpliceTime::Pts(scte35::seconds_to_ticks(10.0)?),
//!     Some(scte35::seconds_to_ticks(30.0)?),
//!     true,
//! );
//! let bytes = out.to_vec()?;
//! assert_eq!(SpliceInfoSection::decode(&bytes).unwrap(), out);
//! assert!(out.to_hex()?.starts_with("0xFC30"));
//! assert!(out.to_base64()?.starts_with("/DA"));
//!
//! // Into caller buffers, without allocating.
//! let (mut buf, mut text) = ([0u8; 64], [0u8; 130]);
//! let n = out.encode(&mut buf)?;
//! let t = scte35::hex_into(&buf[..n], &mut text)?;
//! assert_eq!(&text[..t], out.to_hex()?.as_bytes());
//!
//! // A PTS that does not fit 33 bits is refused, naming the field.
//! let late = scte35::splice_insert_in(7, SpliceTime::Pts(1 << 33));
//! assert_eq!(
//!     late.to_vec(),
//!     Err(EncodeError::FieldRange {
//!         field: "splice_insert.splice_time.pts_time",
//!         value: 1 << 33,
//!         bits: 33,
//!     })
//! );
//! # Ok::<(), EncodeError>(())
//! ```

mod bits;
mod break_duration;
mod builders;
pub mod descriptors;
mod error;
mod section;
mod splice_command;
mod splice_insert;
mod splice_time;
mod text;
mod time_signal;

pub use break_duration::BreakDuration;
pub use builders::{
    splice_insert_cancel, splice_insert_in, splice_insert_out, time_signal,
    time_signal_segmentation,
};
pub use descriptors::{
    AudioComponent, AudioDescriptor, AvailDescriptor, DeliveryRestrictions, DtmfDescriptor,
    SegmentationComponent, SegmentationDescriptor, SpliceDescriptor, SubSegment, TimeDescriptor,
    segmentation_upid_fixed_length,
};
pub use error::{DecodeError, EncodeError};
pub use section::{LEGACY_SPLICE_COMMAND_LENGTH, Payload, SpliceInfoSection, TABLE_ID};
pub use splice_command::{PrivateCommand, SpliceCommand, command_type};
pub use splice_insert::{SpliceInsert, SpliceInsertComponent};
pub use splice_time::{
    MAX_TICKS, PTS_MASK, PTS_MODULUS, SpliceTime, TICKS_PER_SECOND, effective_pts,
    seconds_to_ticks, ticks_to_seconds,
};
pub use text::{base64_into, base64_len, decode_text, hex_into, hex_len, to_base64, to_hex};
pub use time_signal::TimeSignal;

/// CRC-32/MPEG-2 of `bytes` (the CRC_32 of a section is this over all bytes before it).
#[must_use]
pub fn crc32_mpeg2(bytes: &[u8]) -> u32 {
    section::CRC.checksum(bytes)
}

#[cfg(test)]
mod tests;
