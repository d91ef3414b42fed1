//! SCTE-35 encode and decode with `hlsplice::scte35`, as an ad-insertion origin uses it:
//!
//! 1. a splice_insert OUT: a 30 s break at PTS 10 s, returning on its own (auto_return);
//! 2. a time_signal with a segmentation descriptor: Provider Placement Opportunity Start (0x34),
//!    60 s, with an Ad-ID UPID;
//!
//! each printed as hex (the EXT-X-DATERANGE `SCTE35-OUT` form) and base64 (the `#EXT-X-CUE` /
//! `EXT-OATCLS-SCTE35` form), then decoded back from that text with its fields printed. Last, a
//! value that does not fit its field is refused, naming the field.
//!
//! Run: `cargo run --example scte35` (needs no server features:
//! `cargo run --no-default-features --example scte35` works too).

use hlsplice::scte35::{
    self, EncodeError, SegmentationDescriptor, SpliceCommand, SpliceDescriptor, SpliceInfoSection,
    SpliceTime,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. splice_insert OUT, event 1002, at PTS 10 s, a 30 s break with auto_return.
    let out = scte35::splice_insert_out(
        1002,
        SpliceTime::Pts(scte35::seconds_to_ticks(10.0)?),
        Some(scte35::seconds_to_ticks(30.0)?),
        true,
    );
    let hex = out.to_hex()?;
    println!("splice_insert OUT");
    println!("  hex:    {hex}");
    println!("  base64: {}", out.to_base64()?);
    print_fields(&SpliceInfoSection::decode(&scte35::decode_text(&hex)?)?);

    // 2. time_signal at PTS 20 s carrying a segmentation descriptor.
    let mut placement = SegmentationDescriptor::new(0x4800_0008, 0x34);
    placement.segmentation_duration = Some(scte35::seconds_to_ticks(60.0)?);
    placement.segmentation_upid_type = 0x03; // Ad-ID: 12 ASCII characters
    placement.segmentation_upid = b"ABCD01234567".to_vec();
    let signal = scte35::time_signal_segmentation(
        SpliceTime::Pts(scte35::seconds_to_ticks(20.0)?),
        placement,
    );
    let base64 = signal.to_base64()?;
    println!("time_signal + segmentation_descriptor");
    println!("  hex:    {}", signal.to_hex()?);
    println!("  base64: {base64}");
    print_fields(&SpliceInfoSection::decode(&scte35::decode_text(&base64)?)?);

    // Values that do not fit are refused, never masked: break_duration.duration is 33 bits.
    let too_long = scte35::splice_insert_out(1, SpliceTime::Immediate, Some(1 << 40), true);
    match too_long.to_vec() {
        Err(EncodeError::FieldRange { field, value, bits }) => {
            println!("refused: {field} = {value} does not fit in {bits} bits");
        }
        other => return Err(format!("expected a FieldRange error, got {other:?}").into()),
    }
    Ok(())
}

/// The fields of a decoded section, under the standard's names.
fn print_fields(section: &SpliceInfoSection) {
    println!("  decoded:");
    println!(
        "    section_length {}, pts_adjustment {}, tier {:#05X}",
        section.section_length(),
        section.pts_adjustment,
        section.tier
    );
    match section.splice_command() {
        Some(SpliceCommand::SpliceInsert(si)) => {
            println!(
                "    splice_insert: splice_event_id {}, out_of_network_indicator {}, splice_immediate_flag {}",
                si.splice_event_id, si.out_of_network_indicator, si.splice_immediate_flag
            );
            if let Some(pts) = si.pts_time {
                println!(
                    "    pts_time {pts} ({:.3} s)",
                    scte35::ticks_to_seconds(pts)
                );
            }
            if let Some(bd) = si.break_duration {
                println!(
                    "    break_duration: duration {} ({:.3} s), auto_return {}",
                    bd.duration,
                    scte35::ticks_to_seconds(bd.duration),
                    bd.auto_return
                );
            }
        }
        Some(SpliceCommand::TimeSignal(ts)) => match ts.pts_time {
            Some(pts) => println!(
                "    time_signal: pts_time {pts} ({:.3} s)",
                scte35::ticks_to_seconds(pts)
            ),
            None => println!("    time_signal: immediate"),
        },
        Some(other) => println!(
            "    splice_command_type {:#04X}",
            other.splice_command_type()
        ),
        None => println!("    encrypted"),
    }
    for descriptor in section.splice_descriptors() {
        if let SpliceDescriptor::Segmentation(seg) = descriptor {
            println!(
                "    segmentation_descriptor: segmentation_event_id {:#010X}, segmentation_type_id {:#04X}, segmentation_upid_type {:#04X}, segmentation_upid {:?}",
                seg.segmentation_event_id,
                seg.segmentation_type_id,
                seg.segmentation_upid_type,
                String::from_utf8_lossy(&seg.segmentation_upid)
            );
            if let Some(d) = seg.segmentation_duration {
                println!(
                    "    segmentation_duration {d} ({:.3} s)",
                    scte35::ticks_to_seconds(d)
                );
            }
        } else {
            println!(
                "    descriptor tag {:#04X}",
                descriptor.splice_descriptor_tag()
            );
        }
    }
}
