//! The shared store of replica fleets: the schema of [`super`] in one Redis server, so that
//! every `hlsplice serve --redis URL` of a fleet decides each break once.
//!
//! Keys (every key of stream `s` carries the hash tag `{s}`, so that a Redis Cluster would
//! keep all of them in one slot and a commit's script touches one slot only):
//! - `hlsplice:{s}:row`: hash, `revision` → the row's revision (decimal), `row` →
//!   [`StreamRow`] (JSON);
//! - `hlsplice:{s}:breaks`: hash, break id (20 digits, zero-padded) → [`Break`] (JSON);
//! - `hlsplice:{s}:ids`: sorted set of the break ids (score 0, so ordered by the padded id:
//!   exact for every `u64`, where a score would be exact only up to 2^53), for the history's
//!   pages;
//! - `hlsplice:{s}:live`: set of the ids loaded with the stream;
//! - `hlsplice:{s}:live_ends`: sorted set, the ended ones among them by end (ms);
//! - `hlsplice:{s}:ends`: sorted set, every ended or cancelled break by when it finished (ms);
//! - `hlsplice:{s}:requests`: hash, request id → break id;
//! - `hlsplice:{s}:request_times`: sorted set, request ids by when they were made (ms);
//! - `hlsplice:{s}:published`: the start (µs) of the newest segment any server of the fleet
//!   published, reported before it publishes it ([`BreakStore::report_published`]), expiring
//!   [`PUBLISHED_TTL`] after the last newer one; a commit that decides a start or end at or
//!   before it is refused, so no server marks content another one already served;
//! - `hlsplice:streams`: sorted set of the stream keys (score 0: ordered by key), the one key
//!   outside a stream's slot. It is written (idempotently) before a stream's first commit,
//!   apart from the commit's script: a stream whose first commit failed may be listed with
//!   nothing stored, which a listing shows as a stream without breaks.
//!
//! Program times as scores are milliseconds since the epoch: exact in a double for every date
//! chrono represents (under 2^53 ms).
//!
//! Every commit is one Lua script ([`COMMIT`], run with EVALSHA and loaded on NOSCRIPT): it
//! compares the stored revision with the one the change was made from, and only if they match
//! writes the row, the breaks and every index, and publishes `"<revision> <stream>"` on the
//! changes channel ([`RedisStore::channel`]) — all or nothing, since Redis runs a script to
//! its end before any other command, and a script's first write is where an out-of-memory
//! server refuses it (nothing is written before the revision check passed). Reads that span
//! keys are scripts too, so they see one revision.
//!
//! Durability is the server's: a commit returned once Redis applied it in memory, and it
//! survives a Redis restart as its persistence is configured (`appendonly yes` with
//! `appendfsync always`: every acknowledged commit; `everysec`: all but the last second's at
//! a power loss; RDB snapshots only: everything since the last snapshot can be lost).
//!
//! Connections: the trait's methods block (they run in `spawn_blocking`), so they use Redis's
//! synchronous client from a small pool ([`MAX_CONNECTIONS`]), each connection with read and
//! write deadlines, so a Redis that stopped answering fails an operation after
//! [`OP_TIMEOUT`] instead of holding a blocking thread. A connection that failed is dropped
//! with every idle one (they most likely failed too); new connections are tried no more often
//! than a backoff allows (at most [`RECONNECT_BACKOFF_MAX`] apart), so a fleet recovers by
//! itself within about a second of Redis coming back.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{Client, Connection, ErrorKind, RedisError, Script, ServerErrorKind};

use super::{
    BreakPage, BreakQuery, BreakStore, Commit, LoadedStream, Prune, Pruned, Reported, StoreError,
    StoreHealth, StreamRow, finished_at, millis,
};
use crate::hls::Break;

/// Most connections one server opens. Commits of one stream run one at a time (the stream's
/// writer lock), so this bounds concurrent reads and commits of different streams; a request
/// beyond it waits for a connection (up to [`POOL_WAIT`]).
pub const MAX_CONNECTIONS: usize = 16;
/// How long an operation waits for a free connection of the pool.
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// Deadline of a connection attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Deadline of one command's answer (and of sending it).
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// Shortest and longest wait between connection attempts while Redis is unreachable.
const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// See [`RECONNECT_BACKOFF_MIN`].
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Most history rows one round trip of [`BreakStore::list_breaks`] reads.
const PAGE_CHUNK: usize = 1001;

