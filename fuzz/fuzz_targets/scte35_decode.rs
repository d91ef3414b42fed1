//! Fuzz target `scte35_decode`. Its check is `fuzz/checks/scte35_decode.rs`, which the replay of the
//! regression inputs (`tests/fuzz_regressions.rs`) runs too.
#![no_main]

#[path = "../checks/scte35_decode.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
