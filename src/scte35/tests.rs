//! Unit tests keyed by the standard's sample messages (SCTE 35 2023r1 §14, identical in 2022b)
//! plus the builders, text forms and tick conversion.

use super::*;

/// SCTE 35 §14 sample messages (base64), as printed in the standard.
const SAMPLE_14_1_TIME_SIGNAL_PLACEMENT_OPPORTUNITY_START: &str =
    "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==";
const SAMPLE_14_2_SPLICE_INSERT: &str =
    "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=";
const SAMPLE_14_3_TIME_SIGNAL_PLACEMENT_OPPORTUNITY_END: &str =
    "/DAvAAAAAAAA///wBQb+dGKQoAAZAhdDVUVJSAAAjn+fCAgAAAAALKChijUCAKnMZ1g=";
const SAMPLE_14_4_TIME_SIGNAL_PROGRAM_START_END: &str = "/DBIAAAAAAAA///wBQb+ek2ItgAyAhdDVUVJSAAAGH+fCAgAAAAALMvDRBEAAAIXQ1VFSUgAABl/nwgIAAAAACyk26AQAACZcuND";
const SAMPLE_14_5_TIME_SIGNAL_PROGRAM_OVERLAP_START: &str =
    "/DAvAAAAAAAA///wBQb+rr//ZAAZAhdDVUVJSAAACH+fCAgAAAAALKVs9RcAAJUdsKg=";
const SAMPLE_14_6_TIME_SIGNAL_PROGRAM_BLACKOUT_OVERRIDE_PROGRAM_END: &str = "/DBIAAAAAAAA///wBQb+ky44CwAyAhdDVUVJSAAACn+fCAgAAAAALKCh4xgAAAIXQ1VFSUgAAAl/nwgIAAAAACygoYoRAAC0IX6w";
const SAMPLE_14_7_TIME_SIGNAL_PROGRAM_END: &str =
    "/DAvAAAAAAAA///wBQb+rvF8TAAZAhdDVUVJSAAAB3+fCAgAAAAALKVslxEAAMSHai4=";
const SAMPLE_14_8_TIME_SIGNAL_PROGRAM_START_END_PLACEMENT_OPPORTUNITY_END: &str = "/DBhAAAAAAAA///wBQb+qM1E7QBLAhdDVUVJSAAArX+fCAgAAAAALLLXnTUCAAIXQ1VFSUgAACZ/nwgIAAAAACyy150RAAACF0NVRUlIAAAnf58ICAAAAAAsstezEAAAihiGnw==";

fn decode_b64(text: &str) -> (Vec<u8>, SpliceInfoSection) {
    let bytes = decode_text(text).expect("sample is valid base64");
    let section = SpliceInfoSection::decode(&bytes).expect("sample decodes");
    (bytes, section)
}

fn assert_round_trip(text: &str) -> SpliceInfoSection {
    let (bytes, section) = decode_b64(text);
    assert_eq!(section.encoded_len(), bytes.len());
    assert_eq!(section.to_vec().unwrap(), bytes, "re-encode differs");
    assert_eq!(to_base64(&bytes), text);
    section
}

fn time_signal_pts(section: &SpliceInfoSection) -> Option<u64> {
    match section.splice_command() {
        Some(SpliceCommand::TimeSignal(ts)) => ts.pts_time,
        other => panic!("expected time_signal, got {other:?}"),
    }
}

#[test]
fn sample_14_1_time_signal_placement_opportunity_start() {
    let s = assert_round_trip(SAMPLE_14_1_TIME_SIGNAL_PLACEMENT_OPPORTUNITY_START);
    assert_eq!(s.sap_type, 3);
    assert_eq!(s.cw_index, 0xFF);
    assert_eq!(s.tier, 0xFFF);
    assert_eq!(s.section_length(), 52);
    assert_eq!(s.splice_command_length(), 5);
    assert_eq!(time_signal_pts(&s), Some(0x0_72BD_0050));
    assert_eq!(s.descriptor_loop_length(), 30);
    assert_eq!(s.splice_descriptors().len(), 1);
}

#[test]
fn sample_14_2_splice_insert() {
    let s = assert_round_trip(SAMPLE_14_2_SPLICE_INSERT);
    let Some(SpliceCommand::SpliceInsert(si)) = s.splice_command() else {
        panic!("expected splice_insert");
    };
    assert_eq!(si.splice_event_id, 0x4800_008F);
    assert!(!si.splice_event_cancel_indicator);
    assert!(si.out_of_network_indicator);
    assert!(si.program_splice_flag);
    assert!(si.duration_flag());
    assert!(!si.splice_immediate_flag);
    assert_eq!(si.pts_time, Some(0x0_7369_C02E));
    assert_eq!(
        si.break_duration,
        Some(BreakDuration {
            auto_return: true,
            duration: 0x0_0052_CCF5
        })
    );
    assert_eq!(
        (si.unique_program_id, si.avail_num, si.avails_expected),
        (0, 0, 0)
    );
    assert_eq!(s.splice_command_length(), 20);
    assert_eq!(s.descriptor_loop_length(), 10);
    assert_eq!(crc32_mpeg2(&s.to_vec().unwrap()[..46]), 0x62DB_A30A);
}

