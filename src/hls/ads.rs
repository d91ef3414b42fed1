//! Where the ads of a break's interstitial come from: the values a server is configured with and
//! a break may carry ([`Break::ads`]), checked once when they enter, and the rule that fills a
//! break with ads from a fixed list.
//!
//! An interstitial's `X-ASSET-LIST` names a JSON document whose `ASSETS` array lists the ads to
//! play, each an object with a `URI` (of an HLS playlist) and a `DURATION` in seconds
//! (draft-pantos-hls-rfc8216bis Appendix D, `X-ASSET-LIST`). Players place each asset after the
//! ones before it, measured from the interstitial's START-DATE (hls.js 1.7
//! `InterstitialsController.onAssetListLoaded`, Shaka Player 5.2
//! `InterstitialAdManager.resolveAssetList_`).
//!
//! - [`AdAsset`]: one ad. Its URI is an absolute `http`/`https` URI or a relative reference
//!   (RFC 3986 §4.1), printable ASCII without the characters RFC 3986 never allows in a URI; its
//!   duration a finite number of seconds in (0, [`MAX_AD_SECONDS`]].
//! - [`AdAssets`]: one to [`MAX_ADS`] of them, in the order they play.
//! - [`AdDecisionTemplate`]: the URL of an ad decision server that answers such a document, with
//!   placeholders for the break ([`DecisionValues`]).
//! - [`AdSource`]: one of the two, as a break's own choice.
//! - [`fill`]: which ads of a fixed list play in a break of a planned duration.
//!
//! None of this does I/O: the proxy fetches and serves (`hlsplice::server`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[cfg(any(doc, test))]
use super::timeline::Break;

/// Most ads in one list: a break of ten minutes holds forty 15-second ads; a hundred leaves room
/// for short bumpers while keeping every answer (and what an ad server may make the proxy hold)
/// small.
pub const MAX_ADS: usize = 100;
/// Longest ad, in seconds (a day): anything longer is a mistake, not an ad.
pub const MAX_AD_SECONDS: f64 = 86_400.0;
/// Longest URI of an ad or an ad decision template, in bytes (the common limit of CDNs and
/// browsers for a request line is larger; an ad URI longer than this is a mistake).
pub const MAX_URI_LEN: usize = 2048;

/// Why an ad, a list of ads or an ad decision template was refused.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InvalidAdSource {
    /// The URI is empty, too long, holds a character a URI cannot, or has a scheme other than
    /// `http`/`https`.
    Uri {
        /// The URI refused.
        uri: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The duration is not a finite number of seconds in (0, [`MAX_AD_SECONDS`]].
    Duration {
        /// The ad's URI.
        uri: String,
        /// The duration refused.
        duration: f64,
    },
    /// No ads, or more than [`MAX_ADS`].
    Count {
        /// How many were given.
        count: usize,
    },
    /// An `AD=URI` setting without the `=` or with a duration that is not a number.
    Syntax {
        /// The text refused.
        text: String,
    },
    /// The ad decision template is not an `http://` URL with known placeholders.
    Template {
        /// The template refused.
        template: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl fmt::Display for InvalidAdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uri { uri, why } => write!(f, "ad URI {uri:?}: {why}"),
            Self::Duration { uri, duration } => write!(
                f,
                "ad {uri:?}: duration {duration} is not a number of seconds in (0, {MAX_AD_SECONDS}]"
            ),
            Self::Count { count } => {
                write!(f, "{count} ads: a list holds 1 to {MAX_ADS}")
            }
            Self::Syntax { text } => write!(
                f,
                "ad {text:?}: expected SECONDS=URI, e.g. 15=https://cdn.example/ad1/index.m3u8"
            ),
            Self::Template { template, why } => {
                write!(f, "ad decision URL {template:?}: {why}")
            }
        }
    }
}

impl std::error::Error for InvalidAdSource {}

/// Whether `b` may appear in a URI: printable ASCII except the space and the characters RFC 3986
/// (§2) excludes (`"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`). Percent-encoded forms of
/// anything pass as `%XX`.
fn uri_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
        && !matches!(
            b,
            b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        )
}

