//! `hlsplice decode <DATA>`: decodes one SCTE-35 splice_info_section (hex, base64, or raw bytes on
//! stdin) and prints it as JSON whose keys are the standard's field names in snake_case. Times are
//! in 90 kHz ticks, each with a `<name>_seconds` sibling.
use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Map, Value, json};

use hlsplice::scte35::{
    self, Payload, SpliceCommand, SpliceDescriptor, SpliceInfoSection, SpliceInsert,
    descriptors::CUEI,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The section as hex (`0x` optional, any case) or base64; `-` reads it from stdin (text, or raw bytes).
    #[arg(value_name = "DATA")]
    pub data: String,
    /// Print the JSON on one line.
    #[arg(long)]
    pub compact: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = if args.data == "-" {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .context("reading stdin")?;
        input_bytes(&input)?
    } else {
        scte35::decode_text(&args.data).context("DATA is not hex or base64")?
    };
    let section = SpliceInfoSection::decode(&bytes).context("invalid splice_info_section")?;
    let view = section_json(&section, &bytes);
    let text = if args.compact {
        serde_json::to_string(&view)?
    } else {
        serde_json::to_string_pretty(&view)?
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").context("writing stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// Raw section bytes (they start with table_id 0xFC) or hex/base64 text.
fn input_bytes(input: &[u8]) -> anyhow::Result<Vec<u8>> {
    if input.first() == Some(&scte35::TABLE_ID) {
        return Ok(input.to_vec());
    }
    let text =
        std::str::from_utf8(input).context("stdin is neither a raw section nor UTF-8 text")?;
    scte35::decode_text(text).context("stdin is not hex or base64")
}

fn seconds(ticks: u64) -> Value {
    // Six decimals: one 90 kHz tick is 11.1 µs.
    let s = scte35::ticks_to_seconds(ticks);
    json!((s * 1e6).round() / 1e6)
}

fn hex(bytes: &[u8]) -> String {
    scte35::to_hex(bytes)
}

/// The JSON view of a decoded section; `bytes` is its encoding (for CRC_32).
pub fn section_json(section: &SpliceInfoSection, bytes: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("table_id".into(), json!(section.table_id()));
    m.insert(
        "section_syntax_indicator".into(),
        json!(section.section_syntax_indicator),
    );
    m.insert("private_indicator".into(), json!(section.private_indicator));
    m.insert("sap_type".into(), json!(section.sap_type));
    m.insert("section_length".into(), json!(section.section_length()));
    m.insert("protocol_version".into(), json!(section.protocol_version));
    m.insert("encrypted_packet".into(), json!(section.encrypted_packet()));
    m.insert(
        "encryption_algorithm".into(),
        json!(section.encryption_algorithm),
    );
    m.insert("pts_adjustment".into(), json!(section.pts_adjustment));
    m.insert(
        "pts_adjustment_seconds".into(),
        seconds(section.pts_adjustment),
    );
    m.insert("cw_index".into(), json!(section.cw_index));
    m.insert("tier".into(), json!(section.tier));
    m.insert(
        "splice_command_length".into(),
        json!(section.splice_command_length()),
    );
    match &section.payload {
        Payload::Clear {
            splice_command,
            splice_descriptors,
            alignment_stuffing,
        } => {
            m.insert(
                "splice_command_type".into(),
                json!(splice_command.splice_command_type()),
            );
            m.insert(
                "splice_command_name".into(),
                json!(command_name(splice_command)),
            );
            m.insert(
                "splice_command".into(),
                command_json(section, splice_command),
            );
            m.insert(
                "descriptor_loop_length".into(),
                json!(section.descriptor_loop_length()),
            );
            m.insert(
                "descriptors".into(),
                Value::Array(splice_descriptors.iter().map(descriptor_json).collect()),
            );
            if !alignment_stuffing.is_empty() {
                m.insert("alignment_stuffing".into(), json!(hex(alignment_stuffing)));
            }
        }
        Payload::Encrypted {
            encrypted_bytes, ..
        } => {
            m.insert("encrypted_payload".into(), json!(hex(encrypted_bytes)));
        }
    }
    if let Some(crc) = bytes.len().checked_sub(4).and_then(|at| bytes.get(at..)) {
        m.insert("crc_32".into(), json!(hex(crc)));
    }
    Value::Object(m)
}

fn command_name(command: &SpliceCommand) -> &'static str {
    match command {
        SpliceCommand::SpliceNull => "splice_null",
        SpliceCommand::SpliceSchedule(_) => "splice_schedule",
        SpliceCommand::SpliceInsert(_) => "splice_insert",
        SpliceCommand::TimeSignal(_) => "time_signal",
        SpliceCommand::BandwidthReservation(_) => "bandwidth_reservation",
        SpliceCommand::PrivateCommand(_) => "private_command",
        SpliceCommand::Reserved { .. } => "reserved",
    }
}

fn insert_pts(m: &mut Map<String, Value>, section: &SpliceInfoSection, pts_time: Option<u64>) {
    m.insert("time_specified_flag".into(), json!(pts_time.is_some()));
    if let Some(pts) = pts_time {
        m.insert("pts_time".into(), json!(pts));
        m.insert("pts_time_seconds".into(), seconds(pts));
        let effective = section.effective_pts(pts);
        if effective != pts {
            // (pts_time + pts_adjustment) mod 2^33
            m.insert("effective_pts_time".into(), json!(effective));
            m.insert("effective_pts_time_seconds".into(), seconds(effective));
        }
    }
}

fn command_json(section: &SpliceInfoSection, command: &SpliceCommand) -> Value {
    let mut m = Map::new();
    match command {
        SpliceCommand::SpliceNull => {}
        SpliceCommand::SpliceInsert(si) => splice_insert_json(&mut m, section, si),
        SpliceCommand::TimeSignal(ts) => insert_pts(&mut m, section, ts.pts_time),
        SpliceCommand::SpliceSchedule(bytes) | SpliceCommand::BandwidthReservation(bytes) => {
            if !bytes.is_empty() {
                m.insert("bytes".into(), json!(hex(bytes)));
            }
        }
        SpliceCommand::PrivateCommand(p) => {
            m.insert("identifier".into(), json!(four_cc(p.identifier)));
            m.insert("private_bytes".into(), json!(hex(&p.private_bytes)));
        }
        SpliceCommand::Reserved { bytes, .. } => {
            m.insert("bytes".into(), json!(hex(bytes)));
        }
    }
    Value::Object(m)
}

fn splice_insert_json(m: &mut Map<String, Value>, section: &SpliceInfoSection, si: &SpliceInsert) {
    m.insert("splice_event_id".into(), json!(si.splice_event_id));
    m.insert(
        "splice_event_cancel_indicator".into(),
        json!(si.splice_event_cancel_indicator),
    );
    if si.splice_event_cancel_indicator {
        return;
    }
    m.insert(
        "out_of_network_indicator".into(),
        json!(si.out_of_network_indicator),
    );
    m.insert("program_splice_flag".into(), json!(si.program_splice_flag));
    m.insert("duration_flag".into(), json!(si.duration_flag()));
    m.insert(
        "splice_immediate_flag".into(),
        json!(si.splice_immediate_flag),
    );
    m.insert(
        "event_id_compliance_flag".into(),
        json!(si.event_id_compliance_flag),
    );
    if si.program_splice_flag {
        if !si.splice_immediate_flag {
            insert_pts(m, section, si.pts_time);
        }
    } else {
        m.insert("component_count".into(), json!(si.components.len()));
        let components = si
            .components
            .iter()
            .map(|c| {
                let mut cm = Map::new();
                cm.insert("component_tag".into(), json!(c.component_tag));
                if !si.splice_immediate_flag {
                    insert_pts(&mut cm, section, c.pts_time);
                }
                Value::Object(cm)
            })
            .collect();
        m.insert("components".into(), Value::Array(components));
    }
    if let Some(bd) = si.break_duration {
        m.insert(
            "break_duration".into(),
            json!({ "auto_return": bd.auto_return, "duration": bd.duration, "duration_seconds": seconds(bd.duration) }),
        );
    }
    m.insert("unique_program_id".into(), json!(si.unique_program_id));
    m.insert("avail_num".into(), json!(si.avail_num));
    m.insert("avails_expected".into(), json!(si.avails_expected));
}

/// A 32-bit identifier as its four ASCII characters when printable, else hex.
fn four_cc(id: u32) -> String {
    let b = id.to_be_bytes();
    if b.iter().all(|c| c.is_ascii_graphic()) {
        b.iter().map(|&c| char::from(c)).collect()
    } else {
        format!("0x{id:08X}")
    }
}

fn printable(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().all(|c| c.is_ascii_graphic() || *c == b' '))
        .then(|| bytes.iter().map(|&c| char::from(c)).collect())
}

