//! Conformance against the shared reference vectors (`$HLSPLICE_REFERENCE/scte35/vectors.json`):
//! every valid vector decodes to its recorded fields and re-encodes byte-identically; every invalid
//! one is rejected with the matching error. The data is read at test time, never copied here.

mod reference_support;

use hlsplice::scte35::{
    self, DecodeError, Payload, SpliceCommand, SpliceDescriptor, SpliceInfoSection,
    descriptors::CUEI,
};
use serde_json::{Map, Value, json};

fn vectors() -> Option<Vec<Value>> {
    let root = reference_support::reference_dir("scte35_conformance")?;
    let path = root.join("scte35/vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    let list = doc["vectors"].as_array().expect("`vectors` array").clone();
    assert!(!list.is_empty(), "no vectors in {}", path.display());
    Some(list)
}

fn input_bytes(v: &Value) -> Result<Vec<u8>, DecodeError> {
    let data = v["data"].as_str().expect("data string");
    let mut bytes = scte35::decode_text(data)?;
    if v["pointer_field_prefix"].as_bool() == Some(true) {
        // The sample carries the MPEG-TS pointer_field byte in front of table_id.
        assert_eq!(bytes.first(), Some(&0x00), "{}: pointer_field", v["id"]);
        bytes.remove(0);
    }
    Ok(bytes)
}

fn b(flag: bool) -> Value {
    json!(u8::from(flag))
}

/// The section's fields under the names vectors.json records them with.
fn recorded_view(section: &SpliceInfoSection, bytes: &[u8]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("valid".into(), json!(true));
    m.insert("table_id".into(), json!(section.table_id()));
    m.insert(
        "section_syntax_indicator".into(),
        b(section.section_syntax_indicator),
    );
    m.insert("private_indicator".into(), b(section.private_indicator));
    m.insert("sap_type".into(), json!(section.sap_type));
    m.insert("section_length".into(), json!(section.section_length()));
    m.insert("total_bytes".into(), json!(section.encoded_len()));
    m.insert("protocol_version".into(), json!(section.protocol_version));
    m.insert("encrypted_packet".into(), b(section.encrypted_packet()));
    m.insert(
        "encryption_algorithm".into(),
        json!(section.encryption_algorithm),
    );
    m.insert("pts_adjustment".into(), json!(section.pts_adjustment));
    m.insert("cw_index".into(), json!(section.cw_index));
    m.insert("tier".into(), json!(section.tier));
    m.insert(
        "splice_command_length".into(),
        json!(section.splice_command_length()),
    );
    let crc = u32::from_be_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
    m.insert("crc_32".into(), json!(format!("0x{crc:08x}")));
    m.insert(
        "crc_32_computed".into(),
        json!(format!(
            "0x{:08x}",
            scte35::crc32_mpeg2(&bytes[..bytes.len() - 4])
        )),
    );
    m.insert("base64".into(), json!(scte35::to_base64(bytes)));
    m.insert(
        "hex".into(),
        json!(scte35::to_hex(bytes)[2..].to_ascii_lowercase()),
    );
    let Payload::Clear {
        splice_command,
        splice_descriptors,
        alignment_stuffing,
    } = &section.payload
    else {
        return m;
    };
    m.insert(
        "splice_command_type".into(),
        json!(splice_command.splice_command_type()),
    );
    let mut c = Map::new();
    let mut pts = None;
    match splice_command {
        SpliceCommand::SpliceNull => {}
        SpliceCommand::TimeSignal(ts) => {
            if let Some(p) = ts.pts_time {
                c.insert("pts_time".into(), json!(p));
                pts = Some(p);
            }
        }
        SpliceCommand::SpliceInsert(si) => {
            c.insert("splice_event_id".into(), json!(si.splice_event_id));
            c.insert(
                "splice_event_cancel_indicator".into(),
                b(si.splice_event_cancel_indicator),
            );
            if !si.splice_event_cancel_indicator {
                c.insert(
                    "out_of_network_indicator".into(),
                    b(si.out_of_network_indicator),
                );
                c.insert("program_splice_flag".into(), b(si.program_splice_flag));
                c.insert("duration_flag".into(), b(si.duration_flag()));
                c.insert("splice_immediate_flag".into(), b(si.splice_immediate_flag));
                c.insert(
                    "event_id_compliance_flag_or_reserved_bit".into(),
                    b(si.event_id_compliance_flag),
                );
                if let Some(p) = si.pts_time {
                    c.insert("pts_time".into(), json!(p));
                    pts = Some(p);
                }
                if let Some(bd) = si.break_duration {
                    c.insert("auto_return".into(), b(bd.auto_return));
                    c.insert("break_duration".into(), json!(bd.duration));
                    m.insert(
                        "break_duration_seconds".into(),
                        json!(scte35::ticks_to_seconds(bd.duration)),
                    );
                }
                c.insert("unique_program_id".into(), json!(si.unique_program_id));
                c.insert("avail_num".into(), json!(si.avail_num));
                c.insert("avails_expected".into(), json!(si.avails_expected));
            }
        }
        other => panic!("no vector uses {other:?}"),
    }
    if let Some(p) = pts {
        m.insert("effective_pts".into(), json!(section.effective_pts(p)));
        m.insert(
            "pts_time_seconds".into(),
            json!(scte35::ticks_to_seconds(p)),
        );
    }
    m.insert("command".into(), Value::Object(c));
    m.insert(
        "descriptor_loop_length".into(),
        json!(section.descriptor_loop_length()),
    );
    m.insert(
        "alignment_stuffing_bytes".into(),
        json!(alignment_stuffing.len()),
    );
    let descriptors = splice_descriptors.iter().map(descriptor_view).collect();
    m.insert("descriptors".into(), Value::Array(descriptors));
    m
}

fn descriptor_view(d: &SpliceDescriptor) -> Value {
    let mut m = Map::new();
    m.insert("tag".into(), json!(d.splice_descriptor_tag()));
    m.insert("length".into(), json!(d.descriptor_length()));
    if d.identifier() == Some(CUEI) {
        m.insert("identifier".into(), json!("CUEI"));
    }
    match d {
        SpliceDescriptor::Avail(a) => {
            m.insert("provider_avail_id".into(), json!(a.provider_avail_id));
        }
        SpliceDescriptor::Dtmf(t) => {
            m.insert("preroll".into(), json!(t.preroll));
            m.insert(
                "dtmf_chars".into(),
                json!(String::from_utf8_lossy(&t.dtmf_chars)),
            );
        }
        SpliceDescriptor::Segmentation(s) => {
            m.insert(
                "segmentation_event_id".into(),
                json!(s.segmentation_event_id),
            );
            m.insert(
                "segmentation_event_cancel_indicator".into(),
                b(s.segmentation_event_cancel_indicator),
            );
            m.insert(
                "segmentation_event_id_compliance_indicator_or_reserved_bit".into(),
                b(s.segmentation_event_id_compliance_indicator),
            );
            m.insert(
                "program_segmentation_flag".into(),
                b(s.program_segmentation_flag),
            );
            m.insert(
                "segmentation_duration_flag".into(),
                b(s.segmentation_duration_flag()),
            );
            m.insert(
                "delivery_not_restricted_flag".into(),
                b(s.delivery_not_restricted_flag()),
            );
            if let Some(r) = s.delivery_restrictions {
                m.insert(
                    "web_delivery_allowed_flag".into(),
                    b(r.web_delivery_allowed_flag),
                );
                m.insert(
                    "no_regional_blackout_flag".into(),
                    b(r.no_regional_blackout_flag),
                );
                m.insert("archive_allowed_flag".into(), b(r.archive_allowed_flag));
                m.insert("device_restrictions".into(), json!(r.device_restrictions));
            }
            if let Some(dur) = s.segmentation_duration {
                m.insert("segmentation_duration".into(), json!(dur));
            }
            m.insert(
                "segmentation_upid_type".into(),
                json!(s.segmentation_upid_type),
            );
            m.insert(
                "segmentation_upid_length".into(),
                json!(s.segmentation_upid.len()),
            );
            let upid: String = s
                .segmentation_upid
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            m.insert("segmentation_upid_hex".into(), json!(upid));
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
        other => panic!("no vector uses {other:?}"),
    }
    Value::Object(m)
}

/// Every key the vector records must be present in ours with the same value (floats to 1e-6).
fn assert_matches(id: &str, path: &str, want: &Value, got: &Value) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let Some(gv) = g.get(k) else {
                    panic!("{id}: {path}.{k} recorded as {wv} but not produced");
                };
                assert_matches(id, &format!("{path}.{k}"), wv, gv);
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{id}: {path} length");
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_matches(id, &format!("{path}[{i}]"), wv, gv);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.is_f64() || g.is_f64() => {
            let (w, g) = (w.as_f64().unwrap(), g.as_f64().unwrap());
            assert!((w - g).abs() < 1e-6, "{id}: {path} want {w} got {g}");
        }
        _ => assert_eq!(want, got, "{id}: {path}"),
    }
}

