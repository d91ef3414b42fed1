//! The `interstitial` marker family: each break as an HLS Interstitial, an `EXT-X-DATERANGE`
//! with `CLASS="com.apple.hls.interstitial"` (draft-pantos-hls-rfc8216bis Appendix D; Apple,
//! "Getting Started with HLS Interstitials") that tells the player to fetch ad assets, play them
//! and resume the live stream.
//!
//! # The tags
//! Before the break's first segment (placed as the SCTE-35 DATERANGE OUT is: before the first
//! listed segment while a break that began earlier still overlaps the playlist):
//!
//! ```text
//! #EXT-X-DATERANGE:ID="ad-splice-7",CLASS="com.apple.hls.interstitial",START-DATE="2026-11-21T08:00:04.000Z",PLANNED-DURATION=30.000,X-ASSET-LIST="/hlsplice/assets/live/1.json",X-SNAP="OUT,IN",X-RESTRICT="SKIP,JUMP",CUE="ONCE"
//! ```
//!
//! and, once the break's end is decided and its segment is listed (placed as the SCTE-35
//! DATERANGE IN is), the closing tag:
//!
//! ```text
//! #EXT-X-DATERANGE:ID="ad-splice-7",CLASS="com.apple.hls.interstitial",START-DATE="2026-11-21T08:00:04.000Z",END-DATE="2026-11-21T08:00:34.000Z",DURATION=30.000,X-PLAYOUT-LIMIT=30.000
//! ```
//!
//! Tags with the same ID describe one date range, and an attribute that appears in both must
//! have the same value (RFC 8216bis §4.4.5.1): the opening tag therefore holds nothing that an
//! early IN could change, and the closing tag repeats ID, CLASS and START-DATE byte for byte and
//! only adds END-DATE, DURATION and X-PLAYOUT-LIMIT. Players merge the two (hls.js `DateRange`,
//! Shaka 5.2's `updateInterstitials_`, Media3 1.8's same-ID updates), and an added
//! X-PLAYOUT-LIMIT cuts an ad short when the break ends early (hls.js reads it from the merged
//! range; Shaka 5.2; Media3 1.10).
//!
//! (The example's asset list comes from the template `/hlsplice/assets/live/{break_id}.json`
//! for the stream's first break, whose SCTE-35 range is `splice-7`.)
//!
//! # Why these attributes
//! - `ID="ad-<SCTE-35 DATERANGE ID>"`: never the ID of the break's SCTE-35 range. Players index
//!   date ranges by ID and merge tags that share one, so one ID would make a single range that is
//!   both an interstitial and a SCTE-35 signal, whose CLASS appears in some of its tags and not
//!   in others, and whose SCTE35-IN tag would close the interstitial. SCTE-35 range IDs are
//!   `splice-<event id>[-<break id>]`, so the `ad-` prefix cannot meet one.
//! - `START-DATE`: the decided start, the same bytes as the SCTE-35 range's.
//! - `PLANNED-DURATION`, not DURATION: the real duration is only known at the end, and an early
//!   IN would change it.
//! - `X-ASSET-LIST`, not `X-ASSET-URI`: the ads are chosen when a player asks (late binding, one
//!   answer per viewer), and the URI itself is built from the break alone
//!   ([`AssetListTemplate`]), so every rendition and refresh prints the same bytes.
//! - `X-SNAP="OUT,IN"`: START-DATE is a boundary of the rendition that decided it; the others'
//!   boundaries may differ by up to the tolerance. Snapping makes each rendition leave and
//!   rejoin the primary content at its own nearest segment boundary.
//! - `X-RESTRICT="SKIP,JUMP"`: a live ad break is sold time; the viewer may neither skip the ads
//!   nor seek past the break without them.
//! - `CUE="ONCE"`: a viewer who seeks back over a break already seen (a DVR window) is not shown
//!   it again.
//! - No `X-RESUME-OFFSET`: without it the player resumes after the duration of the ads it
//!   played (Appendix D: "appropriate for live playback where playback is to be kept at a
//!   constant delay from the live edge"), i.e. at the live point, skipping the primary content
//!   the ads replaced. A resume offset of 0 would replay the break's content from its start.
//! - Closing `X-PLAYOUT-LIMIT` = DURATION: the ads stop when the break's content ends, planned
//!   or early.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tags::{push_eol, push_unquoted};
use super::time::{SmallText, push_date, push_seconds_3};
use super::timeline::Break;

