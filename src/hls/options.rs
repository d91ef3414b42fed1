//! What the caller tells the rewriter: which marker families to write and how.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::interstitial::AssetListTemplate;
#[cfg(doc)]
use super::outcome::RewriteError;

/// Which marker families the rewriter writes: a set of `cue`, `daterange`, `enhanced` and
/// `interstitial`, written as a comma-separated list (`cue,daterange,interstitial`) on the
/// command line, in the TOML file and in the environment. `both` is the alias of
/// `cue,daterange` (the default); `enhanced` is the CUE family with the SCTE-35 payload, so it
/// implies `cue`. Names are case-insensitive; order and repeats do not matter.
///
/// | family | tags |
/// |---|---|
/// | `cue` | `#EXT-X-CUE-OUT` / `-CUE-OUT-CONT` / `-CUE-IN` in the [`CueStyle`] chosen |
/// | `daterange` | `#EXT-X-DATERANGE` with `SCTE35-OUT` / `SCTE35-IN` (RFC 8216bis §4.4.5.1.1) |
/// | `enhanced` | `cue`, plus `#EXT-OATCLS-SCTE35` and `,SCTE35=` on CUE-OUT-CONT |
/// | `interstitial` | `#EXT-X-DATERANGE` with `CLASS="com.apple.hls.interstitial"` (Appendix D) |
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Markers(u8);

const CUE_BIT: u8 = 1;
const DATERANGE_BIT: u8 = 2;
const ENHANCED_BIT: u8 = 4;
const INTERSTITIAL_BIT: u8 = 8;

impl Markers {
    /// The CUE family.
    pub const CUE: Self = Self(CUE_BIT);
    /// SCTE-35 date ranges.
    pub const DATERANGE: Self = Self(DATERANGE_BIT);
    /// `cue,daterange`, the default.
    pub const BOTH: Self = Self(CUE_BIT | DATERANGE_BIT);
    /// The CUE family with SCTE-35 payloads (so it contains [`Markers::CUE`]).
    pub const ENHANCED: Self = Self(CUE_BIT | ENHANCED_BIT);
    /// HLS interstitials (needs [`RewriteOptions::interstitial_asset_list`]).
    pub const INTERSTITIAL: Self = Self(INTERSTITIAL_BIT);

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every family of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub(super) const fn writes_cue(self) -> bool {
        self.0 & CUE_BIT != 0
    }

    pub(super) const fn writes_daterange(self) -> bool {
        self.0 & DATERANGE_BIT != 0
    }

    pub(super) const fn enhanced(self) -> bool {
        self.0 & ENHANCED_BIT != 0
    }

    pub(super) const fn writes_interstitial(self) -> bool {
        self.0 & INTERSTITIAL_BIT != 0
    }
}

impl Default for Markers {
    fn default() -> Self {
        Self::BOTH
    }
}

impl std::ops::BitOr for Markers {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        self.union(other)
    }
}

/// The families in their canonical text: `both` for exactly `cue,daterange` (as before sets
/// existed), otherwise the names in the order cue, daterange, enhanced, interstitial, with
/// `cue` left out when `enhanced` (which implies it) is there.
impl fmt::Display for Markers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::BOTH {
            return f.write_str("both");
        }
        let names = [
            (self.writes_cue() && !self.enhanced(), "cue"),
            (self.writes_daterange(), "daterange"),
            (self.enhanced(), "enhanced"),
            (self.writes_interstitial(), "interstitial"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(on, _)| *on) {
            if !first {
                f.write_str(",")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Markers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Markers({self})")
    }
}

impl From<Markers> for String {
    fn from(markers: Markers) -> Self {
        markers.to_string()
    }
}

impl TryFrom<String> for Markers {
    type Error = UnknownDialect;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// A dialect that is not a comma-separated list of known marker families.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown dialect {:?} (expected a comma-separated list of cue, daterange, enhanced, \
             interstitial; both = cue,daterange)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Markers {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut markers = Self(0);
        for name in s.split(',') {
            markers = markers.union(match name.trim().to_ascii_lowercase().as_str() {
                "cue" => Self::CUE,
                "daterange" => Self::DATERANGE,
                "both" => Self::BOTH,
                "enhanced" => Self::ENHANCED,
                "interstitial" => Self::INTERSTITIAL,
                _ => return Err(UnknownDialect(s.to_owned())),
            });
        }
        Ok(markers)
    }
}

