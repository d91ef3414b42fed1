//! Fuzz target `api_event_body`. Its check is `fuzz/checks/api_event_body.rs`, which the replay of the
//! regression inputs (`tests/fuzz_regressions.rs`) runs too.
#![no_main]

#[path = "../checks/api_event_body.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
