//! What a rewrite hands back: the decisions to store, facts about the playlist, or why it was
//! passed through unchanged.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timeline::Decision;
#[cfg(doc)]
use super::timeline::Timeline;

/// Media or multivariant playlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaylistKind {
    /// A media playlist (segments): rewritten.
    Media,
    /// A multivariant playlist (variant streams): passed through untouched.
    Multivariant,
}

/// What a rewrite found and decided.
///
/// Its [`decisions`](Self::decisions) must be stored ([`Timeline::apply`]) before the output
/// is published: dropping them lets the next rewrite decide again, and a published
/// DATERANGE would then change.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "store `decisions` with Timeline::apply before publishing the output"]
pub struct RewriteOutcome {
    /// New snapped values to store with [`Timeline::apply`] (empty: nothing new, no allocation).
    pub decisions: Vec<Decision>,
    /// Media or multivariant.
    pub kind: PlaylistKind,
    /// Program time at the end of the newest full segment.
    pub live_edge: Option<DateTime<Utc>>,
    /// Program time of the first segment listed (less the span a delta update skipped, each
    /// skipped segment counted as one target duration): no range that ended before it is
    /// written (RFC 8216bis §6.2.1).
    pub window_start: Option<DateTime<Utc>>,
    /// Start of the newest segment this playlist lists, wholly or in part (the segment in
    /// progress, whose parts are listed, counts). A caller that serves the playlist keeps the
    /// latest of these over every rendition and passes it as
    /// [`Publication::published_until`](super::Publication::published_until). A part only
    /// announced by `EXT-X-PRELOAD-HINT` is not listed: a break may still start at its segment,
    /// with the tags before the part's line when it is first listed.
    pub published_until: Option<DateTime<Utc>>,
    /// A break's start or end was due in this playlist, but this rendering was not allowed to
    /// decide it ([`Publication::decides`](super::Publication::decides) false): the break was
    /// rendered as if its time had not come. The caller should let the deciding rendition
    /// decide, then render again.
    pub undecided: bool,
    /// EXT-X-TARGETDURATION in seconds.
    pub target_duration: Option<f64>,
    /// EXT-X-PART-INF PART-TARGET in seconds (LL-HLS).
    pub part_target: Option<f64>,
    /// EXT-X-MEDIA-SEQUENCE (0 when absent).
    pub media_sequence: u64,
    /// EXT-X-ENDLIST present.
    pub ended: bool,
}

/// Why a playlist was passed through unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RewriteError {
    /// The input does not start with `#EXTM3U` (RFC 8216bis §4.4.1.1).
    NotAPlaylist,
    /// A tag the rewriter needs has a value it cannot read.
    InvalidTag {
        /// 1-based line number.
        line: usize,
        /// The tag's name.
        tag: &'static str,
    },
    /// No EXT-X-PROGRAM-DATE-TIME in the playlist and no `pdt_anchor`: DATERANGE needs program
    /// time (RFC 8216bis §4.4.5.1) and so does placing any break.
    NoProgramTime,
    /// The `interstitial` family is on but no asset-list URI template was given
    /// (`RewriteOptions::interstitial_asset_list`): an interstitial must name its assets
    /// (draft-pantos-hls-rfc8216bis Appendix D).
    NoAssetList,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAPlaylist => f.write_str("not an HLS playlist: the first line is not #EXTM3U"),
            Self::InvalidTag { line, tag } => write!(f, "line {line}: invalid {tag} value"),
            Self::NoProgramTime => f.write_str(
                "the playlist has no EXT-X-PROGRAM-DATE-TIME and no program-time anchor was given",
            ),
            Self::NoAssetList => f.write_str(
                "the interstitial marker family needs an asset-list URI template (with {break_id})",
            ),
        }
    }
}

impl std::error::Error for RewriteError {}
