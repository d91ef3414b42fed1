//! The check of the fuzz target `scte35_decode`, shared with the replay of its regression
//! inputs (`tests/fuzz_regressions.rs`): `SpliceInfoSection::decode` (and the text decoder)
//! never panics, and whenever a section decodes, it re-encodes and decodes again to the same
//! value.
//!
//! Random bytes almost never carry a valid CRC_32, which would keep the fuzzer at the door; so
//! each input is also tried with table_id, section_length and CRC_32 patched to be valid, which
//! lets it reach every command and descriptor parser.

use hlsplice::scte35::{self, SpliceInfoSection};

/// Runs one input; panics on a violation.
pub fn check(data: &[u8]) {
    round_trip(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bytes) = scte35::decode_text(text)
    {
        round_trip(&bytes);
    }
    // The same bytes as the body of a well-framed section.
    if data.len() <= 4000 {
        let mut framed = Vec::with_capacity(data.len() + 7);
        framed.push(scte35::TABLE_ID);
        let section_length = data.len() + 4;
        framed.push(0x30 | (section_length >> 8) as u8);
        framed.push(section_length as u8);
        framed.extend_from_slice(data);
        let crc = scte35::crc32_mpeg2(&framed);
        framed.extend_from_slice(&crc.to_be_bytes());
        round_trip(&framed);
    }
}

fn round_trip(bytes: &[u8]) {
    if let Ok(section) = SpliceInfoSection::decode(bytes) {
        let encoded = section.to_vec().expect("a decoded section re-encodes");
        assert_eq!(encoded.len(), section.encoded_len());
        let again = SpliceInfoSection::decode(&encoded).expect("a re-encoded section decodes");
        assert_eq!(again, section, "decode(encode(decode(x))) != decode(x)");
    }
}
