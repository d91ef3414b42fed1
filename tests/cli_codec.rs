//! Runs the built `hlsplice` binary: `decode` and `encode`, including their error exits.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hlsplice");

/// SCTE 35 §14.2 sample (splice_insert with an avail descriptor).
const SAMPLE_14_2: &str = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=";

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            pipe.write_all(data).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn ok_stdout(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(args: &[&str], stdin: Option<&[u8]>) -> Value {
    serde_json::from_slice(&ok_stdout(args, stdin)).expect("stdout is one JSON object")
}

/// Exit code 1 and exactly one line on stderr that contains `needle`.
fn assert_fails(args: &[&str], stdin: Option<&[u8]>, needle: &str) {
    let out = run(args, stdin);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: stderr must be one line: {err:?}"
    );
    assert!(err.starts_with("hlsplice: "), "{err}");
    assert!(
        err.contains(needle),
        "{args:?}: {err:?} does not mention {needle:?}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn decode_sample_14_2_prints_standard_field_names() {
    let v = json(&["decode", SAMPLE_14_2], None);
    assert_eq!(v["table_id"], 252);
    assert_eq!(v["section_length"], 47);
    assert_eq!(v["sap_type"], 3);
    assert_eq!(v["pts_adjustment"], 0);
    assert_eq!(v["cw_index"], 255);
    assert_eq!(v["tier"], 4095);
    assert_eq!(v["splice_command_length"], 20);
    assert_eq!(v["splice_command_type"], 5);
    let c = &v["splice_command"];
    assert_eq!(c["splice_event_id"], 0x4800_008Fu32);
    assert_eq!(c["out_of_network_indicator"], true);
    assert_eq!(c["splice_immediate_flag"], false);
    assert_eq!(c["duration_flag"], true);
    assert_eq!(c["pts_time"], 0x0_7369_C02Eu64);
    assert_eq!(c["pts_time_seconds"], 21514.559089);
    assert_eq!(c["break_duration"]["auto_return"], true);
    assert_eq!(c["break_duration"]["duration"], 0x0_0052_CCF5u64);
    assert_eq!(c["break_duration"]["duration_seconds"], 60.293567);
    assert_eq!(c["unique_program_id"], 0);
    assert_eq!(c["avail_num"], 0);
    assert_eq!(c["avails_expected"], 0);
    assert_eq!(v["descriptor_loop_length"], 10);
    assert_eq!(v["descriptors"][0]["provider_avail_id"], 309);
    assert_eq!(v["descriptors"][0]["identifier"], "CUEI");
    assert_eq!(v["crc_32"], "0x62DBA30A");
}

#[test]
fn decode_accepts_hex_with_and_without_prefix_and_stdin() {
    let hex = "FC302F000000000000FFFFF014054800008F7FEFFE7369C02EFE0052CCF500000000000A0008435545490000013562DBA30A";
    let a = json(&["decode", hex], None);
    let b = json(&["decode", &format!("0x{}", hex.to_lowercase())], None);
    let c = json(
        &["decode", "-"],
        Some(format!("{SAMPLE_14_2}\n").as_bytes()),
    );
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a["crc_32"], "0x62DBA30A");
}

#[test]
fn decode_errors_exit_1_with_one_line() {
    // Bad CRC (last byte changed).
    assert_fails(
        &[
            "decode",
            "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowk=",
        ],
        None,
        "CRC_32",
    );
    // One byte short of section_length.
    assert_fails(
        &[
            "decode",
            "0xFC3016000000000000FFF00506FE423A35BD0000BB0C73F4",
        ],
        None,
        "section_length",
    );
    assert_fails(&["decode", "0xFC3"], None, "odd number of hex digits");
    assert_fails(&["decode", "not*base64"], None, "base64");
    assert_fails(&["decode", "0x0030"], None, "table_id");
    assert_fails(&["decode", "-"], Some(b""), "empty");
}

#[test]
fn encode_splice_insert_out_matches_published_section() {
    // Microsoft live timed metadata SCTE35-OUT sample.
    let args = [
        "encode",
        "splice-insert",
        "--event-id",
        "1002",
        "--pts",
        "259.509244",
        "--duration",
        "59.993278",
        "--auto-return",
        "--unique-program-id",
        "1",
        "--avail-num",
        "1",
        "--avails-expected",
        "1",
        "--pts-adjustment",
        "1501",
    ];
    let out = ok_stdout(&args, None);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "0xFC30250000000005DD00FFF01405000003EA7FEFFE016461B8FE00526363000101010000F20D5E37\n"
    );
}

