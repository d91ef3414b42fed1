//! The API's request parsers and validators, reachable by the fuzz target `api_event_body`
//! (`fuzz/`) and by the replay of its regression inputs (`tests/fuzz_regressions.rs`). Feature
//! `fuzzing` (with `server`); not a public API and never needed by a user.
//!
//! Only parsing is here: what a parser read ([`Parsed`]) or the one-line message of its refusal.
//! Which status a refusal gets is decided where every status is, in `error.rs`, and is not the
//! fuzz target's business.
//!
//! Every API style's parsers are listed in [`PARSERS`], and the fuzz target feeds each input to
//! every one of them; a new API style (or a new parser of one) is one line there.

use http::uri::PathAndQuery;

use super::api::{Operation, native, ome};
use super::breaks::ListQuery;
use super::error::Failure;
use crate::hls::{BreakState, BreakTarget, ScheduleRequest};

pub use super::breaks::MAX_PAGE;

/// Whether `key` is a stream key the proxy accepts (what the API's path validation says).
///
/// # Errors
/// The reason it is not.
pub fn validate_stream_key(key: &str) -> Result<(), &'static str> {
    super::path::validate_stream_key(key)
}

/// What a parser read from a request.
// Not `#[non_exhaustive]`: a new kind of result must be handled by the fuzz target's check.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// Break operations, in the order the request gives them.
    Operations(Vec<BreakOperation>),
    /// A route: the stream it names, and the break when it names one.
    Route {
        /// The decoded stream key, when the route names a stream.
        stream: Option<String>,
        /// The break id, when the route names a break.
        break_id: Option<u64>,
    },
    /// The query of a break list.
    BreakList {
        /// Page size.
        limit: Option<usize>,
        /// Breaks older than this id.
        cursor: Option<u64>,
        /// Only breaks in this state.
        state: Option<BreakState>,
    },
    /// The query of the stream list.
    StreamList {
        /// Page size.
        limit: usize,
        /// Streams after this key.
        after: Option<String>,
    },
}

/// A break operation a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum BreakOperation {
    /// Schedule a break.
    Create(ScheduleRequest),
    /// End (or, before its start, cancel) a break as soon as possible.
    End(BreakTarget),
}

impl From<Operation> for BreakOperation {
    fn from(operation: Operation) -> Self {
        match operation {
            Operation::Create(request) => BreakOperation::Create(request),
            Operation::End(target) => BreakOperation::End(target),
        }
    }
}

impl From<ScheduleRequest> for Parsed {
    fn from(request: ScheduleRequest) -> Self {
        Parsed::Operations(vec![BreakOperation::Create(request)])
    }
}

impl From<Vec<Operation>> for Parsed {
    fn from(operations: Vec<Operation>) -> Self {
        Parsed::Operations(operations.into_iter().map(BreakOperation::from).collect())
    }
}

impl From<native::Route> for Parsed {
    fn from(route: native::Route) -> Self {
        let (stream, break_id) = match route {
            native::Route::Streams => (None, None),
            native::Route::Breaks(stream) | native::Route::Policy(stream) => (Some(stream), None),
            native::Route::Break(stream, id) | native::Route::BreakEnd(stream, id) => {
                (Some(stream), Some(id))
            }
        };
        Parsed::Route { stream, break_id }
    }
}

impl From<(String, bool)> for Parsed {
    /// OvenMediaEngine's route: the stream key and whether it is `:sendEvents`.
    fn from((stream, _multiple): (String, bool)) -> Self {
        Parsed::Route {
            stream: Some(stream),
            break_id: None,
        }
    }
}

impl From<ListQuery> for Parsed {
    fn from(query: ListQuery) -> Self {
        Parsed::BreakList {
            limit: query.limit,
            cursor: query.cursor,
            state: query.state,
        }
    }
}

impl From<(usize, Option<String>)> for Parsed {
    /// The stream list's `limit` and `after`.
    fn from((limit, after): (usize, Option<String>)) -> Self {
        Parsed::StreamList { limit, after }
    }
}

/// A parser's answer: what it read, or the one-line message it refuses the input with.
pub type Outcome = Result<Parsed, String>;

/// One parser of one API style: its name (for failure reports) and the parser, which answers
/// `None` for input that cannot reach it (bytes no request target can carry).
pub type Parser = (&'static str, fn(&[u8]) -> Option<Outcome>);

/// A parser's answer without its status.
fn outcome<T: Into<Parsed>>(result: Result<T, Failure>) -> Outcome {
    result.map(Into::into).map_err(|failure| failure.message())
}

/// A request body's parser on the bytes as they are.
fn body<T: Into<Parsed>>(result: Result<T, Failure>) -> Option<Outcome> {
    Some(outcome(result))
}

/// A path's parser on the path of the bytes as a request target, as hyper hands it over
/// (validated by `http`, so no control characters or spaces).
fn path<T: Into<Parsed>>(bytes: &[u8], parse: fn(&str) -> Result<T, Failure>) -> Option<Outcome> {
    let target = PathAndQuery::try_from(bytes).ok()?;
    Some(outcome(parse(target.path())))
}

/// A query's parser on the bytes as the query of a request target.
fn query<T: Into<Parsed>>(
    bytes: &[u8],
    parse: fn(Option<&str>) -> Result<T, Failure>,
) -> Option<Outcome> {
    let target = PathAndQuery::try_from([b"/?", bytes].concat()).ok()?;
    Some(outcome(parse(target.query())))
}

/// Every request parser of every API style. A new one is one line: its name and a call of
/// `body`, `path` or `query` with a parser whose result converts into [`Parsed`] (add a
/// `From` above for a new result type).
pub const PARSERS: &[Parser] = &[
    ("native create body", |b| body(native::parse_create(b))),
    ("native route", |b| path(b, native::parse_route)),
    ("native break-list query", |b| {
        query(b, native::parse_list_query)
    }),
    ("native stream-list query", |b| {
        query(b, native::parse_streams_query)
    }),
    ("OvenMediaEngine route", |b| path(b, ome::parse_ome)),
    ("OvenMediaEngine :sendEvent body", |b| {
        body(ome::parse_body(b, false))
    }),
    ("OvenMediaEngine :sendEvents body", |b| {
        body(ome::parse_body(b, true))
    }),
];

/// The native create body's parser, on its own: every break another API style reads must be
/// one the native API can express.
pub fn native_create(body: &[u8]) -> Result<ScheduleRequest, String> {
    native::parse_create(body).map_err(|failure| failure.message())
}
