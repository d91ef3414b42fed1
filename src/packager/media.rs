//! The looped clip: MPEG-TS segments for classic HLS, fMP4 init section + parts for LL-HLS.
use bytes::Bytes;

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
    /// The clip compiled into the binary.
    pub fn builtin() -> Self {
        Self::placeholder()
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
