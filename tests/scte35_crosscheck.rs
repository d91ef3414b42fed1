//! Independent cross-check: sections we encode are accepted by `scte35-reader` 0.16 (a separate
//! decoder built on mpeg2ts-reader) and it agrees with our model on every field it exposes.
//!
//! scte35-reader only logs its errors, so each check asserts that its processor was called.

use std::sync::{Arc, Mutex};

use hlsplice::scte35::{
    self, AvailDescriptor, BreakDuration, DeliveryRestrictions, DtmfDescriptor, PTS_MASK, Payload,
    PrivateCommand, SegmentationComponent, SegmentationDescriptor, SpliceCommand, SpliceDescriptor,
    SpliceInfoSection, SpliceInsert, SpliceInsertComponent, SpliceTime, SubSegment, TimeDescriptor,
    TimeSignal, descriptors::SUB_SEGMENT_TYPES,
};
use mpeg2ts_reader::demultiplex;
use mpeg2ts_reader::psi::{self, WholeCompactSyntaxPayloadParser};
use proptest::collection::vec;
use proptest::prelude::*;
use scte35_reader as reader;
use serde_json::{Value, json};

mpeg2ts_reader::demux_context!(
    NullDemuxContext,
    demultiplex::NullPacketFilter<NullDemuxContext>
);
impl NullDemuxContext {
    fn do_construct(
        &mut self,
        _req: demultiplex::FilterRequest<'_, '_>,
    ) -> demultiplex::NullPacketFilter<NullDemuxContext> {
        unimplemented!("no PIDs are demultiplexed here");
    }
}

/// What scte35-reader reported, as owned JSON (its types serialize with serde).
#[derive(Debug, Default)]
struct Seen {
    header: Value,
    command: Value,
    descriptors: Vec<Value>,
    descriptor_errors: Vec<String>,
}

struct Recorder(Arc<Mutex<Option<Seen>>>);

impl reader::SpliceInfoProcessor for Recorder {
    fn process(
        &self,
        header: reader::SpliceInfoHeader<'_>,
        command: reader::SpliceCommand,
        descriptors: reader::SpliceDescriptors<'_>,
    ) {
        let mut seen = Seen {
            header: serde_json::to_value(&header).unwrap(),
            command: serde_json::to_value(&command).unwrap(),
            ..Seen::default()
        };
        // The header accessors too, including the two fields its serde form leaves out.
        seen.header["splice_command_length"] = json!(header.splice_command_length());
        seen.header["splice_command_type"] = json!(format!("{:?}", header.splice_command_type()));
        for d in &descriptors {
            match d {
                Ok(d) => seen.descriptors.push(descriptor_value(&d)),
                Err(e) => seen.descriptor_errors.push(format!("{e:?}")),
            }
        }
        *self.0.lock().unwrap() = Some(seen);
    }
}

/// Serde form of a reader descriptor, with the UPID replaced by its type and raw bytes (the URL
/// form has no serde impl, and the typed forms hide the bytes in tuple structs).
fn descriptor_value(d: &reader::SpliceDescriptor) -> Value {
    if let reader::SpliceDescriptor::SegmentationDescriptor {
        descriptor_detail:
            reader::SegmentationDescriptor::Insert {
                segmentation_upid,
                segmentation_type_id,
                ..
            },
        ..
    } = d
    {
        let bytes: Vec<u8> = match segmentation_upid {
            reader::SegmentationUpid::None => Vec::new(),
            reader::SegmentationUpid::UserDefined(v) => v.0.clone(),
            reader::SegmentationUpid::TI(v) => v.0.clone(),
            reader::SegmentationUpid::MPU(v) => v.0.clone(),
            reader::SegmentationUpid::ADI(v) => v.0.as_bytes().to_vec(),
            reader::SegmentationUpid::Reserved(_, v) => v.clone(),
            other => panic!("UPID form not used by this test: {other:?}"),
        };
        // Serialize everything but the UPID through serde by re-wrapping the other fields.
        let mut v = serde_json::to_value(SerdeShim(d)).unwrap();
        let insert = &mut v["SegmentationDescriptor"]["descriptor_detail"]["Insert"];
        insert["segmentation_upid"] = json!({
            "type": format!("{:?}", segmentation_upid.segmentation_upid_type()),
            "length": segmentation_upid.segmentation_upid_length(),
            "bytes": bytes,
        });
        insert["segmentation_type_id"] = serde_json::to_value(segmentation_type_id).unwrap();
        return v;
    }
    serde_json::to_value(d).unwrap()
}

