//! Errors of the SCTE-35 codec. Each says what is wrong and where (byte offset within the section).

use std::fmt;

/// Why a `splice_info_section` (or its text form) could not be decoded.
///
/// Every variant says where: `offset` is a byte offset within the section (a character offset
/// within the text for [`DecodeError::InvalidText`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside `field`: it needs `needed` bytes from byte `offset`, `available` remain.
    Truncated {
        /// The field being read, as the standard names it.
        field: &'static str,
        /// Byte the field starts in.
        offset: usize,
        /// Bytes the field needs from `offset`.
        needed: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// The first byte is not table_id 0xFC.
    TableId {
        /// Always 0.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// section_length (+3 header bytes) disagrees with the number of bytes given.
    SectionLength {
        /// Byte of section_length (1).
        offset: usize,
        /// section_length as found.
        section_length: usize,
        /// Bytes it implies (3 + section_length).
        expected_total: usize,
        /// Bytes given.
        actual_total: usize,
    },
    /// CRC_32 in the section is not the CRC-32/MPEG-2 of the bytes before it.
    Crc {
        /// Byte of CRC_32.
        offset: usize,
        /// The CRC of the bytes before it.
        expected: u32,
        /// CRC_32 as found.
        found: u32,
    },
    /// The splice command needs more bytes than splice_command_length declares (or than the section holds).
    CommandOverrun {
        /// Byte the command starts at.
        offset: usize,
        /// splice_command_type of the command.
        splice_command_type: u8,
        /// splice_command_length as found.
        declared: usize,
        /// Bytes the command's fields take.
        needed: usize,
    },
    /// splice_command_length declares more bytes than the command's fields use.
    CommandLength {
        /// Byte the command starts at.
        offset: usize,
        /// splice_command_type of the command.
        splice_command_type: u8,
        /// splice_command_length as found.
        declared: usize,
        /// Bytes the command's fields took.
        parsed: usize,
    },
    /// A descriptor (or the descriptor loop) needs more bytes than its declared length.
    DescriptorOverrun {
        /// Byte of the descriptor's splice_descriptor_tag.
        offset: usize,
        /// splice_descriptor_tag of the descriptor.
        splice_descriptor_tag: u8,
        /// Bytes its length (or the loop) leaves it.
        declared: usize,
        /// Bytes its fields take.
        needed: usize,
    },
    /// descriptor_loop_length runs past the end of the section.
    DescriptorLoopOverrun {
        /// Byte of descriptor_loop_length.
        offset: usize,
        /// descriptor_loop_length as found.
        descriptor_loop_length: usize,
        /// Bytes left before CRC_32.
        available: usize,
    },
    /// splice_command_length is the legacy 0xFFF and the command's length cannot be found by parsing it.
    LegacyCommandLength {
        /// Byte the command starts at.
        offset: usize,
        /// splice_command_type of the command.
        splice_command_type: u8,
    },
    /// The text is neither hex nor base64.
    InvalidText {
        /// Character offset of the first offending character.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated {
                field,
                offset,
                needed,
                available,
            } => write!(
                f,
                "truncated input: {field} at byte {offset} needs {needed} more byte(s), {available} available"
            ),
            DecodeError::TableId { offset, found } => {
                write!(
                    f,
                    "table_id at byte {offset} is 0x{found:02X}, expected 0xFC"
                )
            }
            DecodeError::SectionLength {
                offset,
                section_length,
                expected_total,
                actual_total,
            } => write!(
                f,
                "section_length {section_length} at byte {offset} implies {expected_total} bytes, input has {actual_total}"
            ),
            DecodeError::Crc {
                offset,
                expected,
                found,
            } => write!(
                f,
                "CRC_32 mismatch at byte {offset}: computed 0x{expected:08X}, found 0x{found:08X}"
            ),
            DecodeError::CommandOverrun {
                offset,
                splice_command_type,
                declared,
                needed,
            } => write!(
                f,
                "splice command 0x{splice_command_type:02X} at byte {offset} overruns splice_command_length {declared} (needs {needed})"
            ),
            DecodeError::CommandLength {
                offset,
                splice_command_type,
                declared,
                parsed,
            } => write!(
                f,
                "splice command 0x{splice_command_type:02X} at byte {offset}: splice_command_length {declared} but its fields take {parsed}"
            ),
            DecodeError::DescriptorOverrun {
                offset,
                splice_descriptor_tag,
                declared,
                needed,
            } => write!(
                f,
                "descriptor tag 0x{splice_descriptor_tag:02X} at byte {offset} overruns its declared length {declared} (needs {needed})"
            ),
            DecodeError::DescriptorLoopOverrun {
                offset,
                descriptor_loop_length,
                available,
            } => write!(
                f,
                "descriptor_loop_length {descriptor_loop_length} at byte {offset} overruns the section ({available} bytes left)"
            ),
            DecodeError::LegacyCommandLength {
                offset,
                splice_command_type,
            } => write!(
                f,
                "splice_command_length 0xFFF (legacy) at byte {offset} with splice_command_type 0x{splice_command_type:02X}, whose length cannot be derived"
            ),
            DecodeError::InvalidText { offset, reason } => {
                write!(f, "invalid hex/base64 text at character {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a section (or a time for one) could not be encoded.
///
/// Nothing is ever masked or clamped to make it fit: a value wider than its field is this error,
/// naming the field, and no bytes are produced.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoding.
    BufferTooSmall {
        /// Bytes the encoding takes.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A field does not fit its width in the syntax table, or a length exceeds its field.
    FieldRange {
        /// The field as `syntax_table.field`, named as the standard names them, with the
        /// enclosing table where a table appears in several (`break_duration.duration`,
        /// `time_signal.splice_time.pts_time`, `splice_info_section.section_length`).
        field: &'static str,
        /// The value that does not fit.
        value: u64,
        /// The field's width in bits; the largest value it holds is 2^bits - 1.
        bits: u32,
    },
    /// A number of seconds that is not a time any SCTE-35 field can carry (from
    /// [`seconds_to_ticks`](super::seconds_to_ticks)).
    InvalidSeconds {
        /// What is wrong with it: not finite, negative, or more than
        /// [`MAX_TICKS`](super::MAX_TICKS) ticks.
        reason: &'static str,
    },
}

impl EncodeError {
    /// The largest value the field of a [`EncodeError::FieldRange`] holds (`None` for the
    /// other variants).
    pub fn max(&self) -> Option<u64> {
        match self {
            EncodeError::FieldRange { bits, .. } => Some(u64::MAX >> (64 - (*bits).clamp(1, 64))),
            _ => None,
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "output buffer too small: need {needed} bytes, have {available}"
                )
            }
            EncodeError::FieldRange { field, value, bits } => {
                let max = self.max().unwrap_or(0);
                write!(
                    f,
                    "{field} = {value} does not fit in {bits} bits (at most {max})"
                )
            }
            EncodeError::InvalidSeconds { reason } => {
                write!(f, "invalid number of seconds: {reason}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