/// The scheme of `uri` (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`, before the
/// first `:`), if it has one; a relative reference has none.
fn scheme_of(uri: &str) -> Option<&str> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then_some(scheme)
}

/// Checks an ad URI (see the module docs).
fn check_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("empty");
    }
    if uri.len() > MAX_URI_LEN {
        return Err("longer than 2048 bytes");
    }
    if !uri.bytes().all(uri_byte) {
        return Err("holds a space, a control character or a character a URI cannot carry");
    }
    match scheme_of(uri) {
        None => Ok(()),
        Some(scheme)
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            let rest = &uri[scheme.len() + 1..];
            let host = rest
                .strip_prefix("//")
                .ok_or("an http(s) URI needs //host")?;
            if host.is_empty() || host.starts_with(['/', '?', '#']) {
                return Err("an http(s) URI needs a host");
            }
            Ok(())
        }
        Some(_) => Err("only http, https or relative URIs are played"),
    }
}

/// One ad: the URI of its HLS playlist and its duration in seconds.
///
/// Serialized as `{"uri": "...", "duration": 15.0}`; written on the command line as
/// `SECONDS=URI` ([`FromStr`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawAsset")]
pub struct AdAsset {
    uri: String,
    duration: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    uri: String,
    duration: f64,
}

impl TryFrom<RawAsset> for AdAsset {
    type Error = InvalidAdSource;

    fn try_from(raw: RawAsset) -> Result<Self, Self::Error> {
        AdAsset::new(raw.uri, raw.duration)
    }
}

impl AdAsset {
    /// Checks an ad.
    ///
    /// # Errors
    /// [`InvalidAdSource::Uri`] or [`InvalidAdSource::Duration`].
    pub fn new(uri: impl Into<String>, duration: f64) -> Result<Self, InvalidAdSource> {
        let uri = uri.into();
        if let Err(why) = check_uri(&uri) {
            return Err(InvalidAdSource::Uri { uri, why });
        }
        if !(duration.is_finite() && duration > 0.0 && duration <= MAX_AD_SECONDS) {
            return Err(InvalidAdSource::Duration { uri, duration });
        }
        Ok(Self { uri, duration })
    }

    /// The URI, as given (relative ones are resolved by whoever serves the list).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The duration, in seconds.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// Whether the URI has no scheme (a relative reference, RFC 3986 §4.2).
    pub fn is_relative(&self) -> bool {
        scheme_of(&self.uri).is_none()
    }
}

/// `SECONDS=URI`, e.g. `15=https://cdn.example/ad1/index.m3u8`: split at the first `=` (a
/// duration never holds one; a URI may).
impl FromStr for AdAsset {
    type Err = InvalidAdSource;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || InvalidAdSource::Syntax {
            text: text.to_owned(),
        };
        let (seconds, uri) = text.trim().split_once('=').ok_or_else(syntax)?;
        let duration: f64 = seconds.trim().parse().map_err(|_| syntax())?;
        AdAsset::new(uri.trim(), duration)
    }
}

impl fmt::Display for AdAsset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.duration, self.uri)
    }
}

/// One to [`MAX_ADS`] ads, in the order they play.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<AdAsset>", into = "Vec<AdAsset>")]
pub struct AdAssets(Vec<AdAsset>);

impl AdAssets {
    /// Checks the count.
    ///
    /// # Errors
    /// [`InvalidAdSource::Count`] for none or more than [`MAX_ADS`].
    pub fn new(assets: Vec<AdAsset>) -> Result<Self, InvalidAdSource> {
        if assets.is_empty() || assets.len() > MAX_ADS {
            return Err(InvalidAdSource::Count {
                count: assets.len(),
            });
        }
        Ok(Self(assets))
    }

    /// The ads.
    pub fn as_slice(&self) -> &[AdAsset] {
        &self.0
    }
}

impl TryFrom<Vec<AdAsset>> for AdAssets {
    type Error = InvalidAdSource;

    fn try_from(assets: Vec<AdAsset>) -> Result<Self, Self::Error> {
        Self::new(assets)
    }
}

impl From<AdAssets> for Vec<AdAsset> {
    fn from(assets: AdAssets) -> Self {
        assets.0
    }
}