#[test]
fn valid_vectors_decode_to_recorded_fields_and_re_encode_byte_identically() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for v in vectors
        .iter()
        .filter(|v| v["expected"]["valid"] == json!(true))
    {
        let id = v["id"].as_str().unwrap();
        let bytes = input_bytes(v).unwrap_or_else(|e| panic!("{id}: text: {e}"));
        let section =
            SpliceInfoSection::decode(&bytes).unwrap_or_else(|e| panic!("{id}: decode: {e}"));
        let view = Value::Object(recorded_view(&section, &bytes));
        assert_matches(id, "", &v["expected"], &view);
        let mut out = vec![0u8; section.encoded_len()];
        let n = section
            .encode(&mut out)
            .unwrap_or_else(|e| panic!("{id}: encode: {e}"));
        assert_eq!(
            scte35::to_hex(&out[..n]),
            scte35::to_hex(&bytes),
            "{id}: re-encode differs"
        );
        checked += 1;
    }
    eprintln!("{checked} valid vectors decoded and re-encoded byte-identically");
    assert!(
        checked >= 29,
        "expected at least 29 valid vectors, found {checked}"
    );
}

#[test]
fn invalid_vectors_are_rejected_with_the_matching_error() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for v in vectors
        .iter()
        .filter(|v| v["expected"]["valid"] == json!(false))
    {
        let id = v["id"].as_str().unwrap();
        let result = input_bytes(v).and_then(|bytes| SpliceInfoSection::decode(&bytes));
        let err = result.expect_err(id);
        let ok = match id {
            // CRC field 0xa7983b74, correct CRC 0xa7983b73.
            "go_badcrc" => {
                err == DecodeError::Crc {
                    offset: 55,
                    expected: 0xA798_3B73,
                    found: 0xA798_3B74,
                }
            }
            // 81 hex digits.
            "aws_in" => matches!(
                err,
                DecodeError::InvalidText {
                    reason: "odd number of hex digits",
                    ..
                }
            ),
            // 49 bytes where section_length 47 implies 50; 24 bytes where 0x16 implies 25.
            "rfc8216" => matches!(
                err,
                DecodeError::SectionLength {
                    offset: 1,
                    section_length: 47,
                    expected_total: 50,
                    actual_total: 49
                }
            ),
            "rc_readme_bytes" => matches!(
                err,
                DecodeError::SectionLength {
                    offset: 1,
                    section_length: 22,
                    expected_total: 25,
                    actual_total: 24
                }
            ),
            other => {
                panic!("{other}: invalid vector without an expected error in this test ({err})")
            }
        };
        assert!(ok, "{id}: wrong error: {err:?}");
        assert!(!err.to_string().is_empty());
        checked += 1;
    }
    assert_eq!(checked, 4, "expected 4 invalid vectors");
}
