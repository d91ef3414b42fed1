//! An asset list as the proxy answers it (draft-pantos-hls-rfc8216bis Appendix D,
//! `X-ASSET-LIST`): `{"ASSETS": [{"URI": ..., "DURATION": ...}, ...]}`, the assets placed one
//! after the other from the interstitial's START-DATE.
//!
//! Relative URIs are resolved before the answer leaves: against the ad decision request for what
//! an ad decision server answered (when it is validated, [`super::decision`]), against the
//! asset-list request itself for the configured ones ([`AssetList::to_json`]). hls.js 1.7 hands an
//! asset's URI to a new player as it is (`HlsAssetPlayer.loadSource`), which would resolve a
//! relative one against the page rather than the list, so every URI it gets is absolute.
use serde_json::{Map, Value};
use url::Url;

use crate::hls::ads::{AdAssets, fill};

/// Where an answer came from (the `source` label of `hlsplice_asset_lists_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A fixed list of ads (the server's or the break's), filled into the break.
    Static,
    /// An ad decision server's answer.
    Decision,
    /// The server's fixed list, because the ad decision server failed.
    Fallback,
}

impl Source {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Decision => "decision",
            Self::Fallback => "fallback",
        }
    }
}

/// One asset of an answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedAsset {
    /// The URI: absolute, or relative to the asset-list request (configured ads only).
    pub uri: String,
    /// Seconds.
    pub duration: f64,
    /// Other members of the asset's object in an ad decision server's answer (tracking and the
    /// like; Appendix D allows them), passed on as they came.
    pub extra: Map<String, Value>,
}

/// A whole answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AssetList {
    /// Never empty.
    pub assets: Vec<ListedAsset>,
    /// Other top-level members of an ad decision server's answer (`SKIP-CONTROL`, ...).
    pub extra: Map<String, Value>,
    /// Where it came from.
    pub source: Source,
}

impl AssetList {
    /// `list` filled into a break of `planned_ms` ([`fill`]).
    pub fn filled(list: &AdAssets, planned_ms: u64, source: Source) -> Self {
        let assets = fill(list, planned_ms)
            .into_iter()
            .map(|asset| ListedAsset {
                uri: asset.uri().to_owned(),
                duration: asset.duration(),
                extra: Map::new(),
            })
            .collect();
        Self {
            assets,
            extra: Map::new(),
            source,
        }
    }

    /// Number of assets.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// The JSON document, relative URIs resolved against `base` (the asset-list request's URL,
    /// when it is known).
    pub fn to_json(&self, base: Option<&Url>) -> Vec<u8> {
        let assets: Vec<Value> = self
            .assets
            .iter()
            .map(|asset| {
                let uri = match base {
                    Some(base) if Url::parse(&asset.uri).is_err() => base
                        .join(&asset.uri)
                        .map_or_else(|_| asset.uri.clone(), String::from),
                    _ => asset.uri.clone(),
                };
                let mut object = Map::with_capacity(2 + asset.extra.len());
                object.insert("URI".to_owned(), Value::String(uri));
                object.insert("DURATION".to_owned(), Value::from(asset.duration));
                for (name, value) in &asset.extra {
                    object.entry(name.clone()).or_insert_with(|| value.clone());
                }
                Value::Object(object)
            })
            .collect();
        let mut document = Map::with_capacity(1 + self.extra.len());
        document.insert("ASSETS".to_owned(), Value::Array(assets));
        for (name, value) in &self.extra {
            document
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        serde_json::to_vec(&Value::Object(document)).unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn empty_for_tests(source: Source, n: usize) -> Self {
        Self {
            assets: vec![
                ListedAsset {
                    uri: "https://cdn.example/a.m3u8".to_owned(),
                    duration: 1.0,
                    extra: Map::new(),
                };
                n
            ],
            extra: Map::new(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::ads::AdAsset;

    #[test]
    fn relative_uris_are_resolved_against_the_request_and_members_keep_their_order() {
        let list = AdAssets::new(vec![
            AdAsset::new("/hlsplice/ad/ad.m3u8", 4.0).unwrap(),
            AdAsset::new("https://cdn.example/b.m3u8", 2.5).unwrap(),
            AdAsset::new("c.m3u8", 1.0).unwrap(),
        ])
        .unwrap();
        let answer = AssetList::filled(&list, 7_500, Source::Static);
        let base = Url::parse("http://proxy.example:8080/hlsplice/assets/live/demo/1.json").ok();
        let json = String::from_utf8(answer.to_json(base.as_ref())).unwrap();
        assert_eq!(
            json,
            r#"{"ASSETS":[{"URI":"http://proxy.example:8080/hlsplice/ad/ad.m3u8","DURATION":4.0},{"URI":"https://cdn.example/b.m3u8","DURATION":2.5},{"URI":"http://proxy.example:8080/hlsplice/assets/live/demo/c.m3u8","DURATION":1.0}]}"#
        );
        // Without a base (no Host), the URIs stay as configured.
        let json = String::from_utf8(answer.to_json(None)).unwrap();
        assert!(json.starts_with(r#"{"ASSETS":[{"URI":"/hlsplice/ad/ad.m3u8","#));
        // Extra members follow URI and DURATION, which they cannot replace.
        let mut with_extra = answer.clone();
        with_extra.assets[0]
            .extra
            .insert("X-AD-ID".to_owned(), Value::from("a1"));
        with_extra.assets[0]
            .extra
            .insert("DURATION".to_owned(), Value::from(99));
        with_extra
            .extra
            .insert("SKIP-CONTROL".to_owned(), serde_json::json!({"OFFSET": 5}));
        let value: Value = serde_json::from_slice(&with_extra.to_json(None)).unwrap();
        assert_eq!(value["ASSETS"][0]["DURATION"], 4.0);
        assert_eq!(value["ASSETS"][0]["X-AD-ID"], "a1");
        assert_eq!(value["SKIP-CONTROL"]["OFFSET"], 5);
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["ASSETS", "SKIP-CONTROL"]);
    }
}