/// The placeholders of an [`AdDecisionTemplate`].
const PLACEHOLDERS: [&str; 4] = ["break_id", "stream", "duration", "start_offset"];

/// What an [`AdDecisionTemplate`] is filled with for one asset-list request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionValues<'a> {
    /// `{break_id}`: the break's id, in decimal.
    pub break_id: u64,
    /// `{stream}`: the stream key (`live/demo`), percent-encoded as a whole (`live%2Fdemo`).
    pub stream: &'a str,
    /// `{duration}`: the break's planned duration, written in seconds with three decimals
    /// (`30.000`).
    pub planned_ms: u64,
    /// `{start_offset}`: whole seconds into the break at which the player starts (0 from the
    /// start; `_HLS_start_offset`, Appendix D).
    pub start_offset_s: u64,
}

/// The URL of an ad decision server, as a template: `{break_id}`, `{stream}`, `{duration}` and
/// `{start_offset}` stand for the [`DecisionValues`] of the request, e.g.
/// `http://ads.example/hls?break={break_id}&channel={stream}&dur={duration}&offset={start_offset}`.
///
/// Only `http://`: the proxy's HTTP client has no TLS (put a TLS-originating forward proxy, or
/// the ad server, on the local network). The template is printable ASCII without spaces, `"`,
/// `<`, `>`, `\`, `^`, `` ` `` or `|`, braces only around known placeholders, none of them in the
/// host, at most [`MAX_URI_LEN`] bytes.
///
/// Serialized as its text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AdDecisionTemplate {
    text: String,
}

impl AdDecisionTemplate {
    /// Checks a template.
    ///
    /// # Errors
    /// [`InvalidAdSource::Template`], naming the problem.
    pub fn new(template: impl Into<String>) -> Result<Self, InvalidAdSource> {
        let text = template.into();
        match Self::check(&text) {
            Ok(()) => Ok(Self { text }),
            Err(why) => Err(InvalidAdSource::Template {
                template: text,
                why,
            }),
        }
    }

    fn check(text: &str) -> Result<(), &'static str> {
        if text.len() > MAX_URI_LEN {
            return Err("longer than 2048 bytes");
        }
        let rest = match text.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &text[7..],
            _ if text
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://")) =>
            {
                return Err(
                    "only http:// is supported (the proxy's HTTP client has no TLS; put a TLS-originating proxy in between)",
                );
            }
            _ => return Err("must start with http://"),
        };
        if !text
            .bytes()
            .all(|b| uri_byte(b) || matches!(b, b'{' | b'}'))
        {
            return Err("holds a space, a control character or a character a URI cannot carry");
        }
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..host_end];
        if host.is_empty() {
            return Err("needs a host");
        }
        if host.contains(['{', '}']) {
            return Err("placeholders may not stand in the host");
        }
        // Outside placeholders, no brace; inside, a known name.
        let mut tail = rest;
        while let Some(open) = tail.find(['{', '}']) {
            if tail.as_bytes()[open] == b'}' {
                return Err("a brace that is not part of a placeholder");
            }
            let after = &tail[open + 1..];
            let close = after
                .find('}')
                .ok_or("a brace that is not part of a placeholder")?;
            if !PLACEHOLDERS.contains(&&after[..close]) {
                return Err(
                    "unknown placeholder (known: {break_id}, {stream}, {duration}, {start_offset})",
                );
            }
            tail = &after[close + 1..];
        }
        Ok(())
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL for one request: every placeholder replaced by its value.
    pub fn render(&self, values: &DecisionValues<'_>) -> String {
        let mut out = String::with_capacity(self.text.len() + 32);
        let mut tail = self.text.as_str();
        while let Some(open) = tail.find('{') {
            out.push_str(&tail[..open]);
            let after = &tail[open + 1..];
            // Checked in `new`: every `{` opens a known placeholder.
            let close = after.find('}').unwrap_or(after.len());
            match &after[..close] {
                "break_id" => out.push_str(&values.break_id.to_string()),
                "stream" => percent_encode(&mut out, values.stream),
                "duration" => out.push_str(&format!(
                    "{}.{:03}",
                    values.planned_ms / 1000,
                    values.planned_ms % 1000
                )),
                "start_offset" => out.push_str(&values.start_offset_s.to_string()),
                _ => {}
            }
            tail = after.get(close + 1..).unwrap_or("");
        }
        out.push_str(tail);
        out
    }
}