/// How the CUE family writes the planned duration and the elapsed time. Packagers and players
/// disagree on the syntax of these tags (none is in an RFC); each style is one that real
/// packagers write and some consumers read (the README has a table of who reads what).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CueStyle {
    /// `#EXT-X-CUE-OUT:DURATION=30.000` and
    /// `#EXT-X-CUE-OUT-CONT:ElapsedTime=10.000,Duration=30.000`, the form OvenMediaEngine
    /// documents.
    #[default]
    Duration,
    /// `#EXT-X-CUE-OUT:30.000` and `#EXT-X-CUE-OUT-CONT:ElapsedTime=10.000,Duration=30.000`
    /// (`,SCTE35=<base64>` appended in the enhanced family), what AWS Elemental MediaLive and
    /// MediaPackage write (MediaPackage's `SCTE35_ENHANCED` ad markers, byte for byte).
    Elemental,
    /// `#EXT-X-CUE-OUT:30.000` and `#EXT-X-CUE-OUT-CONT:10.000/30.000`, elapsed/planned, the
    /// form video.js (VHS) reads. This form has no place for a payload: in the enhanced family
    /// the SCTE-35 section is carried by `#EXT-OATCLS-SCTE35` before the CUE-OUT only.
    Slash,
}

impl CueStyle {
    /// The name used on the command line and in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duration => "duration",
            Self::Elemental => "elemental",
            Self::Slash => "slash",
        }
    }
}

impl fmt::Display for CueStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown CUE style name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCueStyle(pub String);

impl fmt::Display for UnknownCueStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown cue style {:?} (expected duration, elemental or slash)",
            self.0
        )
    }
}

impl std::error::Error for UnknownCueStyle {}

impl FromStr for CueStyle {
    type Err = UnknownCueStyle;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "duration" => Ok(Self::Duration),
            "elemental" => Ok(Self::Elemental),
            "slash" => Ok(Self::Slash),
            _ => Err(UnknownCueStyle(s.to_owned())),
        }
    }
}

