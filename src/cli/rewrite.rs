//! `hlsplice rewrite`: inserts ad-break markers into a media playlist and prints the result.
//!
//! `hlsplice rewrite <PLAYLIST|-> [--break SPEC]... [--dialect FAMILY[,FAMILY...]]
//! [--cue-style duration|elemental|slash] [--asset-list TEMPLATE] [--strip-upstream-markers]
//! [--pdt-anchor <RFC 3339>]`, where FAMILY is cue, daterange, enhanced, interstitial or both, where SPEC is
//! `id=<event id>,start=<RFC 3339>,duration=<seconds>[,end=<RFC 3339>][,cancel]`.
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};

use hlsplice::hls::{
    AssetListTemplate, BreakRequest, CueStyle, Markers, RewriteOptions, Timeline, rewrite,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Media playlist file, or `-` for standard input.
    pub playlist: PathBuf,
    /// A break: `id=<event id>,start=<RFC 3339>,duration=<seconds>[,end=<RFC 3339>][,cancel]`.
    #[arg(long = "break", value_name = "SPEC")]
    pub breaks: Vec<String>,
    /// Marker families, comma-separated: cue (EXT-X-CUE-OUT/CONT/IN), daterange (EXT-X-DATERANGE
    /// with SCTE35-OUT/IN), enhanced (cue with the SCTE-35 payload), interstitial (HLS
    /// Interstitials, needs --asset-list); both = cue,daterange.
    #[arg(long, default_value = "both", value_parser = parse_dialect)]
    pub dialect: Markers,
    /// Syntax of EXT-X-CUE-OUT / -CUE-OUT-CONT: duration (`CUE-OUT:DURATION=30.000`,
    /// `CUE-OUT-CONT:ElapsedTime=10.000,Duration=30.000`), elemental (`CUE-OUT:30.000`, same
    /// CONT; AWS MediaPackage's form) or slash (`CUE-OUT:30.000`, `CUE-OUT-CONT:10.000/30.000`;
    /// what video.js reads).
    #[arg(long, default_value = "duration", value_parser = parse_cue_style)]
    pub cue_style: CueStyle,
    /// X-ASSET-LIST URI of each break's interstitial, `{break_id}` standing for the break's id
    /// (e.g. `/hlsplice/assets/live/{break_id}.json`); needed by the interstitial family.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_asset_list)]
    pub asset_list: Option<AssetListTemplate>,
    /// Remove ad markers already in the playlist instead of passing them through.
    #[arg(long)]
    pub strip_upstream_markers: bool,
    /// Program time of the first segment, for playlists without EXT-X-PROGRAM-DATE-TIME.
    #[arg(long, value_name = "RFC 3339", value_parser = parse_time)]
    pub pdt_anchor: Option<DateTime<Utc>>,
}

fn parse_asset_list(s: &str) -> Result<AssetListTemplate, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_dialect(s: &str) -> Result<Markers, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_cue_style(s: &str) -> Result<CueStyle, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 date-time: {e}"))
}

/// One `--break` SPEC.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakSpec {
    pub event_id: u32,
    pub start: DateTime<Utc>,
    pub duration_ms: u64,
    pub end: Option<DateTime<Utc>>,
    pub cancel: bool,
}

impl std::str::FromStr for BreakSpec {
    type Err = anyhow::Error;

    fn from_str(spec: &str) -> anyhow::Result<Self> {
        let mut event_id = None;
        let mut start = None;
        let mut duration_ms = None;
        let mut end = None;
        let mut cancel = false;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            match key {
                "id" => {
                    event_id =
                        Some(value.parse::<u32>().map_err(|_| {
                            anyhow!("id {value:?} is not an event id (0..=4294967295)")
                        })?)
                }
                "start" => start = Some(parse_time(value).map_err(|e| anyhow!("start: {e}"))?),
                "end" => end = Some(parse_time(value).map_err(|e| anyhow!("end: {e}"))?),
                "duration" => {
                    let seconds: f64 = value
                        .parse()
                        .map_err(|_| anyhow!("duration {value:?} is not a number of seconds"))?;
                    if !seconds.is_finite() {
                        bail!("duration {value:?} is not a number of seconds");
                    }
                    if seconds < 0.0 {
                        bail!("duration {value} is negative");
                    }
                    duration_ms = Some((seconds * 1000.0).round() as u64);
                }
                "cancel" if value.is_empty() => cancel = true,
                _ => {
                    bail!("unknown item {item:?} (expected id=, start=, duration=, end= or cancel)")
                }
            }
        }
        Ok(Self {
            event_id: event_id.ok_or_else(|| anyhow!("missing id=<event id>"))?,
            start: start.ok_or_else(|| anyhow!("missing start=<RFC 3339>"))?,
            duration_ms: duration_ms.ok_or_else(|| anyhow!("missing duration=<seconds>"))?,
            end,
            cancel,
        })
    }
}