/// Appends `value` with every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`)
/// percent-encoded, so it is one path segment or query value whatever it holds.
fn percent_encode(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

impl fmt::Debug for AdDecisionTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdDecisionTemplate({:?})", self.text)
    }
}

impl fmt::Display for AdDecisionTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for AdDecisionTemplate {
    type Err = InvalidAdSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for AdDecisionTemplate {
    type Error = InvalidAdSource;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl From<AdDecisionTemplate> for String {
    fn from(template: AdDecisionTemplate) -> Self {
        template.text
    }
}

/// Where a break's ads come from, when the break says so itself (overriding the server's
/// choice). Serialized as `{"assets": [{"uri": ..., "duration": ...}, ...]}` or
/// `{"decision_url": "http://..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AdSource {
    /// These ads, filled into the break by [`fill`].
    Assets(AdAssets),
    /// Ask this ad decision server.
    DecisionUrl(AdDecisionTemplate),
}

/// The ads of `list` that play in a break of `planned_ms`: the list in order, repeated from its
/// start as often as needed, while the next ad still fits in what is left of the planned
/// duration (a millisecond of slack for rounding); the first ad that does not fit ends the
/// list, so the ads never run past the break. Never empty: when even the first ad is longer than
/// the break, it alone is the list (the closing tag's `X-PLAYOUT-LIMIT` cuts it at the break's
/// end; an empty list would make hls.js skip to the break's end at once). At most [`MAX_ADS`].
///
/// What the ads leave of the break (a 30 s break filled with 20 s ads keeps 10 s) plays the
/// primary content, i.e. whatever the packager put in the break.
pub fn fill(list: &AdAssets, planned_ms: u64) -> Vec<&AdAsset> {
    let assets = list.as_slice();
    let planned = planned_ms as f64 / 1000.0 + 0.001;
    let mut filled = Vec::new();
    let mut total = 0.0;
    for asset in assets.iter().cycle().take(MAX_ADS) {
        if total + asset.duration > planned {
            break;
        }
        total += asset.duration;
        filled.push(asset);
    }
    if filled.is_empty() {
        filled.push(&assets[0]);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(uri: &str, s: f64) -> AdAsset {
        AdAsset::new(uri, s).unwrap()
    }

    fn list(ads: &[(&str, f64)]) -> AdAssets {
        AdAssets::new(ads.iter().map(|(u, s)| ad(u, *s)).collect()).unwrap()
    }

    fn uris(filled: &[&AdAsset]) -> Vec<String> {
        filled.iter().map(|a| a.uri().to_owned()).collect()
    }

    #[test]
    fn ad_uris_are_http_https_or_relative() {
        for good in [
            "https://cdn.example/ad1/index.m3u8",
            "HTTP://cdn.example:8080/a.m3u8?x=1&y=%20",
            "/hlsplice/ad/ad.m3u8",
            "ads/ad1.m3u8",
            "//cdn.example/ad.m3u8",
        ] {
            assert!(AdAsset::new(good, 10.0).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("ftp://cdn.example/a.m3u8", "only http"),
            ("data:application/json,{}", "character"),
            ("javascript:alert(1)", "only http"),
            ("https:/cdn.example/a", "//host"),
            ("https:///a", "host"),
            ("/a b.m3u8", "space"),
            ("/a\"b", "character"),
            ("/a\nb", "control"),
        ] {
            match AdAsset::new(bad, 10.0) {
                Err(InvalidAdSource::Uri { why: got, .. }) => {
                    assert!(got.contains(why), "{bad:?}: {got}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(AdAsset::new("/".repeat(MAX_URI_LEN + 1), 1.0).is_err());
        assert!(ad("ads/a.m3u8", 1.0).is_relative());
        assert!(!ad("https://x/a.m3u8", 1.0).is_relative());
    }

    #[test]
    fn durations_are_finite_positive_and_bounded() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_AD_SECONDS + 1.0] {
            assert!(
                matches!(
                    AdAsset::new("/a.m3u8", bad),
                    Err(InvalidAdSource::Duration { .. })
                ),
                "{bad}"
            );
        }
        assert!(AdAsset::new("/a.m3u8", MAX_AD_SECONDS).is_ok());
        assert!(AdAsset::new("/a.m3u8", 0.001).is_ok());
    }

    #[test]
    fn the_command_line_form_is_seconds_equals_uri() {
        let a: AdAsset = "15=https://cdn.example/ad.m3u8?a=b=c".parse().unwrap();
        assert_eq!(a.uri(), "https://cdn.example/ad.m3u8?a=b=c");
        assert_eq!(a.duration(), 15.0);
        assert_eq!(a.to_string().parse::<AdAsset>().unwrap(), a);
        for bad in ["https://cdn.example/ad.m3u8", "x=/a.m3u8", "=/a.m3u8"] {
            assert!(
                matches!(bad.parse::<AdAsset>(), Err(InvalidAdSource::Syntax { .. })),
                "{bad}"
            );
        }
        let err = "0=/a.m3u8".parse::<AdAsset>().unwrap_err().to_string();
        assert!(err.contains("duration 0"), "{err}");
    }

    #[test]
    fn lists_hold_one_to_max_ads() {
        assert!(matches!(
            AdAssets::new(Vec::new()),
            Err(InvalidAdSource::Count { count: 0 })
        ));
        let many = vec![ad("/a.m3u8", 1.0); MAX_ADS + 1];
        assert!(AdAssets::new(many[..MAX_ADS].to_vec()).is_ok());
        assert!(matches!(
            AdAssets::new(many),
            Err(InvalidAdSource::Count { count }) if count == MAX_ADS + 1
        ));
    }

    #[test]
    fn sources_serialize_as_the_api_writes_them_and_are_checked_when_read() {
        let source = AdSource::Assets(list(&[("https://cdn.example/a.m3u8", 15.0)]));
        let json = serde_json::to_string(&source).unwrap();
        assert_eq!(
            json,
            r#"{"assets":[{"uri":"https://cdn.example/a.m3u8","duration":15.0}]}"#
        );
        assert_eq!(serde_json::from_str::<AdSource>(&json).unwrap(), source);
        let decision = AdSource::DecisionUrl(
            AdDecisionTemplate::new("http://ads.example/{break_id}").unwrap(),
        );
        let json = serde_json::to_string(&decision).unwrap();
        assert_eq!(json, r#"{"decision_url":"http://ads.example/{break_id}"}"#);
        assert_eq!(serde_json::from_str::<AdSource>(&json).unwrap(), decision);
        for bad in [
            r#"{"assets":[]}"#,
            r#"{"assets":[{"uri":"ftp://x/a","duration":1}]}"#,
            r#"{"assets":[{"uri":"/a","duration":-1}]}"#,
            r#"{"assets":[{"uri":"/a","duration":1,"extra":1}]}"#,
            r#"{"decision_url":"https://ads.example/"}"#,
            r#"{"assets":[{"uri":"/a","duration":1}],"decision_url":"http://a/"}"#,
            r#"{"other":1}"#,
        ] {
            assert!(serde_json::from_str::<AdSource>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decision_templates_are_http_urls_with_known_placeholders() {
        let t = AdDecisionTemplate::new(
            "http://ads.example:9000/v1/{stream}/list.json?b={break_id}&d={duration}&o={start_offset}&again={break_id}",
        )
        .unwrap();
        let url = t.render(&DecisionValues {
            break_id: 7,
            stream: "live/demo ü",
            planned_ms: 30_500,
            start_offset_s: 12,
        });
        assert_eq!(
            url,
            "http://ads.example:9000/v1/live%2Fdemo%20%C3%BC/list.json?b=7&d=30.500&o=12&again=7"
        );
        assert_eq!(
            AdDecisionTemplate::new("http://ads.example/fixed")
                .unwrap()
                .render(&DecisionValues {
                    break_id: 1,
                    stream: "s",
                    planned_ms: 1,
                    start_offset_s: 0
                }),
            "http://ads.example/fixed"
        );
        for (bad, why) in [
            ("https://ads.example/{break_id}", "only http://"),
            ("ads.example/{break_id}", "must start with http://"),
            ("http:///{break_id}", "needs a host"),
            ("http://{stream}.ads.example/", "host"),
            ("http://ads.example/{breakid}", "unknown placeholder"),
            ("http://ads.example/{break_id", "brace"),
            ("http://ads.example/}", "brace"),
            ("http://ads.example/a b", "space"),
            ("http://ads.example/\"", "character"),
        ] {
            match AdDecisionTemplate::new(bad) {
                Err(InvalidAdSource::Template { why: got, .. }) => {
                    assert!(got.contains(why), "{bad:?}: {got}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let err = AdDecisionTemplate::new("ftp://x").unwrap_err().to_string();
        assert!(err.contains("ad decision URL"), "{err}");
    }

    /// The store keeps breaks as JSON: a break without its own ads is stored exactly as before
    /// the field existed, and a stored one without the key reads as having none.
    #[test]
    fn a_breaks_own_ads_are_stored_with_it_and_old_records_still_read() {
        use crate::hls::{ScheduleRequest, Start, Timeline};
        let now: chrono::DateTime<chrono::Utc> = "2026-11-21T08:00:00Z".parse().unwrap();
        let edge = Some(now);
        let mut tl = Timeline::new();
        let request = |ads: Option<AdSource>, minute: i64| ScheduleRequest {
            start: Start::At(now + chrono::Duration::minutes(minute)),
            duration_ms: 30_000,
            event_id: None,
            request_id: None,
            ads,
        };
        let own = AdSource::Assets(list(&[("https://cdn.example/a.m3u8", 15.0)]));
        let _ = tl.schedule(request(None, 1), edge).unwrap();
        let _ = tl.schedule(request(Some(own.clone()), 5), edge).unwrap();
        let [first, second] = tl.breaks() else {
            panic!("two breaks")
        };
        let json = serde_json::to_value(first).unwrap();
        assert!(json.get("ads").is_none(), "{json}");
        let mut old = json.clone();
        old.as_object_mut().unwrap().remove("request_id");
        assert_eq!(serde_json::from_value::<Break>(old).unwrap(), *first);
        let json = serde_json::to_value(second).unwrap();
        assert_eq!(json["ads"]["assets"][0]["duration"], 15.0);
        let read: Break = serde_json::from_value(json).unwrap();
        assert_eq!(read.ads, Some(own));
        // What a changed timeline hands over to be stored carries it too.
        assert!(tl.take_changes().breaks.iter().any(|b| b.ads.is_some()));
    }

    #[test]
    fn fill_repeats_the_list_while_the_next_ad_fits() {
        let ab = list(&[("a", 10.0), ("b", 5.0)]);
        // Exactly full: a b a (25 s); slack of a millisecond for rounding.
        assert_eq!(uris(&fill(&ab, 25_000)), ["a", "b", "a"]);
        assert_eq!(uris(&fill(&ab, 24_999)), ["a", "b", "a"]);
        assert_eq!(uris(&fill(&ab, 24_998)), ["a", "b"]);
        // The first ad that does not fit ends the list, even if a later one would.
        assert_eq!(uris(&fill(&ab, 29_000)), ["a", "b", "a"]);
        assert_eq!(uris(&fill(&ab, 30_000)), ["a", "b", "a", "b"]);
        // Never empty: a break shorter than the first ad gets the first ad.
        assert_eq!(uris(&fill(&ab, 4_000)), ["a"]);
        assert_eq!(uris(&fill(&ab, 1)), ["a"]);
        // Bounded: a day of 1-second ads is MAX_ADS of them.
        let short = list(&[("s", 1.0)]);
        assert_eq!(fill(&short, 86_400_000).len(), MAX_ADS);
        // Fractional durations add up without drifting past the break.
        let thirds = list(&[("t", 10.0 / 3.0)]);
        assert_eq!(fill(&thirds, 10_000).len(), 3);
    }
}
