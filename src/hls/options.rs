//! What the caller tells the rewriter: which marker families to write and how.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which marker tags the rewriter writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `#EXT-X-CUE-OUT` / `#EXT-X-CUE-OUT-CONT` / `#EXT-X-CUE-IN`.
    Cue,
    /// `#EXT-X-DATERANGE` with `SCTE35-OUT` / `SCTE35-IN` (RFC 8216bis §4.4.5.1.1).
    Daterange,
    /// DATERANGE and CUE tags together.
    #[default]
    Both,
    /// CUE tags with the SCTE-35 payload: `#EXT-OATCLS-SCTE35` and `,SCTE35=` on CUE-OUT-CONT.
    Enhanced,
}

impl Dialect {
    pub(super) fn writes_daterange(self) -> bool {
        matches!(self, Self::Daterange | Self::Both)
    }

    pub(super) fn writes_cue(self) -> bool {
        !matches!(self, Self::Daterange)
    }

    /// The name used on the command line and in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cue => "cue",
            Self::Daterange => "daterange",
            Self::Both => "both",
            Self::Enhanced => "enhanced",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown dialect name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown dialect {:?} (expected cue, daterange, both or enhanced)",
            self.0
        )
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cue" => Ok(Self::Cue),
            "daterange" => Ok(Self::Daterange),
            "both" => Ok(Self::Both),
            "enhanced" => Ok(Self::Enhanced),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

/// How to rewrite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewriteOptions {
    pub dialect: Dialect,
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
            dialect: Dialect::Both,
            strip_upstream_markers: false,
            pdt_anchor: None,
            tolerance_ms: 250,
        }
    }
}