/// Builds a timeline from SPECs, in order.
///
/// # Errors
/// A SPEC that does not parse or that the timeline refuses (overlap, zero duration, end before
/// start).
pub fn timeline_from_specs(specs: &[String]) -> anyhow::Result<Timeline> {
    let mut timeline = Timeline::new();
    for text in specs {
        let spec: BreakSpec = text
            .parse()
            .with_context(|| format!("bad --break {text:?}"))?;
        let id = timeline
            .add_break(BreakRequest {
                event_id: Some(spec.event_id),
                start: spec.start,
                planned_duration_ms: spec.duration_ms,
            })
            .with_context(|| format!("bad --break {text:?}"))?
            .id;
        if let Some(end) = spec.end {
            timeline
                .end_break(id, end)
                .with_context(|| format!("bad --break {text:?}"))?;
        }
        if spec.cancel {
            timeline
                .cancel_break(id)
                .with_context(|| format!("bad --break {text:?}"))?;
        }
    }
    Ok(timeline)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.dialect.contains(Markers::INTERSTITIAL) && args.asset_list.is_none() {
        bail!(
            "--dialect {}: the interstitial family needs --asset-list TEMPLATE",
            args.dialect
        );
    }
    let timeline = timeline_from_specs(&args.breaks)?;
    let input = if args.playlist.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the playlist from standard input")?;
        buf
    } else {
        std::fs::read(&args.playlist)
            .with_context(|| format!("cannot read {}", args.playlist.display()))?
    };
    let opts = RewriteOptions {
        dialect: args.dialect,
        cue_style: args.cue_style,
        interstitial_asset_list: args.asset_list,
        strip_upstream_markers: args.strip_upstream_markers,
        pdt_anchor: args.pdt_anchor,
        ..RewriteOptions::default()
    };
    let mut out = Vec::with_capacity(input.len() + 1024);
    // One output, printed once: nothing renders this timeline again, so its decisions need no
    // storing.
    let _decided = rewrite(&input, &timeline, &opts, &mut out)
        .with_context(|| format!("cannot rewrite {}", args.playlist.display()))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .context("cannot write to standard output")?;
    stdout.flush().context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let spec: BreakSpec =
            "id=7,start=2026-11-21T08:00:04Z,duration=30,end=2026-11-21T08:00:16.5Z,cancel"
                .parse()
                .unwrap();
        assert_eq!(spec.event_id, 7);
        assert_eq!(spec.duration_ms, 30_000);
        assert_eq!(spec.end, Some("2026-11-21T08:00:16.500Z".parse().unwrap()));
        assert!(spec.cancel);
        let spec: BreakSpec = "id=1,start=2026-11-21T09:00:04+01:00,duration=12.3456"
            .parse()
            .unwrap();
        assert_eq!(
            spec.start,
            "2026-11-21T08:00:04Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(spec.duration_ms, 12_346);
        assert!(!spec.cancel);
        for bad in [
            "id=1,start=2026-11-21T08:00:00Z,duration=-5",
            "id=1,start=2026-11-21T08:00:00Z",
            "start=2026-11-21T08:00:00Z,duration=5",
            "id=x,start=2026-11-21T08:00:00Z,duration=5",
            "id=1,start=yesterday,duration=5",
            "id=1,start=2026-11-21T08:00:00Z,duration=5,color=red",
            "id=1,start=2026-11-21T08:00:00Z,duration=inf",
        ] {
            assert!(bad.parse::<BreakSpec>().is_err(), "{bad}");
        }
        let err = "id=1,start=2026-11-21T08:00:00Z,duration=-5"
            .parse::<BreakSpec>()
            .unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
    }
}
