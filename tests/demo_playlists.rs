//! The demo's stack in process — the built-in packager on a manual clock with the proxy in front —
//! driven through both API styles while the clock advances in part-sized steps. Every playlist
//! the proxy serves (classic and LL-HLS, both renditions, delta updates, blocking reloads) is
//! saved to `$HLSPLICE_DEMO_OUT/{live,ll}/` (default `target/tmp/demo-playlists/`) with the
//! stream's `breaks.json`, for the player-parser oracles in tests/clients/.
mod proxy_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use hlsplice::packager::{self, ManualClock, Packager, PackagerConfig};
use hlsplice::server::{self, ServerConfig};
use proxy_support::Api;

const TOKEN: &str = "demo-test-token";
/// An event through OvenMediaEngine's API on the LL-HLS stream.
async fn ome(addr: SocketAddr, body: &str) {
    let path = "/v1/vhosts/default/apps/ll/streams/demo:sendEvent";
    let (status, answer) = Api::basic(TOKEN).post(addr, path, body).await;
    assert_eq!(status, 200, "sendEvent {body}: {answer}");
}

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("HLSPLICE_DEMO_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-playlists"));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["live", "ll"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create output dir");
    }
    dir
}

struct Saver {
    api: Api,
    addr: SocketAddr,
    out: PathBuf,
    count: usize,
}

impl Saver {
    /// Fetches a playlist through the proxy, asserts 200, saves it under `{flavor}/`.
    async fn fetch(&mut self, path: &str) -> String {
        let (status, body) = self.api.get(self.addr, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        self.count += 1;
        let mut parts = path.trim_start_matches('/').split('/');
        let flavor = parts.next().unwrap_or("x");
        let file = path
            .rsplit('/')
            .next()
            .unwrap_or("p")
            .replace(".m3u8", "")
            .replace(['?', '&', '='], "_");
        let name = format!("{:04}_{file}.m3u8", self.count);
        std::fs::write(self.out.join(flavor).join(name), &body).expect("save");
        body
    }

    async fn round(&mut self) {
        for path in [
            "/live/demo/video.m3u8",
            "/live/demo/audio.m3u8",
            "/ll/demo/video.m3u8",
            "/ll/demo/audio.m3u8",
            "/ll/demo/video.m3u8?_HLS_skip=YES",
            "/ll/demo/audio.m3u8?_HLS_skip=v2",
        ] {
            self.fetch(path).await;
        }
    }
}

fn daterange_lines(playlist: &str) -> Vec<&str> {
    playlist
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_stack_playlists_for_the_oracles() {
    let t0: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().expect("t0");
    let clock = Arc::new(ManualClock::new(t0));
    let packager = Arc::new(Packager::new(PackagerConfig::default(), clock.clone()));
    let packager_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = packager_listener.local_addr().expect("addr");
    tokio::spawn(packager::serve(
        packager.clone(),
        packager_listener,
        std::future::pending(),
    ));

    let data =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ServerConfig {
        upstream: format!("http://{upstream}"),
        listen: addr,
        data_dir: data.clone(),
        api_tokens: vec![TOKEN.to_owned()],
        ..ServerConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy = tokio::spawn(server::run(config, listener, async {
        let _ = stopped.await;
    }));

    let out = out_dir();
    let mut s = Saver {
        api: Api::bearer(TOKEN),
        addr,
        out: out.clone(),
        count: 0,
    };
    let step = Duration::from_millis(250);
    s.round().await;

    // Classic: a 3 s break through the native API. LL-HLS: a 3 s break through OvenMediaEngine's.
    let (status, body) = s
        .api
        .post(
            addr,
            "/api/v1/streams/live/demo/breaks",
            r#"{"duration_ms":3000,"start":"now"}"#,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    ome(
        addr,
        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":3000}]}"#,
    )
    .await;
    for _ in 0..24 {
        clock.advance(step);
        s.round().await;
    }

    // LL-HLS: a 10 s break ended early by an IN after 2 s; a blocking reload picks up each part.
    ome(
        addr,
        r#"{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":777,"type":"out","duration":10000}]}"#,
    )
    .await;
    for i in 0..20 {
        if i == 8 {
            ome(addr, r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#).await;
        }
        let msn = packager
            .last_msn(packager::Flavor::LowLatency, packager::Rendition::Video)
            .unwrap_or(0)
            + 1;
        let blocking = format!("/ll/demo/video.m3u8?_HLS_msn={msn}&_HLS_part=0");
        let (api, out_dir, count) = (s.api.clone(), s.out.clone(), s.count + 1000 + i);
        let waiter = tokio::spawn(async move {
            let (status, body) = api.get(addr, &blocking).await;
            std::fs::write(
                out_dir
                    .join("ll")
                    .join(format!("{count:04}_blocking_video.m3u8")),
                &body,
            )
            .expect("save");
            (status, body)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        clock.advance(step);
        let (status, body) = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("blocking reload answered")
            .expect("join");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&format!("video_{msn}.0.m4s")), "{body}");
        s.round().await;
    }
    clock.advance(Duration::from_secs(2));
    s.round().await;

    // Both renditions carry the same DATERANGE tags; both breaks began and ended.
    for flavor in ["live", "ll"] {
        let video = s.fetch(&format!("/{flavor}/demo/video.m3u8")).await;
        let audio = s.fetch(&format!("/{flavor}/demo/audio.m3u8")).await;
        assert_eq!(daterange_lines(&video), daterange_lines(&audio), "{flavor}");
        let (status, breaks) = s
            .api
            .get(addr, &format!("/api/v1/streams/{flavor}/demo/breaks"))
            .await;
        assert_eq!(status, 200, "{breaks}");
        std::fs::write(out.join(flavor).join("breaks.json"), &breaks).expect("save breaks");
    }
    let saved = |flavor: &str| -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(out.join(flavor))
            .into_iter()
            .flatten()
            .flatten()
        {
            all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        all
    };
    let (live, ll) = (saved("live"), saved("ll"));
    for (flavor, text) in [("live", &live), ("ll", &ll)] {
        for tag in [
            "#EXT-X-CUE-OUT:",
            "#EXT-X-CUE-OUT-CONT",
            "#EXT-X-CUE-IN",
            "SCTE35-OUT=",
            "SCTE35-IN=",
        ] {
            assert!(
                text.contains(tag),
                "{flavor}: no {tag} in any saved playlist"
            );
        }
    }
    assert!(ll.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="));
    assert!(ll.contains("#EXT-X-PRELOAD-HINT:TYPE=PART"));
    assert!(
        ll.contains("splice-777"),
        "the OvenMediaEngine scte35 id names the break"
    );

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), proxy).await;
    let _ = std::fs::remove_dir_all(&data);
}