/// Serializes a reader descriptor with `segmentation_upid` blanked, so URL UPIDs never reach serde.
struct SerdeShim<'a>(&'a reader::SpliceDescriptor);

impl serde::Serialize for SerdeShim<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            reader::SpliceDescriptor::SegmentationDescriptor {
                segmentation_event_id,
                descriptor_detail:
                    reader::SegmentationDescriptor::Insert {
                        program_segmentation_flag,
                        segmentation_duration_flag,
                        delivery_not_restricted_flag,
                        delivery_restrictions,
                        segmentation_mode,
                        segmentation_duration,
                        segment_num,
                        segments_expected,
                        sub_segments,
                        ..
                    },
            } => {
                let insert = json!({
                    "program_segmentation_flag": program_segmentation_flag,
                    "segmentation_duration_flag": segmentation_duration_flag,
                    "delivery_not_restricted_flag": delivery_not_restricted_flag,
                    "delivery_restrictions": serde_json::to_value(delivery_restrictions).unwrap(),
                    "segmentation_mode": serde_json::to_value(segmentation_mode).unwrap(),
                    "segmentation_duration": segmentation_duration,
                    "segmentation_upid": null,
                    "segmentation_type_id": null,
                    "segment_num": segment_num,
                    "segments_expected": segments_expected,
                    "sub_segments": serde_json::to_value(sub_segments).unwrap(),
                });
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "SegmentationDescriptor",
                    &json!({ "segmentation_event_id": segmentation_event_id,
                             "descriptor_detail": { "Insert": insert } }),
                )?;
                m.end()
            }
            other => serde::Serialize::serialize(other, s),
        }
    }
}

fn read_with_scte35_reader(bytes: &[u8]) -> Option<Seen> {
    let slot = Arc::new(Mutex::new(None));
    let mut parser = reader::Scte35SectionProcessor::new(Recorder(slot.clone()));
    let header = psi::SectionCommonHeader::new(&bytes[..psi::SectionCommonHeader::SIZE]);
    let mut ctx = NullDemuxContext::new();
    parser.section(&mut ctx, &header, bytes);
    slot.lock().unwrap().take()
}

// ---- what our model says, in scte35-reader's serde shape ----

fn splice_time(pts: Option<u64>) -> Value {
    json!({ "Timed": pts })
}

fn expected_command(c: &SpliceCommand) -> (Value, &'static str) {
    match c {
        SpliceCommand::SpliceNull => (json!({ "SpliceNull": {} }), "SpliceNull"),
        SpliceCommand::TimeSignal(ts) => (
            json!({ "TimeSignal": { "splice_time": splice_time(ts.pts_time) } }),
            "TimeSignal",
        ),
        SpliceCommand::BandwidthReservation(_) => (
            json!({ "BandwidthReservation": {} }),
            "BandwidthReservation",
        ),
        SpliceCommand::PrivateCommand(p) => (
            json!({ "PrivateCommand": { "identifier": p.identifier, "private_bytes": p.private_bytes } }),
            "PrivateCommand",
        ),
        SpliceCommand::SpliceInsert(si) => {
            let detail = if si.splice_event_cancel_indicator {
                json!("Cancel")
            } else {
                let time = |p| {
                    if si.splice_immediate_flag {
                        json!("Immediate")
                    } else {
                        splice_time(p)
                    }
                };
                let mode = if si.program_splice_flag {
                    json!({ "Program": time(si.pts_time) })
                } else {
                    json!({ "Components": si.components.iter().map(|c| json!({
                        "component_tag": c.component_tag, "splice_time": time(c.pts_time) })).collect::<Vec<_>>() })
                };
                json!({ "Insert": {
                    "network_indicator": if si.out_of_network_indicator { "Out" } else { "In" },
                    "splice_mode": mode,
                    "duration": si.break_duration.map(|bd| json!({
                        "return_mode": if bd.auto_return { "Automatic" } else { "Manual" },
                        "duration": bd.duration })),
                    "unique_program_id": si.unique_program_id,
                    "avail_num": si.avail_num,
                    "avails_expected": si.avails_expected,
                }})
            };
            (
                json!({ "SpliceInsert": {
                    "splice_event_id": si.splice_event_id,
                    "reserved": 0x7F, // reserved bits are written as 1
                    "splice_detail": detail,
                }}),
                "SpliceInsert",
            )
        }
        other => panic!("scte35-reader does not decode {other:?}"),
    }
}

