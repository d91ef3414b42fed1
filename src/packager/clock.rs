//! Clocks that drive the packager: the system clock for `hlsplice demo`, a manual clock for tests.
//!
//! A blocking playlist reload (RFC 8216bis §6.2.5.2) waits until the clock reaches the moment the
//! requested segment or part is published. With [`SystemClock`] that is a timer; with
//! [`ManualClock`] every [`ManualClock::advance`] / [`ManualClock::set`] wakes the waiters.
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A source of "now" for the packager.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// A receiver that changes whenever the clock jumps. `None` (the default) means time flows on
    /// its own and waiters should use a timer.
    fn subscribe(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        None
    }
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Advancing it wakes blocked playlist requests.
#[derive(Debug)]
pub struct ManualClock {
    // The Mutex makes advance() read-modify-write atomic; the watch channel carries the wake-up.
    now: Mutex<DateTime<Utc>>,
    tx: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        let (tx, _rx) = watch::channel(start);
        Self {
            now: Mutex::new(start),
            tx,
        }
    }

    /// Moves the clock forward by `by` (saturating at chrono's maximum date).
    pub fn advance(&self, by: Duration) {
        let delta = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut now = self.lock();
        let next = now
            .checked_add_signed(delta)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        *now = next;
        self.tx.send_replace(next);
    }

    /// Sets the clock to `at` (it may go backwards; the packager never serves a segment twice
    /// with different tags, but a playlist may shrink).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut now = self.lock();
        *now = at;
        self.tx.send_replace(at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid time: keep going rather than panic.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn subscribe(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        Some(self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let clock = ManualClock::new(t0);
        let mut rx = clock.subscribe().expect("manual clock has a channel");
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), t0 + chrono::Duration::milliseconds(1500));
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(*rx.borrow_and_update(), clock.now());
        clock.set(t0);
        assert_eq!(clock.now(), t0);
    }
}
