//! A live packager that embeds the library: it cuts 4 s segments of a video and an audio
//! rendition, publishes each rendition's media playlist as a sliding window of six segments
//! with EXT-X-PROGRAM-DATE-TIME, and puts SCTE-35 ad markers in them with `hls::Splicer`:
//!
//! 1. at segment 8 a 30 s break is asked for "now" (the live edge), twice with the same request
//!    id: one break;
//! 2. at segment 12 it is ended early, as soon as possible;
//! 3. every change is persisted to a JSON file before the playlists that carry it are
//!    published;
//! 4. at segment 20 the packager "restarts": the splicer is rebuilt from the JSON file alone;
//! 5. at segment 24 a 12 s break is scheduled for a program time ahead, and runs its course.
//!
//! Each marker line is printed when it is first published in a rendition. The example checks
//! what a player relies on and panics otherwise: every tag of a date range is published once and
//! then repeated byte for byte (in every rendition, refresh and after the restart), and the tags
//! before a segment never change once the segment was published (other than the window's
//! first).
//!
//! Run: `cargo run --example packager` (needs no server features:
//! `cargo run --no-default-features --example packager` works too).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use hlsplice::hls::{
    Break, BreakTarget, DateTime, Ended, RewriteOptions, ScheduleRequest, Scheduled, Splicer,
    SplicerChanges, SplicerMeta, Start, Utc,
};
use serde::{Deserialize, Serialize};

const SEGMENT_MS: i64 = 4_000;
const WINDOW: u64 = 6;
const SEGMENTS: u64 = 40;
/// Audio segments end on AAC frame boundaries: up to 21 ms off the video's.
const AUDIO_OFFSET_MS: [i64; 3] = [0, 11, 21];

/// What the packager persists: the splicer's meta and its breaks, by id.
#[derive(Default, Serialize, Deserialize)]
struct State {
    meta: SplicerMeta,
    breaks: BTreeMap<u64, Break>,
}

/// The JSON file the state lives in, written whole and renamed into place.
struct StateFile {
    path: PathBuf,
}

impl StateFile {
    fn load(&self) -> Result<State, Box<dyn std::error::Error>> {
        if !self.path.exists() {
            return Ok(State::default());
        }
        Ok(serde_json::from_slice(&std::fs::read(&self.path)?)?)
    }

    /// Persists a splicer's changes; returns once they are on disk.
    fn persist(&self, changes: SplicerChanges) -> Result<(), Box<dyn std::error::Error>> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut state = self.load()?;
        state.meta = changes.meta;
        for b in changes.breaks {
            state.breaks.insert(b.id, b);
        }
        for id in changes.pruned {
            state.breaks.remove(&id);
        }
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(&state)?)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        Ok(())
    }
}

fn program_time(ms: i64) -> DateTime<Utc> {
    let t0: DateTime<Utc> = "2026-11-21T20:00:00Z".parse().expect("a date");
    t0 + chrono::Duration::milliseconds(ms)
}

/// Start of segment `n` of a rendition, in ms after 20:00:00.
fn segment_start(rendition: &str, n: u64) -> i64 {
    let offset = match rendition {
        "audio" => AUDIO_OFFSET_MS[n as usize % AUDIO_OFFSET_MS.len()],
        _ => 0,
    };
    n as i64 * SEGMENT_MS + offset
}

/// The media playlist of `rendition` once segment `newest` is complete: the last six segments.
fn media_playlist(rendition: &str, newest: u64) -> Vec<u8> {
    let first = (newest + 1).saturating_sub(WINDOW);
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for n in first..=newest {
        let start = segment_start(rendition, n);
        let duration = segment_start(rendition, n + 1) - start;
        text += &format!(
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{}.{:03},\n{rendition}/{n}.m4s\n",
            program_time(start).format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            duration / 1000,
            duration % 1000
        );
    }
    text.into_bytes()
}

fn is_marker(line: &str) -> bool {
    line.starts_with("#EXT-X-DATERANGE:") || line.starts_with("#EXT-X-CUE")
}

/// What was published, to check every new playlist against.
#[derive(Default)]
struct Published {
    /// (DATERANGE ID, closing tag) → the line first published.
    ranges: HashMap<(String, bool), String>,
    /// Segment URI → the marker lines before it when first published (not first in the window).
    segments: HashMap<String, Vec<String>>,
    /// Every (rendition, marker line) printed so far.
    printed: HashSet<(String, String)>,
    /// Every (rendition, segment URI, marker line) printed so far.
    printed_at: HashSet<(String, String, String)>,
}