/// The CLASS of an interstitial date range (Appendix D).
const CLASS: &[u8] = b"com.apple.hls.interstitial";

/// The placeholder an [`AssetListTemplate`] replaces with the break's id.
const BREAK_ID: &str = "{break_id}";

/// The `X-ASSET-LIST` URI of each break's interstitial, as a template in which every
/// `{break_id}` stands for the break's [`Break::id`] in decimal, e.g.
/// `/hlsplice/assets/live/{break_id}.json` → `/hlsplice/assets/live/7.json`. The URI depends on
/// the break alone, so every rendition and refresh prints the same bytes. A relative URI is
/// resolved against the media playlist's (RFC 8216bis §4.2).
///
/// Serialized as its text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetListTemplate {
    text: String,
}

/// Why an asset-list template was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidAssetListTemplate {
    /// No `{break_id}`: every break would share one asset list.
    NoBreakId {
        /// The template refused.
        template: String,
    },
    /// A `"`, CR or LF, which a quoted-string cannot carry (RFC 8216bis §4.2).
    NotQuotable {
        /// The template refused.
        template: String,
    },
    /// A `{` or `}` that is not part of `{break_id}` (a misspelt placeholder; a URI carries
    /// braces percent-encoded, RFC 3986 §2).
    StrayBrace {
        /// The template refused.
        template: String,
    },
}

impl fmt::Display for InvalidAssetListTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBreakId { template } => write!(
                f,
                "asset-list template {template:?} has no {BREAK_ID}: every break would share one asset list"
            ),
            Self::NotQuotable { template } => write!(
                f,
                "asset-list template {template:?} holds a double quote or a line break, which a quoted-string cannot carry"
            ),
            Self::StrayBrace { template } => write!(
                f,
                "asset-list template {template:?} has a brace that is not part of {BREAK_ID}"
            ),
        }
    }
}

impl std::error::Error for InvalidAssetListTemplate {}

impl AssetListTemplate {
    /// Checks a template.
    ///
    /// # Errors
    /// No `{break_id}`, a `"`, CR or LF, or a brace outside `{break_id}`.
    pub fn new(template: impl Into<String>) -> Result<Self, InvalidAssetListTemplate> {
        let template = template.into();
        if template.bytes().any(|b| matches!(b, b'"' | b'\r' | b'\n')) {
            return Err(InvalidAssetListTemplate::NotQuotable { template });
        }
        if !template.contains(BREAK_ID) {
            return Err(InvalidAssetListTemplate::NoBreakId { template });
        }
        if template
            .split(BREAK_ID)
            .any(|literal| literal.contains(['{', '}']))
        {
            return Err(InvalidAssetListTemplate::StrayBrace { template });
        }
        Ok(Self { text: template })
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URI for break `break_id`.
    pub fn uri(&self, break_id: u64) -> String {
        let mut out = Vec::new();
        self.push_uri(&mut out, break_id);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends the URI for break `break_id`, without allocating beyond `out`.
    pub(super) fn push_uri(&self, out: &mut Vec<u8>, break_id: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = break_id;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, literal) in self.text.split(BREAK_ID).enumerate() {
            if i > 0 {
                out.extend_from_slice(&digits[at..]);
            }
            out.extend_from_slice(literal.as_bytes());
        }
    }
}

impl fmt::Debug for AssetListTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetListTemplate({:?})", self.text)
    }
}

