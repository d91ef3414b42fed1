//! Asking an ad decision server for a break's asset list, and checking its answer before any
//! player sees it.
//!
//! The request is a plain `GET` of the rendered [`AdDecisionTemplate`] (`Accept:
//! application/json`), through a small pooled hyper-util client of its own (the upstream's pool is
//! for the packager). The whole exchange — connecting, the answer's head and its body — has one
//! deadline (`ad_decision_timeout_ms`).
//!
//! An answer is used only when all of this holds, else the break gets the server's fixed list
//! (and the failure is logged and counted by reason):
//! - status 200, a body of at most [`MAX_ANSWER_BYTES`];
//! - a JSON object whose `ASSETS` is an array of 1 to [`MAX_ADS`] objects (an empty list is
//!   refused: hls.js then skips to the break's end instead of resuming the primary content);
//! - each with a `URI` string, an absolute `http`/`https` URI or a relative reference (resolved
//!   against the decision request's URL, the document it came in, RFC 3986 §5), and a
//!   `DURATION` JSON number of seconds in (0, 86400].
//!
//! Anything else in the answer (more members of the document or of an asset) is passed on as it
//! came.
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::Value;
use url::Url;

use super::answer::{AssetList, ListedAsset, Source};
use crate::hls::ads::{AdAsset, MAX_ADS};

/// Largest answer read from an ad decision server: a hundred ads with tracking members fit; the
/// cache holds at most `asset_list_cache_entries` answers of this size.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024;

/// Why an ad decision server's answer was not used (the `reason` label of
/// `hlsplice_ad_decision_failures_total`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecisionFailure {
    /// No connection.
    Unreachable(String),
    /// No complete answer within the deadline.
    Timeout,
    /// A status other than 200.
    Status(StatusCode),
    /// A body over [`MAX_ANSWER_BYTES`], or one that could not be read.
    Body(String),
    /// Not an asset list the proxy may pass on; the message says what is wrong.
    Invalid(String),
    /// Too many ad decisions in flight already.
    Busy,
}

impl DecisionFailure {
    /// The label value.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Timeout => "timeout",
            Self::Status(_) => "status",
            Self::Body(_) => "body",
            Self::Invalid(_) => "invalid",
            Self::Busy => "busy",
        }
    }
}

impl std::fmt::Display for DecisionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(why) => write!(f, "unreachable: {why}"),
            Self::Timeout => f.write_str("no answer within the deadline"),
            Self::Status(status) => write!(f, "answered {status}"),
            Self::Body(why) => write!(f, "body: {why}"),
            Self::Invalid(why) => write!(f, "invalid answer: {why}"),
            Self::Busy => f.write_str("too many ad decisions in flight"),
        }
    }
}

/// The ad decision client.
pub struct DecisionClient {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl DecisionClient {
    /// A client with its own small pool.
    pub fn new(deadline: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(deadline));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(8)
            .build(connector);
        Self { client }
    }

    /// Asks `url` and checks its answer.
    ///
    /// # Errors
    /// Why the answer cannot be used.
    pub async fn ask(&self, url: &Url, deadline: Duration) -> Result<AssetList, DecisionFailure> {
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| DecisionFailure::Invalid(format!("request URL {url}: {e}")))?;
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("hlsplice/", env!("CARGO_PKG_VERSION"))),
        );
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    DecisionFailure::Unreachable(error_chain(&e))
                } else {
                    DecisionFailure::Body(error_chain(&e))
                }
            })?;
            let (parts, body) = response.into_parts();
            if parts.status != StatusCode::OK {
                return Err(DecisionFailure::Status(parts.status));
            }
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| DecisionFailure::Body(e.to_string()))?
                .to_bytes();
            Ok(body)
        };
        let body = tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| DecisionFailure::Timeout)??;
        parse_answer(&body, url).map_err(DecisionFailure::Invalid)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Checks an ad decision server's answer (see the module docs) and resolves its relative URIs
