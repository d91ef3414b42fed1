//! `hlsplice serve`: the origin proxy in front of a packager.
//!
//! Settings come from, highest priority first: command-line flags, environment variables
//! (`HLSPLICE_*`), the TOML file given with `--config`, built-in defaults.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Deserialize;

use hlsplice::hls::{AdAsset, AdDecisionTemplate, CueStyle, Markers, PolicyPreset};
use hlsplice::server::{self, ServerConfig};

const AFTER_HELP: &str = "\
Every setting can also come from an environment variable (shown with each flag) or from the
TOML file given with --config, using the flag's name with underscores, e.g.:

    upstream = \"http://127.0.0.1:8081\"
    listen = \"0.0.0.0:8080\"
    data_dir = \"/var/lib/hlsplice\"
    # redis = \"redis://10.0.0.5:6379/0\"   (a replica fleet's shared store, instead of data_dir)
    api_tokens = [\"change-me\"]
    read_tokens = [\"dashboard-token\"]
    tokens = [{secret = \"another\", scope = \"write\"}, {secret = \"viewer\", scope = \"read\"}]
    default_policy = \"none\"
    ad_length_ms = 30000
    dialect = \"both\"
    cue_style = \"duration\"
    max_break_ms = 600000
    upstream_timeout_ms = 10000
    strip_upstream_markers = false
    shutdown_grace_ms = 5000
    history_days = 30
    request_id_ttl_hours = 24
    render_cache_mib = 64
    stream_idle_ms = 600000
    housekeeping_ms = 10000
    max_playlist_bytes = 4194304
    max_upstream_fetches = 1024
    stream_patterns = [\"live/*\", \"ll/*\"]
    max_streams = 4096
    max_schedule_ahead_hours = 72
    max_connections = 10000
    header_read_timeout_ms = 10000
    body_read_timeout_ms = 10000
    keepalive_idle_ms = 5000
    ad_assets = [\"15=https://cdn.example/ads/a/index.m3u8\", \"4=/hlsplice/ad/ad.m3u8\"]
    ad_decision_url = \"http://ads.example/hls?break={break_id}&stream={stream}&duration={duration}&offset={start_offset}\"
    ad_decision_timeout_ms = 2000
    asset_list_cache_entries = 1024
    player_page = false

Flags override environment variables, which override the file. Logs go to stderr; set their
level with RUST_LOG (default: info).";

/// Run the origin proxy: rewritten playlists, pass-through media, ad-break API.
#[derive(clap::Args, Debug, Default)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// TOML file with any of the settings below (flags and environment variables win).
    #[arg(long, short = 'c', env = "HLSPLICE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Base URL of the packager (http://host:port[/prefix]); request paths are appended to it.
    #[arg(long, env = "HLSPLICE_UPSTREAM", value_name = "URL")]
    pub upstream: Option<String>,

    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HLSPLICE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Directory of the durable break store (created if missing) [default: ./hlsplice-data].
    #[arg(long, env = "HLSPLICE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep the break store in Redis instead of the data directory, shared by every replica of
    /// a fleet: redis://[:PASSWORD@]HOST:PORT[/DB], or rediss:// for TLS. Without it, the
    /// embedded store in --data-dir.
    #[arg(
        long,
        env = "HLSPLICE_REDIS",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis: Option<String>,

    /// Token accepted on the API for reading and writing: schedule, end and cancel breaks,
    /// change policies, list, status (`Authorization: Bearer <token>` or
    /// `Basic base64(<token>)`). Repeat for several; the environment variable takes a
    /// comma-separated list. Without any token every API request is refused.
    #[arg(
        long = "api-token",
        env = "HLSPLICE_API_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_tokens: Vec<String>,

    /// Token accepted on the API for reading only (lists and status); a write with it gets 403
    /// in every API style. Repeat for several; the environment variable takes a
    /// comma-separated list.
    #[arg(
        long = "read-token",
        env = "HLSPLICE_READ_TOKENS",
        value_name = "TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub read_tokens: Vec<String>,

    /// Break policy of a stream that has none of its own: none (no cap, no spacing) or
    /// dailymotion (24 breaks per rolling hour, starts 45 s apart) [default: none].
    #[arg(long, env = "HLSPLICE_DEFAULT_POLICY", value_name = "POLICY")]
    pub default_policy: Option<String>,

    /// Length of one ad of a Dailymotion-style `live_ad_break_launch=<n>` (a break of n x this),
    /// in milliseconds [default: 30000].
    #[arg(long, env = "HLSPLICE_AD_LENGTH_MS", value_name = "MS")]
    pub ad_length_ms: Option<u64>,

    /// Marker families to insert, comma-separated: cue (EXT-X-CUE-OUT/CONT/IN), daterange
    /// (EXT-X-DATERANGE with SCTE35-OUT/IN), enhanced (cue with the SCTE-35 payload),
    /// interstitial (HLS Interstitials, whose asset lists the proxy serves; needs --ad-asset or
    /// --ad-decision-url); both = cue,daterange [default: both].
    #[arg(long, env = "HLSPLICE_DIALECT", value_name = "DIALECT")]
    pub dialect: Option<String>,

    /// Syntax of EXT-X-CUE-OUT / -CUE-OUT-CONT: duration (CUE-OUT:DURATION=30.000,
    /// CUE-OUT-CONT:ElapsedTime=10.000,Duration=30.000), elemental (CUE-OUT:30.000, same CONT;
    /// AWS MediaPackage's form) or slash (CUE-OUT:30.000, CUE-OUT-CONT:10.000/30.000; what
    /// video.js reads) [default: duration].
    #[arg(long, env = "HLSPLICE_CUE_STYLE", value_name = "STYLE")]
    pub cue_style: Option<String>,

    /// Longest break the API accepts, in milliseconds [default: 600000].
    #[arg(long, env = "HLSPLICE_MAX_BREAK_MS", value_name = "MS")]
    pub max_break_ms: Option<u64>,

    /// Deadline for a non-blocking upstream request, in milliseconds; past it the client gets
    /// 504. Blocking reloads wait up to 3 x the target duration, then 503 [default: 10000].
    #[arg(long, env = "HLSPLICE_UPSTREAM_TIMEOUT_MS", value_name = "MS")]
    pub upstream_timeout_ms: Option<u64>,

    /// Remove ad markers the packager already put into its playlists [default: false].
    #[arg(long, env = "HLSPLICE_STRIP_UPSTREAM_MARKERS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub strip_upstream_markers: Option<bool>,

    /// On SIGTERM/SIGINT, how long open requests may still run, in milliseconds [default: 5000].
    #[arg(long, env = "HLSPLICE_SHUTDOWN_GRACE_MS", value_name = "MS")]
    pub shutdown_grace_ms: Option<u64>,

    /// How long ended and cancelled breaks stay readable through the API, in days of program
    /// time after their end; then they are deleted from the store [default: 30].
    #[arg(long, env = "HLSPLICE_HISTORY_DAYS", value_name = "DAYS")]
    pub history_days: Option<u64>,

    /// How long a `request_id` (idempotency key) is remembered, in hours of program time after
    /// its break's requested start [default: 24].
    #[arg(long, env = "HLSPLICE_REQUEST_ID_TTL_HOURS", value_name = "HOURS")]
    pub request_id_ttl_hours: Option<u64>,

    /// Memory for rendered playlists of all streams together, in MiB; past it the least
    /// recently used renderings are dropped [default: 64].
    #[arg(long, env = "HLSPLICE_RENDER_CACHE_MIB", value_name = "MIB")]
    pub render_cache_mib: Option<u64>,

    /// A stream nobody requested for this long leaves memory (not the store), in milliseconds
    /// [default: 600000].
    #[arg(long, env = "HLSPLICE_STREAM_IDLE_MS", value_name = "MS")]
    pub stream_idle_ms: Option<u64>,

    /// How often housekeeping prunes what can no longer appear in a playlist, the history past
    /// its retention and expired request ids, and lets idle streams go, in milliseconds
    /// [default: 10000].
    #[arg(long, env = "HLSPLICE_HOUSEKEEPING_MS", value_name = "MS")]
    pub housekeeping_ms: Option<u64>,

    /// Largest playlist read from upstream, in bytes; a larger one answers 502 without being
    /// read to the end [default: 4194304].
    #[arg(long, env = "HLSPLICE_MAX_PLAYLIST_BYTES", value_name = "BYTES")]
    pub max_playlist_bytes: Option<u64>,

    /// Most playlist fetches in flight upstream at once (distinct path and query); past it a
    /// new one answers 503 [default: 1024].
    #[arg(long, env = "HLSPLICE_MAX_UPSTREAM_FETCHES", value_name = "N")]
    pub max_upstream_fetches: Option<usize>,

    /// Which playlist directories are streams, as glob patterns over the stream key (`*` within
    /// a path segment, `**` across segments, e.g. `live/*`). Repeat for several; the
    /// environment variable takes a comma-separated list. Without any, every directory a
    /// playlist is in. Playlists elsewhere are proxied unmarked.
    #[arg(
        long = "stream-pattern",
        env = "HLSPLICE_STREAM_PATTERNS",
        value_name = "GLOB",
        value_delimiter = ','
    )]
    pub stream_patterns: Vec<String>,

    /// Most streams in memory at once; a playlist of a new stream past it is proxied unmarked
    /// [default: 4096].
    #[arg(long, env = "HLSPLICE_MAX_STREAMS", value_name = "N")]
    pub max_streams: Option<usize>,

    /// How far past the live edge a break may be scheduled, in hours [default: 72].
    #[arg(long, env = "HLSPLICE_MAX_SCHEDULE_AHEAD_HOURS", value_name = "HOURS")]
    pub max_schedule_ahead_hours: Option<u64>,

    /// Most client connections open at once; past it idle keep-alive connections are closed
    /// first, and a new connection is refused when none is idle [default: from the open-file
    /// limit, raised to its hard limit at start-up, less room for upstream connections and the
    /// store].
    #[arg(long, env = "HLSPLICE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Longest a client may take to send a request's headers, and longest a keep-alive
    /// connection may wait for the next one's, in milliseconds [default: 10000].
    #[arg(long, env = "HLSPLICE_HEADER_READ_TIMEOUT_MS", value_name = "MS")]
    pub header_read_timeout_ms: Option<u64>,

    /// Longest a client may take to send an API request's body, in milliseconds; then 408
    /// [default: 10000].
    #[arg(long, env = "HLSPLICE_BODY_READ_TIMEOUT_MS", value_name = "MS")]
    pub body_read_timeout_ms: Option<u64>,

    /// A keep-alive connection with no request for this long is closed, in milliseconds
    /// [default: 5000].
    #[arg(long, env = "HLSPLICE_KEEPALIVE_IDLE_MS", value_name = "MS")]
    pub keepalive_idle_ms: Option<u64>,
    /// An ad of the interstitial family, as SECONDS=URI (an HLS playlist, absolute http(s) or
    /// relative to the asset list, e.g. 4=/hlsplice/ad/ad.m3u8, the built-in ad). Repeat for
    /// several, in the order they play; the list is repeated to fill each break, and answered
    /// when the ad decision server fails. The environment variable takes a space-separated list.
    #[arg(
        long = "ad-asset",
        env = "HLSPLICE_AD_ASSETS",
        value_name = "SECONDS=URI",
        value_delimiter = ' '
    )]
    pub ad_assets: Vec<String>,

    /// Ad decision server of the interstitial family, asked for each break's asset list: an
    /// http:// URL template with {break_id}, {stream}, {duration} and {start_offset}.
    #[arg(long, env = "HLSPLICE_AD_DECISION_URL", value_name = "URL")]
    pub ad_decision_url: Option<String>,

    /// Deadline of one ad decision request, in milliseconds; past it the fixed ads are answered
    /// [default: 2000].
    #[arg(long, env = "HLSPLICE_AD_DECISION_TIMEOUT_MS", value_name = "MS")]
    pub ad_decision_timeout_ms: Option<u64>,

    /// Most asset lists kept in memory (per break and start-offset second); past it the least
    /// recently used are dropped [default: 1024].
    #[arg(long, env = "HLSPLICE_ASSET_LIST_CACHE_ENTRIES", value_name = "N")]
    pub asset_list_cache_entries: Option<usize>,

    /// Answer GET / with a player page (hls.js from its CDN, the markers as they arrive, a form
    /// to start a break) [default: false].
    #[arg(long, env = "HLSPLICE_PLAYER_PAGE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub player_page: Option<bool>,
}

/// The `--config` file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    upstream: Option<String>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    redis: Option<String>,
    api_tokens: Option<Vec<String>>,
    read_tokens: Option<Vec<String>>,
    /// `[{secret = "...", scope = "write" | "read"}]`, read as plain values so that no parse
    /// error can quote a secret.
    tokens: Option<Vec<toml::Value>>,
    default_policy: Option<String>,
    ad_length_ms: Option<u64>,
    dialect: Option<String>,
    cue_style: Option<String>,
    max_break_ms: Option<u64>,
    upstream_timeout_ms: Option<u64>,
    strip_upstream_markers: Option<bool>,
    shutdown_grace_ms: Option<u64>,
    history_days: Option<u64>,
    request_id_ttl_hours: Option<u64>,
    render_cache_mib: Option<u64>,
    stream_idle_ms: Option<u64>,
    housekeeping_ms: Option<u64>,
    max_playlist_bytes: Option<u64>,
    max_upstream_fetches: Option<usize>,
    stream_patterns: Option<Vec<String>>,
    max_streams: Option<usize>,
    max_schedule_ahead_hours: Option<u64>,
    max_connections: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    keepalive_idle_ms: Option<u64>,
    ad_assets: Option<Vec<String>>,
    ad_decision_url: Option<String>,
    ad_decision_timeout_ms: Option<u64>,
    asset_list_cache_entries: Option<usize>,
    player_page: Option<bool>,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

/// Merges flags/environment (already merged by clap) over the file over the defaults.
///
/// # Errors
/// When no upstream is given or a value is invalid.
pub fn resolve(args: Args) -> anyhow::Result<ServerConfig> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let defaults = ServerConfig::default();
    let upstream = args.upstream.or(file.upstream).context(
        "no upstream: pass --upstream, set HLSPLICE_UPSTREAM or put `upstream = \"http://...\"` in the --config file",
    )?;
    let dialect_text = args.dialect.or(file.dialect);
    let dialect = match dialect_text {
        Some(text) => text
            .parse::<Markers>()
            .map_err(|e| anyhow::anyhow!("dialect: {e}"))?,
        None => defaults.dialect,
    };
    let ad_assets = if args.ad_assets.is_empty() {
        file.ad_assets.unwrap_or_default()
    } else {
        args.ad_assets
    }
    .iter()
    .map(|text| {
        text.parse::<AdAsset>()
            .map_err(|e| anyhow::anyhow!("ad_assets: {e}"))
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    if ad_assets.len() > hlsplice::hls::ads::MAX_ADS {
        anyhow::bail!(
            "ad_assets: {} ads, at most {} are played",
            ad_assets.len(),
            hlsplice::hls::ads::MAX_ADS
        );
    }
    let ad_decision_url = match args.ad_decision_url.or(file.ad_decision_url) {
        Some(text) => Some(
            text.parse::<AdDecisionTemplate>()
                .map_err(|e| anyhow::anyhow!("ad_decision_url: {e}"))?,
        ),
        None => None,
    };
    if dialect.contains(Markers::INTERSTITIAL) && ad_assets.is_empty() && ad_decision_url.is_none()
    {
        anyhow::bail!(
            "dialect {dialect}: the interstitial family needs ads for its breaks: --ad-asset SECONDS=URI (e.g. 4=/hlsplice/ad/ad.m3u8, the built-in ad) or --ad-decision-url"
        );
    }
    let cue_style = match args.cue_style.or(file.cue_style) {
        Some(text) => text
            .parse::<CueStyle>()
            .map_err(|e| anyhow::anyhow!("cue_style: {e}"))?,
        None => defaults.cue_style,
    };
    // Per scope, flags (or the environment) replace what the file gives.
    let (file_write, file_read) = scoped_tokens(file.tokens.unwrap_or_default())?;
    let api_tokens = if args.api_tokens.is_empty() {
        let mut tokens = file.api_tokens.unwrap_or_default();
        tokens.extend(file_write);
        tokens
    } else {
        args.api_tokens
    };
    let read_tokens = if args.read_tokens.is_empty() {
        let mut tokens = file.read_tokens.unwrap_or_default();
        tokens.extend(file_read);
        tokens
    } else {
        args.read_tokens
    };
    let default_policy = match args.default_policy.or(file.default_policy) {
        Some(name) => name
            .parse::<PolicyPreset>()
            .map_err(|e| anyhow::anyhow!("default_policy: {e}"))?
            .policy(),
        None => defaults.default_policy,
    };
    let max_break_ms = args
        .max_break_ms
        .or(file.max_break_ms)
        .unwrap_or(defaults.max_break_ms);
    if max_break_ms == 0 {
        anyhow::bail!("max_break_ms must be positive");
    }
    let positive = |name: &str, value: Option<u64>, default: u64| -> anyhow::Result<u64> {
        match value.unwrap_or(default) {
            0 => anyhow::bail!("{name} must be positive"),
            value => Ok(value),
        }
    };
    let history_days = positive(
        "history_days",
        args.history_days.or(file.history_days),
        defaults.history_days,
    )?;
    let request_id_ttl_hours = positive(
        "request_id_ttl_hours",
        args.request_id_ttl_hours.or(file.request_id_ttl_hours),
        defaults.request_id_ttl_hours,
    )?;
    let render_cache_mib = positive(
        "render_cache_mib",
        args.render_cache_mib.or(file.render_cache_mib),
        defaults.render_cache_mib,
    )?;
    let stream_idle_ms = positive(
        "stream_idle_ms",
        args.stream_idle_ms.or(file.stream_idle_ms),
        defaults.stream_idle_ms,
    )?;
    let housekeeping_ms = positive(
        "housekeeping_ms",
        args.housekeeping_ms.or(file.housekeeping_ms),
        defaults.housekeeping_ms,
    )?;
    let ad_length_ms = positive(
        "ad_length_ms",
        args.ad_length_ms.or(file.ad_length_ms),
        defaults.ad_length_ms,
    )?;
    let max_playlist_bytes = positive(
        "max_playlist_bytes",
        args.max_playlist_bytes.or(file.max_playlist_bytes),
        defaults.max_playlist_bytes,
    )?;
    let as_u64 = |v: Option<usize>| v.map(|v| v as u64);
    let max_upstream_fetches = positive(
        "max_upstream_fetches",
        as_u64(args.max_upstream_fetches.or(file.max_upstream_fetches)),
        defaults.max_upstream_fetches as u64,
    )? as usize;
    let max_streams = positive(
        "max_streams",
        as_u64(args.max_streams.or(file.max_streams)),
        defaults.max_streams as u64,
    )? as usize;
    let max_schedule_ahead_hours = positive(
        "max_schedule_ahead_hours",
        args.max_schedule_ahead_hours
            .or(file.max_schedule_ahead_hours),
        defaults.max_schedule_ahead_hours,
    )?;
    let max_connections = match args.max_connections.or(file.max_connections) {
        Some(0) => anyhow::bail!("max_connections must be positive"),
        other => other,
    };
    let header_read_timeout_ms = positive(
        "header_read_timeout_ms",
        args.header_read_timeout_ms.or(file.header_read_timeout_ms),
        defaults.header_read_timeout_ms,
    )?;
    let body_read_timeout_ms = positive(
        "body_read_timeout_ms",
        args.body_read_timeout_ms.or(file.body_read_timeout_ms),
        defaults.body_read_timeout_ms,
    )?;
    let keepalive_idle_ms = positive(
        "keepalive_idle_ms",
        args.keepalive_idle_ms.or(file.keepalive_idle_ms),
        defaults.keepalive_idle_ms,
    )?;
    let stream_patterns = if args.stream_patterns.is_empty() {
        file.stream_patterns.unwrap_or_default()
    } else {
        args.stream_patterns
    };
    for pattern in &stream_patterns {
        hlsplice::server::StreamPattern::new(pattern)
            .map_err(|e| anyhow::anyhow!("stream pattern {pattern:?}: {e}"))?;
    }
    let ad_decision_timeout_ms = positive(
        "ad_decision_timeout_ms",
        args.ad_decision_timeout_ms.or(file.ad_decision_timeout_ms),
        defaults.ad_decision_timeout_ms,
    )?;
    let asset_list_cache_entries = args
        .asset_list_cache_entries
        .or(file.asset_list_cache_entries)
        .unwrap_or(defaults.asset_list_cache_entries);
    if asset_list_cache_entries == 0 {
        anyhow::bail!("asset_list_cache_entries must be positive");
    }
    Ok(ServerConfig {
        upstream,
        listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
        data_dir: args.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
        redis: args.redis.or(file.redis).filter(|url| !url.is_empty()),
        api_tokens,
        read_tokens,
        default_policy,
        ad_length_ms,
        dialect,
        cue_style,
        max_break_ms,
        upstream_timeout_ms: args
            .upstream_timeout_ms
            .or(file.upstream_timeout_ms)
            .unwrap_or(defaults.upstream_timeout_ms),
        strip_upstream_markers: args
            .strip_upstream_markers
            .or(file.strip_upstream_markers)
            .unwrap_or(defaults.strip_upstream_markers),
        shutdown_grace_ms: args
            .shutdown_grace_ms
            .or(file.shutdown_grace_ms)
            .unwrap_or(defaults.shutdown_grace_ms),
        history_days,
        request_id_ttl_hours,
        render_cache_mib,
        stream_idle_ms,
        housekeeping_ms,
        max_playlist_bytes,
        max_upstream_fetches,
        stream_patterns,
        max_streams,
        max_schedule_ahead_hours,
        max_connections,
        header_read_timeout_ms,
        body_read_timeout_ms,
        keepalive_idle_ms,
        ad_assets,
        ad_decision_url,
        ad_decision_timeout_ms,
        asset_list_cache_entries,
        player_page: args
            .player_page
            .or(file.player_page)
            .unwrap_or(defaults.player_page),
    })
}

/// The file's `tokens = [{secret, scope}]` as (write, read) secrets. Errors name the entry by
/// its index, never by its secret.
fn scoped_tokens(entries: Vec<toml::Value>) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut write, mut read) = (Vec::new(), Vec::new());
    for (i, entry) in entries.into_iter().enumerate() {
        let toml::Value::Table(table) = entry else {
            anyhow::bail!(
                "tokens[{i}] must be a table {{secret = \"...\", scope = \"write\" | \"read\"}}"
            );
        };
        if let Some(unknown) = table.keys().find(|k| *k != "secret" && *k != "scope") {
            anyhow::bail!("tokens[{i}]: unknown key {unknown:?} (expected secret, scope)");
        }
        let Some(toml::Value::String(secret)) = table.get("secret") else {
            anyhow::bail!("tokens[{i}].secret must be a string");
        };
        if secret.is_empty() {
            anyhow::bail!("tokens[{i}].secret is empty");
        }
        match table.get("scope").and_then(toml::Value::as_str) {
            Some("write") => write.push(secret.clone()),
            Some("read") => read.push(secret.clone()),
            _ => anyhow::bail!("tokens[{i}].scope must be \"write\" or \"read\""),
        }
    }
    Ok((write, read))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = resolve(args)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        server::run(config, listener, super::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_is_a_set_of_families_from_flag_or_file() {
        let dir = std::env::temp_dir().join(format!("hlsplice-serve-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("serve.toml");
        std::fs::write(
            &file,
            "upstream = \"http://10.0.0.1:9000\"\ndialect = \"daterange, enhanced\"\n",
        )
        .unwrap();
        let resolve_with = |dialect: Option<&str>| {
            resolve(Args {
                config: Some(file.clone()),
                dialect: dialect.map(str::to_owned),
                ..Args::default()
            })
        };
        assert_eq!(
            resolve_with(None).unwrap().dialect,
            Markers::DATERANGE | Markers::ENHANCED
        );
        for (text, want) in [
            ("both", Markers::BOTH),
            ("cue,daterange", Markers::BOTH),
            ("cue", Markers::CUE),
            ("enhanced", Markers::ENHANCED),
        ] {
            assert_eq!(resolve_with(Some(text)).unwrap().dialect, want, "{text}");
        }
        let err = resolve_with(Some("cue,scte")).unwrap_err();
        assert!(format!("{err:#}").contains("unknown dialect"), "{err:#}");
        let err = resolve_with(Some("both,interstitial")).unwrap_err();
        assert!(format!("{err:#}").contains("--ad-asset"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The example file in `--help` is a file `--config` reads, naming every setting.
    #[test]
    fn the_help_example_is_a_valid_config_file() {
        let example = AFTER_HELP
            .split_once("e.g.:\n\n")
            .and_then(|(_, rest)| rest.split_once("\n\nFlags"))
            .map(|(example, _)| example)
            .expect("an example in AFTER_HELP");
        let file: FileConfig = toml::from_str(example).expect("the example parses");
        assert_eq!(file.ad_assets.as_deref().map(<[String]>::len), Some(2));
        assert!(file.ad_decision_url.is_some() && file.player_page == Some(false));
        let keys = example.lines().filter(|l| l.contains(" = ")).count();
        let fields = format!("{:?}", FileConfig::default())
            .matches(": None")
            .count();
        assert_eq!(keys, fields, "every FileConfig field has an example line");
    }

    #[test]
    fn interstitial_ads_from_flag_env_or_file() {
        let dir = std::env::temp_dir().join(format!("hlsplice-serve-ads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("serve.toml");
        std::fs::write(
            &file,
            "upstream = \"http://10.0.0.1:9000\"\ndialect = \"both,interstitial\"\nad_assets = [\"15=https://cdn.example/a.m3u8\", \"4=/hlsplice/ad/ad.m3u8\"]\nad_decision_url = \"http://ads.example/{break_id}?o={start_offset}\"\nasset_list_cache_entries = 7\nplayer_page = true\n",
        )
        .unwrap();
        let from_file = resolve(Args {
            config: Some(file.clone()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(from_file.dialect, Markers::BOTH | Markers::INTERSTITIAL);
        let uris: Vec<&str> = from_file.ad_assets.iter().map(AdAsset::uri).collect();
        assert_eq!(uris, ["https://cdn.example/a.m3u8", "/hlsplice/ad/ad.m3u8"]);
        assert_eq!(from_file.ad_assets[0].duration(), 15.0);
        assert_eq!(
            from_file
                .ad_decision_url
                .as_ref()
                .map(AdDecisionTemplate::as_str),
            Some("http://ads.example/{break_id}?o={start_offset}")
        );
        assert_eq!(from_file.asset_list_cache_entries, 7);
        assert_eq!(from_file.ad_decision_timeout_ms, 2_000);
        assert!(from_file.player_page);
        // Flags (and the environment, which clap merges into them) replace the file's list.
        let from_flags = resolve(Args {
            config: Some(file.clone()),
            ad_assets: vec!["2.5=/x.m3u8".into()],
            ad_decision_timeout_ms: Some(300),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(from_flags.ad_assets.len(), 1);
        assert_eq!(from_flags.ad_assets[0].duration(), 2.5);
        assert_eq!(from_flags.ad_decision_timeout_ms, 300);
        let bad = |args: Args| format!("{:#}", resolve(args).unwrap_err());
        let upstream = || Some("http://10.0.0.1:9000".to_owned());
        let err = bad(Args {
            upstream: upstream(),
            ad_assets: vec!["/x.m3u8".into()],
            ..Args::default()
        });
        assert!(
            err.contains("ad_assets") && err.contains("SECONDS=URI"),
            "{err}"
        );
        let err = bad(Args {
            upstream: upstream(),
            ad_decision_url: Some("https://ads.example/{break_id}".into()),
            ..Args::default()
        });
        assert!(
            err.contains("ad_decision_url") && err.contains("http://"),
            "{err}"
        );
        let err = bad(Args {
            upstream: upstream(),
            ad_assets: vec!["1=/a.m3u8".into(); 101],
            ..Args::default()
        });
        assert!(err.contains("101 ads"), "{err}");
        let err = bad(Args {
            upstream: upstream(),
            asset_list_cache_entries: Some(0),
            ..Args::default()
        });
        assert!(err.contains("asset_list_cache_entries"), "{err}");
        // The family with a decision server alone is fine.
        assert!(
            resolve(Args {
                upstream: upstream(),
                dialect: Some("interstitial".into()),
                ad_decision_url: Some("http://ads.example/{break_id}".into()),
                ..Args::default()
            })
            .is_ok()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cue_style_from_flag_file_or_default() {
        let dir = std::env::temp_dir().join(format!("hlsplice-serve-cue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("serve.toml");
        std::fs::write(
            &file,
            "upstream = \"http://10.0.0.1:9000\"\ncue_style = \"slash\"\n",
        )
        .unwrap();
        let from_file = resolve(Args {
            config: Some(file.clone()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(from_file.cue_style, CueStyle::Slash);
        let from_flag = resolve(Args {
            config: Some(file.clone()),
            cue_style: Some("elemental".into()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(from_flag.cue_style, CueStyle::Elemental);
        let default = resolve(Args {
            upstream: Some("http://10.0.0.1:9000".into()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(default.cue_style, CueStyle::Duration);
        let err = resolve(Args {
            upstream: Some("http://10.0.0.1:9000".into()),
            cue_style: Some("dashes".into()),
            ..Args::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("dashes"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = std::env::temp_dir().join(format!("hlsplice-serve-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("serve.toml");
        std::fs::write(
            &file,
            "upstream = \"http://10.0.0.1:9000\"\nmax_break_ms = 1000\napi_tokens = [\"a\", \"b\"]\nlisten = \"0.0.0.0:9999\"\nredis = \"redis://10.0.0.5:6379/2\"\n",
        )
        .unwrap();
        let args = Args {
            config: Some(file.clone()),
            max_break_ms: Some(2000),
            ..Args::default()
        };
        let config = resolve(args).unwrap();
        assert_eq!(config.upstream, "http://10.0.0.1:9000");
        assert_eq!(config.max_break_ms, 2000);
        assert_eq!(config.api_tokens, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.upstream_timeout_ms, 10_000);
        assert_eq!(config.redis.as_deref(), Some("redis://10.0.0.5:6379/2"));

        std::fs::write(&file, "upstrem = \"typo\"\n").unwrap();
        let err = resolve(Args {
            config: Some(file),
            ..Args::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("upstrem"), "{err:#}");
        assert!(resolve(Args::default()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scoped_tokens_policy_and_ad_length() {
        let dir =
            std::env::temp_dir().join(format!("hlsplice-serve-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("serve.toml");
        let config = |text: &str, args: Args| {
            std::fs::write(&file, text).unwrap();
            resolve(Args {
                config: Some(file.clone()),
                ..args
            })
        };
        let text = r#"upstream = "http://10.0.0.1:9000"
api_tokens = ["w1"]
read_tokens = ["r1"]
tokens = [{secret = "w2", scope = "write"}, {secret = "r2", scope = "read"}]
default_policy = "dailymotion"
ad_length_ms = 15000
"#;
        let resolved = config(text, Args::default()).unwrap();
        assert_eq!(resolved.api_tokens, ["w1", "w2"]);
        assert_eq!(resolved.read_tokens, ["r1", "r2"]);
        assert_eq!(
            resolved.default_policy,
            hlsplice::hls::BreakPolicy::DAILYMOTION
        );
        assert_eq!(resolved.ad_length_ms, 15_000);
        // Flags replace the file's tokens of their own scope only, and win for the rest.
        let resolved = config(
            text,
            Args {
                read_tokens: vec!["r9".to_owned()],
                default_policy: Some("none".to_owned()),
                ad_length_ms: Some(20_000),
                ..Args::default()
            },
        )
        .unwrap();
        assert_eq!(resolved.api_tokens, ["w1", "w2"]);
        assert_eq!(resolved.read_tokens, ["r9"]);
        assert_eq!(resolved.default_policy, hlsplice::hls::BreakPolicy::NONE);
        assert_eq!(resolved.ad_length_ms, 20_000);
        let plain = config("upstream = \"http://10.0.0.1:9000\"\n", Args::default()).unwrap();
        assert_eq!(plain.default_policy, hlsplice::hls::BreakPolicy::NONE);
        assert_eq!(plain.ad_length_ms, 30_000);
        assert!(plain.read_tokens.is_empty());

        // Errors name the entry, never the secret.
        for (bad, needle) in [
            (
                r#"tokens = [{secret = "hush-1", scope = "admin"}]"#,
                "tokens[0].scope",
            ),
            (
                r#"tokens = [{secret = "hush-1", scop = "read"}]"#,
                "tokens[0]: unknown key",
            ),
            (r#"tokens = [{scope = "read"}]"#, "tokens[0].secret"),
            (
                r#"tokens = [{secret = "", scope = "read"}]"#,
                "tokens[0].secret is empty",
            ),
            (r#"tokens = ["hush-1"]"#, "tokens[0] must be a table"),
            (r#"default_policy = "youtube""#, "default_policy"),
            ("ad_length_ms = 0", "ad_length_ms"),
        ] {
            let err = config(
                &format!("upstream = \"http://10.0.0.1:9000\"\n{bad}\n"),
                Args::default(),
            )
            .unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains(needle), "{bad}: {text}");
            assert!(!text.contains("hush-1"), "{bad}: {text}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
