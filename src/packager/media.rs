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
    Malformed {
        /// Which file or structure.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
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
    /// The fMP4 track's timescale (`mdhd`), for shifting `tfdt` on later loops.
    pub timescale: u64,
}

/// A clip the packager loops.
#[derive(Clone, Debug)]
pub struct Clip {
    info: ClipInfo,
    segments: usize,
    segment_ms: u64,
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
            segment_ms: segment / TICKS_PER_MS,
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
            segment_ms: 1000,
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

    /// Which clip segment plays at media sequence number `msn`, and how far (in seconds × 1000)
    /// the loop it belongs to starts after the clip's own timestamps.
    fn locate(&self, msn: u64) -> Option<(usize, u64)> {
        let n = self.segments as u64;
        if n == 0 {
            return None;
        }
        let index = usize::try_from(msn % n).ok()?;
        let loop_ms = (msn / n).saturating_mul(n).saturating_mul(self.segment_ms);
        Some((index, loop_ms))
    }

    /// The MPEG-TS segment at `msn`, its timestamps (PTS, DTS, PCR) shifted by the loops before
    /// it, so players that ignore EXT-X-DISCONTINUITY (ffmpeg) still see time moving forward.
    pub fn ts_segment(&self, rendition: super::Rendition, msn: u64) -> Option<Bytes> {
        let (index, loop_ms) = self.locate(msn)?;
        let bytes = self.rendition(rendition).ts.get(index)?;
        if loop_ms == 0 {
            return Some(bytes.clone());
        }
        Some(shift_ts(bytes, loop_ms.wrapping_mul(90)))
    }

    /// The fMP4 segment at `msn` (all its parts), `tfdt` shifted like [`Clip::ts_segment`].
    pub fn mp4_segment(&self, rendition: super::Rendition, msn: u64) -> Option<Bytes> {
        let (index, loop_ms) = self.locate(msn)?;
        let media = self.rendition(rendition);
        let bytes = media.segments.get(index)?;
        Some(shift_mp4(bytes, loop_ms, media.timescale))
    }

    /// Part `part` of the fMP4 segment at `msn`.
    pub fn mp4_part(&self, rendition: super::Rendition, msn: u64, part: u64) -> Option<Bytes> {
        let (index, loop_ms) = self.locate(msn)?;
        let media = self.rendition(rendition);
        let bytes = media.parts.get(index)?.get(usize::try_from(part).ok()?)?;
        Some(shift_mp4(bytes, loop_ms, media.timescale))
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
        let timescale =
            mdhd_timescale(&init).ok_or_else(|| malformed(what, "no mdhd timescale"))?;
        Ok(Self {
            ts,
            init,
            parts,
            segments: whole,
            timescale,
        })
    }
}

/// The payload ranges of `data`'s child boxes of type `kind` (container walk, no allocation).
fn children<'a>(
    data: &'a [u8],
    kind: &'a [u8; 4],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        loop {
            let header = data.get(at..at.checked_add(8)?)?;
            let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
            if size < 8 || size > data.len() - at {
                return None;
            }
            let start = at;
            at += size;
            if &header[4..8] == kind {
                return Some(start + 8..start + size);
            }
        }
    })
}

