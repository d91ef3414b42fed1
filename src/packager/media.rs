//! The looped clip: MPEG-TS segments for classic HLS, fMP4 init section + parts for LL-HLS.
//!
//! testdata/media/make.sh writes the clip: concatenated MPEG-TS segments with their sizes in
//! `clip.txt`, and fragmented MP4 with one fragment (`moof` + `mdat`) per frame, which this module
//! groups into parts and segments on the same boundary grid the playlists declare
//! ([`Grid`](super::Grid)): a CMAF part may hold several fragments (ISO/IEC 23000-19 §7.3.3).
use bytes::{Bytes, BytesMut};

use super::grid::{AAC_FRAME_TICKS, Grid, TICKS_PER_MS};

static MANIFEST: &str = include_str!("../../testdata/media/clip.txt");
static VIDEO_TS: &[u8] = include_bytes!("../../testdata/media/video.ts");
static AUDIO_TS: &[u8] = include_bytes!("../../testdata/media/audio.ts");
static VIDEO_MP4: &[u8] = include_bytes!("../../testdata/media/video.mp4");
static AUDIO_MP4: &[u8] = include_bytes!("../../testdata/media/audio.mp4");

/// Why clip media could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaError {
    /// The manifest or a media file is malformed.
    Malformed { what: &'static str, detail: String },
}

impl std::fmt::Display for MediaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaError::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
        }
    }
}

impl std::error::Error for MediaError {}

/// What the multivariant playlist declares about the clip.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipInfo {
    pub video_codec: String,
    pub audio_codec: String,
    pub resolution: String,
    pub frame_rate: f64,
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    pub audio_channels: u32,
}

/// Media of one rendition of the clip.
#[derive(Clone, Debug, Default)]
pub struct RenditionMedia {
    /// MPEG-TS segments (classic HLS), one per clip segment.
    pub ts: Vec<Bytes>,
    /// fMP4 initialization section (LL-HLS).
    pub init: Bytes,
    /// fMP4 parts per clip segment (LL-HLS).
    pub parts: Vec<Vec<Bytes>>,
    /// fMP4 segments: each the concatenation of its parts.
    pub segments: Vec<Bytes>,
}

/// A clip the packager loops.
#[derive(Clone, Debug)]
pub struct Clip {
    info: ClipInfo,
    segments: usize,
    video: RenditionMedia,
    audio: RenditionMedia,
}

impl Clip {
    /// The clip compiled into the binary (testdata/media). Falls back to
    /// [`Clip::placeholder`] if it cannot be parsed, which a unit test rules out.
    pub fn builtin() -> Self {
        match Self::parse(
            MANIFEST,
            [Bytes::from_static(VIDEO_TS), Bytes::from_static(AUDIO_TS)],
            [Bytes::from_static(VIDEO_MP4), Bytes::from_static(AUDIO_MP4)],
        ) {
            Ok(clip) => clip,
            Err(err) => {
                tracing::warn!(%err, "built-in clip unusable; serving playlists only");
                Self::placeholder()
            }
        }
    }

    /// Parses a clip: the manifest (`clip.txt`), the concatenated TS segments `[video, audio]`
    /// and the per-frame fragmented MP4 files `[video, audio]`.
    ///
    /// # Errors
    /// [`MediaError::Malformed`] naming the manifest key or file that does not add up.
    pub fn parse(manifest: &str, ts: [Bytes; 2], mp4: [Bytes; 2]) -> Result<Self, MediaError> {
        let m = Manifest::parse(manifest)?;
        let [video_ts, audio_ts] = ts;
        let [video_mp4, audio_mp4] = mp4;
        let frame_rate = m.number("frame_rate")?.max(1);
        let segments = usize::try_from(m.number("segments")?)
            .map_err(|_| malformed("segments", "too large"))?;
        let segment = m.number("segment_ms")?.saturating_mul(TICKS_PER_MS);
        let part = m.number("part_ms")?.saturating_mul(TICKS_PER_MS);
        if segments == 0 || segment == 0 || part == 0 {
            return Err(malformed(
                "clip.txt",
                "segments, segment_ms and part_ms must be positive",
            ));
        }
        let video_grid = Grid {
            segment,
            part: Some(part),
            snap: Some(90_000 / frame_rate),
        };
        let audio_grid = Grid {
            segment,
            part: Some(part),
            snap: Some(AAC_FRAME_TICKS),
        };
        let video = RenditionMedia::build(
            split_sizes(&video_ts, &m.sizes("ts_video")?, segments, "video.ts")?,
            &video_mp4,
            &video_grid,
            segments,
            "video.mp4",
        )?;
        let audio = RenditionMedia::build(
            split_sizes(&audio_ts, &m.sizes("ts_audio")?, segments, "audio.ts")?,
            &audio_mp4,
            &audio_grid,
            segments,
            "audio.mp4",
        )?;
        Ok(Self {
            info: ClipInfo {
                video_codec: m.text("video_codec")?.to_owned(),
                audio_codec: m.text("audio_codec")?.to_owned(),
                resolution: m.text("resolution")?.to_owned(),
                frame_rate: frame_rate as f64,
                bandwidth: m.number("bandwidth")?,
                average_bandwidth: m.number("average_bandwidth")?,
                audio_channels: u32::try_from(m.number("audio_channels")?).unwrap_or(2),
            },
            segments,
            video,
            audio,
        })
    }

