//! splice_info_section() — SCTE 35 2023r1 §9.6 (Table 5).
//!
//! The CRC_32 is CRC-32/MPEG-2 over every byte from table_id to the byte before CRC_32, computed
//! last on encode and checked first on decode (so a corrupted section is reported as such rather
//! than as whatever its damaged fields happen to say).

use super::bits::{BitReader, BitWriter};
use super::descriptors::{self, SpliceDescriptor};
use super::splice_command::SpliceCommand;
use super::splice_time;
use super::text;
use super::{DecodeError, EncodeError};

/// table_id: 8 of every splice_info_section.
pub const TABLE_ID: u8 = 0xFC;
/// splice_command_length value that legacy encoders write instead of the real length.
pub const LEGACY_SPLICE_COMMAND_LENGTH: u16 = 0xFFF;
/// Bytes before the splice command: table_id .. splice_command_type.
const HEADER_LEN: usize = 14;
/// Bytes of CRC_32.
const CRC_LEN: usize = 4;

pub(crate) const CRC: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_MPEG_2);

/// A splice_info_section: the header fields as the standard names them, and the payload.
///
/// section_length, splice_command_length, splice_command_type, descriptor_loop_length and CRC_32
/// are not stored: they follow from the payload and are computed on encode.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpliceInfoSection {
    /// section_syntax_indicator: 1 (0 in every conforming section)
    pub section_syntax_indicator: bool,
    /// private_indicator: 1
    pub private_indicator: bool,
    /// sap_type: 2 (3 = not specified)
    pub sap_type: u8,
    /// protocol_version: 8
    pub protocol_version: u8,
    /// encryption_algorithm: 6 (encrypted_packet: 1 follows from [`Payload::Encrypted`])
    pub encryption_algorithm: u8,
    /// pts_adjustment: 33 (90 kHz ticks)
    pub pts_adjustment: u64,
    /// cw_index: 8
    pub cw_index: u8,
    /// tier: 12
    pub tier: u16,
    /// Write splice_command_length as the legacy 0xFFF instead of the command's length
    /// (set by the decoder when the input did, so such sections re-encode byte for byte).
    pub legacy_splice_command_length: bool,
    /// What follows the clear header.
    pub payload: Payload,
}

/// The part of a section after tier / splice_command_length.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// encrypted_packet = 0.
    Clear {
        /// splice_command_type and the command.
        splice_command: SpliceCommand,
        /// The descriptor loop.
        splice_descriptors: Vec<SpliceDescriptor>,
        /// alignment_stuffing bytes between the descriptor loop and CRC_32, kept as found.
        alignment_stuffing: Vec<u8>,
    },
    /// encrypted_packet = 1: splice_command_type through E_CRC_32 cannot be read without the
    /// key, so they are kept as bytes together with the clear splice_command_length.
    Encrypted {
        /// splice_command_length: 12 as found.
        splice_command_length: u16,
        /// The encrypted bytes, from splice_command_type through E_CRC_32.
        encrypted_bytes: Vec<u8>,
    },
}

impl SpliceInfoSection {
    /// A clear section carrying `splice_command`, with the defaults for a new section:
    /// sap_type 3, tier 0xFFF, cw_index 0, pts_adjustment 0, protocol_version 0, no descriptors.
    pub fn new(splice_command: SpliceCommand) -> Self {
        SpliceInfoSection {
            section_syntax_indicator: false,
            private_indicator: false,
            sap_type: 3,
            protocol_version: 0,
            encryption_algorithm: 0,
            pts_adjustment: 0,
            cw_index: 0,
            tier: 0xFFF,
            legacy_splice_command_length: false,
            payload: Payload::Clear {
                splice_command,
                splice_descriptors: Vec::new(),
                alignment_stuffing: Vec::new(),
            },
        }
    }

    /// table_id: 8 (always 0xFC).
    pub fn table_id(&self) -> u8 {
        TABLE_ID
    }

