//! The render cache: rewritten playlists kept per (playlist path, upstream target), reused
//! while the upstream bytes and the stream's timeline version are the same, within one memory
//! budget for all streams.
//!
//! Serving a cached rendering allocates nothing: the body, its `Content-Length` (plain and
//! gzip) and `Cache-Control` are made once per rendering and cloned by reference count.
//!
//! Bounds: at most [`MAX_RENDERS_PER_PATH`] renderings per path (least recently used out
//! first), and all renderings of all streams together within [`RenderBudget`]'s byte limit:
//! every rendering counts its bytes (upstream copy, plain body, gzip body) from creation until
//! it is dropped, and when the total passes the limit the least recently used renderings of
//! any stream are evicted.
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

/// Most renderings kept per playlist path, one per upstream target (full reload, delta
/// update, blocking reload targets): enough for the targets live players ask for at once,
/// small enough that a stream of distinct `_HLS_msn` values cannot grow memory.
pub const MAX_RENDERS_PER_PATH: usize = 8;

/// The byte budget shared by every stream's renderings, and the coarse clock their use is
/// stamped with.
#[derive(Debug)]
pub struct RenderBudget {
    used: AtomicUsize,
    limit: usize,
    /// Advanced by the server's housekeeping (about once a second): a use is stamped with it,
    /// so a cache hit costs one relaxed load, not a clock read.
    epoch: AtomicU64,
}

impl RenderBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        RenderBudget {
            used: AtomicUsize::new(0),
            limit,
            epoch: AtomicU64::new(1),
        }
    }

    /// Bytes held by renderings now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether renderings hold more than the limit.
    pub fn over(&self) -> bool {
        self.used() > self.limit
    }

    /// The current epoch (see the field).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Advances the epoch.
    pub fn tick(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    fn add(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One encoding of a rendering, with its `Content-Length` made once: serving it clones
/// reference-counted bytes and allocates nothing.
pub struct Payload {
    /// The body.
    pub bytes: Bytes,
    /// Its length as a header value.
    pub content_length: http::HeaderValue,
}

impl Payload {
    fn new(bytes: Bytes) -> Self {
        Payload {
            content_length: http::HeaderValue::from(bytes.len()),
            bytes,
        }
    }
}

/// A rewritten playlist, rendered once per (upstream target, upstream bytes, timeline version).
pub struct Rendered {
    upstream: Bytes,
    version: u64,
    /// The body as served without compression.
    pub plain: Payload,
    gzip: OnceLock<Payload>,
    /// A media playlist (not a multivariant one).
    pub media: bool,
    /// EXT-X-ENDLIST was present.
    pub ended: bool,
    /// `max-age` for a live (non-blocking) answer: half the part target, else half the target
    /// duration.
    pub live_cache_control: http::HeaderValue,
    budget: Arc<RenderBudget>,
    /// Bytes counted against the budget (plain + upstream, then + gzip).
    counted: AtomicUsize,
}

impl Rendered {
    /// A rendering of `upstream` (fetched bytes) as `body`, counted against `budget`.
    pub fn new(
        upstream: &Bytes,
        version: u64,
        body: Bytes,
        media: bool,
        ended: bool,
        cache_basis_seconds: Option<f64>,
        budget: &Arc<RenderBudget>,
    ) -> Rendered {
        // The upstream bytes are shared with the body when the body is them (multivariant).
        let counted = if body.as_ptr() == upstream.as_ptr() {
            body.len()
        } else {
            body.len() + upstream.len()
        };
        budget.add(counted);
        Rendered {
            upstream: upstream.clone(),
            version,
            plain: Payload::new(body),
            gzip: OnceLock::new(),
            media,
            ended,
            live_cache_control: live_cache_control(cache_basis_seconds),
            budget: Arc::clone(budget),
            counted: AtomicUsize::new(counted),
        }
    }

    /// Whether this rendering is of `upstream` at timeline `version`.
    pub fn is_of(&self, upstream: &Bytes, version: u64) -> bool {
        self.version == version && self.upstream == *upstream
    }

    /// The gzip form, if it was made.
    pub fn gzip_ready(&self) -> Option<&Payload> {
        self.gzip.get()
    }

    /// The gzip form, compressed on first use and then shared. Compression is CPU work of up
    /// to a few milliseconds for the largest playlists: call it from a blocking thread.
    pub fn gzip_blocking(&self) -> &Payload {
        self.gzip.get_or_init(|| {
            use std::io::Write as _;
            let body = &self.plain.bytes;
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 3 + 64),
                flate2::Compression::default(),
            );
            // Writing into a Vec cannot fail; on the impossible error serve an empty member.
            let _ = encoder.write_all(body);
            let payload = Payload::new(Bytes::from(encoder.finish().unwrap_or_default()));
            self.budget.add(payload.bytes.len());
            self.counted
                .fetch_add(payload.bytes.len(), Ordering::Relaxed);
            payload
        })
    }

    /// Bytes this rendering holds.
    pub fn bytes(&self) -> usize {
        self.counted.load(Ordering::Relaxed)
    }
}

impl Drop for Rendered {
    fn drop(&mut self) {
        self.budget.sub(*self.counted.get_mut());
    }
}