fn descriptor_json(d: &SpliceDescriptor) -> Value {
    let mut m = Map::new();
    m.insert(
        "splice_descriptor_tag".into(),
        json!(d.splice_descriptor_tag()),
    );
    m.insert("descriptor_length".into(), json!(d.descriptor_length()));
    if let Some(id) = d.identifier() {
        m.insert("identifier".into(), json!(four_cc(id)));
    }
    m.insert("name".into(), Value::Null); // filled below; keeps its place after the header fields
    let name = match d {
        SpliceDescriptor::Avail(a) => {
            m.insert("provider_avail_id".into(), json!(a.provider_avail_id));
            "avail_descriptor"
        }
        SpliceDescriptor::Dtmf(t) => {
            m.insert("preroll".into(), json!(t.preroll));
            m.insert("dtmf_count".into(), json!(t.dtmf_chars.len()));
            m.insert(
                "dtmf_chars".into(),
                json!(String::from_utf8_lossy(&t.dtmf_chars)),
            );
            "DTMF_descriptor"
        }
        SpliceDescriptor::Segmentation(s) => {
            m.insert(
                "segmentation_event_id".into(),
                json!(s.segmentation_event_id),
            );
            m.insert(
                "segmentation_event_cancel_indicator".into(),
                json!(s.segmentation_event_cancel_indicator),
            );
            m.insert(
                "segmentation_event_id_compliance_indicator".into(),
                json!(s.segmentation_event_id_compliance_indicator),
            );
            if !s.segmentation_event_cancel_indicator {
                m.insert(
                    "program_segmentation_flag".into(),
                    json!(s.program_segmentation_flag),
                );
                m.insert(
                    "segmentation_duration_flag".into(),
                    json!(s.segmentation_duration_flag()),
                );
                m.insert(
                    "delivery_not_restricted_flag".into(),
                    json!(s.delivery_not_restricted_flag()),
                );
                if let Some(r) = s.delivery_restrictions {
                    m.insert(
                        "web_delivery_allowed_flag".into(),
                        json!(r.web_delivery_allowed_flag),
                    );
                    m.insert(
                        "no_regional_blackout_flag".into(),
                        json!(r.no_regional_blackout_flag),
                    );
                    m.insert("archive_allowed_flag".into(), json!(r.archive_allowed_flag));
                    m.insert("device_restrictions".into(), json!(r.device_restrictions));
                }
                if !s.program_segmentation_flag {
                    m.insert("component_count".into(), json!(s.components.len()));
                    let components = s
                        .components
                        .iter()
                        .map(|c| {
                            json!({ "component_tag": c.component_tag, "pts_offset": c.pts_offset,
                                    "pts_offset_seconds": seconds(c.pts_offset) })
                        })
                        .collect();
                    m.insert("components".into(), Value::Array(components));
                }
                if let Some(dur) = s.segmentation_duration {
                    m.insert("segmentation_duration".into(), json!(dur));
                    m.insert("segmentation_duration_seconds".into(), seconds(dur));
                }
                m.insert(
                    "segmentation_upid_type".into(),
                    json!(s.segmentation_upid_type),
                );
                m.insert(
                    "segmentation_upid_length".into(),
                    json!(s.segmentation_upid.len()),
                );
                m.insert("segmentation_upid".into(), json!(hex(&s.segmentation_upid)));
                if let Some(text) = printable(&s.segmentation_upid) {
                    m.insert("segmentation_upid_text".into(), json!(text));
                }
                m.insert("segmentation_type_id".into(), json!(s.segmentation_type_id));
                m.insert("segment_num".into(), json!(s.segment_num));
                m.insert("segments_expected".into(), json!(s.segments_expected));
                if let Some(sub) = s.sub_segment {
                    m.insert("sub_segment_num".into(), json!(sub.sub_segment_num));
                    m.insert(
                        "sub_segments_expected".into(),
                        json!(sub.sub_segments_expected),
                    );
                }
            }
            "segmentation_descriptor"
        }
        SpliceDescriptor::Time(t) => {
            m.insert("TAI_seconds".into(), json!(t.tai_seconds));
            m.insert("TAI_ns".into(), json!(t.tai_ns));
            m.insert("UTC_offset".into(), json!(t.utc_offset));
            "time_descriptor"
        }
        SpliceDescriptor::Audio(a) => {
            m.insert("audio_count".into(), json!(a.components.len()));
            let components = a
                .components
                .iter()
                .map(|c| {
                    let code = c.iso_code.to_be_bytes();
                    json!({
                        "component_tag": c.component_tag,
                        "ISO_code": String::from_utf8_lossy(&code[1..]),
                        "Bit_Stream_Mode": c.bit_stream_mode,
                        "Num_Channels": c.num_channels,
                        "Full_Srvc_Audio": c.full_srvc_audio,
                    })
                })
                .collect();
            m.insert("components".into(), Value::Array(components));
            "audio_descriptor"
        }
        SpliceDescriptor::Unknown { bytes, .. } => {
            m.insert("bytes".into(), json!(hex(bytes)));
            if d.identifier() != Some(CUEI) || d.splice_descriptor_tag() > 4 {
                "private_descriptor"
            } else {
                "unparsed_descriptor"
            }
        }
    };
    m.insert("name".into(), json!(name));
    Value::Object(m)
}