    /// encrypted_packet: 1
    pub fn encrypted_packet(&self) -> bool {
        matches!(self.payload, Payload::Encrypted { .. })
    }

    /// The splice command (`None` when the section is encrypted).
    pub fn splice_command(&self) -> Option<&SpliceCommand> {
        match &self.payload {
            Payload::Clear { splice_command, .. } => Some(splice_command),
            Payload::Encrypted { .. } => None,
        }
    }

    /// The descriptors (empty when the section is encrypted).
    pub fn splice_descriptors(&self) -> &[SpliceDescriptor] {
        match &self.payload {
            Payload::Clear {
                splice_descriptors, ..
            } => splice_descriptors,
            Payload::Encrypted { .. } => &[],
        }
    }

    /// Adds a descriptor (no effect on an encrypted section).
    pub fn push_descriptor(&mut self, descriptor: SpliceDescriptor) {
        if let Payload::Clear {
            splice_descriptors, ..
        } = &mut self.payload
        {
            splice_descriptors.push(descriptor);
        }
    }

    /// splice_command_length: 12 as it goes on the wire. Over 0xFFF (saturating at `u16::MAX`)
    /// for a command too long for the field, which [`encode`](Self::encode) refuses.
    pub fn splice_command_length(&self) -> u16 {
        match &self.payload {
            Payload::Clear { splice_command, .. } => {
                if self.legacy_splice_command_length {
                    LEGACY_SPLICE_COMMAND_LENGTH
                } else {
                    splice_command.encoded_len().min(usize::from(u16::MAX)) as u16
                }
            }
            Payload::Encrypted {
                splice_command_length,
                ..
            } => *splice_command_length,
        }
    }

    /// descriptor_loop_length: 16 (0 when encrypted: it is inside the encrypted part).
    pub fn descriptor_loop_length(&self) -> usize {
        self.splice_descriptors()
            .iter()
            .map(SpliceDescriptor::encoded_len)
            .sum()
    }

    /// section_length: 12 as it goes on the wire (bytes after section_length, CRC_32 included).
    pub fn section_length(&self) -> usize {
        self.encoded_len() - 3
    }

