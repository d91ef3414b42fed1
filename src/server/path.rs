//! Request-path and stream-name validation: whatever a client sends, the proxy only
//! ever asks the configured upstream for a path below its base.
//!
//! Rejected: anything that is not origin-form (`/...`), `.` or `..` segments, empty
//! segments, backslashes, control characters, and percent-encodings of `.`, `/`, `\`, `%`
//! or control characters (so `%2e%2e`, `%2f` and double encodings cannot smuggle a
//! traversal past this check or past an upstream that decodes once more).

/// Checks a request path (without query) that will be forwarded upstream.
///
/// # Errors
/// A short reason naming the first problem found.
pub fn validate_path(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("path must start with '/'");
    };
    if rest.is_empty() {
        return Err("empty path");
    }
    check_chars(path)?;
    for segment in rest.split('/') {
        check_segment(segment)?;
    }
    Ok(())
}

/// Checks a query string forwarded upstream: no control characters, no spaces.
///
/// # Errors
/// A short reason.
pub fn validate_query(query: &str) -> Result<(), &'static str> {
    if query.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("control character in query");
    }
    Ok(())
}

/// The stream key of playlists at the upstream's root (`/stream.m3u8`): `/`, which no
/// playlist directory can be (keys never start or end with a slash), written `%2F` in an API
/// path (`/api/v1/streams/%2F/breaks`) or left empty (`/api/v1/streams//breaks`).
pub const ROOT_STREAM: &str = "/";

/// Checks a decoded stream key such as `live/demo` (or [`ROOT_STREAM`]).
///
/// # Errors
/// A short reason.
pub fn validate_stream_key(key: &str) -> Result<(), &'static str> {
    if key == ROOT_STREAM {
        return Ok(());
    }
    if key.is_empty() {
        return Err("empty stream name");
    }
    if key.len() > 512 {
        return Err("stream name too long");
    }
    check_chars(key)?;
    if key.contains('%') {
        return Err("percent sign in stream name");
    }
    for segment in key.split('/') {
        check_segment(segment)?;
    }
    Ok(())
}

/// The stream key of a playlist path: its directory without the leading slash
/// (`/live/stream1/720p.m3u8` → `live/stream1`; `/index.m3u8` → [`ROOT_STREAM`]).
pub fn stream_key_of(path: &str) -> &str {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(slash) => &trimmed[..slash],
        None => ROOT_STREAM,
    }
}

