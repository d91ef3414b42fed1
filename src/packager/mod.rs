//! A small live HLS / LL-HLS packager, driven by a [`Clock`], for `hlsplice demo` and the tests.
//!
//! It loops a short clip (testdata/media, compiled into the binary) as an endless live stream and
//! serves, for any stream name `{s}`:
//!
//! - classic live HLS (RFC 8216bis §6.2.2): `/live/{s}/master.m3u8`, `/live/{s}/video.m3u8`,
//!   `/live/{s}/audio.m3u8` with MPEG-TS segments `video_{msn}.ts` / `audio_{msn}.ts`;
//! - LL-HLS (RFC 8216bis §4.4.4.9, §6.2.5): `/ll/{s}/master.m3u8`, `/ll/{s}/video.m3u8`,
//!   `/ll/{s}/audio.m3u8` with fMP4 (`{r}_init.mp4`, segments `{r}_{msn}.m4s`, parts
//!   `{r}_{msn}.{part}.m4s`), EXT-X-PART-INF, EXT-X-SERVER-CONTROL, EXT-X-PRELOAD-HINT,
//!   EXT-X-RENDITION-REPORT, blocking reload (`_HLS_msn` / `_HLS_part`, §6.2.5.2) and delta
//!   updates (`_HLS_skip=YES|v2`, §6.2.5.1).
//!
//! Segment `k` (its media sequence number) starts at `origin + k × segment` on the clock; it is
//! published once the clock passes its end. The origin defaults to `window` segments before the
//! clock's time at creation, so a new packager already has a full window. Playlists are pure
//! functions of the clock, so tests need no media; segment and part requests serve the clip's bytes
//! (segment `k` plays clip segment `k mod clip length`, with EXT-X-DISCONTINUITY where the loop
//! restarts). The served media matches the declared durations with the default timing
//! (1 s segments, 250 ms parts), which the clip was cut for.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use hlsplice::packager::{Flavor, ManualClock, Packager, PackagerConfig, Rendition};
//!
//! let clock = Arc::new(ManualClock::new("2026-11-21T08:00:00Z".parse()?));
//! let packager = Packager::new(PackagerConfig::default(), clock.clone());
//! let before = packager.last_msn(Flavor::Classic, Rendition::Video);
//! clock.advance(Duration::from_secs(1)); // one more 1 s segment is published
//! assert_eq!(
//!     packager.last_msn(Flavor::Classic, Rendition::Video),
//!     before.map(|msn| msn + 1)
//! );
//! let playlist = packager.media_playlist(Flavor::Classic, Rendition::Video, None);
//! assert!(playlist.starts_with("#EXTM3U\n"));
//! assert!(playlist.contains("#EXT-X-PROGRAM-DATE-TIME:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`serve`] answers these over HTTP (tokio, hyper) until its shutdown future completes.
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Timelike as _, Utc};
use tokio::sync::watch;

mod clock;
mod grid;
mod http;
mod media;

pub use clock::{Clock, ManualClock, SystemClock};
pub use grid::{AAC_FRAME_TICKS, Grid, TICKS_PER_MS};
pub use http::serve;
pub use media::{Clip, MediaError};

/// Packager settings. `Default` is the demo's timing: 1 s segments, 250 ms parts, 10-segment window.
#[derive(Clone, Debug)]
pub struct PackagerConfig {
    /// Segment duration in milliseconds (video; audio is snapped to AAC frames). At least 100.
    pub segment_ms: u64,
    /// LL-HLS part duration in milliseconds; `None` disables the `/ll/` playlists (404).
    pub part_ms: Option<u64>,
    /// Number of complete segments in each media playlist (sliding window). At least 1.
    pub window: usize,
    /// Snap audio boundaries to AAC frames (1024 samples at 48 kHz), so audio segment durations
    /// differ from the video's by a few ms like a real packager's. `false`: identical grids.
    pub audio_aac_frames: bool,
    /// Program time of segment 0; `None`: `window` segments before the clock's time at creation.
    pub origin: Option<DateTime<Utc>>,
    /// Segments per loop of the clip (EXT-X-DISCONTINUITY every this many); `None`: the clip's.
    pub loop_segments: Option<u64>,
    /// Longest a blocking request waits (real time) before answering 503.
    pub block_timeout: Duration,
    /// CAN-SKIP-UNTIL in target durations (at least 6 per RFC 8216bis §4.4.3.8).
    pub skip_until_target_durations: u64,
}

