//! Client connections: how many may be open, how long an idle one is kept, how they end.
//!
//! - At start-up the soft open-file limit is raised to the hard limit (as Go's runtime and most
//!   servers do); `max_connections` defaults to that limit less room for upstream connections,
//!   the store and the process's own files.
//! - Past `max_connections`, the connection idle the longest (keep-alive, no request in flight)
//!   is closed to make room, as nginx does; when none is idle, the new connection is closed at
//!   once. Both are counted in `/metrics`.
//! - A keep-alive connection with no request in flight for `keepalive_idle_ms` is closed
//!   (checked on every housekeeping tick, once a second by default); a client taking longer
//!   than `header_read_timeout_ms` to send a request's headers is dropped by hyper. Closing is graceful: a response in progress (a
//!   segment streaming) finishes first.
//! - On shutdown every connection is told to close after its current request, and the server
//!   waits for them, up to `shutdown_grace_ms`.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::metrics::Metrics;

/// Raises the soft open-file limit to the hard limit. The soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// `max_connections` for an open-file limit: all of it but an eighth (at least 32, at most
/// 1,024 descriptors), kept for upstream connections (pooled and pass-through), the store, the
/// listener and the process's own files.
pub fn default_max_connections(open_files: u64) -> usize {
    let reserve = (open_files / 8).clamp(32, 1024);
    usize::try_from(open_files.saturating_sub(reserve).max(16)).unwrap_or(usize::MAX)
}

/// One open connection, as the limits see it.
pub struct Tracked {
    id: u64,
    in_flight: AtomicUsize,
    /// Milliseconds since [`Connections`] started, at the last request's start or end.
    last_active_ms: AtomicU64,
    close: Notify,
    closing: AtomicBool,
}

impl Tracked {
    /// Marks a request started; the guard marks it finished.
    pub fn request(self: &Arc<Self>, clock: &Clock) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.last_active_ms.store(clock.now_ms(), Ordering::Relaxed);
        InFlight {
            tracked: Arc::clone(self),
            clock: *clock,
        }
    }

    /// Resolves once the connection is asked to close (idle, evicted, shutting down).
    pub async fn closed(&self) {
        loop {
            let notified = self.close.notified();
            if self.closing.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn ask_to_close(&self) {
        self.closing.store(true, Ordering::Release);
        self.close.notify_waiters();
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && !self.closing.load(Ordering::Acquire)
    }
}

/// A request in flight on a connection.
pub struct InFlight {
    tracked: Arc<Tracked>,
    clock: Clock,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.tracked
            .last_active_ms
            .store(self.clock.now_ms(), Ordering::Relaxed);
        self.tracked.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Milliseconds since a start instant (cheap to copy into every guard).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Every open client connection.
pub struct Connections {
    open: Mutex<HashMap<u64, Arc<Tracked>>>,
    next_id: AtomicU64,
    max: usize,
    keepalive_idle: Duration,
    clock: Clock,
    all_closed: Notify,
    metrics: Arc<Metrics>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Connections {
    /// At most `max` open, idle ones closed after `keepalive_idle`.
    pub fn new(max: usize, keepalive_idle: Duration, metrics: Arc<Metrics>) -> Self {
        Connections {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            max: max.max(1),
            keepalive_idle,
            clock: Clock {
                start: Instant::now(),
            },
            all_closed: Notify::new(),
            metrics,
        }
    }

    /// The clock requests are stamped with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How many are open.
    pub fn count(&self) -> usize {
        lock(&self.open).len()
    }

    /// Lets a new connection in, closing the connection idle the longest when `max` are open;
    /// `None` (refuse it) when none of them is idle.
    pub fn admit(&self) -> Option<Arc<Tracked>> {
        let mut open = lock(&self.open);
        if open.len() >= self.max {
            let oldest_idle = open
                .values()
                .filter(|t| t.idle())
                .min_by_key(|t| t.last_active_ms.load(Ordering::Relaxed));
            match oldest_idle {
                Some(idle) => {
                    idle.ask_to_close();
                    self.metrics
                        .connections_closed_idle
                        .fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    self.metrics
                        .connections_refused
                        .fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked {
            id,
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(self.clock.now_ms()),
            close: Notify::new(),
            closing: AtomicBool::new(false),
        });
        open.insert(id, Arc::clone(&tracked));
        Some(tracked)
    }

    /// The connection ended.
    pub fn remove(&self, tracked: &Tracked) {
        let mut open = lock(&self.open);
        open.remove(&tracked.id);
        if open.is_empty() {
            self.all_closed.notify_waiters();
        }
    }

    /// Asks the connections idle for longer than `keepalive_idle` to close (called on every
    /// housekeeping tick).
    pub fn sweep(&self) {
        let now = self.clock.now_ms();
        let idle_ms = u64::try_from(self.keepalive_idle.as_millis()).unwrap_or(u64::MAX);
        for tracked in lock(&self.open).values() {
            if tracked.idle()
                && now.saturating_sub(tracked.last_active_ms.load(Ordering::Relaxed)) >= idle_ms
            {
                tracked.ask_to_close();
            }
        }
    }

    /// Asks every connection to close after its current request.
    pub fn close_all(&self) {
        for tracked in lock(&self.open).values() {
            tracked.ask_to_close();
        }
    }

    /// Resolves once no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_the_longest_idle_goes_else_the_new_one_is_refused() {
        let metrics = Arc::new(Metrics::default());
        let connections = Connections::new(2, Duration::from_secs(60), Arc::clone(&metrics));
        let a = connections.admit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let b = connections.admit().unwrap();
        let busy_b = b.request(connections.clock());
        // a is idle the longest: it is asked to close, c gets in.
        let c = connections.admit().unwrap();
        assert!(a.closing.load(Ordering::Acquire));
        assert!(!b.closing.load(Ordering::Acquire));
        connections.remove(&a);
        let busy_c = c.request(connections.clock());
        // Both busy: refused.
        assert!(connections.admit().is_none());
        assert_eq!(metrics.connections_refused.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.connections_closed_idle.load(Ordering::Relaxed), 1);
        drop(busy_b);
        assert!(connections.admit().is_some(), "b is idle now");
        drop(busy_c);
    }

    #[test]
    fn idle_connections_are_swept_busy_ones_kept() {
        let metrics = Arc::new(Metrics::default());
        let connections = Connections::new(10, Duration::from_millis(20), metrics);
        let idle = connections.admit().unwrap();
        let busy = connections.admit().unwrap();
        let _request = busy.request(connections.clock());
        std::thread::sleep(Duration::from_millis(30));
        connections.sweep();
        assert!(idle.closing.load(Ordering::Acquire));
        assert!(!busy.closing.load(Ordering::Acquire));
        assert_eq!(default_max_connections(1024), 1024 - 128);
        assert_eq!(default_max_connections(100), 100 - 32);
        assert_eq!(default_max_connections(1_048_576), 1_048_576 - 1024);
    }
}