/// `moov/trak/mdia/mdhd` timescale of a single-track init section.
fn mdhd_timescale(init: &[u8]) -> Option<u64> {
    let moov = children(init, b"moov").next()?;
    let moov = &init[moov];
    let trak = children(moov, b"trak").next()?;
    let trak = &moov[trak];
    let mdia = children(trak, b"mdia").next()?;
    let mdia = &trak[mdia];
    let mdhd = children(mdia, b"mdhd").next()?;
    let mdhd = &mdia[mdhd];
    // version 1: 8-byte creation/modification times; version 0: 4-byte.
    let at = if *mdhd.first()? == 1 { 20 } else { 12 };
    let b = mdhd.get(at..at + 4)?;
    Some(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

/// Adds `loop_ms` (in the track's timescale) to every `moof/traf/tfdt` baseMediaDecodeTime.
fn shift_mp4(bytes: &Bytes, loop_ms: u64, timescale: u64) -> Bytes {
    if loop_ms == 0 {
        return bytes.clone();
    }
    let offset = u128::from(loop_ms) * u128::from(timescale) / 1000;
    let offset = u64::try_from(offset).unwrap_or(u64::MAX);
    let mut out = BytesMut::from(&bytes[..]);
    for moof in children(bytes, b"moof") {
        for traf in children(&bytes[moof.clone()], b"traf") {
            let traf = moof.start + traf.start..moof.start + traf.end;
            for tfdt in children(&bytes[traf.clone()], b"tfdt") {
                let at = traf.start + tfdt.start;
                let Some(&version) = out.get(at) else {
                    continue;
                };
                if version == 1 {
                    if let Some(field) = out.get_mut(at + 4..at + 12) {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(field);
                        let t = u64::from_be_bytes(b).wrapping_add(offset);
                        field.copy_from_slice(&t.to_be_bytes());
                    }
                } else if let Some(field) = out.get_mut(at + 4..at + 8) {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(field);
                    let t = u32::from_be_bytes(b).wrapping_add(offset as u32);
                    field.copy_from_slice(&t.to_be_bytes());
                }
            }
        }
    }
    out.freeze()
}

const TS_PACKET: usize = 188;
const TIMESTAMP_WRAP: u64 = 1 << 33;

/// Adds `offset` (90 kHz) to every PCR, PTS and DTS in an MPEG-TS segment (ISO/IEC 13818-1
/// §2.4.3.5 adaptation field, §2.4.3.7 PES header), modulo 2^33. Packets that do not parse are
/// copied unchanged.
fn shift_ts(bytes: &Bytes, offset: u64) -> Bytes {
    let mut out = BytesMut::from(&bytes[..]);
    for packet in out.chunks_exact_mut(TS_PACKET) {
        if packet[0] != 0x47 {
            continue;
        }
        let payload_unit_start = packet[1] & 0x40 != 0;
        let adaptation_field_control = (packet[3] >> 4) & 0b11;
        let mut payload = 4usize;
        if adaptation_field_control & 0b10 != 0 {
            let adaptation_field_length = usize::from(packet[4]);
            // PCR_flag; program_clock_reference_base: 33, reserved: 6, extension: 9.
            if adaptation_field_length >= 7 && packet[5] & 0x10 != 0 {
                let b = &packet[6..12];
                let base = (u64::from(b[0]) << 25)
                    | (u64::from(b[1]) << 17)
                    | (u64::from(b[2]) << 9)
                    | (u64::from(b[3]) << 1)
                    | (u64::from(b[4]) >> 7);
                let base = (base + offset) % TIMESTAMP_WRAP;
                packet[6] = (base >> 25) as u8;
                packet[7] = (base >> 17) as u8;
                packet[8] = (base >> 9) as u8;
                packet[9] = (base >> 1) as u8;
                packet[10] = (packet[10] & 0x7F) | (((base & 1) as u8) << 7);
            }
            payload = 5 + adaptation_field_length;
        }
        if !payload_unit_start || adaptation_field_control & 0b01 == 0 {
            continue;
        }
        let Some(pes) = packet.get_mut(payload..) else {
            continue;
        };
        // packet_start_code_prefix 0x000001, stream_id of an audio or video stream.
        if pes.len() < 19 || pes[0..3] != [0, 0, 1] || !(0xC0..=0xEF).contains(&pes[3]) {
            continue;
        }
        let pts_dts_flags = pes[7] >> 6;
        if pts_dts_flags & 0b10 != 0 {
            shift_pes_timestamp(&mut pes[9..14], offset);
        }
        if pts_dts_flags == 0b11 {
            shift_pes_timestamp(&mut pes[14..19], offset);
        }
    }
    out.freeze()
}

/// A PES PTS/DTS: 4-bit prefix, 33 bits split 3/15/15 by marker bits.
fn shift_pes_timestamp(b: &mut [u8], offset: u64) {
    if b.len() < 5 {
        return;
    }
    let t = (u64::from((b[0] >> 1) & 0x07) << 30)
        | (u64::from(b[1]) << 22)
        | (u64::from(b[2] >> 1) << 15)
        | (u64::from(b[3]) << 7)
        | u64::from(b[4] >> 1);
    let t = (t + offset) % TIMESTAMP_WRAP;
    b[0] = (b[0] & 0xF1) | (((t >> 29) & 0x0E) as u8);
    b[1] = (t >> 22) as u8;
    b[2] = (((t >> 14) & 0xFE) as u8) | 1;
    b[3] = (t >> 7) as u8;
    b[4] = (((t << 1) & 0xFE) as u8) | 1;
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

    fn ts_timestamps(bytes: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        for p in bytes.chunks_exact(TS_PACKET) {
            let mut at = 4;
            if p[3] & 0x20 != 0 {
                at = 5 + usize::from(p[4]);
            }
            if p[1] & 0x40 != 0
                && let Some(pes) = p.get(at..at + 14)
                && pes[0..3] == [0, 0, 1]
                && pes[7] & 0x80 != 0
            {
                let b = &pes[9..14];
                out.push(
                    (u64::from((b[0] >> 1) & 7) << 30)
                        | (u64::from(b[1]) << 22)
                        | (u64::from(b[2] >> 1) << 15)
                        | (u64::from(b[3]) << 7)
                        | u64::from(b[4] >> 1),
                );
            }
        }
        out
    }

    #[test]
    fn later_loops_move_timestamps_forward() {
        let clip = Clip::builtin();
        let v = super::super::Rendition::Video;
        let first = clip.ts_segment(v, 3).expect("segment");
        let later = clip.ts_segment(v, 8 * 5 + 3).expect("segment");
        assert_eq!(first.len(), later.len());
        let (a, b) = (ts_timestamps(&first), ts_timestamps(&later));
        assert!(!a.is_empty());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| (x + 5 * 720_000) % TIMESTAMP_WRAP == *y)
        );
        // fMP4: tfdt moves by 5 loops × 8 s in the track's timescale.
        let part0 = clip.mp4_part(v, 0, 0).expect("part");
        let part40 = clip.mp4_part(v, 40, 0).expect("part");
        assert_ne!(part0, part40);
        assert_eq!(part0.len(), part40.len());
        assert_eq!(clip.rendition(v).timescale, 12288);
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