fn expected_descriptor(d: &SpliceDescriptor) -> Value {
    match d {
        SpliceDescriptor::Avail(a) => {
            json!({ "AvailDescriptor": { "provider_avail_id": a.provider_avail_id } })
        }
        SpliceDescriptor::Dtmf(t) => {
            json!({ "DTMFDescriptor": { "preroll": t.preroll, "dtmf_chars": t.dtmf_chars } })
        }
        SpliceDescriptor::Time(t) => json!({ "TimeDescriptor": {
            "tai_seconds": t.tai_seconds, "tai_nanoseconds": t.tai_ns, "utc_offset": t.utc_offset } }),
        SpliceDescriptor::Unknown {
            splice_descriptor_tag,
            bytes,
        } => json!({ "Reserved": {
            "tag": splice_descriptor_tag, "identifier": &bytes[..4], "private_bytes": &bytes[4..] } }),
        SpliceDescriptor::Segmentation(s) if s.segmentation_event_cancel_indicator => json!({
            "SegmentationDescriptor": { "segmentation_event_id": s.segmentation_event_id,
                                        "descriptor_detail": "Cancel" } }),
        SpliceDescriptor::Segmentation(s) => {
            let device = ["RestrictGroup0", "RestrictGroup1", "RestrictGroup2", "None"];
            let restrictions = match s.delivery_restrictions {
                None => json!("None"),
                Some(r) => json!({ "DeliveryRestrictions": {
                    "web_delivery_allowed_flag": r.web_delivery_allowed_flag,
                    "no_regional_blackout_flag": r.no_regional_blackout_flag,
                    "archive_allowed_flag": r.archive_allowed_flag,
                    "device_restrictions": device[usize::from(r.device_restrictions)] } }),
            };
            let mode = if s.program_segmentation_flag {
                json!("Program")
            } else {
                json!({ "Component": { "components": s.components.iter().map(|c| json!({
                    "component_tag": c.component_tag, "pts_offset": c.pts_offset })).collect::<Vec<_>>() } })
            };
            // An empty UPID is "None" to scte35-reader whatever its declared type.
            let upid_type = if s.segmentation_upid.is_empty() {
                reader::SegmentationUpidType::NotUsed
            } else {
                reader::SegmentationUpidType::from_type(s.segmentation_upid_type)
            };
            json!({ "SegmentationDescriptor": {
                "segmentation_event_id": s.segmentation_event_id,
                "descriptor_detail": { "Insert": {
                    "program_segmentation_flag": s.program_segmentation_flag,
                    "segmentation_duration_flag": s.segmentation_duration_flag(),
                    "delivery_not_restricted_flag": s.delivery_not_restricted_flag(),
                    "delivery_restrictions": restrictions,
                    "segmentation_mode": mode,
                    "segmentation_duration": s.segmentation_duration,
                    "segmentation_upid": { "type": format!("{upid_type:?}"),
                                           "length": s.segmentation_upid.len(),
                                           "bytes": s.segmentation_upid },
                    "segmentation_type_id":
                        serde_json::to_value(reader::SegmentationTypeId::from_id(s.segmentation_type_id)).unwrap(),
                    "segment_num": s.segment_num,
                    "segments_expected": s.segments_expected,
                    "sub_segments": s.sub_segment.map(|x| json!({
                        "sub_segment_num": x.sub_segment_num, "sub_segments_expected": x.sub_segments_expected })),
                }}
            }})
        }
        other => panic!("scte35-reader does not decode {other:?}"),
    }
}

