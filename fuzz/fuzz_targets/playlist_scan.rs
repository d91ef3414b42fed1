//! Fuzz target `playlist_scan`. Its check is `fuzz/checks/playlist_scan.rs`, which the replay of the
//! regression inputs (`tests/fuzz_regressions.rs`) runs too.
#![no_main]

#[path = "../checks/playlist_scan.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