impl Default for PackagerConfig {
    fn default() -> Self {
        Self {
            segment_ms: 1000,
            part_ms: Some(250),
            window: 10,
            audio_aac_frames: true,
            origin: None,
            loop_segments: None,
            block_timeout: Duration::from_secs(10),
            skip_until_target_durations: 6,
        }
    }
}

/// Classic live HLS or LL-HLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// `/live/...`: segments only.
    Classic,
    /// `/ll/...`: parts, preload hints, blocking reload, delta updates.
    LowLatency,
}

/// One of the two renditions of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rendition {
    /// `video.m3u8`
    Video,
    /// `audio.m3u8`
    Audio,
}

impl Rendition {
    /// The file name stem: `video` or `audio`.
    pub fn name(self) -> &'static str {
        match self {
            Rendition::Video => "video",
            Rendition::Audio => "audio",
        }
    }

    fn other(self) -> Self {
        match self {
            Rendition::Video => Rendition::Audio,
            Rendition::Audio => Rendition::Video,
        }
    }
}

/// A delta update request (`_HLS_skip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `_HLS_skip=YES`: skip old segments.
    Segments,
    /// `_HLS_skip=v2`: skip old segments and EXT-X-DATERANGE tags.
    SegmentsAndDateranges,
}

/// Fault injection for proxy tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// Serve normally.
    #[default]
    None,
    /// Accept playlist requests but hold them until the fault is cleared.
    Stall,
    /// Answer playlist requests with this HTTP status and a short body.
    Status(u16),
}

/// Why a playlist request cannot be answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaylistError {
    /// `_HLS_msn` is more than two segments past the live edge (§6.2.5.2): 400.
    TooFarAhead {
        /// The `_HLS_msn` asked for.
        msn: u64,
        /// The newest media sequence number published (`None` before the first).
        last_msn: Option<u64>,
    },
    /// The blocking wait exceeded `block_timeout`: 503.
    Timeout,
}

/// A live packager. Share it as `Arc<Packager>`; [`serve`] runs its HTTP front.
pub struct Packager {
    config: PackagerConfig,
    clock: Arc<dyn Clock>,
    origin: DateTime<Utc>,
    clip: Clip,
    loop_segments: u64,
    playlist_requests: AtomicU64,
    media_requests: AtomicU64,
    fault: watch::Sender<Fault>,
}

impl std::fmt::Debug for Packager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packager")
            .field("config", &self.config)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn ticks_to_duration(ticks: u64) -> chrono::Duration {
    // 90 kHz ticks to nanoseconds: × 100_000 / 9, in u128 so it cannot overflow.
    let nanos = u128::from(ticks) * 100_000 / 9;
    chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX))
}

fn secs(ticks: u64) -> f64 {
    ticks as f64 / 90_000.0
}

impl Packager {
    /// A packager looping the built-in clip. Out-of-range settings are clamped (segment ≥ 100 ms,
    /// 50 ms ≤ part ≤ segment, window ≥ 1).
    pub fn new(config: PackagerConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_clip(config, clock, Clip::builtin())
    }

    /// A packager looping `clip`.
    pub fn with_clip(mut config: PackagerConfig, clock: Arc<dyn Clock>, clip: Clip) -> Self {
        config.segment_ms = config.segment_ms.max(100);
        config.part_ms = config.part_ms.map(|p| p.clamp(50, config.segment_ms));
        config.window = config.window.max(1);
        config.skip_until_target_durations = config.skip_until_target_durations.max(6);
        let origin = config.origin.unwrap_or_else(|| {
            // Whole seconds make PROGRAM-DATE-TIME easy to read in the demo.
            let now = clock.now();
            let now = now.with_nanosecond(0).unwrap_or(now);
            let back = config.segment_ms.saturating_mul(config.window as u64);
            now - chrono::Duration::milliseconds(i64::try_from(back).unwrap_or(i64::MAX))
        });
        let loop_segments = config
            .loop_segments
            .unwrap_or(clip.segments() as u64)
            .max(1);
        let (fault, _) = watch::channel(Fault::None);
        Self {
            config,
            clock,
            origin,
            clip,
            loop_segments,
            playlist_requests: AtomicU64::new(0),
            media_requests: AtomicU64::new(0),
            fault,
        }
    }

    /// The settings in effect (after clamping).
    pub fn config(&self) -> &PackagerConfig {
        &self.config
    }

    /// Program time of segment 0.
    pub fn origin(&self) -> DateTime<Utc> {
        self.origin
    }

