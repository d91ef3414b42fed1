//! The built-in packager's media plays in ffmpeg: ffprobe reads the classic (MPEG-TS) and
//! LL-HLS (fMP4 parts) streams live from the packager on loopback. Skipped (with a message) when
//! ffmpeg/ffprobe are missing, unless HLSPLICE_REQUIRE_FFMPEG=1.
mod ffmpeg_support;

use std::process::Command;
use std::sync::Arc;

use hlsplice::packager::{self, Packager, PackagerConfig, SystemClock};

use ffmpeg_support::ffmpeg_available;

/// Runs ffprobe on `url` for its streams, then ffmpeg for 3 s of packets; returns
/// (codec_type, codec_name) per stream and the number of frames ffmpeg decoded.
fn probe(url: &str) -> (Vec<(String, String)>, usize) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "10000000"])
        .args([
            "-show_entries",
            "stream=codec_name,codec_type",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let streams = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(','))
        .map(|(name, kind)| (kind.to_owned(), name.to_owned()))
        .collect();
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-rw_timeout",
            "10000000",
        ])
        .args(["-i", url, "-t", "3", "-map", "0", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    (streams, frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffprobe_reads_classic_and_ll_streams() {
    if !ffmpeg_available("packager_media") {
        return;
    }
    let packager = Arc::new(Packager::new(
        PackagerConfig::default(),
        Arc::new(SystemClock),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(packager::serve(packager.clone(), listener, async {
        let _ = stopped.await;
    }));

    for flavor in ["live", "ll"] {
        let url = format!("http://{addr}/{flavor}/demo/master.m3u8");
        let (streams, packets) = tokio::task::spawn_blocking(move || probe(&url))
            .await
            .expect("join");
        assert!(
            streams.iter().any(|(k, n)| k == "video" && n == "h264"),
            "{flavor}: {streams:?}"
        );
        assert!(
            streams.iter().any(|(k, n)| k == "audio" && n == "aac"),
            "{flavor}: {streams:?}"
        );
        assert!(packets > 50, "{flavor}: only {packets} frames");
    }
    assert!(packager.media_requests() > 0);
    let _ = stop.send(());
    let _ = server.await;
}