/// How to rewrite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewriteOptions {
    /// The marker families to write.
    pub dialect: Markers,
    /// The syntax of `EXT-X-CUE-OUT` and `EXT-X-CUE-OUT-CONT` when the CUE family is written.
    #[serde(default)]
    pub cue_style: CueStyle,
    /// The `X-ASSET-LIST` URI of each break's interstitial; required by the `interstitial`
    /// family ([`RewriteError::NoAssetList`] without it).
    #[serde(default)]
    pub interstitial_asset_list: Option<AssetListTemplate>,
    /// Remove upstream ad-marker lines (CUE family, EXT-OATCLS-SCTE35, EXT-X-ASSET, SCTE-35
    /// DATERANGEs) instead of passing them through.
    pub strip_upstream_markers: bool,
    /// Program time of the first segment of a playlist that has no EXT-X-PROGRAM-DATE-TIME.
    pub pdt_anchor: Option<DateTime<Utc>>,
    /// Renditions whose boundaries differ by less than this match the same decided time.
    pub tolerance_ms: u64,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        Self {
            dialect: Markers::BOTH,
            cue_style: CueStyle::Duration,
            interstitial_asset_list: None,
            strip_upstream_markers: false,
            pdt_anchor: None,
            tolerance_ms: 250,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_value_used_before_sets_parses_to_what_it_meant() {
        assert_eq!("cue".parse(), Ok(Markers::CUE));
        assert_eq!("daterange".parse(), Ok(Markers::DATERANGE));
        assert_eq!("both".parse(), Ok(Markers::BOTH));
        assert_eq!("enhanced".parse(), Ok(Markers::ENHANCED));
        assert_eq!("BOTH".parse(), Ok(Markers::BOTH));
        assert_eq!(Markers::default(), Markers::BOTH);
        for name in ["cue", "daterange", "both", "enhanced"] {
            assert_eq!(name.parse::<Markers>().unwrap().to_string(), name);
        }
    }

    #[test]
    fn sets_parse_in_any_order_and_print_canonically() {
        let all = Markers::BOTH | Markers::ENHANCED | Markers::INTERSTITIAL;
        assert_eq!("cue, daterange".parse(), Ok(Markers::BOTH));
        assert_eq!("daterange,cue,cue".parse(), Ok(Markers::BOTH));
        assert_eq!("cue,enhanced".parse(), Ok(Markers::ENHANCED));
        assert_eq!(
            "interstitial,enhanced,daterange".parse(),
            Ok(Markers::DATERANGE | Markers::ENHANCED | Markers::INTERSTITIAL)
        );
        assert_eq!("both,enhanced,interstitial".parse(), Ok(all));
        assert_eq!(all.to_string(), "daterange,enhanced,interstitial");
        assert_eq!(
            (Markers::BOTH | Markers::INTERSTITIAL).to_string(),
            "cue,daterange,interstitial"
        );
        assert_eq!(Markers::INTERSTITIAL.to_string(), "interstitial");
        for text in [
            "cue",
            "interstitial",
            "cue,interstitial",
            "daterange,enhanced",
            "daterange,enhanced,interstitial",
        ] {
            let markers: Markers = text.parse().unwrap();
            assert_eq!(markers.to_string(), text);
            assert_eq!(markers.to_string().parse(), Ok(markers));
        }
        assert!(Markers::ENHANCED.contains(Markers::CUE));
        assert!(!Markers::CUE.contains(Markers::ENHANCED));
        assert!(all.writes_cue() && all.writes_daterange() && all.enhanced());
        assert!(all.writes_interstitial());
        assert!(!Markers::DATERANGE.writes_cue());
    }

    #[test]
    fn unknown_or_empty_families_are_refused() {
        for bad in [
            "",
            "cue,",
            ",",
            "scte",
            "cue,scte",
            "cue;daterange",
            "both interstitial",
        ] {
            let err = bad.parse::<Markers>().unwrap_err();
            assert_eq!(err, UnknownDialect(bad.to_owned()), "{bad:?}");
            assert!(err.to_string().contains("unknown dialect"), "{err}");
        }
    }

    #[test]
    fn markers_and_options_serialize_as_text() {
        let markers = Markers::BOTH | Markers::INTERSTITIAL;
        let json = serde_json::to_string(&markers).unwrap();
        assert_eq!(json, "\"cue,daterange,interstitial\"");
        assert_eq!(serde_json::from_str::<Markers>(&json).unwrap(), markers);
        assert_eq!(
            serde_json::from_str::<Markers>("\"both\"").unwrap(),
            Markers::BOTH
        );
        assert!(serde_json::from_str::<Markers>("\"dash\"").is_err());
        let opts = RewriteOptions::default();
        let json = serde_json::to_string(&opts).unwrap();
        assert_eq!(serde_json::from_str::<RewriteOptions>(&json).unwrap(), opts);
        // Options written before the CUE style and the asset list existed still read.
        let old = r#"{"dialect":"enhanced","strip_upstream_markers":true,"pdt_anchor":null,"tolerance_ms":250}"#;
        let read: RewriteOptions = serde_json::from_str(old).unwrap();
        assert_eq!(read.dialect, Markers::ENHANCED);
        assert_eq!(read.cue_style, CueStyle::Duration);
        assert_eq!(read.interstitial_asset_list, None);
    }
}