/// The index of stream keys.
const STREAMS_KEY: &str = "hlsplice:streams";

/// Compare-and-set commit. KEYS: row, breaks, ids, live, live_ends, ends, requests,
/// request_times, published. ARGV: expected revision, new revision, row JSON, channel, stream,
/// the earliest time decided (µs, or empty), then six per break: padded id, JSON, kind (`l`
/// live, `e` ended, `c` cancelled), finished at (ms or empty), request id (or empty), made at
/// (ms). Returns `{"ok", new}`, `{"conflict", stored}`, or `{"published", until}` when the fleet
/// already published a segment starting at or after the time decided.
const COMMIT: &str = r"
local stored = redis.call('HGET', KEYS[1], 'revision') or '0'
if stored ~= ARGV[1] then
  return {'conflict', stored}
end
if ARGV[6] ~= '' then
  local published = redis.call('GET', KEYS[9])
  if published and tonumber(published) >= tonumber(ARGV[6]) then
    return {'published', published}
  end
end
redis.call('HSET', KEYS[1], 'revision', ARGV[2], 'row', ARGV[3])
for i = 7, #ARGV, 6 do
  local id, json, kind, finished, rid, made =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  redis.call('HSET', KEYS[2], id, json)
  redis.call('ZADD', KEYS[3], 0, id)
  if kind == 'c' then
    redis.call('SREM', KEYS[4], id)
    redis.call('ZADD', KEYS[6], finished, id)
  elseif kind == 'e' then
    redis.call('SADD', KEYS[4], id)
    redis.call('ZADD', KEYS[5], finished, id)
    redis.call('ZADD', KEYS[6], finished, id)
  else
    redis.call('SADD', KEYS[4], id)
  end
  if rid ~= '' and redis.call('HSETNX', KEYS[7], rid, id) == 1 then
    redis.call('ZADD', KEYS[8], made, rid)
  end
end
redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. ARGV[5])
return {'ok', ARGV[2]}
";

/// What the fleet published. KEYS: published, row. ARGV: the start of the newest segment about
/// to be published (µs), how long the mark is kept without a newer one (ms). Returns
/// `{published, revision}`: the newest start any server reported, and the stored revision.
const REPORT_PUBLISHED: &str = r"
local published = redis.call('GET', KEYS[1])
if not published or tonumber(ARGV[1]) > tonumber(published) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  published = ARGV[1]
end
return {published, redis.call('HGET', KEYS[2], 'revision') or '0'}
";

/// How long the fleet's publication mark of a stream is kept without a newer one: a mark only
/// matters near the live edge, and a live stream moves it every segment. Bounds the keys a
/// stream that is no longer served leaves behind.
pub const PUBLISHED_TTL: Duration = Duration::from_secs(3600);

/// The row and the live breaks at one revision. KEYS: row, breaks, live. Returns nil for a
/// stream never committed, else the row's JSON followed by the breaks' JSON.
const LOAD: &str = r"
local row = redis.call('HGET', KEYS[1], 'row')
if not row then
  return false
