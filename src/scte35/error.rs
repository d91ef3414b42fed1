//! Errors of the SCTE-35 codec. Each says what is wrong and where (byte offset within the section).

use std::fmt;

/// Why a `splice_info_section` (or its text form) could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside `field`: it needs `needed` bytes from byte `offset`, `available` remain.
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The first byte is not table_id 0xFC.
    TableId { offset: usize, found: u8 },
    /// section_length (+3 header bytes) disagrees with the number of bytes given.
    SectionLength {
        offset: usize,
        section_length: usize,
        expected_total: usize,
        actual_total: usize,
    },
    /// CRC_32 in the section is not the CRC-32/MPEG-2 of the bytes before it.
    Crc {
        offset: usize,
        expected: u32,
        found: u32,
    },
    /// The splice command needs more bytes than splice_command_length declares (or than the section holds).
    CommandOverrun {
        offset: usize,
        splice_command_type: u8,
        declared: usize,
        needed: usize,
    },
    /// splice_command_length declares more bytes than the command's fields use.
    CommandLength {
        offset: usize,
        splice_command_type: u8,
        declared: usize,
        parsed: usize,
    },
    /// A descriptor (or the descriptor loop) needs more bytes than its declared length.
    DescriptorOverrun {
        offset: usize,
        splice_descriptor_tag: u8,
        declared: usize,
        needed: usize,
    },
    /// descriptor_loop_length runs past the end of the section.
    DescriptorLoopOverrun {
        offset: usize,
        descriptor_loop_length: usize,
        available: usize,
    },
    /// splice_command_length is the legacy 0xFFF and the command's length cannot be found by parsing it.
    LegacyCommandLength {
        offset: usize,
        splice_command_type: u8,
    },
    /// The text is neither hex nor base64.
    InvalidText { offset: usize, reason: &'static str },
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

/// Why a section could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoding (`needed` bytes).
    BufferTooSmall { needed: usize, available: usize },
    /// A field does not fit its width in the syntax table, or a length exceeds its field.
    FieldRange {
        field: &'static str,
        value: u64,
        bits: u32,
    },
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
                write!(f, "{field} = {value} does not fit in {bits} bits")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