#[test]
fn sample_14_3_time_signal_placement_opportunity_end() {
    let s = assert_round_trip(SAMPLE_14_3_TIME_SIGNAL_PLACEMENT_OPPORTUNITY_END);
    assert_eq!(time_signal_pts(&s), Some(0x0_7462_90A0));
}

#[test]
fn sample_14_4_time_signal_program_start_end() {
    let s = assert_round_trip(SAMPLE_14_4_TIME_SIGNAL_PROGRAM_START_END);
    assert_eq!(time_signal_pts(&s), Some(0x0_7A4D_88B6));
    assert_eq!(s.splice_descriptors().len(), 2);
}

#[test]
fn sample_14_5_time_signal_program_overlap_start() {
    let s = assert_round_trip(SAMPLE_14_5_TIME_SIGNAL_PROGRAM_OVERLAP_START);
    assert_eq!(time_signal_pts(&s), Some(0x0_AEBF_FF64));
}

#[test]
fn sample_14_6_time_signal_program_blackout_override_program_end() {
    let s = assert_round_trip(SAMPLE_14_6_TIME_SIGNAL_PROGRAM_BLACKOUT_OVERRIDE_PROGRAM_END);
    assert_eq!(time_signal_pts(&s), Some(0x0_932E_380B));
    assert_eq!(s.splice_descriptors().len(), 2);
}

#[test]
fn sample_14_7_time_signal_program_end() {
    let s = assert_round_trip(SAMPLE_14_7_TIME_SIGNAL_PROGRAM_END);
    assert_eq!(time_signal_pts(&s), Some(0x0_AEF1_7C4C));
}

#[test]
fn sample_14_8_time_signal_program_start_end_placement_opportunity_end() {
    let s = assert_round_trip(SAMPLE_14_8_TIME_SIGNAL_PROGRAM_START_END_PLACEMENT_OPPORTUNITY_END);
    assert_eq!(time_signal_pts(&s), Some(0x0_A8CD_44ED));
    assert_eq!(s.splice_descriptors().len(), 3);
}

#[test]
fn crc32_mpeg2_check_value() {
    assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
}

#[test]
fn splice_insert_out_with_duration_round_trips_and_has_defaults() {
    let out = splice_insert_out(1002, SpliceTime::Pts(23_355_832), Some(5_399_395), true);
    let bytes = out.to_vec().unwrap();
    // sap_type 3, tier 0xFFF, cw_index 0, pts_adjustment 0, protocol_version 0
    assert_eq!(&bytes[..3], &[0xFC, 0x30, 0x25]);
    assert_eq!(
        &bytes[3..13],
        &[0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xF0, 0x14]
    );
    assert_eq!(bytes[13], 0x05);
    assert_eq!(SpliceInfoSection::decode(&bytes).unwrap(), out);
    let Some(SpliceCommand::SpliceInsert(si)) = out.splice_command() else {
        panic!()
    };
    assert!(si.event_id_compliance_flag);
    assert!(si.out_of_network_indicator);
    assert_eq!(
        si.break_duration,
        Some(BreakDuration {
            auto_return: true,
            duration: 5_399_395
        })
    );
}

#[test]
fn splice_insert_out_matches_published_aws_elemental_out() {
    // AWS Elemental EXT-X-DATERANGE example: event 999, pts 1178526, 30 s auto_return,
    // unique_program_id 1, avail 1/1, cw_index 0.
    let mut out = splice_insert_out(
        999,
        SpliceTime::Pts(1_178_526),
        Some(seconds_to_ticks(30.0).unwrap()),
        true,
    );
    if let Payload::Clear {
        splice_command: SpliceCommand::SpliceInsert(si),
        ..
    } = &mut out.payload
    {
        si.unique_program_id = 1;
        si.avail_num = 1;
        si.avails_expected = 1;
    }
    assert_eq!(
        to_hex(&out.to_vec().unwrap()),
        "0xFC302500000000000000FFF01405000003E77FEFFE0011FB9EFE002932E00001010100004D192A59"
    );
}

