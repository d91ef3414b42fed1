//! The splice command of a splice_info_section — SCTE 35 2023r1 §9.7 (Table 7, splice_command_type).
//!
//! splice_null (§9.7.1) and bandwidth_reservation (§9.7.5) carry no fields; splice_schedule (§9.7.2)
//! and private_command (§9.7.6) are kept as opaque bytes that round-trip unchanged; reserved command
//! types are kept as opaque bytes with their type.

use super::bits::{BitReader, BitWriter, range_error};
use super::splice_insert::SpliceInsert;
use super::time_signal::TimeSignal;
use super::{DecodeError, EncodeError};

/// splice_command_type values (Table 7).
///
/// ```
/// use hlsplice::scte35::{self, SpliceTime, command_type};
/// let out = scte35::splice_insert_out(1, SpliceTime::Immediate, None, false);
/// let command = out.splice_command().unwrap();
/// assert_eq!(command.splice_command_type(), command_type::SPLICE_INSERT);
/// // On the wire: the byte after splice_command_length.
/// assert_eq!(out.to_vec()?[13], command_type::SPLICE_INSERT);
/// # Ok::<(), scte35::EncodeError>(())
/// ```
pub mod command_type {
    /// splice_null() (§9.7.1).
    pub const SPLICE_NULL: u8 = 0x00;
    /// splice_schedule() (§9.7.2).
    pub const SPLICE_SCHEDULE: u8 = 0x04;
    /// splice_insert() (§9.7.3).
    pub const SPLICE_INSERT: u8 = 0x05;
    /// time_signal() (§9.7.4).
    pub const TIME_SIGNAL: u8 = 0x06;
    /// bandwidth_reservation() (§9.7.5).
    pub const BANDWIDTH_RESERVATION: u8 = 0x07;
    /// private_command() (§9.7.6).
    pub const PRIVATE_COMMAND: u8 = 0xFF;
}

/// One splice command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpliceCommand {
    /// splice_null() (0x00): no fields.
    SpliceNull,
    /// splice_schedule() (0x04), kept as its raw bytes.
    SpliceSchedule(Vec<u8>),
    /// splice_insert() (0x05).
    SpliceInsert(SpliceInsert),
    /// time_signal() (0x06).
    TimeSignal(TimeSignal),
    /// bandwidth_reservation() (0x07): no fields in the standard; any bytes present are kept.
    BandwidthReservation(Vec<u8>),
    /// private_command() (0xFF).
    PrivateCommand(PrivateCommand),
    /// A reserved splice_command_type, kept as raw bytes.
    Reserved {
        /// splice_command_type: 8
        splice_command_type: u8,
        /// The command's bytes.
        bytes: Vec<u8>,
    },
}

/// private_command() (§9.7.6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PrivateCommand {
    /// identifier: 32 (a registered format identifier)
    pub identifier: u32,
    /// private_byte: 8 × N
    pub private_bytes: Vec<u8>,
}

impl SpliceCommand {
    /// splice_command_type: 8
    pub fn splice_command_type(&self) -> u8 {
        match self {
            SpliceCommand::SpliceNull => command_type::SPLICE_NULL,
            SpliceCommand::SpliceSchedule(_) => command_type::SPLICE_SCHEDULE,
            SpliceCommand::SpliceInsert(_) => command_type::SPLICE_INSERT,
            SpliceCommand::TimeSignal(_) => command_type::TIME_SIGNAL,
            SpliceCommand::BandwidthReservation(_) => command_type::BANDWIDTH_RESERVATION,
            SpliceCommand::PrivateCommand(_) => command_type::PRIVATE_COMMAND,
            SpliceCommand::Reserved {
                splice_command_type,
                ..
            } => *splice_command_type,
        }
    }

