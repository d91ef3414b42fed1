//! Fuzz target `playlist_rewrite`. Its check is `fuzz/checks/playlist_rewrite.rs`, which the replay of the
//! regression inputs (`tests/fuzz_regressions.rs`) runs too.
#![no_main]

#[path = "../checks/playlist_rewrite.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