#[test]
fn splice_insert_in_and_immediate() {
    let inn = splice_insert_in(5, SpliceTime::Immediate);
    let bytes = inn.to_vec().unwrap();
    let back = SpliceInfoSection::decode(&bytes).unwrap();
    let Some(SpliceCommand::SpliceInsert(si)) = back.splice_command() else {
        panic!()
    };
    assert!(!si.out_of_network_indicator);
    assert!(si.splice_immediate_flag);
    assert_eq!(si.pts_time, None);
    assert_eq!(si.break_duration, None);
    assert_eq!(back, inn);
    // 14 header + 10 command + 2 loop length + 4 CRC
    assert_eq!(bytes.len(), 30);
}

#[test]
fn splice_insert_cancel_is_short() {
    let c = splice_insert_cancel(0xDEAD_BEEF);
    let bytes = c.to_vec().unwrap();
    assert_eq!(c.splice_command_length(), 5);
    assert_eq!(&bytes[14..19], &[0xDE, 0xAD, 0xBE, 0xEF, 0xFF]);
    assert_eq!(SpliceInfoSection::decode(&bytes).unwrap(), c);
}

#[test]
fn builder_keeps_pts_and_encode_refuses_it_over_33_bits() {
    // Not wrapped to 10: a PTS over 33 bits is an error, never a different time.
    let out = splice_insert_out(1, SpliceTime::Pts(PTS_MODULUS + 10), None, false);
    let Some(SpliceCommand::SpliceInsert(si)) = out.splice_command() else {
        panic!()
    };
    assert_eq!(si.pts_time, Some(PTS_MODULUS + 10));
    assert_eq!(
        out.to_vec(),
        Err(EncodeError::FieldRange {
            field: "splice_insert.splice_time.pts_time",
            value: PTS_MODULUS + 10,
            bits: 33
        })
    );
    // Wrapping is the caller's explicit choice.
    let wrapped = splice_insert_out(
        1,
        SpliceTime::Pts((PTS_MODULUS + 10) & PTS_MASK),
        None,
        false,
    );
    let back = SpliceInfoSection::decode(&wrapped.to_vec().unwrap()).unwrap();
    let Some(SpliceCommand::SpliceInsert(si)) = back.splice_command() else {
        panic!()
    };
    assert_eq!(si.pts_time, Some(10));
}

#[test]
fn encode_into_small_buffers_reports_needed_size() {
    let out = splice_insert_out(1, SpliceTime::Pts(1), Some(2), true);
    let len = out.encoded_len();
    for size in 0..len {
        let mut buf = vec![0u8; size];
        assert_eq!(
            out.encode(&mut buf),
            Err(EncodeError::BufferTooSmall {
                needed: len,
                available: size
            })
        );
    }
    let mut buf = [0u8; 64];
    assert_eq!(out.encode(&mut buf), Ok(len));
    assert_eq!(&buf[..len], out.to_vec().unwrap().as_slice());
}

#[test]
fn encode_rejects_out_of_range_fields() {
    let mut s = splice_insert_in(1, SpliceTime::Immediate);
    s.tier = 0x1000;
    let mut buf = [0u8; 64];
    assert_eq!(
        s.encode(&mut buf),
        Err(EncodeError::FieldRange {
            field: "splice_info_section.tier",
            value: 0x1000,
            bits: 12
        })
    );
    assert_eq!(
        s.to_vec(),
        Err(EncodeError::FieldRange {
            field: "splice_info_section.tier",
            value: 0x1000,
            bits: 12
        })
    );
    assert!(s.to_hex().is_err());
    assert!(s.to_base64().is_err());
}

#[test]
fn hex_and_base64_forms() {
    let bytes = [0xFC, 0x30, 0x0A, 0xBE];
    assert_eq!(to_hex(&bytes), "0xFC300ABE");
    assert_eq!(to_base64(&bytes), "/DAKvg==");
    let mut buf = [0u8; 10];
    assert_eq!(hex_into(&bytes, &mut buf), Ok(10));
    assert_eq!(&buf, b"0xFC300ABE");
    assert!(hex_into(&bytes, &mut buf[..9]).is_err());
    let mut buf = [0u8; 8];
    assert_eq!(base64_into(&bytes, &mut buf), Ok(8));
    assert_eq!(&buf, b"/DAKvg==");
    assert!(base64_into(&bytes, &mut buf[..7]).is_err());
}

#[test]
fn decode_text_accepts_hex_and_base64_forms() {
    let want = vec![0xFC, 0x30, 0x0A, 0xBE];
    for text in [
        "0xFC300ABE",
        "0Xfc300abe",
        "FC300ABE",
        "fc300abe",
        " 0xFC300ABE\n",
        "/DAKvg==",
        "/DAKvg",
    ] {
        assert_eq!(decode_text(text), Ok(want.clone()), "{text}");
    }
    assert!(matches!(
        decode_text("0xFC3"),
        Err(DecodeError::InvalidText { offset: 5, .. })
    ));
    assert!(matches!(
        decode_text("0xFG"),
        Err(DecodeError::InvalidText { offset: 3, .. })
    ));
    assert!(matches!(
        decode_text(""),
        Err(DecodeError::InvalidText { .. })
    ));
    assert!(matches!(
        decode_text("/DA*"),
        Err(DecodeError::InvalidText { offset: 3, .. })
    ));
}