    /// The effective splice time of a PTS in this section: (pts_time + pts_adjustment) mod 2^33.
    pub fn effective_pts(&self, pts_time: u64) -> u64 {
        splice_time::effective_pts(pts_time, self.pts_adjustment)
    }

    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        match &self.payload {
            Payload::Clear {
                splice_command,
                splice_descriptors,
                alignment_stuffing,
            } => {
                let descriptors: usize = splice_descriptors
                    .iter()
                    .map(SpliceDescriptor::encoded_len)
                    .sum();
                HEADER_LEN
                    + splice_command.encoded_len()
                    + 2
                    + descriptors
                    + alignment_stuffing.len()
                    + CRC_LEN
            }
            Payload::Encrypted {
                encrypted_bytes, ..
            } => HEADER_LEN - 1 + encrypted_bytes.len() + CRC_LEN,
        }
    }

    /// Encodes the section into `out` and returns the number of bytes written. Allocates nothing.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`encoded_len`](Self::encoded_len);
    /// [`EncodeError::FieldRange`], naming the field, when a value does not fit its width (a PTS
    /// or break_duration over 33 bits, a segmentation_duration over 40, tier over 12, a UPID
    /// over 255 bytes, a section or descriptor longer than its length field can say, …).
    /// Nothing is masked: `out` then holds no valid section.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let total = self.encoded_len();
        if out.len() < total {
            return Err(EncodeError::BufferTooSmall {
                needed: total,
                available: out.len(),
            });
        }
        let mut w = BitWriter::new(&mut out[..total]);
        w.put(8, u64::from(TABLE_ID), "splice_info_section.table_id"); // table_id: 8
        w.flag(self.section_syntax_indicator); // section_syntax_indicator: 1
        w.flag(self.private_indicator); // private_indicator: 1
        w.put(2, u64::from(self.sap_type), "splice_info_section.sap_type"); // sap_type: 2
        w.put(12, (total - 3) as u64, "splice_info_section.section_length"); // section_length: 12
        w.put(
            8,
            u64::from(self.protocol_version),
            "splice_info_section.protocol_version",
        ); // protocol_version: 8
        w.flag(self.encrypted_packet()); // encrypted_packet: 1
        w.put(
            6,
            u64::from(self.encryption_algorithm),
            "splice_info_section.encryption_algorithm",
        ); // encryption_algorithm: 6
        w.put(
            33,
            self.pts_adjustment,
            "splice_info_section.pts_adjustment",
        ); // pts_adjustment: 33
        w.put(8, u64::from(self.cw_index), "splice_info_section.cw_index"); // cw_index: 8
        w.put(12, u64::from(self.tier), "splice_info_section.tier"); // tier: 12
        match &self.payload {
            Payload::Clear {
                splice_command,
                splice_descriptors,
                alignment_stuffing,
            } => {
                let command_len = if self.legacy_splice_command_length {
                    u64::from(LEGACY_SPLICE_COMMAND_LENGTH)
                } else {
                    splice_command.encoded_len() as u64
                };
                w.put(12, command_len, "splice_info_section.splice_command_length"); // splice_command_length: 12
                w.put(
                    8,
                    u64::from(splice_command.splice_command_type()),
                    "splice_info_section.splice_command_type",
                ); // 8
                splice_command.encode(&mut w);
                let loop_len: usize = splice_descriptors
                    .iter()
                    .map(SpliceDescriptor::encoded_len)
                    .sum();
                w.put(
                    16,
                    loop_len as u64,
                    "splice_info_section.descriptor_loop_length",
                ); // descriptor_loop_length: 16
                for d in splice_descriptors {
                    d.encode(&mut w);
                }
                w.bytes(alignment_stuffing); // alignment_stuffing: 8 × N
            }
            Payload::Encrypted {
                splice_command_length,
                encrypted_bytes,
            } => {
                w.put(
                    12,
                    u64::from(*splice_command_length),
                    "splice_info_section.splice_command_length",
                ); // 12
                w.bytes(encrypted_bytes); // splice_command_type .. E_CRC_32
            }
        }
        if let Some(err) = w.range_error() {
            // A length that overflows because of what it holds: name what holds too much.
            return Err(self.length_error().unwrap_or(err));
        }
        let body_end = w.position();
        if !w.fits() || body_end + CRC_LEN != total {
            // encoded_len and encode disagree: a bug, reported rather than panicking.
            return Err(EncodeError::BufferTooSmall {
                needed: body_end + CRC_LEN,
                available: total,
            });
        }
        let crc = CRC.checksum(w.written());
        w.put(32, u64::from(crc), "splice_info_section.CRC_32"); // CRC_32: 32
        Ok(total)
    }

    /// The innermost count or length that does not fit, asked once a field was found out of
    /// range: a UPID of 300 bytes is reported as segmentation_upid_length, which is what to fix,
    /// not as the descriptor_length or section_length it also overflows. Asked only on that
    /// (cold) error path: a check before writing section_length cost 150 instructions per
    /// encode (callgrind), because the writer's state no longer stayed in registers.
    #[cold]
    fn length_error(&self) -> Option<EncodeError> {
        let Payload::Clear {
            splice_command,
            splice_descriptors,
            ..
        } = &self.payload
        else {
            return None;
        };
        let command = if self.legacy_splice_command_length {
            None
        } else {
            splice_command.length_error()
        };
        command.or_else(|| splice_descriptors.iter().find_map(|d| d.length_error()))
    }

    /// Encodes into a new `Vec` (convenience over [`encode`](Self::encode)).
    ///
    /// # Errors
    /// [`EncodeError::FieldRange`] as for [`encode`](Self::encode): a section with a field that
    /// does not fit gives no bytes at all, never a partial or masked encoding.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0u8; self.encoded_len()];
        let n = self.encode(&mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Encodes and returns `"0x"` + uppercase hex, the EXT-X-DATERANGE `SCTE35-OUT`/`-IN`/`-CMD`
    /// form (RFC 8216bis §4.4.5.1.1). Use [`encode`](Self::encode) and [`hex_into`](super::hex_into) to write
    /// into buffers without allocating.
    ///
    /// # Errors
    /// As for [`to_vec`](Self::to_vec).
    pub fn to_hex(&self) -> Result<String, EncodeError> {
        Ok(text::to_hex(&self.to_vec()?))
    }

    /// Encodes and returns standard padded base64, the `#EXT-X-CUE-OUT-CONT` `SCTE35=` and
    /// `#EXT-OATCLS-SCTE35` form. Use [`encode`](Self::encode) and [`base64_into`](super::base64_into) to write
    /// into buffers without allocating.
    ///
    /// # Errors
    /// As for [`to_vec`](Self::to_vec).
    pub fn to_base64(&self) -> Result<String, EncodeError> {
        Ok(text::to_base64(&self.to_vec()?))
    }

    /// Decodes one complete section; `bytes` must be exactly the section (3 + section_length bytes).
    ///
    /// # Errors
    /// A [`DecodeError`] naming the problem and its byte offset; never panics.
    pub fn decode(bytes: &[u8]) -> Result<SpliceInfoSection, DecodeError> {
        let Some(&table_id) = bytes.first() else {
            return Err(DecodeError::Truncated {
                field: "table_id",
                offset: 0,
                needed: 1,
                available: 0,
            });
        };
        if table_id != TABLE_ID {
            return Err(DecodeError::TableId {
                offset: 0,
                found: table_id,
            });
        }
        let (Some(&b1), Some(&b2)) = (bytes.get(1), bytes.get(2)) else {
            return Err(DecodeError::Truncated {
                field: "section_length",
                offset: 1,
                needed: 2,
                available: bytes.len() - 1,
            });
        };
        let section_length = usize::from(u16::from_be_bytes([b1 & 0x0F, b2]));
        let total = 3 + section_length;
        if total != bytes.len() {
            return Err(DecodeError::SectionLength {
                offset: 1,
                section_length,
                expected_total: total,
                actual_total: bytes.len(),
            });
        }
        if total < HEADER_LEN - 1 + CRC_LEN {
            return Err(DecodeError::Truncated {
                field: "splice_info_section",
                offset: total,
                needed: HEADER_LEN - 1 + CRC_LEN - total,
                available: 0,
            });
        }
        let crc_at = total - CRC_LEN;
        let (body, crc_bytes) = bytes.split_at(crc_at);
        let found = match <[u8; CRC_LEN]>::try_from(crc_bytes) {
            Ok(b) => u32::from_be_bytes(b),
            Err(_) => 0, // unreachable: split_at left exactly CRC_LEN bytes
        };
        let expected = CRC.checksum(body);
        if expected != found {
            return Err(DecodeError::Crc {
                offset: crc_at,
                expected,
                found,
            });
        }

        let mut r = BitReader::new(bytes, crc_at);
        r.skip(8)?; // table_id: 8
        let section_syntax_indicator = r.flag("section_syntax_indicator")?; // 1
        let private_indicator = r.flag("private_indicator")?; // 1
        let sap_type = r.u8(2, "sap_type")?; // sap_type: 2
        r.skip(12)?; // section_length: 12
        let protocol_version = r.u8(8, "protocol_version")?; // protocol_version: 8
        let encrypted_packet = r.flag("encrypted_packet")?; // encrypted_packet: 1
        let encryption_algorithm = r.u8(6, "encryption_algorithm")?; // encryption_algorithm: 6
        let pts_adjustment = r.get(33, "pts_adjustment")?; // pts_adjustment: 33
        let cw_index = r.u8(8, "cw_index")?; // cw_index: 8
        let tier = r.u16(12, "tier")?; // tier: 12
        let splice_command_length = r.u16(12, "splice_command_length")?; // splice_command_length: 12
        if encrypted_packet {
            let rest = r.remaining();
            let encrypted_bytes = r.bytes(rest, "encrypted")?.to_vec();
            return Ok(SpliceInfoSection {
                section_syntax_indicator,
                private_indicator,
                sap_type,
                protocol_version,
                encryption_algorithm,
                pts_adjustment,
                cw_index,
                tier,
                legacy_splice_command_length: false,
                payload: Payload::Encrypted {
                    splice_command_length,
                    encrypted_bytes,
                },
            });
        }

        let splice_command_type = r.u8(8, "splice_command_type")?; // splice_command_type: 8
        let command_offset = r.offset();
        let legacy_splice_command_length = splice_command_length == LEGACY_SPLICE_COMMAND_LENGTH;
        let splice_command = if legacy_splice_command_length {
            let room = r.remaining();
            match SpliceCommand::decode_self_delimited(splice_command_type, &mut r) {
                Ok(Some(command)) => command,
                Ok(None) => {
                    return Err(DecodeError::LegacyCommandLength {
                        offset: 11,
                        splice_command_type,
                    });
                }
                Err(err) => {
                    return Err(command_overrun(
                        err,
                        splice_command_type,
                        command_offset,
                        room,
                    ));
                }
            }
        } else {
            let declared = usize::from(splice_command_length);
            let available = r.remaining();
            let Ok(mut cr) = r.sub(declared, "splice_command") else {
                return Err(DecodeError::CommandOverrun {
                    offset: command_offset,
                    splice_command_type,
                    declared: available,
                    needed: declared,
                });
            };
            let command =
                SpliceCommand::decode_exact(splice_command_type, &mut cr).map_err(|err| {
                    command_overrun(err, splice_command_type, command_offset, declared)
                })?;
            if cr.remaining() != 0 {
                return Err(DecodeError::CommandLength {
                    offset: command_offset,
                    splice_command_type,
                    declared,
                    parsed: declared - cr.remaining(),
                });
            }
            command
        };

        let loop_offset = r.offset();
        let descriptor_loop_length = usize::from(r.u16(16, "descriptor_loop_length")?); // 16
        let available = r.remaining();
        let Ok(mut dr) = r.sub(descriptor_loop_length, "descriptor_loop") else {
            return Err(DecodeError::DescriptorLoopOverrun {
                offset: loop_offset,
                descriptor_loop_length,
                available,
            });
        };
        let mut splice_descriptors = Vec::new();
        descriptors::decode_loop(&mut dr, &mut splice_descriptors)?;
        let rest = r.remaining();
        let alignment_stuffing = if rest == 0 {
            Vec::new() // common case: skip the allocator entirely
        } else {
            r.bytes(rest, "alignment_stuffing")?.to_vec()
        };
        Ok(SpliceInfoSection {
            section_syntax_indicator,
            private_indicator,
            sap_type,
            protocol_version,
            encryption_algorithm,
            pts_adjustment,
            cw_index,
            tier,
            legacy_splice_command_length,
            payload: Payload::Clear {
                splice_command,
                splice_descriptors,
                alignment_stuffing,
            },
        })
    }
}

/// A command that ran out of bytes is reported as overrunning its declared length.
fn command_overrun(
    err: DecodeError,
    splice_command_type: u8,
    start: usize,
    declared: usize,
) -> DecodeError {
    match err {
        DecodeError::Truncated { offset, needed, .. } => DecodeError::CommandOverrun {
            offset: start,
            splice_command_type,
            declared,
            needed: offset.saturating_sub(start) + needed,
        },
        other => other,
    }
}
