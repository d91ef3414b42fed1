//! The one response body type of the server, and its two constructors.
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};

/// Error type carried by streamed bodies (upstream pass-through).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response the server produces has this body type.
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// A complete in-memory body (rendered playlists, JSON, short error texts).
pub fn full(bytes: impl Into<Bytes>) -> BoxBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body (HEAD answers, 204s).
pub fn empty() -> BoxBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}
