//! Which playlist directories become streams.
//!
//! Anyone can request any path, and every playlist path names a directory: left alone, a client
//! requesting 10,000 made-up paths would make 10,000 streams. So:
//! - with `stream_patterns` set, only directories matching one of them are streams (an operator
//!   names them: `live/*` for `/live/<name>/<rendition>.m3u8`); the others are proxied unmarked,
//!   exactly as the packager wrote them;
//! - at most `max_streams` are in memory at once; a playlist of a new stream past that is
//!   proxied unmarked until an idle stream leaves memory;
//! - a stream is recorded in the store only once it has something worth keeping — a break, a
//!   policy — or when a pattern named it; before that, what its playlists taught the proxy
//!   (media playlist paths, primary rendition, first program time) stays in memory and goes to
//!   the store with the stream's first change.
use std::fmt;

use globset::GlobMatcher;

/// One `stream_patterns` entry: a glob over the stream key, `*` within a path segment, `**`
/// across segments.
#[derive(Clone, Debug)]
pub struct StreamPattern {
    text: String,
    matcher: GlobMatcher,
}

/// Why a pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidStreamPattern(String);

impl fmt::Display for InvalidStreamPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidStreamPattern {}

impl StreamPattern {
    /// A pattern such as `live/*` or `events/**`.
    ///
    /// # Errors
    /// An empty pattern, one starting with `/`, or one the glob syntax refuses.
    pub fn new(text: &str) -> Result<Self, InvalidStreamPattern> {
        if text.is_empty() {
            return Err(InvalidStreamPattern("empty pattern".to_owned()));
        }
        if text.starts_with('/') && text != "/" {
            return Err(InvalidStreamPattern(
                "a stream key has no leading slash (`live/*`, not `/live/*`)".to_owned(),
            ));
        }
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| InvalidStreamPattern(e.to_string()))?;
        Ok(StreamPattern {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether stream `key` matches.
    pub fn matches(&self, key: &str) -> bool {
        self.matcher.is_match(key)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The configured patterns and cap.
#[derive(Clone, Debug)]
pub struct Admission {
    patterns: Vec<StreamPattern>,
    /// Most streams in memory.
    pub max_streams: usize,
}

impl Admission {
    /// From the settings (patterns already validated by the CLI; an invalid one is skipped
    /// with a warning rather than failing a library caller at run time).
    pub fn new(patterns: &[String], max_streams: usize) -> Self {
        let patterns = patterns
            .iter()
            .filter_map(|p| match StreamPattern::new(p) {
                Ok(pattern) => Some(pattern),
                Err(e) => {
                    tracing::warn!(pattern = %p, error = %e, "stream pattern ignored");
                    None
                }
            })
            .collect();
        Admission {
            patterns,
            max_streams: max_streams.max(1),
        }
    }

    /// Whether playlists of directory `key` may be a stream at all.
    pub fn allows(&self, key: &str) -> bool {
        self.patterns.is_empty() || self.named(key)
    }

    /// Whether an operator named `key` with a pattern (its record is kept from the start).
    pub fn named(&self, key: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_stream_keys() {
        let one = StreamPattern::new("live/*").unwrap();
        assert!(one.matches("live/demo"));
        assert!(!one.matches("live/a/b"), "* stays within a segment");
        assert!(!one.matches("vod/demo"));
        let deep = StreamPattern::new("events/**").unwrap();
        assert!(deep.matches("events/2026/final"));
        assert!(
            StreamPattern::new("/").unwrap().matches("/"),
            "the root stream"
        );
        assert!(StreamPattern::new("").is_err());
        assert!(StreamPattern::new("/live/*").is_err());
        assert!(StreamPattern::new("live/[").is_err());
        let admission = Admission::new(&["live/*".to_owned()], 10);
        assert!(admission.allows("live/x") && admission.named("live/x"));
        assert!(!admission.allows("junk/x"));
        let open = Admission::new(&[], 10);
        assert!(open.allows("anything/at/all") && !open.named("anything/at/all"));
    }
}