fn assert_agrees(section: &SpliceInfoSection) {
    let bytes = section.to_vec().expect("encodes");
    let seen = read_with_scte35_reader(&bytes).unwrap_or_else(|| {
        panic!(
            "scte35-reader rejected {} (see its log)",
            scte35::to_hex(&bytes)
        )
    });
    let Payload::Clear {
        splice_command,
        splice_descriptors,
        ..
    } = &section.payload
    else {
        unreachable!()
    };
    let algorithm = serde_json::to_value(reader::EncryptionAlgorithm::from_id(
        section.encryption_algorithm,
    ))
    .unwrap();
    let (command, type_name) = expected_command(splice_command);
    let header = json!({
        "protocol_version": section.protocol_version,
        "encrypted_packet": false,
        "encryption_algorithm": algorithm,
        "pts_adjustment": section.pts_adjustment,
        "cw_index": section.cw_index,
        "tier": section.tier,
        "splice_command_length": section.splice_command_length(),
        "splice_command_type": type_name,
    });
    let hex = scte35::to_hex(&bytes);
    assert_eq!(seen.header, header, "header of {hex}");
    assert_eq!(seen.command, command, "command of {hex}");
    assert!(
        seen.descriptor_errors.is_empty(),
        "descriptor errors {:?} in {hex}",
        seen.descriptor_errors
    );
    let want: Vec<Value> = splice_descriptors.iter().map(expected_descriptor).collect();
    assert_eq!(seen.descriptors, want, "descriptors of {hex}");
}

#[test]
fn builders_are_accepted_by_scte35_reader() {
    let upid = b"\x00\x00\x00\x00\x2C\xA0\xA1\x8A".to_vec();
    let mut seg = SegmentationDescriptor::new(0x4800_008E, 0x34);
    seg.segmentation_duration = Some(scte35::seconds_to_ticks(307.0).unwrap());
    seg.segmentation_upid_type = 0x08;
    seg.segmentation_upid = upid;
    seg.segment_num = 2;
    for section in [
        scte35::splice_insert_out(1, SpliceTime::Pts(756_296_448), Some(19_125_000), true),
        scte35::splice_insert_out(2, SpliceTime::Immediate, None, false),
        scte35::splice_insert_in(1, SpliceTime::Pts(PTS_MASK)),
        scte35::splice_insert_in(3, SpliceTime::Immediate),
        scte35::splice_insert_cancel(4),
        scte35::time_signal_segmentation(SpliceTime::Pts(1_924_989_008), seg),
        scte35::time_signal(SpliceTime::Immediate, Vec::new()),
    ] {
        assert_agrees(&section);
    }
}

#[test]
fn scte35_reader_rejects_a_corrupted_section() {
    // Guards the harness: a bad CRC must produce no result, so `Some` above means acceptance.
    let mut bytes = scte35::splice_insert_cancel(4).to_vec().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(read_with_scte35_reader(&bytes).is_none());
}

// ---- arbitrary sections within what scte35-reader decodes ----

fn pts() -> impl Strategy<Value = u64> {
    0..=PTS_MASK
}

fn splice_insert() -> impl Strategy<Value = SpliceInsert> {
    (
        any::<(u32, bool)>(),
        any::<[bool; 3]>(),
        prop::option::of(pts()),
        vec((any::<u8>(), prop::option::of(pts())), 0..3),
        prop::option::of((any::<bool>(), pts())),
        any::<(u16, u8, u8)>(),
    )
        .prop_map(
            |((id, cancel), [oon, program, immediate], p, comps, bd, (upid, num, exp))| {
                if cancel {
                    return SpliceInsert {
                        splice_event_id: id,
                        splice_event_cancel_indicator: true,
                        ..Default::default()
                    };
                }
                SpliceInsert {
                    splice_event_id: id,
                    out_of_network_indicator: oon,
                    program_splice_flag: program,
                    splice_immediate_flag: immediate,
                    pts_time: if program && !immediate { p } else { None },
                    components: if program {
                        Vec::new()
                    } else {
                        comps
                            .into_iter()
                            .map(|(component_tag, p)| SpliceInsertComponent {
                                component_tag,
                                pts_time: if immediate { None } else { p },
                            })
                            .collect()
                    },
                    break_duration: bd.map(|(auto_return, duration)| BreakDuration {
                        auto_return,
                        duration,
                    }),
                    unique_program_id: upid,
                    avail_num: num,
                    avails_expected: exp,
                    ..Default::default()
                }
            },
        )
}

fn upid() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        Just((0x00, Vec::new())),
        vec(any::<u8>(), 1..16).prop_map(|b| (0x01, b)),
        vec(any::<u8>(), 8..=8).prop_map(|b| (0x08, b)),
        "[A-Z0-9]{1,20}".prop_map(|s| (0x09, s.into_bytes())),
        vec(any::<u8>(), 1..16).prop_map(|b| (0x0C, b)),
        (0x11u8..=0xFF, vec(any::<u8>(), 1..16)),
    ]
}