/// against `base`, the URL it was asked at.
///
/// # Errors
/// What is wrong, naming the member.
pub fn parse_answer(body: &[u8], base: &Url) -> Result<AssetList, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut document) = value else {
        return Err("not a JSON object".to_owned());
    };
    let assets = match document.remove("ASSETS") {
        Some(Value::Array(assets)) => assets,
        Some(_) => return Err("ASSETS is not an array".to_owned()),
        None => return Err("no ASSETS".to_owned()),
    };
    if assets.is_empty() {
        return Err("ASSETS is empty".to_owned());
    }
    if assets.len() > MAX_ADS {
        return Err(format!("{} ASSETS, more than {MAX_ADS}", assets.len()));
    }
    let mut listed = Vec::with_capacity(assets.len());
    for (i, asset) in assets.into_iter().enumerate() {
        let Value::Object(mut object) = asset else {
            return Err(format!("ASSETS[{i}] is not an object"));
        };
        let uri = match object.remove("URI") {
            Some(Value::String(uri)) => uri,
            Some(_) => return Err(format!("ASSETS[{i}].URI is not a string")),
            None => return Err(format!("ASSETS[{i}] has no URI")),
        };
        let duration = match object.remove("DURATION") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(_) => return Err(format!("ASSETS[{i}].DURATION is not a number")),
            None => return Err(format!("ASSETS[{i}] has no DURATION")),
        };
        let checked = AdAsset::new(uri, duration).map_err(|e| format!("ASSETS[{i}]: {e}"))?;
        let absolute = base
            .join(checked.uri())
            .map_err(|e| format!("ASSETS[{i}].URI: {e}"))?;
        if !matches!(absolute.scheme(), "http" | "https") {
            return Err(format!("ASSETS[{i}].URI is not http or https"));
        }
        listed.push(ListedAsset {
            uri: absolute.into(),
            duration: checked.duration(),
            extra: object,
        });
    }
    Ok(AssetList {
        assets: listed,
        extra: document,
        source: Source::Decision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://ads.example:9000/v1/live%2Fdemo/list.json?b=7").unwrap()
    }

    #[test]
    fn good_answers_are_resolved_and_keep_their_other_members() {
        let body = br#"{"ASSETS":[{"URI":"ad1/index.m3u8","DURATION":15.015,"X-AD-ID":"a1"},{"URI":"https://cdn.example/ad2.m3u8","DURATION":10}],"SKIP-CONTROL":{"OFFSET":5}}"#;
        let list = parse_answer(body, &base()).unwrap();
        assert_eq!(list.source, Source::Decision);
        assert_eq!(list.assets.len(), 2);
        assert_eq!(
            list.assets[0].uri,
            "http://ads.example:9000/v1/live%2Fdemo/ad1/index.m3u8"
        );
        assert_eq!(list.assets[0].duration, 15.015);
        assert_eq!(list.assets[0].extra["X-AD-ID"], "a1");
        assert_eq!(list.assets[1].uri, "https://cdn.example/ad2.m3u8");
        assert_eq!(list.assets[1].duration, 10.0);
        assert_eq!(list.extra["SKIP-CONTROL"]["OFFSET"], 5);
        let root = parse_answer(br#"{"ASSETS":[{"URI":"/x.m3u8","DURATION":1}]}"#, &base());
        assert_eq!(
            root.unwrap().assets[0].uri,
            "http://ads.example:9000/x.m3u8"
        );
    }

    #[test]
    fn bad_answers_are_refused_naming_what_is_wrong() {
        let many = format!(
            r#"{{"ASSETS":[{}]}}"#,
            vec![r#"{"URI":"/a","DURATION":1}"#; MAX_ADS + 1].join(",")
        );
        for (body, why) in [
            ("", "not JSON"),
            ("{\"ASSETS\":", "not JSON"),
            ("[]", "not a JSON object"),
            ("{}", "no ASSETS"),
            (r#"{"ASSETS":{}}"#, "not an array"),
            (r#"{"ASSETS":[]}"#, "empty"),
            (many.as_str(), "more than 100"),
            (r#"{"ASSETS":[1]}"#, "ASSETS[0] is not an object"),
            (r#"{"ASSETS":[{"DURATION":1}]}"#, "ASSETS[0] has no URI"),
            (
                r#"{"ASSETS":[{"URI":5,"DURATION":1}]}"#,
                "URI is not a string",
            ),
            (r#"{"ASSETS":[{"URI":"/a"}]}"#, "has no DURATION"),
            (
                r#"{"ASSETS":[{"URI":"/a","DURATION":"15"}]}"#,
                "not a number",
            ),
            (r#"{"ASSETS":[{"URI":"/a","DURATION":0}]}"#, "duration 0"),
            (r#"{"ASSETS":[{"URI":"/a","DURATION":-3}]}"#, "duration -3"),
            (r#"{"ASSETS":[{"URI":"/a","DURATION":1e400}]}"#, "not JSON"),
            (
                r#"{"ASSETS":[{"URI":"/a","DURATION":86401}]}"#,
                "duration 86401",
            ),
            (
                r#"{"ASSETS":[{"URI":"ftp://x/a","DURATION":1}]}"#,
                "only http",
            ),
            (
                r#"{"ASSETS":[{"URI":"javascript:x()","DURATION":1}]}"#,
                "only http",
            ),
            (r#"{"ASSETS":[{"URI":"/a b","DURATION":1}]}"#, "space"),
            (
                r#"{"ASSETS":[{"URI":"/ok","DURATION":1},{"URI":"","DURATION":1}]}"#,
                "ASSETS[1]",
            ),
        ] {
            match parse_answer(body.as_bytes(), &base()) {
                Err(got) => assert!(got.contains(why), "{body}: {got}"),
                Ok(list) => panic!("{body}: accepted {list:?}"),
            }
        }
    }
}
