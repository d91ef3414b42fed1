//! `hlsplice demo`: the built-in live packager (`hlsplice::packager`) on an internal loopback port,
//! the origin proxy (`hlsplice::server`) in front of it with its player page at `/`, and
//! instructions for trying both API styles. With the `interstitial` family, every break plays the
//! built-in ad (`server::builtin_ad`) as an HLS interstitial. Needs nothing else (the page loads
//! hls.js from its CDN); Ctrl-C (or SIGTERM) exits.
//!
//! The default dialect stays `both` (CUE and SCTE-35 date ranges): it signals breaks without
//! changing what players show. `--dialect both,interstitial` makes the players that support HLS
//! Interstitials (hls.js in the page) play the ad.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;

use hlsplice::hls::{CueStyle, Markers};
use hlsplice::packager::{self, Packager, PackagerConfig, SystemClock};
use hlsplice::server::{self, ServerConfig};

/// Run a built-in live packager with the origin proxy in front of it.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address the proxy (what players and curl talk to) listens on.
    #[arg(long, env = "HLSPLICE_DEMO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Marker families to insert, comma-separated: cue, daterange, enhanced, interstitial (every
    /// break plays the built-in 4 s ad); both = cue,daterange.
    #[arg(long, env = "HLSPLICE_DIALECT", default_value = "both")]
    pub dialect: String,

    /// Syntax of EXT-X-CUE-OUT / -CUE-OUT-CONT: duration, elemental or slash.
    #[arg(long, env = "HLSPLICE_CUE_STYLE", default_value = "duration")]
    pub cue_style: String,

    /// API token the demo accepts (Bearer, or Basic base64(token) for the OvenMediaEngine API).
    #[arg(long, env = "HLSPLICE_DEMO_TOKEN", default_value = "demo-token")]
    pub token: String,

    /// Break store directory [default: a fresh temporary directory, removed on exit].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dialect: Markers = args
        .dialect
        .parse()
        .map_err(|e| anyhow::anyhow!("--dialect: {e}"))?;
    let cue_style: CueStyle = args
        .cue_style
        .parse()
        .map_err(|e| anyhow::anyhow!("--cue-style: {e}"))?;
    if args.token.is_empty() {
        anyhow::bail!("--token must not be empty");
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();

    let (data_dir, temporary) = match args.data_dir.clone() {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("hlsplice-demo-{}", std::process::id())),
            true,
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(demo(&args, (dialect, cue_style), data_dir.clone()));
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result.map(|()| ExitCode::SUCCESS)
}