end
local out = {row}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local b = redis.call('HGET', KEYS[2], id)
  if b then
    out[#out + 1] = b
  end
end
return out
";

/// The break made with a request id. KEYS: requests, breaks. ARGV: request id.
const FIND_REQUEST: &str = r"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then
  return false
end
return redis.call('HGET', KEYS[2], id) or false
";

/// Up to ARGV[2] breaks below ARGV[1] (`+` for all, else `(` and a padded id), newest first.
/// KEYS: ids, breaks. Returns id, JSON, id, JSON, ...
const PAGE: &str = r"
local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local b = redis.call('HGET', KEYS[2], id)
  if b then
    out[#out + 1] = id
    out[#out + 1] = b
  end
end
return out
";

/// Bounded removal. KEYS as [`COMMIT`]. ARGV: live before, history before, requests before
/// (ms, or empty for none), most rows. Returns {left live, deleted breaks, deleted requests,
/// more (0/1)}.
const PRUNE: &str = r"
local budget = tonumber(ARGV[4])
local left, deleted, forgotten, more = 0, 0, 0, 0
if ARGV[1] ~= '' then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. ARGV[1], 'LIMIT', 0, budget + 1)
  if #ids > budget then more = 1 end
  local n = math.min(#ids, budget)
  for i = 1, n do
    redis.call('ZREM', KEYS[5], ids[i])
    redis.call('SREM', KEYS[4], ids[i])
  end
  left = n
  budget = budget - n
end
if ARGV[2] ~= '' then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. ARGV[2], 'LIMIT', 0, budget + 1)
  if #ids > budget then more = 1 end
  local n = math.min(#ids, budget)
  for i = 1, n do
    redis.call('ZREM', KEYS[6], ids[i])
    redis.call('HDEL', KEYS[2], ids[i])
    redis.call('ZREM', KEYS[3], ids[i])
    redis.call('SREM', KEYS[4], ids[i])
    redis.call('ZREM', KEYS[5], ids[i])
  end
  deleted = n
  budget = budget - n
end
if ARGV[3] ~= '' then
  local rids = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', '(' .. ARGV[3], 'LIMIT', 0, budget + 1)
  if #rids > budget then more = 1 end
  local n = math.min(#rids, budget)
  for i = 1, n do
    redis.call('ZREM', KEYS[8], rids[i])
    redis.call('HDEL', KEYS[7], rids[i])
  end
  forgotten = n
end
return {left, deleted, forgotten, more}
";

/// A change another replica (or this one) committed, as published on the changes channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The stream.
    pub stream: String,
    /// Its revision after the change.
    pub revision: u64,
}

impl Change {
    /// Reads a message of the changes channel (`"<revision> <stream>"`).
    pub fn parse(payload: &str) -> Option<Change> {
        let (revision, stream) = payload.split_once(' ')?;
        Some(Change {
            stream: stream.to_owned(),
            revision: revision.parse().ok()?,
        })
    }
}

/// The per-stream keys, in the order the scripts take them.
struct Keys([String; 9]);

impl Keys {
    fn of(stream: &str) -> Keys {
        let key = |name: &str| format!("hlsplice:{{{stream}}}:{name}");
        Keys([
            key("row"),
            key("breaks"),
            key("ids"),
            key("live"),
            key("live_ends"),
            key("ends"),
            key("requests"),
            key("request_times"),
            key("published"),
        ])
    }

    fn row(&self) -> &str {
        &self.0[0]
    }
    fn published(&self) -> &str {
        &self.0[8]
    }
    fn breaks(&self) -> &str {
        &self.0[1]
    }
    fn ids(&self) -> &str {
        &self.0[2]
    }
    fn live(&self) -> &str {
        &self.0[3]
    }
    fn requests(&self) -> &str {
        &self.0[6]
    }
}

/// A break id as stored: 20 digits, so that byte order is numeric order.
fn padded(id: u64) -> String {
    format!("{id:020}")
}

/// The Redis break store.
pub struct RedisStore {
    client: Client,
    /// `host:port/db`, for messages (never the password).
    address: String,
    channel: String,
    pool: Mutex<Pool>,
    freed: Condvar,
    status: Mutex<Status>,
    closed: AtomicBool,
    scripts: Scripts,
}

struct Scripts {
    commit: Script,
    load: Script,
    find_request: Script,
    page: Script,
    prune: Script,
    report_published: Script,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Connection>,
    /// Connections open (idle or lent).
    open: usize,
}

#[derive(Default)]
struct Status {
    /// Since when operations fail, and the last reason.
    failing: Option<(Instant, String)>,
    /// No connection attempt before this.
    next_attempt: Option<Instant>,
    backoff: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore({})", self.address)
    }
}

/// Whether `e` says Redis cannot be used right now (rather than that a request was wrong).
fn is_transient(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return true;
    }
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        )
        | ErrorKind::AuthenticationFailed => true,
        _ => matches!(e.code(), Some("MISCONF" | "OOM" | "BUSY" | "NOAUTH")),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unavailable(format!("encoding: {e}")))
}