impl Published {
    /// Checks a playlist about to be published; prints the marker lines new in it.
    fn publish(&mut self, rendition: &str, playlist: &str) {
        let mut pending: Vec<String> = Vec::new();
        let mut position = 0;
        for line in playlist.lines() {
            if is_marker(line) {
                pending.push(line.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            // A segment URI: the markers before it are its own.
            for marker in &pending {
                let new_here =
                    self.printed_at
                        .insert((rendition.to_owned(), line.to_owned(), marker.clone()));
                let new_in_rendition = self.printed.insert((rendition.to_owned(), marker.clone()));
                // The window's first segment carries the opening tags of a break that began
                // earlier: printed once, not at every refresh.
                if new_in_rendition || (new_here && position > 0) {
                    println!("  {rendition:5} before {line}: {marker}");
                }
                if let Some(attributes) = marker.strip_prefix("#EXT-X-DATERANGE:") {
                    let id = attributes
                        .split(',')
                        .next()
                        .and_then(|a| a.strip_prefix("ID="))
                        .unwrap_or_default()
                        .to_owned();
                    let closing = attributes.contains("END-DATE=");
                    let first = self
                        .ranges
                        .entry((id.clone(), closing))
                        .or_insert_with(|| marker.clone());
                    assert_eq!(
                        first, marker,
                        "a published tag of {id} changed ({rendition})"
                    );
                }
            }
            if position > 0 {
                let first = self
                    .segments
                    .entry(line.to_owned())
                    .or_insert_with(|| pending.clone());
                assert_eq!(
                    *first, pending,
                    "the markers before {line}, already published, changed"
                );
            }
            pending.clear();
            position += 1;
        }
    }
}

/// The example's directory, removed when it ends (also when a check fails).
struct TemporaryDir(PathBuf);

impl Drop for TemporaryDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = TemporaryDir(
        std::env::temp_dir().join(format!("hlsplice-packager-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0)?;
    run(&dir.0)
}

fn run(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let state = StateFile {
        path: dir.join("breaks.json"),
    };
    let opts = RewriteOptions::default();
    let renditions = ["video", "audio"];
    let mut splicer = Splicer::new();
    // Video's boundaries decide; audio's follow within the tolerance.
    splicer.set_primary(Some("video"));
    let mut published = Published::default();
    let mut out = Vec::new();
    let mut first_break = None;

    for newest in 0..SEGMENTS {
        match newest {
            8 => {
                let request = ScheduleRequest {
                    start: Start::Now,
                    duration_ms: 30_000,
                    event_id: None,
                    request_id: Some("evening-break-1".into()),
                    ads: None,
                };
                for _ in 0..2 {
                    let scheduled = splicer.schedule(request.clone())?;
                    let (what, b) = match &scheduled.value {
                        Scheduled::Created(b) => ("scheduled", b),
                        Scheduled::Repeated(b) => ("repeated request, same", b),
                    };
                    println!(
                        "segment {newest}: {what} break {} ({}) at {}, 30 s",
                        b.id, b.daterange_id, b.requested_start
                    );
                    first_break = Some(b.id);
                    state.persist(scheduled.changes)?;
                }
            }
            12 => {
                let ended = splicer.end_now(BreakTarget::Current { event_id: None })?;
                match &ended.value {
                    Ended::InRequested(b) => println!(
                        "segment {newest}: break {} ends as soon as possible (at {})",
                        b.id,
                        b.requested_end.map_or(String::new(), |t| t.to_string())
                    ),
                    other => panic!("the break was not running: {other:?}"),
                }
                state.persist(ended.changes)?;
            }
            20 => {
                println!(
                    "segment {newest}: restart; the splicer comes back from {}",
                    state.path.display()
                );
                let State { meta, breaks } = state.load()?;
                splicer = Splicer::restore(meta, breaks.into_values());
                splicer.set_primary(Some("video"));
            }
            24 => {
                let at = program_time(27 * SEGMENT_MS + 1_500);
                let scheduled = splicer.schedule(ScheduleRequest {
                    start: Start::At(at),
                    duration_ms: 12_000,
                    event_id: Some(4242),
                    request_id: None,
                    ads: None,
                })?;
                if let Scheduled::Created(b) = &scheduled.value {
                    println!(
                        "segment {newest}: scheduled break {} ({}) at {at}, 12 s",
                        b.id, b.daterange_id
                    );
                }
                state.persist(scheduled.changes)?;
            }
            _ => {}
        }
        // The primary first: it decides, the other follows in the same round.
        for rendition in renditions {
            let input = media_playlist(rendition, newest);
            let spliced = splicer.rewrite(rendition, &input, &opts, &mut out)?;
            // Durable before anyone can see what it decided.
            state.persist(spliced.changes)?;
            let playlist = std::str::from_utf8(&out)?;
            published.publish(rendition, playlist);
            std::fs::write(dir.join(format!("{rendition}.m3u8")), &out)?;
        }
    }

    // Both breaks opened and closed; the first one ended before its planned 30 s.
    let first = first_break.expect("break 1 was scheduled");
    let stored = state.load()?;
    let b = &stored.breaks[&first];
    let (start, end) = (
        b.decided_start.expect("break 1 started"),
        b.decided_end.expect("break 1 ended"),
    );
    assert!(
        end - start < chrono::Duration::seconds(30),
        "break 1 ran its full 30 s"
    );
    let closed = published
        .ranges
        .keys()
        .filter(|(_, closing)| *closing)
        .count();
    assert_eq!(closed, 2, "both breaks' closing tags were published");
    println!(
        "ok: {} date-range tags and {} segments' markers published and never changed",
        published.ranges.len(),
        published.segments.len()
    );
    Ok(())
}