/// `max-age=<half of basis>` in whole seconds, rounded down.
fn live_cache_control(basis: Option<f64>) -> http::HeaderValue {
    let half = match basis {
        Some(basis) if basis.is_finite() && basis > 0.0 => {
            (basis / 2.0).floor().min(86_400.0) as u64
        }
        _ => 0,
    };
    http::HeaderValue::try_from(format!("max-age={half}"))
        .unwrap_or(http::HeaderValue::from_static("max-age=0"))
}

/// One cached rendering: the target it answers, the rendering, and when it was last used.
struct Slot {
    target: Box<str>,
    rendered: Arc<Rendered>,
    used: u64,
}

/// The renderings of one playlist path, one per upstream target (the path plus the query
/// forwarded upstream), least recently used first, at most [`MAX_RENDERS_PER_PATH`]. Keyed
/// by target so that players alternating between targets of the same playlist (a full reload
/// and a delta update, blocking reloads for different parts) do not evict each other. A
/// lookup compares `&str`s and a hit reorders in place: neither allocates.
pub struct PathRenders {
    slots: Vec<Slot>,
}

impl Default for PathRenders {
    fn default() -> Self {
        PathRenders {
            slots: Vec::with_capacity(MAX_RENDERS_PER_PATH),
        }
    }
}

impl PathRenders {
    /// The rendering of `target`, marked as the most recently used at `epoch`.
    pub fn get(&mut self, target: &str, epoch: u64) -> Option<&Arc<Rendered>> {
        let i = self.slots.iter().position(|s| &*s.target == target)?;
        self.slots[i..].rotate_left(1);
        let slot = self.slots.last_mut()?;
        slot.used = epoch;
        Some(&slot.rendered)
    }

    /// Caches `rendered` for `target`, replacing its earlier rendering, else dropping the
    /// least recently used one when full.
    pub fn put(&mut self, target: &str, rendered: Arc<Rendered>, epoch: u64) {
        if let Some(i) = self.slots.iter().position(|s| &*s.target == target) {
            self.slots[i..].rotate_left(1);
            if let Some(slot) = self.slots.last_mut() {
                slot.rendered = rendered;
                slot.used = epoch;
            }
            return;
        }
        if self.slots.len() >= MAX_RENDERS_PER_PATH {
            self.slots.remove(0);
        }
        self.slots.push(Slot {
            target: target.into(),
            rendered,
            used: epoch,
        });
    }

    /// Whether the path is a media playlist (by its latest rendering).
    pub fn media(&self) -> bool {
        self.slots.last().is_some_and(|s| s.rendered.media)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// (target, last use, bytes) of each slot, least recently used first.
    pub fn usage(&self) -> impl Iterator<Item = (&str, u64, usize)> + '_ {
        self.slots
            .iter()
            .map(|s| (&*s.target, s.used, s.rendered.bytes()))
    }

    /// Drops the rendering of `target`; the bytes it held.
    pub fn evict(&mut self, target: &str) -> usize {
        match self.slots.iter().position(|s| &*s.target == target) {
            Some(i) => self.slots.remove(i).rendered.bytes(),
            None => 0,
        }
    }

    /// The targets cached, least recently used first (tests).
    #[cfg(test)]
    pub fn targets(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.target.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendering(budget: &Arc<RenderBudget>, n: usize) -> Arc<Rendered> {
        let upstream = Bytes::from(vec![b'u'; n]);
        let body = Bytes::from(vec![b'b'; n]);
        Arc::new(Rendered::new(
            &upstream,
            1,
            body,
            true,
            false,
            Some(4.0),
            budget,
        ))
    }

    #[test]
    fn every_rendering_counts_until_dropped() {
        let budget = Arc::new(RenderBudget::new(10_000));
        let a = rendering(&budget, 1000);
        assert_eq!(budget.used(), 2000);
        let gzip_len = a.gzip_blocking().bytes.len();
        assert!(gzip_len > 0);
        assert_eq!(budget.used(), 2000 + gzip_len);
        assert_eq!(a.bytes(), 2000 + gzip_len);
        let b = rendering(&budget, 5000);
        assert!(budget.over());
        drop(a);
        assert_eq!(budget.used(), 10_000);
        assert!(!budget.over());
        drop(b);
        assert_eq!(budget.used(), 0);
        assert_eq!(
            rendering(&budget, 10).live_cache_control,
            http::HeaderValue::from_static("max-age=2")
        );
    }

    #[test]
    fn a_path_keeps_its_most_recently_used_targets() {
        let budget = Arc::new(RenderBudget::new(usize::MAX));
        let mut renders = PathRenders::default();
        for i in 0..MAX_RENDERS_PER_PATH {
            renders.put(&format!("t{i}"), rendering(&budget, 10), i as u64);
        }
        assert!(renders.get("t0", 100).is_some());
        renders.put("new", rendering(&budget, 10), 101);
        let targets = renders.targets();
        assert_eq!(targets.len(), MAX_RENDERS_PER_PATH);
        assert!(!targets.contains(&"t1".to_owned()), "{targets:?}");
        assert!(targets.contains(&"t0".to_owned()), "{targets:?}");
        let usage: Vec<(String, u64)> = renders
            .usage()
            .map(|(target, used, _)| (target.to_owned(), used))
            .collect();
        assert_eq!(usage.last(), Some(&("new".to_owned(), 101)));
        assert_eq!(usage[usage.len() - 2], ("t0".to_owned(), 100));
        assert_eq!(renders.evict("t0"), 20);
        assert_eq!(renders.evict("t0"), 0);
        assert_eq!(renders.targets().len(), MAX_RENDERS_PER_PATH - 1);
    }
}