fn decode_break(stream: &str, bytes: &[u8]) -> Result<Break, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(&format!("a break of stream {stream:?}"), e))
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port[/db]`,
    /// `rediss://` for TLS when built with the `redis-tls` feature). Connects lazily: a Redis
    /// that is down now only makes the first operations fail.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL cannot be read.
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let client = Client::open(url).map_err(|e| {
            StoreError::Unavailable(format!("invalid Redis URL (redis://host:port/db): {e}"))
        })?;
        let info = client.get_connection_info();
        let db = info.redis_settings().db();
        let address = format!("{}/{db}", info.addr());
        Ok(RedisStore {
            client,
            address,
            // PUBLISH is not scoped by database: the channel names it, so that fleets on
            // different databases of one server do not hear each other.
            channel: format!("hlsplice:changes:{db}"),
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            status: Mutex::new(Status {
                backoff: RECONNECT_BACKOFF_MIN,
                ..Status::default()
            }),
            closed: AtomicBool::new(false),
            scripts: Scripts {
                commit: Script::new(COMMIT),
                load: Script::new(LOAD),
                find_request: Script::new(FIND_REQUEST),
                page: Script::new(PAGE),
                prune: Script::new(PRUNE),
                report_published: Script::new(REPORT_PUBLISHED),
            },
        })
    }

    /// `host:port/db` (for logs; never the password).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The channel every commit publishes its [`Change`] on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The client, for the changes subscription.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Answers `PING` (a connection works), for start-up and health probes.
    ///
    /// # Errors
    /// [`StoreError::Unreachable`].
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with_connection(|con| redis::cmd("PING").query::<String>(con).map(drop))
    }

    /// Closes every connection; later operations fail.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let mut pool = lock(&self.pool);
        pool.open -= pool.idle.len();
        pool.idle.clear();
        self.freed.notify_all();
    }

    /// Records that the subscription (or anything else outside the pool) found Redis
    /// unreachable, so health reports it.
    pub fn note_failure(&self, why: &str) {
        let mut status = lock(&self.status);
        match &mut status.failing {
            Some((_, last)) => why.clone_into(last),
            None => status.failing = Some((Instant::now(), why.to_owned())),
        }
    }

    fn note_ok(&self) {
        let mut status = lock(&self.status);
        if let Some((since, _)) = status.failing.take() {
            tracing::info!(redis = %self.address, down_ms = since.elapsed().as_millis() as u64, "Redis reachable again");
        }
        status.next_attempt = None;
        status.backoff = RECONNECT_BACKOFF_MIN;
    }

    /// A connection from the pool, or a new one.
    fn lease(&self) -> Result<Connection, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut pool = lock(&self.pool);
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("store is closed".to_owned()));
            }
            if let Some(con) = pool.idle.pop() {
                return Ok(con);
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                let connected = self.connect();
                if connected.is_err() {
                    lock(&self.pool).open -= 1;
                    self.freed.notify_one();
                }
                return connected;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unreachable(format!(
                    "all {MAX_CONNECTIONS} connections to Redis at {} stayed busy for {} ms",
                    self.address,
                    POOL_WAIT.as_millis()
                )));
            }
            pool = self
                .freed
                .wait_timeout(pool, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let now = Instant::now();
        {
            let status = lock(&self.status);
            if let (Some(next), Some((since, why))) = (status.next_attempt, &status.failing)
                && now < next
            {
                return Err(StoreError::Unreachable(format!(
                    "Redis at {} unreachable for {} ms ({why}); reconnecting",
                    self.address,
                    since.elapsed().as_millis()
                )));
            }
        }
        let connected = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .and_then(|con| {
                con.set_read_timeout(Some(OP_TIMEOUT))?;
                con.set_write_timeout(Some(OP_TIMEOUT))?;
                Ok(con)
            });
        connected.map_err(|e| {
            let why = e.to_string();
            let mut status = lock(&self.status);
            if status.failing.is_none() {
                tracing::error!(redis = %self.address, error = %why, "Redis unreachable; retrying with backoff");
                status.failing = Some((now, why.clone()));
            }
            status.backoff = (status.backoff * 2).min(RECONNECT_BACKOFF_MAX);
            status.next_attempt = Some(now + status.backoff);
            self.unreachable(&why)
        })
    }

    fn unreachable(&self, why: &str) -> StoreError {
        StoreError::Unreachable(format!("Redis at {}: {why}", self.address))
    }

    /// Runs `work` on a pooled connection. A transient failure drops the connection and every
    /// idle one and marks the store failing; a success marks it working.
    fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut con = self.lease()?;
        match work(&mut con) {
            Ok(value) => {
                self.give_back(con);
                self.note_ok();
                Ok(value)
            }
            Err(e) if is_transient(&e) => {
                let why = e.to_string();
                {
                    let mut pool = lock(&self.pool);
                    pool.open -= 1 + pool.idle.len();
                    pool.idle.clear();
                }
                drop(con);
                self.freed.notify_all();
                tracing::warn!(redis = %self.address, error = %why, "Redis operation failed");
                self.note_failure(&why);
                Err(self.unreachable(&why))
            }
            Err(e) => {
                self.give_back(con);
                Err(StoreError::Unavailable(format!(
                    "Redis at {}: {e}",
                    self.address
                )))
            }
        }
    }

    fn give_back(&self, con: Connection) {
        let mut pool = lock(&self.pool);
        if self.closed.load(Ordering::SeqCst) {
            pool.open -= 1;
        } else {
            pool.idle.push(con);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// The status health checks report.
    pub fn status(&self) -> StoreHealth {
        if self.closed.load(Ordering::SeqCst) {
            return StoreHealth::Closed;
        }
        match &lock(&self.status).failing {
            None => StoreHealth::Ok,
            Some((since, why)) => StoreHealth::Failing {
                why: format!("Redis at {}: {why}", self.address),
                for_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds as a script argument, or empty for none.
fn ms_arg(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| millis(t).to_string()).unwrap_or_default()
}

impl BreakStore for RedisStore {
    fn health(&self) -> StoreHealth {
        self.status()
    }

    fn shared(&self) -> bool {
        true
    }

    fn report_published(&self, stream: &str, until: i64) -> Result<Reported, StoreError> {
        let keys = Keys::of(stream);
        let ttl_ms = u64::try_from(PUBLISHED_TTL.as_millis()).unwrap_or(u64::MAX);
        let (published, revision): (String, String) = self.with_connection(|con| {
            self.scripts
                .report_published
                .key(keys.published())
                .key(keys.row())
                .arg(until)
                .arg(ttl_ms)
                .invoke(con)
        })?;
        Ok(Reported {
            until: published
                .parse()
                .map_err(|e| corrupt(&format!("publication mark of stream {stream:?}"), e))?,
            revision: revision
                .parse()
                .map_err(|e| corrupt(&format!("revision of stream {stream:?}"), e))?,
        })
    }

    fn load(&self, stream: &str) -> Result<Option<LoadedStream>, StoreError> {
        let keys = Keys::of(stream);
        let found: Option<Vec<Vec<u8>>> = self.with_connection(|con| {
            self.scripts
                .load
                .key(keys.row())
                .key(keys.breaks())
                .key(keys.live())
                .invoke(con)
        })?;
        let Some(values) = found else {
            return Ok(None);
        };
        let mut values = values.into_iter();
        let row = values
            .next()
            .ok_or_else(|| corrupt(&format!("row of stream {stream:?}"), "missing"))?;
        let row: StreamRow = serde_json::from_slice(&row)
            .map_err(|e| corrupt(&format!("row of stream {stream:?}"), e))?;
        let breaks = values
            .map(|b| decode_break(stream, &b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(LoadedStream { row, breaks }))
    }

    fn revision(&self, stream: &str) -> Result<u64, StoreError> {
        let keys = Keys::of(stream);
        let stored: Option<String> = self.with_connection(|con| {
            redis::cmd("HGET")
                .arg(keys.row())
                .arg("revision")
                .query(con)
        })?;
        match stored {
            None => Ok(0),
            Some(text) => text
                .parse()
                .map_err(|e| corrupt(&format!("revision of stream {stream:?}"), e)),
        }
    }

    fn stream_keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let min = after.map_or_else(|| "-".to_owned(), |after| format!("({after}"));
        self.with_connection(|con| {
            redis::cmd("ZRANGEBYLEX")
                .arg(STREAMS_KEY)
                .arg(&min)
                .arg("+")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query(con)
        })
    }

    fn commit(&self, stream: &str, commit: &Commit<'_>) -> Result<(), StoreError> {
        let keys = Keys::of(stream);
        let row = encode(commit.row)?;
        let mut invocation = self.scripts.commit.prepare_invoke();
        for key in &keys.0 {
            invocation.key(key);
        }
        invocation
            .arg(commit.expected_revision)
            .arg(commit.row.revision)
            .arg(row)
            .arg(&self.channel)
            .arg(stream)
            .arg(
                commit
                    .decides_from
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            );
        for b in commit.breaks {
            let kind = match finished_at(b) {
                Some(_) if b.cancelled => "c",
                Some(_) => "e",
                None => "l",
            };
            invocation
                .arg(padded(b.id))
                .arg(encode(b)?)
                .arg(kind)
                .arg(ms_arg(finished_at(b)))
                .arg(b.request_id.as_deref().unwrap_or(""))
                .arg(millis(b.requested_start));
        }
        let (outcome, revision): (String, String) = self.with_connection(|con| {
            if commit.expected_revision == 0 {
                // Listed before its first commit (see the module docs); ZADD of a member
                // already there changes nothing.
                redis::cmd("ZADD")
                    .arg(STREAMS_KEY)
                    .arg(0)
                    .arg(stream)
                    .query::<i64>(con)?;
            }
            invocation.invoke(con)
        })?;
        if outcome == "ok" {
            return Ok(());
        }
        if outcome == "published" {
            return Err(StoreError::Published {
                stream: stream.to_owned(),
                until: revision
                    .parse()
                    .map_err(|e| corrupt(&format!("publication mark of stream {stream:?}"), e))?,
            });
        }
        Err(StoreError::Conflict {
            stream: stream.to_owned(),
            expected: commit.expected_revision,
            stored: revision
                .parse()
                .map_err(|e| corrupt(&format!("revision of stream {stream:?}"), e))?,
        })
    }

    fn get_break(&self, stream: &str, id: u64) -> Result<Option<Break>, StoreError> {
        let keys = Keys::of(stream);
        let found: Option<Vec<u8>> = self.with_connection(|con| {
            redis::cmd("HGET")
                .arg(keys.breaks())
                .arg(padded(id))
                .query(con)
        })?;
        found.map(|b| decode_break(stream, &b)).transpose()
    }

    fn find_request(&self, stream: &str, request_id: &str) -> Result<Option<Break>, StoreError> {
        let keys = Keys::of(stream);
        let found: Option<Vec<u8>> = self.with_connection(|con| {
            self.scripts
                .find_request
                .key(keys.requests())
                .key(keys.breaks())
                .arg(request_id)
                .invoke(con)
        })?;
        found.map(|b| decode_break(stream, &b)).transpose()
    }

    fn list_breaks(
        &self,
        stream: &str,
        query: BreakQuery,
        scan: usize,
        keep: &mut dyn FnMut(&Break) -> bool,
    ) -> Result<BreakPage, StoreError> {
        let keys = Keys::of(stream);
        let chunk = (query.limit.min(scan).saturating_add(1)).clamp(2, PAGE_CHUNK);
        let mut page = BreakPage::default();
        let mut last_id = None;
        let mut examined = 0;
        let mut below = query.before_id;
        loop {
            let max = below.map_or_else(|| "+".to_owned(), |id| format!("({}", padded(id)));
            let values: Vec<Vec<u8>> = self.with_connection(|con| {
                self.scripts
                    .page
                    .key(keys.ids())
                    .key(keys.breaks())
                    .arg(&max)
                    .arg(chunk)
                    .invoke(con)
            })?;
            let got = values.len() / 2;
            let mut values = values.into_iter();
            while let (Some(id), Some(b)) = (values.next(), values.next()) {
                if page.breaks.len() >= query.limit || examined >= scan {
                    page.next_before_id = last_id;
                    return Ok(page);
                }
                let id: u64 = std::str::from_utf8(&id)
                    .ok()
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| {
                        corrupt(&format!("break ids of stream {stream:?}"), "not a number")
                    })?;
                last_id = Some(id);
                below = Some(id);
                examined += 1;
                let b = decode_break(stream, &b)?;
                if keep(&b) {
                    page.breaks.push(b);
                }
            }
            if got < chunk {
                return Ok(page);
            }
        }
    }

    fn prune(&self, stream: &str, prune: &Prune) -> Result<Pruned, StoreError> {
        let keys = Keys::of(stream);
        let mut invocation = self.scripts.prune.prepare_invoke();
        for key in &keys.0 {
            invocation.key(key);
        }
        invocation
            .arg(ms_arg(prune.live_before))
            .arg(ms_arg(prune.history_before))
            .arg(ms_arg(prune.requests_before))
            .arg(prune.max_rows);
        let (left_live, deleted_breaks, deleted_requests, more): (usize, usize, usize, u8) =
            self.with_connection(|con| invocation.invoke(con))?;
        Ok(Pruned {
            left_live,
            deleted_breaks,
            deleted_requests,
            more: more != 0,
        })
    }
}