    /// A clip with playlists' metadata but no media bytes (media requests answer 404).
    pub fn placeholder() -> Self {
        Self {
            info: ClipInfo {
                video_codec: "avc1.42c01e".into(),
                audio_codec: "mp4a.40.2".into(),
                resolution: "320x180".into(),
                frame_rate: 24.0,
                bandwidth: 300_000,
                average_bandwidth: 200_000,
                audio_channels: 2,
            },
            segments: 8,
            video: RenditionMedia::default(),
            audio: RenditionMedia::default(),
        }
    }

    /// Segments per loop.
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Codec and bandwidth metadata.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Media of a rendition.
    pub fn rendition(&self, rendition: super::Rendition) -> &RenditionMedia {
        match rendition {
            super::Rendition::Video => &self.video,
            super::Rendition::Audio => &self.audio,
        }
    }
}

fn malformed(what: &'static str, detail: impl Into<String>) -> MediaError {
    MediaError::Malformed {
        what,
        detail: detail.into(),
    }
}

/// `key value...` lines; `#` starts a comment.
struct Manifest<'a> {
    lines: Vec<(&'a str, &'a str)>,
}

impl<'a> Manifest<'a> {
    fn parse(text: &'a str) -> Result<Self, MediaError> {
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_once(' ').unwrap_or((l, "")))
            .collect::<Vec<_>>();
        if lines.is_empty() {
            return Err(malformed("clip.txt", "empty"));
        }
        Ok(Self { lines })
    }

    fn text(&self, key: &'static str) -> Result<&'a str, MediaError> {
        self.lines
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
            .ok_or_else(|| malformed(key, "missing from clip.txt"))
    }

    fn number(&self, key: &'static str) -> Result<u64, MediaError> {
        self.text(key)?
            .parse()
            .map_err(|_| malformed(key, "not a number"))
    }

    fn sizes(&self, key: &'static str) -> Result<Vec<usize>, MediaError> {
        self.text(key)?
            .split_whitespace()
            .map(|v| {
                v.parse()
                    .map_err(|_| malformed(key, format!("size {v:?} is not a number")))
            })
            .collect()
    }
}

fn split_sizes(
    data: &Bytes,
    sizes: &[usize],
    segments: usize,
    what: &'static str,
) -> Result<Vec<Bytes>, MediaError> {
    if sizes.len() != segments {
        return Err(malformed(
            what,
            format!("{} sizes for {segments} segments", sizes.len()),
        ));
    }
    let total: usize = sizes.iter().sum();
    if total != data.len() {
        return Err(malformed(
            what,
            format!("sizes add up to {total}, file has {}", data.len()),
        ));
    }
    let mut at = 0;
    Ok(sizes
        .iter()
        .map(|&n| {
            let piece = data.slice(at..at + n);
            at += n;
            piece
        })
        .collect())
}

/// A top-level box: its four-character type and byte range.
type BoxSpan = ([u8; 4], std::ops::Range<usize>);

/// Top-level ISO BMFF boxes as `(type, range)`; 64-bit sizes supported, size 0 = to the end.
fn boxes(data: &[u8], what: &'static str) -> Result<Vec<BoxSpan>, MediaError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let header = data
            .get(at..at + 8)
            .ok_or_else(|| malformed(what, format!("truncated box header at byte {at}")))?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let size = match size32 {
            0 => data.len() - at,
            1 => {
                let large = data
                    .get(at + 8..at + 16)
                    .ok_or_else(|| malformed(what, format!("truncated largesize at byte {at}")))?;
                let mut b = [0u8; 8];
                b.copy_from_slice(large);
                usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX)
            }
            n => n as usize,
        };
        if size < 8 || size > data.len() - at {
            return Err(malformed(what, format!("box at byte {at} has size {size}")));
        }
        out.push((kind, at..at + size));
        at += size;
    }
    Ok(out)
}