#[test]
fn seconds_to_ticks_rounds_to_nearest() {
    assert_eq!(seconds_to_ticks(30.0), Ok(2_700_000));
    assert_eq!(seconds_to_ticks(60.293567), Ok(5_426_421));
    assert_eq!(seconds_to_ticks(1.0 / 90_000.0 * 0.49), Ok(0));
    assert_eq!(seconds_to_ticks(1.0 / 90_000.0 * 0.51), Ok(1));
    assert_eq!(seconds_to_ticks(0.0), Ok(0));
    assert_eq!(seconds_to_ticks(-0.0), Ok(0));
    assert_eq!(seconds_to_ticks(ticks_to_seconds(MAX_TICKS)), Ok(MAX_TICKS));
}

#[test]
fn seconds_to_ticks_refuses_non_finite_negative_and_too_large() {
    let invalid = |seconds: f64| match seconds_to_ticks(seconds) {
        Err(EncodeError::InvalidSeconds { reason }) => reason,
        other => panic!("{seconds}: {other:?}"),
    };
    assert_eq!(invalid(f64::NAN), "not a finite number");
    assert_eq!(invalid(f64::INFINITY), "not a finite number");
    assert_eq!(invalid(f64::NEG_INFINITY), "not a finite number");
    assert_eq!(invalid(-1.0), "negative");
    assert_eq!(invalid(-1e-9), "negative");
    assert!(invalid(1e300).contains("2^40 - 1 ticks"));
    // One tick past the widest field.
    assert!(invalid(ticks_to_seconds(MAX_TICKS + 1)).contains("segmentation_duration"));
    let err = seconds_to_ticks(f64::NAN).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid number of seconds: not a finite number"
    );
}

#[test]
fn effective_pts_wraps_at_33_bits() {
    // gots sample: pts_time 5786952516 + pts_adjustment 3483990402 wraps to 681008326.
    assert_eq!(effective_pts(5_786_952_516, 3_483_990_402), 681_008_326);
    assert_eq!(effective_pts(PTS_MASK, 1), 0);
}

#[test]
fn decode_errors_name_problem_and_offset() {
    let good = splice_insert_out(1, SpliceTime::Pts(1), None, false)
        .to_vec()
        .unwrap();
    assert!(matches!(
        SpliceInfoSection::decode(&[]),
        Err(DecodeError::Truncated { offset: 0, .. })
    ));
    assert_eq!(
        SpliceInfoSection::decode(&[0xFD]),
        Err(DecodeError::TableId {
            offset: 0,
            found: 0xFD
        })
    );
    assert!(matches!(
        SpliceInfoSection::decode(&good[..good.len() - 1]),
        Err(DecodeError::SectionLength { offset: 1, .. })
    ));
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let crc_at = bad.len() - 4;
    assert!(
        matches!(SpliceInfoSection::decode(&bad), Err(DecodeError::Crc { offset, .. }) if offset == crc_at)
    );
}

#[test]
fn sample_14_1_segmentation_descriptor_fields() {
    let (_, s) = decode_b64(SAMPLE_14_1_TIME_SIGNAL_PLACEMENT_OPPORTUNITY_START);
    let [SpliceDescriptor::Segmentation(d)] = s.splice_descriptors() else {
        panic!(
            "expected one segmentation descriptor: {:?}",
            s.splice_descriptors()
        );
    };
    assert_eq!(d.segmentation_event_id, 0x4800_008E);
    assert!(!d.segmentation_event_cancel_indicator);
    assert!(d.program_segmentation_flag);
    assert_eq!(
        d.delivery_restrictions,
        Some(DeliveryRestrictions {
            web_delivery_allowed_flag: false,
            no_regional_blackout_flag: true,
            archive_allowed_flag: true,
            device_restrictions: 3
        })
    );
    assert_eq!(d.segmentation_duration, Some(0x00_01A5_99B0)); // 307.0 s
    assert_eq!(d.segmentation_upid_type, 0x08); // Turner Identifier
    assert_eq!(
        d.segmentation_upid,
        [0x00, 0x00, 0x00, 0x00, 0x2C, 0xA0, 0xA1, 0x8A]
    );
    assert_eq!(d.segmentation_type_id, 0x34); // Provider Placement Opportunity Start
    assert_eq!((d.segment_num, d.segments_expected), (2, 0));
    // 0x34 allows sub_segment fields, but this descriptor has no room for them.
    assert_eq!(d.sub_segment, None);
}

