//! The player page `GET /` answers when `player_page` is on (`hlsplice demo` turns it on): hls.js
//! playing a playlist of the proxy (`?src=/live/demo/master.m3u8` by default), the markers and
//! interstitial events as they arrive, and a form that starts and ends a break through the native
//! API (with the token typed in; the page holds none).
//!
//! hls.js is loaded the way its README shows, a `<script>` from jsDelivr, pinned to one release
//! with its Subresource Integrity hash (the test below holds both): its minified build
//! is 624 KB, larger than everything else the binary serves together, so it is not compiled in.
//! The browser needs to reach jsDelivr; the tests serve the same file from their own
//! `node_modules` (tests/clients, the same pinned version), which the integrity hash lets
//! through only if it is byte for byte the release.
use http::{HeaderValue, Method, Request, Response, header};

use crate::server::body::{BoxBody, empty, full};

/// The page.
pub const HTML: &str = include_str!("player.html");

/// `GET|HEAD /`.
pub fn answer<B>(req: &Request<B>) -> Response<BoxBody> {
    let mut response = Response::new(if req.method() == Method::HEAD {
        empty()
    } else {
        full(HTML)
    });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(HTML.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hls.js release the page loads (the version of tests/clients/package-lock.json).
    const HLS_JS_VERSION: &str = "1.7.4";
    /// Where the page loads hls.js from.
    const HLS_JS_URL: &str = "https://cdn.jsdelivr.net/npm/hls.js@1.7.4/dist/hls.min.js";
    /// The SHA-384 of that file (`openssl dgst -sha384 -binary hls.min.js | base64`), as the
    /// page's `integrity` attribute.
    const HLS_JS_INTEGRITY: &str =
        "sha384-p9vgU/7IYJWd3I4STrtqxqR/2cAQlhIX7D/HrTnIMEjjcUox165b7se7sxmm3zDg";

    /// The page loads the release tests/clients pins (and plays in the browser tests), with its
    /// integrity hash; a version bump in one place without the other fails here.
    #[test]
    fn the_page_loads_the_pinned_hls_js_with_its_integrity_hash() {
        assert!(HLS_JS_URL.contains(&format!("hls.js@{HLS_JS_VERSION}/")));
        assert!(HTML.contains(&format!("src=\"{HLS_JS_URL}\"")), "{HTML}");
        assert!(HTML.contains(&format!("integrity=\"{HLS_JS_INTEGRITY}\"")));
        assert!(HTML.contains("crossorigin=\"anonymous\""));
        let lock = include_str!("../../../tests/clients/package-lock.json");
        let lock: serde_json::Value = serde_json::from_str(lock).expect("package-lock.json");
        assert_eq!(
            lock["packages"]["node_modules/hls.js"]["version"], HLS_JS_VERSION,
            "tests/clients pins another hls.js than the player page"
        );
    }
}