    /// The clock driving this packager.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Count of playlist requests received (each `.m3u8` request, blocking ones included).
    pub fn upstream_requests(&self) -> u64 {
        self.playlist_requests.load(Ordering::Relaxed)
    }

    /// Count of segment, part and init-section requests received.
    pub fn media_requests(&self) -> u64 {
        self.media_requests.load(Ordering::Relaxed)
    }

    /// Injects (or clears, with `Fault::None`) a fault for playlist requests.
    pub fn set_fault(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// The fault in effect.
    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }

    pub(crate) fn fault_watch(&self) -> watch::Receiver<Fault> {
        self.fault.subscribe()
    }

    pub(crate) fn count_playlist_request(&self) {
        self.playlist_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_media_request(&self) {
        self.media_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn clip(&self) -> &Clip {
        &self.clip
    }

    /// Segments per loop of the clip.
    pub fn loop_segments(&self) -> u64 {
        self.loop_segments
    }

    /// The boundary grid of a rendition.
    pub fn grid(&self, flavor: Flavor, rendition: Rendition) -> Grid {
        Grid {
            segment: self.config.segment_ms * TICKS_PER_MS,
            part: match flavor {
                Flavor::Classic => None,
                Flavor::LowLatency => self.config.part_ms.map(|p| p * TICKS_PER_MS),
            },
            snap: (rendition == Rendition::Audio && self.config.audio_aac_frames)
                .then_some(AAC_FRAME_TICKS),
        }
    }

    /// Ticks elapsed since the origin at `now` (0 before it).
    pub fn elapsed_at(&self, now: DateTime<Utc>) -> u64 {
        let delta = now.signed_duration_since(self.origin);
        let nanos = delta
            .num_nanoseconds()
            .unwrap_or(if delta > chrono::Duration::zero() {
                i64::MAX
            } else {
                0
            });
        u64::try_from(nanos).map_or(0, |n| (u128::from(n) * 9 / 100_000) as u64)
    }

    fn elapsed(&self) -> u64 {
        self.elapsed_at(self.clock.now())
    }

    /// Program time at `ticks` after the origin.
    pub fn program_time(&self, ticks: u64) -> DateTime<Utc> {
        self.origin
            .checked_add_signed(ticks_to_duration(ticks))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Media sequence number of the newest complete segment now, if any.
    pub fn last_msn(&self, flavor: Flavor, rendition: Rendition) -> Option<u64> {
        self.grid(flavor, rendition)
            .complete_segments(self.elapsed())
            .checked_sub(1)
    }

    /// Whether segment `k` (and part `part` of it, if given) is published at `elapsed`.
    pub fn is_published(
        &self,
        flavor: Flavor,
        rendition: Rendition,
        msn: u64,
        part: Option<u64>,
        elapsed: u64,
    ) -> bool {
        let g = self.grid(flavor, rendition);
        match part {
            None => g.segment_start(msn.saturating_add(1)) <= elapsed,
            Some(p) => p < g.parts_per_segment() && g.part_start(msn, p + 1) <= elapsed,
        }
    }

    fn target_duration(&self, grid: &Grid) -> u64 {
        // EXT-X-TARGETDURATION: the longest EXTINF rounded to the nearest integer (§4.4.3.1).
        ((grid.max_segment() + 45_000) / 90_000).max(1)
    }

    fn part_target_ms(grid: &Grid) -> u64 {
        grid.max_part().div_ceil(TICKS_PER_MS)
    }

    /// Waits (on the clock) until `_HLS_msn=msn` / `_HLS_part=part` can be answered.
    ///
    /// # Errors
    /// [`PlaylistError::TooFarAhead`] when the request is more than two segments ahead of the live
    /// edge; [`PlaylistError::Timeout`] after `block_timeout`.
    pub async fn wait_for(
        &self,
        flavor: Flavor,
        rendition: Rendition,
        msn: u64,
        part: Option<u64>,
    ) -> Result<(), PlaylistError> {
        let g = self.grid(flavor, rendition);
        // A part index past the segment's last part means the following segment's parts.
        let per = g.parts_per_segment();
        let (msn, part) = match part {
            Some(p) => (msn.saturating_add(p / per), Some(p % per)),
            None => (msn, None),
        };
        let complete = g.complete_segments(self.elapsed());
        if msn > complete.saturating_add(1) {
            return Err(PlaylistError::TooFarAhead {
                msn,
                last_msn: complete.checked_sub(1),
            });
        }
        let ready_at = match part {
            None => g.segment_start(msn.saturating_add(1)),
            Some(p) => g.part_start(msn, p + 1),
        };
        self.wait_until_elapsed(ready_at).await
    }

    /// Waits until the clock is `ticks` past the origin.
    ///
    /// # Errors
    /// [`PlaylistError::Timeout`] after `block_timeout`.
    pub async fn wait_until_elapsed(&self, ticks: u64) -> Result<(), PlaylistError> {
        let deadline = tokio::time::Instant::now() + self.config.block_timeout;
        let mut changes = self.clock.subscribe();
        loop {
            if let Some(rx) = changes.as_mut() {
                // Mark the current value seen before reading the clock, so no advance is missed.
                rx.borrow_and_update();
            }
            let now = self.elapsed();
            if now >= ticks {
                return Ok(());
            }
            match changes.as_mut() {
                Some(rx) => {
                    tokio::select! {
                        changed = rx.changed() => {
                            if changed.is_err() {
                                // The clock is gone: fall back to polling real time.
                                changes = None;
                            }
                        }
                        () = tokio::time::sleep_until(deadline) => return Err(PlaylistError::Timeout),
                    }
                }
                None => {
                    let wait = ticks_to_duration(ticks - now)
                        .to_std()
                        .unwrap_or(Duration::from_millis(1))
                        + Duration::from_millis(1);
                    let wake = (tokio::time::Instant::now() + wait).min(deadline);
                    tokio::time::sleep_until(wake).await;
                    if wake == deadline && self.elapsed() < ticks {
                        return Err(PlaylistError::Timeout);
                    }
                }
            }
        }
    }

    /// The media playlist of a rendition at the clock's current time.
    pub fn media_playlist(
        &self,
        flavor: Flavor,
        rendition: Rendition,
        skip: Option<Skip>,
    ) -> String {
        self.media_playlist_at(flavor, rendition, skip, self.elapsed())
    }

    /// The media playlist of a rendition at `elapsed` ticks after the origin.
    pub fn media_playlist_at(
        &self,
        flavor: Flavor,
        rendition: Rendition,
        skip: Option<Skip>,
        elapsed: u64,
    ) -> String {
        let g = self.grid(flavor, rendition);
        let name = rendition.name();
        let ll = flavor == Flavor::LowLatency;
        let complete = g.complete_segments(elapsed);
        let first = complete.saturating_sub(self.config.window as u64);
        let loop_len = self.loop_segments;
        let td = self.target_duration(&g);
        // Discontinuity tags of segments that left the window (§4.4.3.3).
        let dsn = first.saturating_sub(1) / loop_len;
        let mut out = String::with_capacity(256 + 160 * self.config.window);
        out.push_str("#EXTM3U\n");
        let _ = writeln!(out, "#EXT-X-VERSION:{}", if ll { 9 } else { 6 });
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{td}");
        let skip_until = td * self.config.skip_until_target_durations;
        let part_target_ms = Self::part_target_ms(&g);
        if ll {
            let _ = writeln!(
                out,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={:.1},CAN-SKIP-DATERANGES=YES,PART-HOLD-BACK={:.3}",
                skip_until as f64,
                (3 * part_target_ms) as f64 / 1000.0
            );
            let _ = writeln!(
                out,
                "#EXT-X-PART-INF:PART-TARGET={:.3}",
                part_target_ms as f64 / 1000.0
            );
        }
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first}");
        let _ = writeln!(out, "#EXT-X-DISCONTINUITY-SEQUENCE:{dsn}");
        if ll {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{name}_init.mp4\"");
        }
        let mut from = first;
        if ll && let Some(kind) = skip {
            // Skip leading segments that end at least CAN-SKIP-UNTIL before the playlist's end.
            let end = g.segment_start(complete);
            let limit = skip_until * 90_000;
            let skipped = (first..complete)
                .take_while(|&k| end.saturating_sub(g.segment_start(k + 1)) >= limit)
                .count() as u64;
            if skipped > 0 {
                let _ = write!(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}");
                if kind == Skip::SegmentsAndDateranges {
                    out.push_str(",RECENTLY-REMOVED-DATERANGES=\"\"");
                }
                out.push('\n');
                from = first + skipped;
            }
        }
        let ext = if ll { "m4s" } else { "ts" };
        let per = g.parts_per_segment();
        // Parts of the segment in progress that are complete (LL-HLS).
        let done = g.complete_parts(complete, elapsed);
        let parts_from = first_segment_with_parts(&g, complete, done, td);
        let independent_all = rendition == Rendition::Audio;
        for k in from..complete {
            if k > 0 && k.is_multiple_of(loop_len) {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            let pdt = self.program_time(g.segment_start(k));
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                pdt.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
            if ll && k >= parts_from {
                for j in 0..per {
                    write_part(
                        &mut out,
                        name,
                        k,
                        j,
                        secs(g.part_duration(k, j)),
                        independent_all,
                    );
                }
            }
            let _ = writeln!(out, "#EXTINF:{:.5},", secs(g.segment_duration(k)));
            let _ = writeln!(out, "{name}_{k}.{ext}");
        }
        if ll {
            let k = complete;
            if done > 0 {
                if k > 0 && k.is_multiple_of(loop_len) {
                    out.push_str("#EXT-X-DISCONTINUITY\n");
                }
                let pdt = self.program_time(g.segment_start(k));
                let _ = writeln!(
                    out,
                    "#EXT-X-PROGRAM-DATE-TIME:{}",
                    pdt.to_rfc3339_opts(SecondsFormat::Millis, true)
                );
                for j in 0..done {
                    write_part(
                        &mut out,
                        name,
                        k,
                        j,
                        secs(g.part_duration(k, j)),
                        independent_all,
                    );
                }
            }
            let _ = writeln!(
                out,
                "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{name}_{k}.{done}.m4s\""
            );
            let other = rendition.other();
            let og = self.grid(flavor, other);
            let ok = og.complete_segments(elapsed);
            let odone = og.complete_parts(ok, elapsed);
            let (last_msn, last_part) = if odone > 0 {
                (ok, odone - 1)
            } else {
                (ok.saturating_sub(1), og.parts_per_segment() - 1)
            };
            let _ = writeln!(
                out,
                "#EXT-X-RENDITION-REPORT:URI=\"{}.m3u8\",LAST-MSN={last_msn},LAST-PART={last_part}",
                other.name()
            );
        }
        out
    }

    /// The multivariant playlist: one video variant with an audio rendition group.
    pub fn multivariant_playlist(&self, flavor: Flavor) -> String {
        let info = self.clip.info();
        let mut out = String::with_capacity(512);
        out.push_str("#EXTM3U\n");
        let _ = writeln!(
            out,
            "#EXT-X-VERSION:{}",
            if flavor == Flavor::LowLatency { 9 } else { 6 }
        );
        out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"audio.m3u8\"",
            info.audio_channels
        );
        let _ = writeln!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{},{}\",RESOLUTION={},FRAME-RATE={:.3},AUDIO=\"audio\"",
            info.bandwidth,
            info.average_bandwidth,
            info.video_codec,
            info.audio_codec,
            info.resolution,
            info.frame_rate
        );
        out.push_str("video.m3u8\n");
        out
    }
}

