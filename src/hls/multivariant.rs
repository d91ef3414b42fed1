//! What a multivariant playlist says about a stream's renditions (RFC 8216bis §4.4.6): its
//! variant streams (`EXT-X-STREAM-INF`, each followed by its URI line) and its alternative
//! renditions (`EXT-X-MEDIA` with a `URI`), and which of them is the primary rendition whose
//! segment boundaries decide when a break starts and ends.
//!
//! The primary is the highest-`BANDWIDTH` variant stream that carries video: `CODECS` naming a
//! video codec (`avc1`, `avc3`, `hvc1`, `hev1`, `dvh1`, `dvhe`, `av01`, `vp09`), or else a
//! `RESOLUTION`. Without such a variant, the highest-bandwidth variant. Renditions named by
//! `EXT-X-MEDIA` (audio, subtitles, alternative video angles) are never the primary.

use super::attributes::{attribute, parse_u64, unquote};
use super::lines::Lines;

/// One rendition a multivariant playlist names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendition<'a> {
    /// Its URI, as written (relative to the multivariant playlist, usually).
    pub uri: &'a str,
    /// A variant stream (`EXT-X-STREAM-INF`), not an `EXT-X-MEDIA` rendition.
    pub variant: bool,
    /// Its `BANDWIDTH` (variants), 0 when absent.
    pub bandwidth: u64,
    /// It carries video (a video codec in `CODECS`, or a `RESOLUTION`).
    pub video: bool,
}

const VIDEO_CODECS: [&[u8]; 8] = [
    b"avc1", b"avc3", b"hvc1", b"hev1", b"dvh1", b"dvhe", b"av01", b"vp09",
];

fn carries_video(attributes: &[u8]) -> bool {
    let codecs = attribute(attributes, b"CODECS").map(unquote);
    let by_codec = codecs.is_some_and(|codecs| {
        codecs.split(|&b| b == b',').any(|codec| {
            let codec = codec.trim_ascii();
            VIDEO_CODECS.iter().any(|v| codec.starts_with(v))
        })
    });
    by_codec || attribute(attributes, b"RESOLUTION").is_some()
}

/// Every rendition of a multivariant playlist with a URI, in playlist order. I-frame playlists
/// (`EXT-X-I-FRAME-STREAM-INF`) are not renditions a player plays, and are left out.
pub fn renditions(input: &[u8]) -> Vec<Rendition<'_>> {
    let mut found = Vec::new();
    let mut pending: Option<(&[u8], u64)> = None;
    for line in Lines::new(input) {
        let text = input[line.start..line.end].trim_ascii();
        if let Some(attributes) = text.strip_prefix(b"#EXT-X-STREAM-INF:") {
            let bandwidth = attribute(attributes, b"BANDWIDTH")
                .and_then(parse_u64)
                .unwrap_or(0);
            pending = Some((attributes, bandwidth));
        } else if let Some(attributes) = text.strip_prefix(b"#EXT-X-MEDIA:") {
            if let Some(uri) = attribute(attributes, b"URI")
                .map(unquote)
                .and_then(|u| std::str::from_utf8(u).ok())
            {
                let video = attribute(attributes, b"TYPE") == Some(b"VIDEO".as_slice());
                found.push(Rendition {
                    uri,
                    variant: false,
                    bandwidth: 0,
                    video,
                });
            }
        } else if !text.is_empty()
            && !text.starts_with(b"#")
            && let Some((attributes, bandwidth)) = pending.take()
            && let Ok(uri) = std::str::from_utf8(text)
        {
            found.push(Rendition {
                uri,
                variant: true,
                bandwidth,
                video: carries_video(attributes),
            });
        }
    }
    found
}

/// The URI of the primary rendition (see the module docs), if the playlist names a variant.
pub fn primary_rendition(input: &[u8]) -> Option<&str> {
    let all = renditions(input);
    let variants = all.iter().filter(|r| r.variant);
    let best = |video_only: bool| {
        variants
            .clone()
            .filter(|r| !video_only || r.video)
            // The first of equal bandwidths: the playlist's own order breaks ties.
            .fold(None::<&Rendition<'_>>, |best, r| match best {
                Some(b) if b.bandwidth >= r.bandwidth => Some(b),
                _ => Some(r),
            })
    };
    best(true).or_else(|| best(false)).map(|r| r.uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"sub\",NAME=\"en\",URI=\"subs/en.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\",AUDIO=\"aud\"
audio/only.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=640x360,AUDIO=\"aud\"
video/360p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080,AUDIO=\"aud\"
video/1080p.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"video/iframes.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aud\"
video/720p.m3u8
";

    #[test]
    fn the_highest_bandwidth_video_variant_is_the_primary() {
        let found = renditions(MASTER.as_bytes());
        let uris: Vec<&str> = found.iter().map(|r| r.uri).collect();
        assert_eq!(
            uris,
            [
                "audio/en.m3u8",
                "subs/en.m3u8",
                "audio/only.m3u8",
                "video/360p.m3u8",
                "video/1080p.m3u8",
                "video/720p.m3u8"
            ]
        );
        assert!(!found[2].video && found[3].video);
        assert_eq!(
            primary_rendition(MASTER.as_bytes()),
            Some("video/1080p.m3u8")
        );
    }

    #[test]
    fn without_video_the_highest_bandwidth_variant_and_media_never() {
        let audio_only = "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"hi.m3u8\"\r\n\
#EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS=\"mp4a.40.2\"\r\nlo.m3u8\r\n\
#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\r\nhi-variant.m3u8\r\n";
        assert_eq!(
            primary_rendition(audio_only.as_bytes()),
            Some("hi-variant.m3u8")
        );
        // The demo's: video by RESOLUTION only, equal bandwidths keep playlist order.
        let plain = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=320x180\nvideo.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=320x180\nother.m3u8\n";
        assert_eq!(primary_rendition(plain.as_bytes()), Some("video.m3u8"));
        assert_eq!(primary_rendition(b"#EXTM3U\n#EXTINF:4,\nseg.ts\n"), None);
        assert_eq!(primary_rendition(b""), None);
    }
}