#[test]
fn sample_14_2_avail_descriptor() {
    let (_, s) = decode_b64(SAMPLE_14_2_SPLICE_INSERT);
    assert_eq!(
        s.splice_descriptors(),
        [SpliceDescriptor::Avail(AvailDescriptor {
            provider_avail_id: 0x135
        })]
    );
}

fn round_trip(section: &SpliceInfoSection) -> Vec<u8> {
    let bytes = section.to_vec().expect("encodes");
    assert_eq!(bytes.len(), section.encoded_len());
    let back = SpliceInfoSection::decode(&bytes).expect("decodes");
    assert_eq!(&back, section);
    assert_eq!(back.to_vec().unwrap(), bytes);
    bytes
}

#[test]
fn every_descriptor_type_round_trips() {
    let mut seg = SegmentationDescriptor::new(77, 0x34);
    seg.program_segmentation_flag = false;
    seg.components = vec![
        SegmentationComponent {
            component_tag: 1,
            pts_offset: PTS_MASK,
        },
        SegmentationComponent {
            component_tag: 2,
            pts_offset: 0,
        },
    ];
    seg.segmentation_duration = Some((1 << 40) - 1);
    seg.segmentation_upid_type = 0x0C;
    seg.segmentation_upid = b"MPU-DATA".to_vec();
    seg.sub_segment = Some(SubSegment {
        sub_segment_num: 1,
        sub_segments_expected: 4,
    });
    let section = time_signal(
        SpliceTime::Pts(123),
        vec![
            SpliceDescriptor::Avail(AvailDescriptor {
                provider_avail_id: 9,
            }),
            SpliceDescriptor::Dtmf(DtmfDescriptor {
                preroll: 50,
                dtmf_chars: b"121#".to_vec(),
            }),
            SpliceDescriptor::Segmentation(seg),
            SpliceDescriptor::Segmentation(SegmentationDescriptor {
                segmentation_event_cancel_indicator: true,
                ..SegmentationDescriptor::new(78, 0)
            }),
            SpliceDescriptor::Time(TimeDescriptor {
                tai_seconds: (1 << 48) - 1,
                tai_ns: 999_999_999,
                utc_offset: 37,
            }),
            SpliceDescriptor::Audio(AudioDescriptor {
                components: vec![AudioComponent {
                    component_tag: 3,
                    iso_code: u32::from_be_bytes([0, b'e', b'n', b'g']),
                    bit_stream_mode: 7,
                    num_channels: 15,
                    full_srvc_audio: true,
                }],
            }),
            SpliceDescriptor::Unknown {
                splice_descriptor_tag: 0xF0,
                bytes: b"ABCDxyz".to_vec(),
            },
            // A known tag under a private identifier stays opaque.
            SpliceDescriptor::Unknown {
                splice_descriptor_tag: 0x02,
                bytes: b"PRIV\x01\x02".to_vec(),
            },
        ],
    );
    round_trip(&section);
}

#[test]
fn descriptor_with_bytes_after_its_last_field_is_kept_opaque() {
    // An avail_descriptor with one byte more than the standard defines.
    let mut section = splice_insert_in(1, SpliceTime::Immediate);
    let body = b"CUEI\x00\x00\x00\x01\xAA".to_vec();
    section.push_descriptor(SpliceDescriptor::Unknown {
        splice_descriptor_tag: 0,
        bytes: body,
    });
    round_trip(&section);
}

#[test]
fn splice_insert_component_mode_round_trips() {
    for immediate in [false, true] {
        let si = SpliceInsert {
            splice_event_id: 42,
            out_of_network_indicator: true,
            program_splice_flag: false,
            splice_immediate_flag: immediate,
            components: vec![
                SpliceInsertComponent {
                    component_tag: 0x10,
                    pts_time: if immediate { None } else { Some(90_000) },
                },
                SpliceInsertComponent {
                    component_tag: 0x11,
                    pts_time: None,
                },
            ],
            break_duration: Some(BreakDuration {
                auto_return: false,
                duration: 2_700_000,
            }),
            unique_program_id: 0xBEEF,
            avail_num: 1,
            avails_expected: 2,
            ..SpliceInsert::default()
        };
        round_trip(&SpliceInfoSection::new(SpliceCommand::SpliceInsert(si)));
    }
}

#[test]
fn opaque_commands_round_trip() {
    for command in [
        SpliceCommand::SpliceNull,
        SpliceCommand::SpliceSchedule(vec![1, 0, 0, 0, 1, 0x7F, 0xFF]),
        SpliceCommand::BandwidthReservation(Vec::new()),
        SpliceCommand::PrivateCommand(PrivateCommand {
            identifier: 0x4142_4344,
            private_bytes: vec![9, 8, 7],
        }),
        SpliceCommand::Reserved {
            splice_command_type: 0x10,
            bytes: vec![0xAB],
        },
        SpliceCommand::TimeSignal(TimeSignal { pts_time: None }),
    ] {
        round_trip(&SpliceInfoSection::new(command));
    }
}