impl RenditionMedia {
    fn build(
        ts: Vec<Bytes>,
        mp4: &Bytes,
        grid: &Grid,
        segments: usize,
        what: &'static str,
    ) -> Result<Self, MediaError> {
        let list = boxes(mp4, what)?;
        let first_moof = list
            .iter()
            .position(|(k, _)| k == b"moof")
            .ok_or_else(|| malformed(what, "no moof: not a fragmented MP4"))?;
        let init_end = list.get(first_moof).map_or(0, |(_, r)| r.start);
        let init = mp4.slice(0..init_end);
        // One fragment per frame: a moof with everything up to the next moof (its mdat).
        let mut fragments: Vec<std::ops::Range<usize>> = Vec::new();
        for (kind, range) in &list[first_moof..] {
            match kind {
                b"moof" => fragments.push(range.clone()),
                b"mfra" => {}
                _ => {
                    if let Some(last) = fragments.last_mut() {
                        last.end = range.end;
                    }
                }
            }
        }
        let frame = grid.snap.unwrap_or(1).max(1);
        let per = grid.parts_per_segment();
        let mut parts = Vec::with_capacity(segments);
        let mut whole = Vec::with_capacity(segments);
        for k in 0..segments as u64 {
            let mut segment_parts = Vec::new();
            let mut segment = BytesMut::new();
            for j in 0..per {
                let lo = usize::try_from(grid.part_start(k, j) / frame).unwrap_or(usize::MAX);
                let hi = usize::try_from(grid.part_start(k, j + 1) / frame).unwrap_or(usize::MAX);
                let (lo, hi) = (lo.min(fragments.len()), hi.min(fragments.len()));
                let mut part = BytesMut::new();
                for r in fragments.get(lo..hi).unwrap_or(&[]) {
                    part.extend_from_slice(&mp4[r.clone()]);
                }
                if part.is_empty() {
                    return Err(malformed(
                        what,
                        format!("no frames for part {j} of segment {k}"),
                    ));
                }
                segment.extend_from_slice(&part);
                segment_parts.push(part.freeze());
            }
            parts.push(segment_parts);
            whole.push(segment.freeze());
        }
        Ok(Self {
            ts,
            init,
            parts,
            segments: whole,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_clip_parses_and_fits_the_grid() {
        let clip = Clip::parse(
            MANIFEST,
            [Bytes::from_static(VIDEO_TS), Bytes::from_static(AUDIO_TS)],
            [Bytes::from_static(VIDEO_MP4), Bytes::from_static(AUDIO_MP4)],
        )
        .expect("built-in clip parses");
        assert_eq!(clip.segments(), 8);
        for r in [
            super::super::Rendition::Video,
            super::super::Rendition::Audio,
        ] {
            let m = clip.rendition(r);
            assert_eq!(m.ts.len(), 8);
            assert!(
                m.ts.iter()
                    .all(|s| s.len() % 188 == 0 && s.first() == Some(&0x47))
            );
            assert_eq!(m.init.get(4..8), Some(&b"ftyp"[..]));
            assert_eq!(m.parts.len(), 8);
            for (parts, seg) in m.parts.iter().zip(&m.segments) {
                assert_eq!(parts.len(), 4);
                assert!(parts.iter().all(|p| p.get(4..8) == Some(&b"moof"[..])));
                assert_eq!(parts.iter().map(Bytes::len).sum::<usize>(), seg.len());
            }
        }
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let empty = || [Bytes::new(), Bytes::new()];
        assert!(Clip::parse("", empty(), empty()).is_err());
        assert!(Clip::parse(MANIFEST, empty(), empty()).is_err());
        assert!(boxes(&[0, 0, 0, 9, b'm', b'o', b'o', b'f'], "x").is_err());
        assert!(boxes(&[0, 0, 0, 1, b'm', b'o', b'o', b'f', 0, 0], "x").is_err());
        assert!(boxes(&[0, 0, 0], "x").is_err());
    }
}