    /// Bytes the command occupies (what splice_command_length counts).
    pub fn encoded_len(&self) -> usize {
        match self {
            SpliceCommand::SpliceNull => 0,
            SpliceCommand::SpliceSchedule(b) | SpliceCommand::BandwidthReservation(b) => b.len(),
            SpliceCommand::SpliceInsert(c) => c.encoded_len(),
            SpliceCommand::TimeSignal(c) => c.encoded_len(),
            SpliceCommand::PrivateCommand(c) => 4 + c.private_bytes.len(),
            SpliceCommand::Reserved { bytes, .. } => bytes.len(),
        }
    }

    /// The first count inside the command that does not fit, then splice_command_length (see
    /// [`SpliceInfoSection::encode`](super::SpliceInfoSection::encode)).
    pub(crate) fn length_error(&self) -> Option<EncodeError> {
        let inner = match self {
            SpliceCommand::SpliceInsert(c) => c.length_error(),
            _ => None,
        };
        inner.or_else(|| {
            range_error(
                12,
                self.encoded_len() as u64,
                "splice_info_section.splice_command_length",
            )
        })
    }

    #[inline]
    pub(crate) fn encode(&self, w: &mut BitWriter<'_>) {
        match self {
            SpliceCommand::SpliceNull => {}
            SpliceCommand::SpliceSchedule(b) | SpliceCommand::BandwidthReservation(b) => w.bytes(b),
            SpliceCommand::SpliceInsert(c) => c.encode(w),
            SpliceCommand::TimeSignal(c) => c.encode(w),
            SpliceCommand::PrivateCommand(c) => {
                w.put(32, u64::from(c.identifier), "private_command.identifier"); // identifier: 32
                w.bytes(&c.private_bytes);
            }
            SpliceCommand::Reserved { bytes, .. } => w.bytes(bytes),
        }
    }

    /// Decodes a command whose bytes are exactly `r` (splice_command_length known).
    #[inline]
    pub(crate) fn decode_exact(
        splice_command_type: u8,
        r: &mut BitReader<'_>,
    ) -> Result<Self, DecodeError> {
        let rest = r.remaining();
        Ok(match splice_command_type {
            command_type::SPLICE_NULL => SpliceCommand::SpliceNull,
            command_type::SPLICE_SCHEDULE => {
                SpliceCommand::SpliceSchedule(r.bytes(rest, "splice_schedule")?.to_vec())
            }
            command_type::SPLICE_INSERT => SpliceCommand::SpliceInsert(SpliceInsert::decode(r)?),
            command_type::TIME_SIGNAL => SpliceCommand::TimeSignal(TimeSignal::decode(r)?),
            command_type::BANDWIDTH_RESERVATION => SpliceCommand::BandwidthReservation(
                r.bytes(rest, "bandwidth_reservation")?.to_vec(),
            ),
            command_type::PRIVATE_COMMAND => {
                let identifier = r.u32(32, "identifier")?; // identifier: 32
                let rest = r.remaining();
                let private_bytes = r.bytes(rest, "private_byte")?.to_vec();
                SpliceCommand::PrivateCommand(PrivateCommand {
                    identifier,
                    private_bytes,
                })
            }
            other => SpliceCommand::Reserved {
                splice_command_type: other,
                bytes: r.bytes(rest, "splice_command")?.to_vec(),
            },
        })
    }

    /// Decodes a command from the front of `r` when splice_command_length is the legacy 0xFFF:
    /// only commands whose length follows from their own fields can be read this way.
    #[inline]
    pub(crate) fn decode_self_delimited(
        splice_command_type: u8,
        r: &mut BitReader<'_>,
    ) -> Result<Option<Self>, DecodeError> {
        Ok(Some(match splice_command_type {
            command_type::SPLICE_NULL => SpliceCommand::SpliceNull,
            command_type::SPLICE_INSERT => SpliceCommand::SpliceInsert(SpliceInsert::decode(r)?),
            command_type::TIME_SIGNAL => SpliceCommand::TimeSignal(TimeSignal::decode(r)?),
            command_type::BANDWIDTH_RESERVATION => SpliceCommand::BandwidthReservation(Vec::new()),
            _ => return Ok(None),
        }))
    }
}