impl fmt::Display for AssetListTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for AssetListTemplate {
    type Err = InvalidAssetListTemplate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for AssetListTemplate {
    type Error = InvalidAssetListTemplate;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl From<AssetListTemplate> for String {
    fn from(template: AssetListTemplate) -> Self {
        template.text
    }
}

/// `#EXT-X-DATERANGE:ID="ad-<id>",CLASS="com.apple.hls.interstitial",START-DATE="…"`, the
/// start every tag of the interstitial repeats.
fn push_head(out: &mut Vec<u8>, b: &Break, start: i64) {
    out.extend_from_slice(b"#EXT-X-DATERANGE:ID=\"ad-");
    push_unquoted(out, &b.daterange_id);
    out.extend_from_slice(b"\",CLASS=\"");
    out.extend_from_slice(CLASS);
    out.extend_from_slice(b"\",START-DATE=\"");
    push_date(out, start);
    out.push(b'"');
}

/// The opening tag (see the module docs). Written once per break and rewrite: kept out of line
/// so that the render loop stays small.
#[inline(never)]
pub(super) fn push_interstitial_open(
    out: &mut Vec<u8>,
    b: &Break,
    start: i64,
    planned: &SmallText,
    asset_list: &AssetListTemplate,
    crlf: bool,
) {
    push_head(out, b, start);
    out.extend_from_slice(b",PLANNED-DURATION=");
    out.extend_from_slice(planned.as_bytes());
    out.extend_from_slice(b",X-ASSET-LIST=\"");
    asset_list.push_uri(out, b.id);
    out.extend_from_slice(b"\",X-SNAP=\"OUT,IN\",X-RESTRICT=\"SKIP,JUMP\",CUE=\"ONCE\"");
    push_eol(out, crlf);
}

/// The closing tag (see the module docs), out of line as the opening one.
#[inline(never)]
pub(super) fn push_interstitial_close(
    out: &mut Vec<u8>,
    b: &Break,
    start: i64,
    end: i64,
    crlf: bool,
) {
    push_head(out, b, start);
    out.extend_from_slice(b",END-DATE=\"");
    push_date(out, end);
    out.extend_from_slice(b"\",DURATION=");
    let duration = end.saturating_sub(start);
    push_seconds_3(out, duration);
    out.extend_from_slice(b",X-PLAYOUT-LIMIT=");
    push_seconds_3(out, duration);
    push_eol(out, crlf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_the_break_id_and_refuse_what_cannot_be_quoted() {
        let t = AssetListTemplate::new("/hlsplice/assets/live/{break_id}.json").unwrap();
        assert_eq!(t.uri(7), "/hlsplice/assets/live/7.json");
        assert_eq!(t.uri(0), "/hlsplice/assets/live/0.json");
        assert_eq!(
            t.uri(u64::MAX),
            "/hlsplice/assets/live/18446744073709551615.json"
        );
        let twice = AssetListTemplate::new("{break_id}/list-{break_id}").unwrap();
        assert_eq!(twice.uri(12), "12/list-12");
        assert_eq!(
            "https://ads.example/{break_id}".parse::<AssetListTemplate>(),
            AssetListTemplate::new("https://ads.example/{break_id}")
        );
        assert!(matches!(
            AssetListTemplate::new("/assets/list.json"),
            Err(InvalidAssetListTemplate::NoBreakId { .. })
        ));
        for bad in ["/a/{break_id}\"", "/a/{break_id}\n", "/a/\r{break_id}"] {
            assert!(
                matches!(
                    AssetListTemplate::new(bad),
                    Err(InvalidAssetListTemplate::NotQuotable { .. })
                ),
                "{bad:?}"
            );
        }
        for bad in ["/a/{breakid}/{break_id}", "/a/{break_id}}", "/{/{break_id}"] {
            assert!(
                matches!(
                    AssetListTemplate::new(bad),
                    Err(InvalidAssetListTemplate::StrayBrace { .. })
                ),
                "{bad:?}"
            );
        }
        let err = AssetListTemplate::new("x").unwrap_err().to_string();
        assert!(err.contains("{break_id}"), "{err}");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"/hlsplice/assets/live/{break_id}.json\"");
        assert_eq!(serde_json::from_str::<AssetListTemplate>(&json).unwrap(), t);
        assert!(serde_json::from_str::<AssetListTemplate>("\"/no/id\"").is_err());
    }
}