/// The path a URI found in the playlist at `base` (a path) refers to (RFC 3986 §5.2, for
/// references without scheme or authority), without its query or fragment, `.` and `..`
/// segments resolved; `None` for an absolute URL (another origin, which the proxy does not
/// fetch from) or a reference that climbs above the root.
pub fn resolve_reference(base: &str, uri: &str) -> Option<String> {
    let uri = uri.trim();
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    if uri.is_empty() || uri.contains("://") || uri.starts_with("//") {
        return None;
    }
    let joined = if uri.starts_with('/') {
        uri.to_owned()
    } else {
        let dir = base.rfind('/').map_or("", |slash| &base[..slash]);
        format!("{dir}/{uri}")
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/').skip(1) {
        match segment {
            "." | "" => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(format!("/{}", segments.join("/")))
}

/// Decodes a stream name taken from an API path: `%2F` (any case) becomes `/`; any other
/// percent sign is refused, so the result is validated in its final form.
///
/// # Errors
/// A short reason.
pub fn decode_stream_name(raw: &str) -> Result<String, &'static str> {
    if raw.is_empty() {
        return Ok(ROOT_STREAM.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let code = rest
            .get(pos + 1..pos + 3)
            .ok_or("truncated percent-encoding")?;
        if code.eq_ignore_ascii_case("2f") {
            out.push('/');
        } else {
            return Err("only %2F may be percent-encoded in a stream name");
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    validate_stream_key(&out)?;
    Ok(out)
}

fn check_chars(text: &str) -> Result<(), &'static str> {
    for b in text.bytes() {
        if b < 0x20 || b == 0x7f {
            return Err("control character");
        }
        if b == b'\\' {
            return Err("backslash");
        }
        if b == b' ' {
            return Err("space");
        }
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'%', &bytes[i..]) {
        let at = i + offset;
        let decoded = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .ok_or("malformed percent-encoding")?;
        if matches!(decoded, b'.' | b'/' | b'\\' | b'%') || decoded < 0x20 || decoded == 0x7f {
            return Err("percent-encoded '.', '/', '\\', '%' or control character");
        }
        i = at + 3;
    }
    Ok(())
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    match segment {
        "" => Err("empty path segment"),
        "." | ".." => Err("'.' or '..' segment"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        assert!(validate_path("/live/demo/video.m3u8").is_ok());
        assert!(validate_path("/live/demo/seg_000123.m4s").is_ok());
        assert!(validate_path("/a/b%20c.ts").is_ok());
        assert!(validate_path("/a/..b/c..ts").is_ok());
    }

    #[test]
    fn rejects_traversal_and_encodings() {
        for bad in [
            "/../etc/passwd",
            "/live/../../x.m3u8",
            "/live/./x.m3u8",
            "/live/%2e%2e/x.m3u8",
            "/live/%2E%2E/x.m3u8",
            "/live%2f..%2fx.m3u8",
            "/live/%252e%252e/x",
            "/live//x.m3u8",
            "/live\\..\\x",
            "/live/\u{1}x",
            "/live/%00x",
            "/live/%zz",
            "/live/%2",
            "live/x.m3u8",
            "http://evil/x.m3u8",
            "/",
        ] {
            assert!(validate_path(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn stream_keys() {
        assert_eq!(stream_key_of("/live/stream1/720p.m3u8"), "live/stream1");
        assert_eq!(stream_key_of("/index.m3u8"), ROOT_STREAM);
        assert_eq!(
            decode_stream_name("live%2Fdemo").as_deref(),
            Ok("live/demo")
        );
        assert_eq!(
            decode_stream_name("live%2fdemo").as_deref(),
            Ok("live/demo")
        );
        assert_eq!(decode_stream_name("live/demo").as_deref(), Ok("live/demo"));
        assert!(decode_stream_name("live%2F..%2Fx").is_err());
        assert!(decode_stream_name("live%2E%2E").is_err());
        // The root stream: empty or %2F.
        assert_eq!(decode_stream_name("").as_deref(), Ok(ROOT_STREAM));
        assert_eq!(decode_stream_name("%2F").as_deref(), Ok(ROOT_STREAM));
        assert!(decode_stream_name("%2F%2F").is_err());
        assert!(decode_stream_name("/live").is_err());
        assert!(decode_stream_name("a//b").is_err());
    }

    #[test]
    fn references_resolve_against_the_playlist() {
        let base = "/live/demo/master.m3u8";
        for (uri, want) in [
            ("video.m3u8", Some("/live/demo/video.m3u8")),
            ("./hd/video.m3u8?token=1", Some("/live/demo/hd/video.m3u8")),
            ("../other/x.m3u8", Some("/live/other/x.m3u8")),
            ("/abs/x.m3u8#frag", Some("/abs/x.m3u8")),
            ("../../../x.m3u8", None),
            ("https://cdn.example/x.m3u8", None),
            ("//cdn.example/x.m3u8", None),
            ("", None),
        ] {
            assert_eq!(resolve_reference(base, uri).as_deref(), want, "{uri}");
        }
        assert_eq!(
            resolve_reference("/master.m3u8", "video.m3u8").as_deref(),
            Some("/video.m3u8")
        );
    }

    #[test]
    fn queries() {
        assert!(validate_query("_HLS_msn=5&_HLS_part=2").is_ok());
        assert!(validate_query("a=b c").is_err());
    }
}