#[test]
fn encode_formats_agree() {
    let base = [
        "encode",
        "splice-insert",
        "--event-id",
        "7",
        "--pts",
        "10",
        "--duration",
        "30",
    ];
    let with = |f: &str| {
        let mut a = base.to_vec();
        a.extend(["--format", f]);
        ok_stdout(&a, None)
    };
    let hex = String::from_utf8(with("hex")).unwrap();
    let b64 = String::from_utf8(with("base64")).unwrap();
    let bin = with("binary");
    assert!(hex.starts_with("0xFC30"));
    assert_eq!(hex.trim(), hlsplice::scte35::to_hex(&bin));
    assert_eq!(b64.trim(), hlsplice::scte35::to_base64(&bin));
    let v: Value = serde_json::from_slice(&with("json")).unwrap();
    assert_eq!(v["splice_command"]["pts_time"], 900_000);
    assert_eq!(v["splice_command"]["break_duration"]["duration"], 2_700_000);
    assert_eq!(v["splice_command"]["break_duration"]["auto_return"], false);
    // The binary output decodes from stdin too.
    assert_eq!(
        json(&["decode", "-"], Some(&bin)),
        json(&["decode", hex.trim()], None)
    );
}

#[test]
fn encode_splice_insert_in_immediate_and_cancel() {
    let v = json(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "9",
            "--in",
            "--immediate",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(v["splice_command"]["out_of_network_indicator"], false);
    assert_eq!(v["splice_command"]["splice_immediate_flag"], true);
    assert_eq!(v["splice_command"]["event_id_compliance_flag"], true);
    let v = json(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "9",
            "--cancel",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(v["splice_command"]["splice_event_cancel_indicator"], true);
    assert_eq!(v["splice_command_length"], 5);
}

#[test]
fn encode_time_signal_with_segmentation_descriptor() {
    let args = [
        "encode",
        "time-signal",
        "--pts",
        "21388.766756",
        "--segmentation-type",
        "0x34",
        "--segmentation-event-id",
        "0x4800008E",
        "--segmentation-duration",
        "307",
        "--upid-type",
        "8",
        "--upid",
        "0x000000002CA0A18A",
        "--format",
        "json",
    ];
    let v = json(&args, None);
    assert_eq!(v["splice_command_type"], 6);
    assert_eq!(v["splice_command"]["pts_time"], 1_924_989_008u64);
    let d = &v["descriptors"][0];
    assert_eq!(d["segmentation_type_id"], 0x34);
    assert_eq!(d["segmentation_event_id"], 0x4800_008Eu32);
    assert_eq!(d["segmentation_duration"], 27_630_000u64);
    assert_eq!(d["segmentation_upid_type"], 8);
    assert_eq!(d["segmentation_upid"], "0x000000002CA0A18A");
    let v = json(
        &["encode", "time-signal", "--immediate", "--format", "json"],
        None,
    );
    assert_eq!(v["splice_command"]["time_specified_flag"], false);
    assert_eq!(v["descriptors"].as_array().unwrap().len(), 0);
}

#[test]
fn encode_bad_arguments_name_the_argument() {
    // A TI (AiringID, type 8) UPID is 8 bytes; one byte is refused, naming the argument.
    assert_fails(
        &[
            "encode",
            "time-signal",
            "--segmentation-type",
            "0x34",
            "--segmentation-event-id",
            "1",
            "--upid-type",
            "8",
            "--upid",
            "0x12",
        ],
        None,
        "--upid",
    );
    assert_fails(
        &["encode", "splice-insert", "--event-id", "1", "--pts", "-3"],
        None,
        "--pts",
    );
    assert_fails(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "1",
            "--pts",
            "100000",
        ],
        None,
        "--pts",
    );
    assert_fails(
        &["encode", "splice-insert", "--event-id", "4294967296"],
        None,
        "--event-id",
    );
    assert_fails(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "1",
            "--tier",
            "0x1000",
        ],
        None,
        "--tier",
    );
    assert_fails(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "1",
            "--avail-num",
            "256",
        ],
        None,
        "--avail-num",
    );
    assert_fails(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "1",
            "--duration",
            "NaN",
        ],
        None,
        "--duration",
    );
    let seg = [
        "encode",
        "time-signal",
        "--segmentation-type",
        "0x34",
        "--segmentation-event-id",
        "1",
    ];
    let mut a = seg.to_vec();
    a.extend(["--upid-type", "8", "--upid", "0xZZ"]);
    assert_fails(&a, None, "--upid");
    // clap's own usage errors exit 2 and name the argument.
    let out = run(
        &[
            "encode",
            "splice-insert",
            "--event-id",
            "1",
            "--cancel",
            "--in",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cancel"));
    let out = run(&["encode", "splice-insert", "--event-id", "x"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--event-id"));
    let out = run(&["encode", "time-signal", "--upid", "00"], None);
    assert_eq!(out.status.code(), Some(2));
}