async fn demo(
    args: &Args,
    (dialect, cue_style): (Markers, CueStyle),
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    let packager_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot bind the internal packager on 127.0.0.1")?;
    let packager_addr = packager_listener.local_addr()?;
    let proxy_listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (try --listen)", args.listen))?;
    let proxy_addr = proxy_listener.local_addr()?;

    let packager = Arc::new(Packager::new(
        PackagerConfig::default(),
        Arc::new(SystemClock),
    ));
    let (stop_packager, packager_stopped) = tokio::sync::oneshot::channel::<()>();
    let packager_task = tokio::spawn(packager::serve(packager, packager_listener, async {
        let _ = packager_stopped.await;
    }));

    let config = ServerConfig {
        upstream: format!("http://{packager_addr}"),
        listen: proxy_addr,
        data_dir,
        api_tokens: vec![args.token.clone()],
        dialect,
        cue_style,
        // The interstitial family's breaks play the built-in ad, which the proxy serves itself.
        ad_assets: vec![server::builtin_ad()],
        player_page: true,
        ..ServerConfig::default()
    };
    let (stop_proxy, proxy_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut proxy_task = tokio::spawn(server::run(config, proxy_listener, async {
        let _ = proxy_stopped.await;
    }));

    // A stream is known to the proxy once one of its playlists went through it: fetch each
    // once so the curl commands below work straight away. "Now" needs no player polling: the
    // API refreshes the live edge from the packager itself.
    for path in PLAYLISTS {
        if let Err(err) = warm_up(proxy_addr, path).await {
            tracing::warn!(%err, path, "demo: warm-up request failed");
        }
    }
    println!(
        "{}",
        banner(proxy_addr, packager_addr, &args.token, dialect, cue_style)
    );

    let outcome = tokio::select! {
        () = super::shutdown_signal() => None,
        done = &mut proxy_task => Some(done),
    };
    let proxy_result = match outcome {
        Some(done) => done,
        None => {
            eprintln!("hlsplice demo: shutting down");
            let _ = stop_proxy.send(());
            proxy_task.await
        }
    };
    let _ = stop_packager.send(());
    let _ = tokio::time::timeout(Duration::from_secs(3), packager_task).await;
    Ok(proxy_result.context("the proxy task failed")??)
}

const PLAYLISTS: [&str; 4] = [
    "/live/demo/video.m3u8",
    "/live/demo/audio.m3u8",
    "/ll/demo/video.m3u8",
    "/ll/demo/audio.m3u8",
];

/// One GET through the proxy; only the status line matters.
async fn warm_up(addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .context("timed out")??;
    anyhow::ensure!(
        head.get(9..12) == Some(&b"200"[..]),
        "answered {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}

/// Length of the break the printed curl commands start, in milliseconds.
const BREAK_MS: u64 = 10_000;

/// A duration as the rewriter renders it: seconds with exactly three decimals (`10.000`).
fn seconds_3(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// What the demo prints: URLs, ready-to-paste curl commands and what to look for.
pub fn banner(
    proxy: SocketAddr,
    packager: SocketAddr,
    token: &str,
    dialect: Markers,
    cue_style: CueStyle,
) -> String {
    let basic = base64::engine::general_purpose::STANDARD.encode(token);
    let base = format!("http://{proxy}");
    let ms = BREAK_MS;
    let secs = ms / 1000;
    let markers = markers(dialect, cue_style, ms);
    let interstitials = if dialect.contains(Markers::INTERSTITIAL) {
        "\n  With the interstitial family on, hls.js plays the built-in 4 s ad (orange, \"AD\") in each\n  break: {base}/hlsplice/ad/ad.m3u8, listed by {base}/hlsplice/assets/<stream>/<break id>.json."
            .replace("{base}", &base)
    } else {
        "\n  Start the demo with --dialect both,interstitial to see hls.js play an ad in each break.".to_owned()
    };
    format!(
        r#"hlsplice demo: a live packager (internal, http://{packager}) looping an 8 s test clip,
with the hlsplice origin proxy in front of it on {base}. API token: {token}

Player page (hls.js; shows the markers as they arrive and starts breaks with the token):
  {base}/{interstitials}

Playlists (through the proxy):
  classic HLS  {base}/live/demo/master.m3u8   (video.m3u8 + audio.m3u8, MPEG-TS, 1 s segments)
  LL-HLS       {base}/ll/demo/master.m3u8     (fMP4, 250 ms parts, blocking reload, delta updates)

Watch a playlist (new segment every second):
  watch -n 1 "curl -s {base}/live/demo/video.m3u8 | tail -n 16"
Play it:
  ffplay {base}/live/demo/master.m3u8

Start a {secs} s ad break on live/demo, native API:
  curl -s -X POST {base}/api/v1/streams/live/demo/breaks -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{"duration_ms":{ms},"start":"now"}}'
End it early (IN at the live edge; replace 1 with the "id" the call above returned):
  curl -s -X POST {base}/api/v1/streams/live/demo/breaks/1/end -H 'Authorization: Bearer {token}'
List breaks:
  curl -s {base}/api/v1/streams/live/demo/breaks -H 'Authorization: Bearer {token}'

Start a {secs} s ad break on ll/demo, OvenMediaEngine API (Basic base64(token)):
  curl -s -X POST '{base}/v1/vhosts/default/apps/ll/streams/demo:sendEvent' -H 'Authorization: Basic {basic}' -H 'Content-Type: application/json' -d '{{"eventFormat":"cue","events":[{{"cueType":"out","duration":{ms}}}]}}'
End it early:
  curl -s -X POST '{base}/v1/vhosts/default/apps/ll/streams/demo:sendEvent' -H 'Authorization: Basic {basic}' -H 'Content-Type: application/json' -d '{{"eventFormat":"cue","events":[{{"cueType":"in"}}]}}'

What to look for in video.m3u8 and audio.m3u8 after starting a break (dialect {dialect},
cue style {cue_style}; "..." stands for what varies):
{markers}  - the tags never change once published, however often you reload;
  - the clip loops every 8 s: #EXT-X-DISCONTINUITY there is the loop, not the ad break.
  Decode a marker: hlsplice decode 0xFC30...

Ctrl-C stops the demo."#
    )
}

/// The marker lines the rewriter writes for a break of `ms` milliseconds in `dialect`, one per
/// banner line (each starting with `#EXT`), with `...` where the text varies. Durations are the
/// rewriter's three-decimal form; `0xFC30...` / `/DA...` are SCTE-35 sections in hex / base64.
fn markers(dialect: Markers, cue_style: CueStyle, ms: u64) -> String {
    let planned = seconds_3(ms);
    let daterange = dialect.contains(Markers::DATERANGE);
    let cue = dialect.contains(Markers::CUE);
    let enhanced = dialect.contains(Markers::ENHANCED);
    let interstitial = dialect.contains(Markers::INTERSTITIAL);
    let mut out = String::from(
        "  - before the first segment published after your request, the same in both renditions:\n",
    );
    if daterange {
        out.push_str(&format!(
            "      #EXT-X-DATERANGE:ID=\"...\",START-DATE=\"...\",PLANNED-DURATION={planned},SCTE35-OUT=0xFC30...\n"
        ));
    }
    if interstitial {
        out.push_str(&format!(
            "      #EXT-X-DATERANGE:ID=\"ad-...\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"...\",PLANNED-DURATION={planned},X-ASSET-LIST=\"../../hlsplice/assets/.../....json\",X-SNAP=\"OUT,IN\",X-RESTRICT=\"SKIP,JUMP\",CUE=\"ONCE\"\n"
        ));
    }
    if enhanced {
        out.push_str("      #EXT-OATCLS-SCTE35:/DA...\n");
    }
    if cue {
        let (cue_out, cont) = match cue_style {
            CueStyle::Duration | CueStyle::Elemental => {
                let payload = if enhanced { ",SCTE35=/DA..." } else { "" };
                let out = if cue_style == CueStyle::Duration {
                    format!("#EXT-X-CUE-OUT:DURATION={planned}")
                } else {
                    format!("#EXT-X-CUE-OUT:{planned}")
                };
                (
                    out,
                    format!("#EXT-X-CUE-OUT-CONT:ElapsedTime=...,Duration={planned}{payload}"),
                )
            }
            CueStyle::Slash => (
                format!("#EXT-X-CUE-OUT:{planned}"),
                format!("#EXT-X-CUE-OUT-CONT:.../{planned}"),
            ),
        };
        out.push_str(&format!("      {cue_out}\n"));
        out.push_str("  - before each later segment inside the break:\n");
        out.push_str(&format!("      {cont}\n"));
    }
    let secs = ms / 1000;
    out.push_str(&format!(
        "  - where the break ends ({secs} s later, or at the first segment after your early IN):\n"
    ));
    if daterange {
        // The closing tag repeats the opening one's ID and START-DATE; DURATION is the real length.
        out.push_str(
            "      #EXT-X-DATERANGE:ID=\"...\",START-DATE=\"...\",END-DATE=\"...\",DURATION=...,SCTE35-IN=0xFC30...\n",
        );
    }
    if interstitial {
        // The interstitial's closing tag only adds END-DATE, DURATION and X-PLAYOUT-LIMIT.
        out.push_str(
            "      #EXT-X-DATERANGE:ID=\"ad-...\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"...\",END-DATE=\"...\",DURATION=...,X-PLAYOUT-LIMIT=...\n",
        );
    }
    if cue {
        out.push_str("      #EXT-X-CUE-IN\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::marker_form::has_form;
    use hlsplice::hls::{
        AssetListTemplate, BreakRequest, DateTime, RewriteOptions, Timeline, Utc, rewrite,
    };

    #[test]
    fn seconds_3_is_the_rewriters_form() {
        assert_eq!(seconds_3(10_000), "10.000");
        assert_eq!(seconds_3(1_500), "1.500");
        assert_eq!(seconds_3(33), "0.033");
    }

    /// The banner's marker lines, in each dialect, are exactly the lines the rewriter inserts for
    /// the break the printed curl commands start (one that begins and ends inside the window).
    #[test]
    fn markers_name_what_the_rewriter_writes_in_every_dialect() {
        let t0: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().expect("t0");
        let mut playlist = String::from(
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n",
        );
        for i in 0..16 {
            let pdt = t0 + chrono::Duration::seconds(i);
            playlist.push_str(&format!(
                "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:1.000,\nseg{i}.ts\n",
                pdt.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            ));
        }
        let dialects = [
            Markers::CUE,
            Markers::DATERANGE,
            Markers::BOTH,
            Markers::ENHANCED,
            Markers::ENHANCED | Markers::DATERANGE,
            Markers::INTERSTITIAL,
            Markers::BOTH | Markers::INTERSTITIAL,
            Markers::ENHANCED | Markers::DATERANGE | Markers::INTERSTITIAL,
        ];
        let styles = [CueStyle::Duration, CueStyle::Elemental, CueStyle::Slash];
        for (dialect, cue_style) in dialects.into_iter().flat_map(|d| styles.map(|s| (d, s))) {
            let mut timeline = Timeline::new();
            timeline
                .add_break(BreakRequest {
                    event_id: None,
                    start: t0 + chrono::Duration::seconds(2),
                    planned_duration_ms: BREAK_MS,
                })
                .expect("break");
            let options = RewriteOptions {
                dialect,
                cue_style,
                // What the proxy gives the demo's live/demo stream.
                interstitial_asset_list: Some(
                    AssetListTemplate::new("../../hlsplice/assets/live/demo/{break_id}.json")
                        .expect("template"),
                ),
                ..RewriteOptions::default()
            };
            let mut out = Vec::new();
            let _ = rewrite(playlist.as_bytes(), &timeline, &options, &mut out).expect("rewrite");
            let out = String::from_utf8(out).expect("utf-8");
            let listed = markers(dialect, cue_style, BREAK_MS);
            let forms: Vec<&str> = listed
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("#EXT"))
                .collect();
            for form in &forms {
                assert!(
                    out.lines().any(|line| has_form(line, form)),
                    "{dialect} {cue_style}: no line of the form {form}:\n{out}"
                );
            }
            let inserted = out.lines().filter(|l| {
                ["#EXT-X-CUE", "#EXT-X-DATERANGE", "#EXT-OATCLS-SCTE35"]
                    .iter()
                    .any(|tag| l.starts_with(tag))
            });
            for line in inserted {
                assert!(
                    forms.iter().any(|form| has_form(line, form)),
                    "{dialect} {cue_style}: the banner does not name {line}"
                );
            }
        }
    }
}