fn segmentation() -> impl Strategy<Value = SegmentationDescriptor> {
    (
        (any::<u32>(), any::<bool>(), any::<bool>()),
        prop::option::of((any::<[bool; 3]>(), 0u8..4)),
        vec((any::<u8>(), pts()), 0..3),
        prop::option::of(0u64..(1 << 40)),
        upid(),
        any::<(u8, u8, u8)>(),
        prop::option::of(any::<(u8, u8)>()),
    )
        .prop_map(
            |(
                (id, cancel, program),
                r,
                comps,
                duration,
                (upid_type, upid),
                (type_id, num, exp),
                sub,
            )| {
                let mut s = SegmentationDescriptor::new(id, type_id);
                if cancel {
                    s.segmentation_event_cancel_indicator = true;
                    return s;
                }
                s.program_segmentation_flag = program;
                s.delivery_restrictions = r.map(|([w, n, a], d)| DeliveryRestrictions {
                    web_delivery_allowed_flag: w,
                    no_regional_blackout_flag: n,
                    archive_allowed_flag: a,
                    device_restrictions: d,
                });
                if !program {
                    s.components = comps
                        .into_iter()
                        .map(|(component_tag, pts_offset)| SegmentationComponent {
                            component_tag,
                            pts_offset,
                        })
                        .collect();
                }
                s.segmentation_duration = duration;
                s.segmentation_upid_type = upid_type;
                s.segmentation_upid = upid;
                s.segment_num = num;
                s.segments_expected = exp;
                if SUB_SEGMENT_TYPES.contains(&type_id) {
                    s.sub_segment = sub.map(|(a, b)| SubSegment {
                        sub_segment_num: a,
                        sub_segments_expected: b,
                    });
                }
                s
            },
        )
}

fn descriptor() -> impl Strategy<Value = SpliceDescriptor> {
    prop_oneof![
        any::<u32>().prop_map(|id| SpliceDescriptor::Avail(AvailDescriptor {
            provider_avail_id: id
        })),
        (any::<u8>(), vec(any::<u8>(), 0..=7)).prop_map(|(preroll, dtmf_chars)| {
            SpliceDescriptor::Dtmf(DtmfDescriptor {
                preroll,
                dtmf_chars,
            })
        }),
        segmentation().prop_map(SpliceDescriptor::Segmentation),
        (0u64..(1 << 48), any::<u32>(), any::<u16>()).prop_map(|(s, ns, off)| {
            SpliceDescriptor::Time(TimeDescriptor {
                tai_seconds: s,
                tai_ns: ns,
                utc_offset: off,
            })
        }),
        (5u8..=0xFF, vec(any::<u8>(), 4..20)).prop_map(|(tag, bytes)| SpliceDescriptor::Unknown {
            splice_descriptor_tag: tag,
            bytes
        }),
    ]
}

fn command() -> impl Strategy<Value = SpliceCommand> {
    prop_oneof![
        1 => Just(SpliceCommand::SpliceNull),
        5 => splice_insert().prop_map(SpliceCommand::SpliceInsert),
        3 => prop::option::of(pts()).prop_map(|p| SpliceCommand::TimeSignal(TimeSignal { pts_time: p })),
        1 => Just(SpliceCommand::BandwidthReservation(Vec::new())),
        1 => (any::<u32>(), vec(any::<u8>(), 0..16))
            .prop_map(|(identifier, private_bytes)| SpliceCommand::PrivateCommand(PrivateCommand {
                identifier,
                private_bytes
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_sections_agree_with_scte35_reader(
        command in command(),
        descriptors in vec(descriptor(), 0..4),
        header in (0u8..4, any::<u8>(), 0u8..64, pts(), any::<u8>(), 0u16..=0xFFF),
    ) {
        let (sap_type, protocol_version, encryption_algorithm, pts_adjustment, cw_index, tier) = header;
        let mut section = scte35::time_signal(SpliceTime::Immediate, descriptors);
        if let Payload::Clear { splice_command, .. } = &mut section.payload {
            *splice_command = command;
        }
        section.sap_type = sap_type;
        section.protocol_version = protocol_version;
        section.encryption_algorithm = encryption_algorithm;
        section.pts_adjustment = pts_adjustment;
        section.cw_index = cw_index;
        section.tier = tier;
        assert_agrees(&section);
    }
}