#[test]
fn header_fields_and_stuffing_round_trip() {
    let mut s = splice_insert_out(1, SpliceTime::Pts(5), Some(6), false);
    s.section_syntax_indicator = true;
    s.private_indicator = true;
    s.sap_type = 1;
    s.protocol_version = 0;
    s.encryption_algorithm = 0;
    s.pts_adjustment = PTS_MASK;
    s.cw_index = 0x42;
    s.tier = 0x00A;
    if let Payload::Clear {
        alignment_stuffing, ..
    } = &mut s.payload
    {
        *alignment_stuffing = vec![0xFF, 0x00, 0x12];
    }
    round_trip(&s);
}

#[test]
fn legacy_splice_command_length_is_reproduced() {
    let mut s = splice_insert_out(1, SpliceTime::Pts(5), Some(6), true);
    s.legacy_splice_command_length = true;
    let bytes = round_trip(&s);
    assert_eq!(&bytes[11..13], &[0xFF, 0xFF]); // tier 0xFFF, splice_command_length 0xFFF
    // A private_command has no self-delimiting length.
    let mut p = SpliceInfoSection::new(SpliceCommand::PrivateCommand(PrivateCommand::default()));
    p.legacy_splice_command_length = true;
    assert!(matches!(
        SpliceInfoSection::decode(&p.to_vec().unwrap()),
        Err(DecodeError::LegacyCommandLength {
            splice_command_type: 0xFF,
            ..
        })
    ));
}

#[test]
fn encrypted_section_decodes_clear_header_only() {
    let s = SpliceInfoSection {
        encryption_algorithm: 1, // DES – ECB mode
        cw_index: 7,
        pts_adjustment: 1234,
        payload: Payload::Encrypted {
            splice_command_length: 20,
            encrypted_bytes: vec![0x5A; 31],
        },
        ..splice_insert_in(1, SpliceTime::Immediate)
    };
    let bytes = round_trip(&s);
    let back = SpliceInfoSection::decode(&bytes).unwrap();
    assert!(back.encrypted_packet());
    assert_eq!(back.splice_command(), None);
    assert!(back.splice_descriptors().is_empty());
    assert_eq!(back.splice_command_length(), 20);
    assert_eq!(
        (
            back.cw_index,
            back.pts_adjustment,
            back.encryption_algorithm
        ),
        (7, 1234, 1)
    );
}

