//! `hlsplice encode splice-insert …` / `hlsplice encode time-signal …`: builds a SCTE-35
//! splice_info_section and prints it as hex (`0x` + uppercase, the EXT-X-DATERANGE form), base64,
//! raw bytes or the decoded JSON.
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};

use hlsplice::scte35::{
    self, PTS_MASK, Payload, SegmentationDescriptor, SpliceCommand, SpliceInfoSection, SpliceTime,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub message: Message,
}

/// The message to encode.
#[derive(clap::Subcommand, Debug)]
pub enum Message {
    /// A splice_insert: an OUT (default), its IN (`--in`) or a cancel (`--cancel`).
    SpliceInsert(SpliceInsertArgs),
    /// A time_signal, optionally with one segmentation descriptor.
    TimeSignal(TimeSignalArgs),
}

/// Output encodings.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// `0x` + uppercase hex (EXT-X-DATERANGE SCTE35-OUT/-IN form).
    #[default]
    Hex,
    /// Standard padded base64.
    Base64,
    /// The raw section bytes.
    Binary,
    /// The decoded section as JSON (same shape as `hlsplice decode`).
    Json,
}

/// Header fields both messages take.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    /// pts_adjustment in 90 kHz ticks (33 bits).
    #[arg(long, value_name = "TICKS", default_value = "0", value_parser = parse_u64)]
    pub pts_adjustment: u64,
    /// tier (12 bits, decimal or 0x hex).
    #[arg(long, value_name = "N", default_value = "0xFFF", value_parser = parse_u64)]
    pub tier: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Hex)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct SpliceInsertArgs {
    /// splice_event_id (32 bits).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    pub event_id: u64,
    /// An IN (out_of_network_indicator 0) instead of an OUT.
    #[arg(long = "in")]
    pub is_in: bool,
    /// Cancel the event (splice_event_cancel_indicator 1).
    #[arg(long, conflicts_with_all = ["is_in", "pts", "immediate", "duration", "auto_return", "unique_program_id", "avail_num", "avails_expected"])]
    pub cancel: bool,
    /// Splice time in seconds on the 90 kHz PTS clock (rounded to the nearest tick).
    #[arg(
        long,
        value_name = "SECONDS",
        conflicts_with = "immediate",
        allow_negative_numbers = true
    )]
    pub pts: Option<f64>,
    /// Splice now (splice_immediate_flag 1); the default when --pts is absent.
    #[arg(long)]
    pub immediate: bool,
    /// break_duration in seconds.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Set auto_return in break_duration.
    #[arg(long, requires = "duration")]
    pub auto_return: bool,
    /// unique_program_id (16 bits).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    pub unique_program_id: Option<u64>,
    /// avail_num (8 bits).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    pub avail_num: Option<u64>,
    /// avails_expected (8 bits).
    #[arg(long, value_name = "N", value_parser = parse_u64)]
    pub avails_expected: Option<u64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct TimeSignalArgs {
    /// Signal time in seconds on the 90 kHz PTS clock (rounded to the nearest tick).
    #[arg(
        long,
        value_name = "SECONDS",
        conflicts_with = "immediate",
        allow_negative_numbers = true
    )]
    pub pts: Option<f64>,
    /// No time (time_specified_flag 0); the default when --pts is absent.
    #[arg(long)]
    pub immediate: bool,
    /// segmentation_type_id of a segmentation descriptor (decimal or 0x hex, e.g. 0x34).
    #[arg(long, value_name = "ID", value_parser = parse_u64, requires = "segmentation_event_id")]
    pub segmentation_type: Option<u64>,
    /// segmentation_event_id (32 bits).
    #[arg(long, value_name = "N", value_parser = parse_u64, requires = "segmentation_type")]
    pub segmentation_event_id: Option<u64>,
    /// segmentation_duration in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        requires = "segmentation_type",
        allow_negative_numbers = true
    )]
    pub segmentation_duration: Option<f64>,
    /// segmentation_upid_type (decimal or 0x hex).
    #[arg(long, value_name = "T", value_parser = parse_u64, requires_all = ["upid", "segmentation_type"])]
    pub upid_type: Option<u64>,
    /// segmentation_upid bytes as hex (`0x` optional).
    #[arg(long, value_name = "HEX", requires = "upid_type")]
    pub upid: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (section, common) = match &args.message {
        Message::SpliceInsert(a) => (splice_insert(a)?, &a.common),
        Message::TimeSignal(a) => (time_signal(a)?, &a.common),
    };
    let mut section = section;
    section.pts_adjustment = fit(common.pts_adjustment, 33, "--pts-adjustment")?;
    section.tier = fit(common.tier, 12, "--tier")? as u16;
    let bytes = section.to_vec().context("encoding the section")?;
    let mut stdout = std::io::stdout().lock();
    match common.format {
        Format::Hex => writeln!(stdout, "{}", scte35::to_hex(&bytes)),
        Format::Base64 => writeln!(stdout, "{}", scte35::to_base64(&bytes)),
        Format::Binary => stdout.write_all(&bytes),
        Format::Json => {
            let view = super::decode::section_json(&section, &bytes);
            writeln!(stdout, "{}", serde_json::to_string_pretty(&view)?)
        }
    }
    .context("writing stdout")?;
    stdout.flush().context("writing stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn splice_insert(a: &SpliceInsertArgs) -> anyhow::Result<SpliceInfoSection> {
    let event_id = fit(a.event_id, 32, "--event-id")? as u32;
    if a.cancel {
        return Ok(scte35::splice_insert_cancel(event_id));
    }
    let time = splice_time(a.pts, "--pts")?;
    let mut section = if a.is_in {
        scte35::splice_insert_in(event_id, time)
    } else {
        scte35::splice_insert_out(event_id, time, None, false)
    };
    if let Payload::Clear {
        splice_command: SpliceCommand::SpliceInsert(si),
        ..
    } = &mut section.payload
    {
        if let Some(d) = a.duration {
            si.break_duration = Some(scte35::BreakDuration {
                auto_return: a.auto_return,
                duration: ticks(d, 33, "--duration")?,
            });
        }
        if let Some(v) = a.unique_program_id {
            si.unique_program_id = fit(v, 16, "--unique-program-id")? as u16;
        }
        if let Some(v) = a.avail_num {
            si.avail_num = fit(v, 8, "--avail-num")? as u8;
        }
        if let Some(v) = a.avails_expected {
            si.avails_expected = fit(v, 8, "--avails-expected")? as u8;
        }
    }
    Ok(section)
}

