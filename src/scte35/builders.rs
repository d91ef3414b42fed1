//! Builders for the messages an HLS ad-insertion origin sends: a splice_insert OUT, its IN, a
//! cancel, and a time_signal carrying a segmentation descriptor. Each returns a section with the
//! defaults of [`SpliceInfoSection::new`]; PTS values and durations are wrapped to 33 bits.

use super::break_duration::BreakDuration;
use super::descriptors::{SegmentationDescriptor, SpliceDescriptor};
use super::section::SpliceInfoSection;
use super::splice_command::SpliceCommand;
use super::splice_insert::SpliceInsert;
use super::splice_time::{PTS_MASK, SpliceTime};
use super::time_signal::TimeSignal;

fn program_time(time: SpliceTime) -> (bool, Option<u64>) {
    match time {
        SpliceTime::Immediate => (true, None),
        SpliceTime::Pts(pts) => (false, Some(pts & PTS_MASK)),
    }
}

/// A splice_insert OUT (out_of_network_indicator 1, program mode) for `event_id` at `time`;
/// with `break_duration_ticks` it carries break_duration(auto_return, duration).
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
            duration: d & PTS_MASK,
        }),
        ..SpliceInsert::default()
    }))
}

/// A splice_insert IN (out_of_network_indicator 0, program mode) for `event_id` at `time`.
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
pub fn splice_insert_cancel(event_id: u32) -> SpliceInfoSection {
    SpliceInfoSection::new(SpliceCommand::SpliceInsert(SpliceInsert {
        splice_event_id: event_id,
        splice_event_cancel_indicator: true,
        ..SpliceInsert::default()
    }))
}

/// A time_signal at `time` (Immediate: time_specified_flag 0) carrying `descriptors`.
pub fn time_signal(time: SpliceTime, descriptors: Vec<SpliceDescriptor>) -> SpliceInfoSection {
    let pts_time = match time {
        SpliceTime::Immediate => None,
        SpliceTime::Pts(pts) => Some(pts & PTS_MASK),
    };
    let mut section = SpliceInfoSection::new(SpliceCommand::TimeSignal(TimeSignal { pts_time }));
    for d in descriptors {
        section.push_descriptor(d);
    }
    section
}

/// A time_signal at `time` carrying one segmentation descriptor.
pub fn time_signal_segmentation(
    time: SpliceTime,
    segmentation: SegmentationDescriptor,
) -> SpliceInfoSection {
    time_signal(time, vec![SpliceDescriptor::Segmentation(segmentation)])
}

impl SegmentationDescriptor {
    /// A program-level segmentation descriptor with no delivery restrictions, no UPID
    /// (segmentation_upid_type 0) and segment_num / segments_expected 0.
    pub fn new(segmentation_event_id: u32, segmentation_type_id: u8) -> Self {
        SegmentationDescriptor {
            segmentation_event_id,
            segmentation_type_id,
            ..SegmentationDescriptor::default()
        }
    }
}
