//! Builders for the messages an HLS ad-insertion origin sends: a splice_insert OUT, its IN, a
//! cancel, and a time_signal carrying a segmentation descriptor. Each returns a section with the
//! defaults of [`SpliceInfoSection::new`].
//!
//! Values are stored as given, never masked: a PTS or duration over 33 bits makes
//! [`SpliceInfoSection::encode`] (and `to_vec` / `to_hex` / `to_base64`) fail with
//! [`EncodeError::FieldRange`](super::EncodeError::FieldRange) naming the field, instead of
//! encoding a different time. Validation is in one place, the encoder, because every field of
//! a section is public (as the standard names it) and can be set after building.

use super::break_duration::BreakDuration;
use super::descriptors::{SegmentationDescriptor, SpliceDescriptor};
use super::section::SpliceInfoSection;
use super::splice_command::SpliceCommand;
use super::splice_insert::SpliceInsert;
use super::splice_time::SpliceTime;
use super::time_signal::TimeSignal;

fn program_time(time: SpliceTime) -> (bool, Option<u64>) {
    match time {
        SpliceTime::Immediate => (true, None),
        SpliceTime::Pts(pts) => (false, Some(pts)),
    }
}

/// A splice_insert OUT (out_of_network_indicator 1, program mode) for `event_id` at `time`;
/// with `break_duration_ticks` it carries break_duration(auto_return, duration).
///
/// ```
/// use hlsplice::scte35::{self, EncodeError, SpliceCommand, SpliceInfoSection, SpliceTime};
/// let out = scte35::splice_insert_out(7, SpliceTime::Immediate, Some(30 * 90_000), true);
/// let back = SpliceInfoSection::decode(&out.to_vec()?).unwrap();
/// let Some(SpliceCommand::SpliceInsert(si)) = back.splice_command() else { unreachable!() };
/// assert!(si.out_of_network_indicator && si.splice_immediate_flag);
/// assert_eq!(si.break_duration.map(|bd| (bd.duration, bd.auto_return)), Some((2_700_000, true)));
/// // A duration over 33 bits is refused, not wrapped into a shorter break.
/// let too_long = scte35::splice_insert_out(7, SpliceTime::Immediate, Some(1 << 40), true);
/// assert!(matches!(
///     too_long.to_vec(),
///     Err(EncodeError::FieldRange { field: "break_duration.duration", .. })
/// ));
/// # Ok::<(), EncodeError>(())
/// ```
#[must_use]
pub fn splice_insert_out(
    event_id: u32,
    time: SpliceTime,
    break_duration_ticks: Option<u64>,
    auto_return: bool,
) -> SpliceInfoSection {
    let (splice_immediate_flag, pts_time) = program_time(time);
    SpliceInfoSection::new(SpliceCommand::SpliceInsert(SpliceInsert {
        splice_event_id: event_id,
        out_of_network_indicator: true,
        splice_immediate_flag,
        pts_time,
        break_duration: break_duration_ticks.map(|d| BreakDuration {
            auto_return,
            duration: d,
        }),
        ..SpliceInsert::default()
    }))
}

/// A splice_insert IN (out_of_network_indicator 0, program mode) for `event_id` at `time`.
#[must_use]
pub fn splice_insert_in(event_id: u32, time: SpliceTime) -> SpliceInfoSection {
    let (splice_immediate_flag, pts_time) = program_time(time);
    SpliceInfoSection::new(SpliceCommand::SpliceInsert(SpliceInsert {
        splice_event_id: event_id,
        out_of_network_indicator: false,
        splice_immediate_flag,
        pts_time,
        ..SpliceInsert::default()
    }))
}

/// A splice_insert with splice_event_cancel_indicator 1 for `event_id`.
#[must_use]
pub fn splice_insert_cancel(event_id: u32) -> SpliceInfoSection {
    SpliceInfoSection::new(SpliceCommand::SpliceInsert(SpliceInsert {
        splice_event_id: event_id,
        splice_event_cancel_indicator: true,
        ..SpliceInsert::default()
    }))
}

/// A time_signal at `time` (Immediate: time_specified_flag 0) carrying `descriptors`.
#[must_use]
pub fn time_signal(time: SpliceTime, descriptors: Vec<SpliceDescriptor>) -> SpliceInfoSection {
    let pts_time = match time {
        SpliceTime::Immediate => None,
        SpliceTime::Pts(pts) => Some(pts),
    };
    let mut section = SpliceInfoSection::new(SpliceCommand::TimeSignal(TimeSignal { pts_time }));
    for d in descriptors {
        section.push_descriptor(d);
    }
    section
}

/// A time_signal at `time` carrying one segmentation descriptor.
#[must_use]
pub fn time_signal_segmentation(
    time: SpliceTime,
    segmentation: SegmentationDescriptor,
) -> SpliceInfoSection {
    time_signal(time, vec![SpliceDescriptor::Segmentation(segmentation)])
}

impl SegmentationDescriptor {
    /// A program-level segmentation descriptor with no delivery restrictions, no UPID
    /// (segmentation_upid_type 0) and segment_num / segments_expected 0.
    #[must_use]
    pub fn new(segmentation_event_id: u32, segmentation_type_id: u8) -> Self {
        SegmentationDescriptor {
            segmentation_event_id,
            segmentation_type_id,
            ..SegmentationDescriptor::default()
        }
    }
}