fn time_signal(a: &TimeSignalArgs) -> anyhow::Result<SpliceInfoSection> {
    let time = splice_time(a.pts, "--pts")?;
    let mut descriptors = Vec::new();
    if let (Some(type_id), Some(event_id)) = (a.segmentation_type, a.segmentation_event_id) {
        let mut seg = SegmentationDescriptor::new(
            fit(event_id, 32, "--segmentation-event-id")? as u32,
            fit(type_id, 8, "--segmentation-type")? as u8,
        );
        if let Some(d) = a.segmentation_duration {
            seg.segmentation_duration = Some(ticks(d, 40, "--segmentation-duration")?);
        }
        if let (Some(t), Some(upid)) = (a.upid_type, &a.upid) {
            seg.segmentation_upid_type = fit(t, 8, "--upid-type")? as u8;
            let digits = upid.trim();
            let digits = digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
                .unwrap_or(digits);
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("--upid: {upid:?} is not hex");
            }
            let bytes = if digits.is_empty() {
                Vec::new()
            } else {
                scte35::decode_text(digits).map_err(|e| anyhow::anyhow!("--upid: {e}"))?
            };
            if bytes.len() > 255 {
                bail!(
                    "--upid: {} bytes, at most 255 fit segmentation_upid_length",
                    bytes.len()
                );
            }
            if let Some(expected) =
                scte35::segmentation_upid_fixed_length(seg.segmentation_upid_type)
                && bytes.len() != expected
            {
                bail!(
                    "--upid: {} bytes, but segmentation_upid_type {:#04x} takes exactly {expected}",
                    bytes.len(),
                    seg.segmentation_upid_type
                );
            }
            seg.segmentation_upid = bytes;
        }
        descriptors.push(scte35::SpliceDescriptor::Segmentation(seg));
    }
    Ok(scte35::time_signal(time, descriptors))
}

fn splice_time(pts: Option<f64>, name: &str) -> anyhow::Result<SpliceTime> {
    match pts {
        None => Ok(SpliceTime::Immediate),
        Some(seconds) => Ok(SpliceTime::Pts(ticks(seconds, 33, name)?)),
    }
}

/// Seconds → 90 kHz ticks, rejecting values the field cannot hold (no silent wrap from the CLI).
fn ticks(seconds: f64, bits: u32, name: &str) -> anyhow::Result<u64> {
    let t =
        scte35::seconds_to_ticks(seconds).map_err(|e| anyhow::anyhow!("{name}: {seconds}: {e}"))?;
    let max = if bits == 33 {
        PTS_MASK
    } else {
        (1u64 << bits) - 1
    };
    if t > max {
        bail!(
            "{name}: {seconds} s is {t} ticks, more than the {bits}-bit field holds ({:.6} s)",
            scte35::ticks_to_seconds(max)
        );
    }
    Ok(t)
}

fn fit(value: u64, bits: u32, name: &str) -> anyhow::Result<u64> {
    if value >> bits != 0 {
        bail!("{name}: {value} does not fit in {bits} bits");
    }
    Ok(value)
}

/// Decimal or `0x` hex.
fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    };
    parsed.map_err(|e| format!("{s:?} is not a number (decimal or 0x hex): {e}"))
}
