//! The built-in ad: a 4-second HLS VOD clip (an orange picture with a black "AD" and an 880 Hz
//! tone, made by testdata/ad/make.sh) that the proxy answers itself under [`PREFIX`], so
//! interstitials can be tried without an ad server: `--ad-asset 4=/hlsplice/ad/ad.m3u8`.
//! `hlsplice demo` plays it in every break of the interstitial family.
//!
//! Anyone may read it (`Access-Control-Allow-Origin: *`, as public test streams do): nothing in it
//! depends on a credential, and a player page on another origin must be able to play it.
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};

use crate::hls::AdAsset;
use crate::server::body::{BoxBody, empty, full};
use crate::server::error::Failure;

/// Where the proxy answers the clip.
pub const PREFIX: &str = "/hlsplice/ad/";
/// The clip's playlist, as a URI a static ad list can name.
pub const PLAYLIST_PATH: &str = "/hlsplice/ad/ad.m3u8";
/// The clip's duration, in seconds (four 1-second segments).
pub const DURATION_S: f64 = 4.0;

/// The clip as a fixed ad.
pub fn asset() -> AdAsset {
    // A valid relative URI and a positive duration: `new` cannot refuse them (tested below).
    AdAsset::new(PLAYLIST_PATH, DURATION_S).unwrap_or_else(|_| unreachable!())
}

const PLAYLIST: &str = include_str!("../../../testdata/ad/ad.m3u8");
const SEGMENTS: [(&str, &[u8]); 4] = [
    ("ad_0.ts", include_bytes!("../../../testdata/ad/ad_0.ts")),
    ("ad_1.ts", include_bytes!("../../../testdata/ad/ad_1.ts")),
    ("ad_2.ts", include_bytes!("../../../testdata/ad/ad_2.ts")),
    ("ad_3.ts", include_bytes!("../../../testdata/ad/ad_3.ts")),
];

/// `GET|HEAD /hlsplice/ad/<file>`.
///
/// # Errors
/// 404 for any other file under [`PREFIX`].
pub fn answer<B>(req: &Request<B>) -> Result<Response<BoxBody>, Failure> {
    let path = req.uri().path();
    let file = path.strip_prefix(PREFIX).unwrap_or("");
    let (body, content_type): (Bytes, &'static str) = if file == "ad.m3u8" {
        (
            Bytes::from_static(PLAYLIST.as_bytes()),
            "application/vnd.apple.mpegurl",
        )
    } else if let Some((_, bytes)) = SEGMENTS.iter().find(|(name, _)| *name == file) {
        (Bytes::from_static(bytes), "video/mp2t")
    } else {
        return Err(Failure::NotFound(format!("no file {path}")));
    };
    let length = body.len();
    let mut response = Response::new(if req.method() == Method::HEAD {
        empty()
    } else {
        full(body)
    });
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // The clip never changes within a version of hlsplice.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_playlist_names_exactly_the_compiled_segments_and_lasts_four_seconds() {
        let uris: Vec<&str> = PLAYLIST
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        let names: Vec<&str> = SEGMENTS.iter().map(|(n, _)| *n).collect();
        assert_eq!(uris, names);
        let total: f64 = PLAYLIST
            .lines()
            .filter_map(|l| l.strip_prefix("#EXTINF:"))
            .map(|v| v.trim_end_matches(',').parse::<f64>().unwrap())
            .sum();
        assert!((total - DURATION_S).abs() < 1e-6, "{total}");
        assert!(PLAYLIST.contains("#EXT-X-ENDLIST"));
        // MPEG-TS packets, starting with the sync byte.
        for (name, bytes) in SEGMENTS {
            assert!(bytes.len() % 188 == 0 && bytes[0] == 0x47, "{name}");
        }
        assert_eq!(PLAYLIST_PATH, format!("{PREFIX}ad.m3u8"));
        assert_eq!(asset().uri(), PLAYLIST_PATH);
        assert_eq!(asset().duration(), DURATION_S);
    }
}
