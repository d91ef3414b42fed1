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
    assert_eq!(section.to_vec(), bytes, "re-encode differs");
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
    assert_eq!(crc32_mpeg2(&s.to_vec()[..46]), 0x62DB_A30A);
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
    let bytes = out.to_vec();
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
        Some(seconds_to_ticks(30.0)),
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
        to_hex(&out.to_vec()),
        "0xFC302500000000000000FFF01405000003E77FEFFE0011FB9EFE002932E00001010100004D192A59"
    );
}

#[test]
fn splice_insert_in_and_immediate() {
    let inn = splice_insert_in(5, SpliceTime::Immediate);
    let bytes = inn.to_vec();
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
    let bytes = c.to_vec();
    assert_eq!(c.splice_command_length(), 5);
    assert_eq!(&bytes[14..19], &[0xDE, 0xAD, 0xBE, 0xEF, 0xFF]);
    assert_eq!(SpliceInfoSection::decode(&bytes).unwrap(), c);
}

#[test]
fn builder_wraps_pts_to_33_bits() {
    let out = splice_insert_out(1, SpliceTime::Pts(PTS_MODULUS + 10), None, false);
    let Some(SpliceCommand::SpliceInsert(si)) = out.splice_command() else {
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
    assert_eq!(&buf[..len], out.to_vec().as_slice());
}

#[test]
fn encode_rejects_out_of_range_fields() {
    let mut s = splice_insert_in(1, SpliceTime::Immediate);
    s.tier = 0x1000;
    let mut buf = [0u8; 64];
    assert_eq!(
        s.encode(&mut buf),
        Err(EncodeError::FieldRange {
            field: "tier",
            value: 0x1000,
            bits: 12
        })
    );
    assert!(s.to_vec().is_empty());
    assert!(s.try_to_vec().is_err());
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
    assert_eq!(seconds_to_ticks(30.0), 2_700_000);
    assert_eq!(seconds_to_ticks(60.293567), 5_426_421);
    assert_eq!(seconds_to_ticks(1.0 / 90_000.0 * 0.49), 0);
    assert_eq!(seconds_to_ticks(1.0 / 90_000.0 * 0.51), 1);
    assert_eq!(seconds_to_ticks(-1.0), 0);
    assert_eq!(seconds_to_ticks(f64::NAN), 0);
}

#[test]
fn effective_pts_wraps_at_33_bits() {
    // gots sample: pts_time 5786952516 + pts_adjustment 3483990402 wraps to 681008326.
    assert_eq!(effective_pts(5_786_952_516, 3_483_990_402), 681_008_326);
    assert_eq!(effective_pts(PTS_MASK, 1), 0);
}

#[test]
fn decode_errors_name_problem_and_offset() {
    let good = splice_insert_out(1, SpliceTime::Pts(1), None, false).to_vec();
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
