//! Where the tests that use the reference corpus (real packager playlists, SCTE-35 vectors) find
//! it: the folder named by `HLSPLICE_REFERENCE`, kept outside the repository (`../shared/reference`
//! beside the checkout; `.ci/run` sets the variable). Unset, those tests fail rather than pass
//! without having checked anything, unless `HLSPLICE_SKIP_REFERENCE=1` says to skip them.
use std::path::PathBuf;

/// The corpus folder, or `None` when `HLSPLICE_SKIP_REFERENCE=1` skips `test` (said on stderr).
///
/// # Panics
/// When `HLSPLICE_REFERENCE` is unset and the skip is not asked for.
pub fn reference_dir(test: &str) -> Option<PathBuf> {
    if let Some(root) = std::env::var_os("HLSPLICE_REFERENCE") {
        return Some(PathBuf::from(root));
    }
    let skip = std::env::var_os("HLSPLICE_SKIP_REFERENCE").is_some_and(|v| v == "1");
    assert!(
        skip,
        "{test}: HLSPLICE_REFERENCE is not set. Set it to the reference corpus \
         (e.g. HLSPLICE_REFERENCE=../shared/reference, the folder beside the checkout), \
         or set HLSPLICE_SKIP_REFERENCE=1 to skip the tests that need it"
    );
    eprintln!("{test}: HLSPLICE_SKIP_REFERENCE=1, skipping (it needs the reference corpus)");
    None
}