/// Re-signs a hand-edited section so the CRC check passes and the structural checks are reached.
fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 4;
    let crc = crc32_mpeg2(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn command_overrunning_its_length_is_reported() {
    // splice_insert OUT with duration, splice_command_length lowered from 20 to 15.
    let mut bytes = splice_insert_out(1, SpliceTime::Pts(5), Some(6), true)
        .to_vec()
        .unwrap();
    bytes[12] = 15;
    let err = SpliceInfoSection::decode(&with_crc(bytes.clone())).unwrap_err();
    assert_eq!(
        err,
        DecodeError::CommandOverrun {
            offset: 14,
            splice_command_type: 5,
            declared: 15,
            needed: 16
        }
    );
    // Raised past the end of the section.
    bytes[12] = 0xF0;
    let err = SpliceInfoSection::decode(&with_crc(bytes)).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::CommandOverrun {
                offset: 14,
                declared: 22,
                needed: 240,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn descriptor_overrunning_its_length_is_reported() {
    let mut s = splice_insert_in(1, SpliceTime::Immediate);
    s.push_descriptor(SpliceDescriptor::Avail(AvailDescriptor {
        provider_avail_id: 1,
    }));
    let mut bytes = s.to_vec().unwrap();
    // descriptor_length 8 → 6: the avail descriptor's provider_avail_id no longer fits.
    let at = 14 + 10 + 2 + 1;
    assert_eq!(bytes[at], 8);
    bytes[at] = 6;
    let err = SpliceInfoSection::decode(&with_crc(bytes.clone())).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::DescriptorOverrun {
                offset: 26,
                splice_descriptor_tag: 0,
                declared: 6,
                needed: 8
            }
        ),
        "{err:?}"
    );
    // descriptor_length 8 → 9: past the descriptor loop.
    bytes[at] = 9;
    let err = SpliceInfoSection::decode(&with_crc(bytes.clone())).unwrap_err();
    assert!(
        matches!(err, DecodeError::DescriptorOverrun { offset: 26, .. }),
        "{err:?}"
    );
    // descriptor_loop_length past the section.
    bytes[at] = 8;
    bytes[25] = 0x40;
    let err = SpliceInfoSection::decode(&with_crc(bytes)).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::DescriptorLoopOverrun {
                offset: 24,
                descriptor_loop_length: 64,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn every_truncation_of_a_sample_is_an_error() {
    let (bytes, _) =
        decode_b64(SAMPLE_14_8_TIME_SIGNAL_PROGRAM_START_END_PLACEMENT_OPPORTUNITY_END);
    for n in 0..bytes.len() {
        assert!(
            SpliceInfoSection::decode(&bytes[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
}

/// The splice_insert of a section built by the splice_insert builders.
fn insert_of(section: &mut SpliceInfoSection) -> &mut SpliceInsert {
    match &mut section.payload {
        Payload::Clear {
            splice_command: SpliceCommand::SpliceInsert(si),
            ..
        } => si,
        _ => panic!("not a splice_insert"),
    }
}

/// A time_signal carrying `descriptor` alone.
fn with_descriptor(descriptor: SpliceDescriptor) -> SpliceInfoSection {
    time_signal(SpliceTime::Immediate, vec![descriptor])
}

fn segmentation(change: impl FnOnce(&mut SegmentationDescriptor)) -> SpliceInfoSection {
    let mut seg = SegmentationDescriptor::new(1, 0x34);
    change(&mut seg);
    with_descriptor(SpliceDescriptor::Segmentation(seg))
}

/// Every fixed-width field a caller can overfill, with the value: each is refused by every way
/// to get bytes (`encode`, `to_vec`, `to_hex`, `to_base64`), naming the field; none is masked.
#[test]
fn every_value_that_does_not_fit_is_an_error_naming_its_field() {
    let upid_too_long = vec![b'u'; 256];
    let dtmf_too_long = b"12345678".to_vec();
    let cases: Vec<(SpliceInfoSection, &str, u64, u32)> = vec![
        // The example: a 2^40-tick break used to encode as a 0-second one.
        (
            splice_insert_out(1, SpliceTime::Immediate, Some(1 << 40), true),
            "break_duration.duration",
            1 << 40,
            33,
        ),
        (
            splice_insert_out(1, SpliceTime::Immediate, Some(PTS_MODULUS), false),
            "break_duration.duration",
            PTS_MODULUS,
            33,
        ),
        (
            splice_insert_out(1, SpliceTime::Pts(u64::MAX), None, false),
            "splice_insert.splice_time.pts_time",
            u64::MAX,
            33,
        ),
        (
            splice_insert_in(1, SpliceTime::Pts(PTS_MODULUS)),
            "splice_insert.splice_time.pts_time",
            PTS_MODULUS,
            33,
        ),
        (
            time_signal(SpliceTime::Pts(PTS_MODULUS), Vec::new()),
            "time_signal.splice_time.pts_time",
            PTS_MODULUS,
            33,
        ),
        (
            {
                let mut s = splice_insert_out(1, SpliceTime::Pts(0), None, false);
                let si = insert_of(&mut s);
                si.program_splice_flag = false;
                si.components = vec![SpliceInsertComponent {
                    component_tag: 1,
                    pts_time: Some(PTS_MODULUS + 1),
                }];
                s
            },
            "splice_insert.component.splice_time.pts_time",
            PTS_MODULUS + 1,
            33,
        ),
        (
            {
                let mut s = splice_insert_out(1, SpliceTime::Immediate, None, false);
                let si = insert_of(&mut s);
                si.program_splice_flag = false;
                si.components = vec![SpliceInsertComponent::default(); 256];
                s
            },
            "splice_insert.component_count",
            256,
            8,
        ),
        (
            SpliceInfoSection {
                pts_adjustment: PTS_MODULUS,
                ..splice_insert_cancel(1)
            },
            "splice_info_section.pts_adjustment",
            PTS_MODULUS,
            33,
        ),
        (
            SpliceInfoSection {
                sap_type: 4,
                ..splice_insert_cancel(1)
            },
            "splice_info_section.sap_type",
            4,
            2,
        ),
        (
            SpliceInfoSection {
                encryption_algorithm: 64,
                ..splice_insert_cancel(1)
            },
            "splice_info_section.encryption_algorithm",
            64,
            6,
        ),
        (
            segmentation(|seg| seg.segmentation_duration = Some(1 << 40)),
            "segmentation_descriptor.segmentation_duration",
            1 << 40,
            40,
        ),
        (
            segmentation(|seg| {
                seg.program_segmentation_flag = false;
                seg.components = vec![SegmentationComponent {
                    component_tag: 1,
                    pts_offset: PTS_MODULUS,
                }];
            }),
            "segmentation_descriptor.pts_offset",
            PTS_MODULUS,
            33,
        ),
        (
            segmentation(|seg| {
                seg.program_segmentation_flag = false;
                seg.components = vec![SegmentationComponent::default(); 256];
            }),
            "segmentation_descriptor.component_count",
            256,
            8,
        ),
        // Also overflows descriptor_length and section_length; the UPID is what to fix.
        (
            segmentation(|seg| {
                seg.segmentation_upid_type = 0x0C;
                seg.segmentation_upid = upid_too_long.clone();
            }),
            "segmentation_descriptor.segmentation_upid_length",
            256,
            8,
        ),
        (
            segmentation(|seg| {
                seg.delivery_restrictions = Some(DeliveryRestrictions {
                    device_restrictions: 4,
                    ..DeliveryRestrictions::default()
                })
            }),
            "segmentation_descriptor.device_restrictions",
            4,
            2,
        ),
        (
            with_descriptor(SpliceDescriptor::Dtmf(DtmfDescriptor {
                preroll: 0,
                dtmf_chars: dtmf_too_long.clone(),
            })),
            "DTMF_descriptor.dtmf_count",
            8,
            3,
        ),
        (
            with_descriptor(SpliceDescriptor::Audio(AudioDescriptor {
                components: vec![AudioComponent::default(); 16],
            })),
            "audio_descriptor.audio_count",
            16,
            4,
        ),
        (
            with_descriptor(SpliceDescriptor::Audio(AudioDescriptor {
                components: vec![AudioComponent {
                    iso_code: 1 << 24,
                    ..AudioComponent::default()
                }],
            })),
            "audio_descriptor.ISO_code",
            1 << 24,
            24,
        ),
        (
            with_descriptor(SpliceDescriptor::Audio(AudioDescriptor {
                components: vec![AudioComponent {
                    bit_stream_mode: 8,
                    ..AudioComponent::default()
                }],
            })),
            "audio_descriptor.Bit_Stream_Mode",
            8,
            3,
        ),
        (
            with_descriptor(SpliceDescriptor::Audio(AudioDescriptor {
                components: vec![AudioComponent {
                    num_channels: 16,
                    ..AudioComponent::default()
                }],
            })),
            "audio_descriptor.Num_Channels",
            16,
            4,
        ),
        (
            with_descriptor(SpliceDescriptor::Time(TimeDescriptor {
                tai_seconds: 1 << 48,
                ..TimeDescriptor::default()
            })),
            "time_descriptor.TAI_seconds",
            1 << 48,
            48,
        ),
        (
            with_descriptor(SpliceDescriptor::Unknown {
                splice_descriptor_tag: 0xF0,
                bytes: vec![0; 256],
            }),
            "splice_descriptor.descriptor_length",
            256,
            8,
        ),
        (
            SpliceInfoSection::new(SpliceCommand::Reserved {
                splice_command_type: 0x10,
                bytes: vec![0; 0x1000],
            }),
            "splice_info_section.splice_command_length",
            0x1000,
            12,
        ),
        (
            time_signal(
                SpliceTime::Immediate,
                vec![
                    SpliceDescriptor::Unknown {
                        splice_descriptor_tag: 0xF0,
                        bytes: vec![0; 255],
                    };
                    17
                ],
            ),
            "splice_info_section.section_length",
            (14 + 1 + 2 + 17 * 257 + 4 - 3) as u64,
            12,
        ),
    ];
    for (section, field, value, bits) in cases {
        let want = EncodeError::FieldRange { field, value, bits };
        let mut buf = vec![0u8; section.encoded_len()];
        assert_eq!(section.encode(&mut buf), Err(want.clone()), "{field}");
        assert_eq!(section.to_vec(), Err(want.clone()), "{field}");
        assert_eq!(section.to_hex(), Err(want.clone()), "{field}");
        assert_eq!(section.to_base64(), Err(want.clone()), "{field}");
        assert_eq!(want.max(), Some((1u64 << bits) - 1));
        let text = want.to_string();
        assert!(
            text.starts_with(field) && text.contains(&format!("{bits} bits")),
            "{text}"
        );
    }
}

/// The widest value of each field still encodes (the limits above are the fields' own).
#[test]
fn values_at_the_top_of_their_fields_encode() {
    let mut out = splice_insert_out(u32::MAX, SpliceTime::Pts(PTS_MASK), Some(PTS_MASK), true);
    out.pts_adjustment = PTS_MASK;
    round_trip(&out);
    round_trip(&segmentation(|seg| {
        seg.segmentation_duration = Some(MAX_TICKS);
        seg.segmentation_upid_type = 0x0C;
        seg.segmentation_upid = vec![b'u'; 255 - 4 - 5 - 1 - 5 - 2 - 3];
    }));
    round_trip(&time_signal(SpliceTime::Pts(PTS_MASK), Vec::new()));
}
