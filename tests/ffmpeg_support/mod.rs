//! The skip rule shared by the tests that run ffmpeg: without ffmpeg and ffprobe they say so and
//! pass, so `cargo test` passes on a fresh machine — unless `HLSPLICE_REQUIRE_FFMPEG` is set
//! (as `.ci/run` does), where a missing ffmpeg fails the test instead of hiding it.
use std::process::{Command, Stdio};

/// Whether ffmpeg and ffprobe both run; `test` names the caller in the skip message.
pub fn ffmpeg_available(test: &str) -> bool {
    let runs = |bin: &str| {
        Command::new(bin)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let found = runs("ffmpeg") && runs("ffprobe");
    if !found {
        assert!(
            std::env::var_os("HLSPLICE_REQUIRE_FFMPEG").is_none(),
            "HLSPLICE_REQUIRE_FFMPEG is set but ffmpeg/ffprobe are missing"
        );
        eprintln!(
            "{test}: ffmpeg/ffprobe not found, skipping (apt-get install -y ffmpeg to run it)"
        );
    }
    found
}