/// The first segment whose `EXT-X-PART` tags are listed, when `complete` segments and `done`
/// parts of the next one are published.
///
/// RFC 8216bis §6.2.2: EXT-X-PART tags SHOULD leave the playlist once they are more than three
/// target durations from its end (and stay downloadable three target durations longer). A
/// segment's parts are listed while the segment starts no more than three target durations
/// before the end of the part the preload hint announces, one part past the published end:
/// every listed part then
/// starts less than three target durations before the end of the playlist, a segment's parts
/// leave together (never a parent segment with only some of its parts), and the segment in
/// progress counts as one of the segments, as hls-parser's strict mode counts it (with the
/// demo's 1 s segments and target duration, parts are listed for the two newest complete
/// segments and the one in progress). The newest complete segment always keeps its parts, so
/// a client starting PART-HOLD-BACK (three parts) from the end finds parts there; removed parts
/// stay downloadable (every published part is served).
fn first_segment_with_parts(g: &Grid, complete: u64, done: u64, target_duration: u64) -> u64 {
    let hint_end = g.part_start(complete, done.saturating_add(1));
    let window = target_duration.saturating_mul(3).saturating_mul(90_000);
    let oldest = hint_end.saturating_sub(window);
    // Segment starts increase with k: the first one at or after `oldest`, never past the
    // newest complete segment.
    let mut k = g.complete_segments(oldest);
    if g.segment_start(k) < oldest {
        k += 1;
    }
    k.min(complete.saturating_sub(1))
}

fn write_part(out: &mut String, name: &str, k: u64, j: u64, duration: f64, independent_all: bool) {
    let _ = write!(
        out,
        "#EXT-X-PART:DURATION={duration:.5},URI=\"{name}_{k}.{j}.m4s\""
    );
    if j == 0 || independent_all {
        out.push_str(",INDEPENDENT=YES");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests;
