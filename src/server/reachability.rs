//! Whether the upstream answers, for `/healthz`: what the proxy's own upstream requests
//! found out, and a probe when they are too old to say.
//!
//! Any HTTP answer counts as reachable (a 404 is the packager answering); a connection that
//! could not be made, broke before an answer, or gave no answer within its deadline counts as
//! unreachable. The most recent outcome decides while it is fresh — an answer for
//! [`ANSWER_FRESH`], a failure for [`FAILURE_FRESH`], so that a recovery is seen soon; after
//! that the health check sends a probe (`HEAD` of the upstream's base path, deadline
//! [`PROBE_DEADLINE`]), one at a time, however many checks arrive.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an answer speaks for the upstream.
pub const ANSWER_FRESH: Duration = Duration::from_secs(5);

/// How long a failure speaks for the upstream (then a health check probes again).
pub const FAILURE_FRESH: Duration = Duration::from_secs(1);

/// Deadline of a health probe.
pub const PROBE_DEADLINE: Duration = Duration::from_secs(1);

/// What the health check reports about the upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// It answered recently.
    Reachable,
    /// Its last request failed, `for_ms` after its last answer (or after start-up).
    Unreachable { why: String, for_ms: u64 },
    /// Nothing recent is known: probe it.
    Unknown,
}

/// The latest outcomes, in milliseconds since the tracker was made (0: never).
#[derive(Debug)]
pub struct Reachability {
    born: Instant,
    last_answer_ms: AtomicU64,
    last_failure_ms: AtomicU64,
    failure: Mutex<String>,
    /// One probe at a time.
    pub probing: tokio::sync::Mutex<()>,
}

impl Default for Reachability {
    fn default() -> Self {
        Reachability {
            born: Instant::now(),
            last_answer_ms: AtomicU64::new(0),
            last_failure_ms: AtomicU64::new(0),
            failure: Mutex::new(String::new()),
            probing: tokio::sync::Mutex::new(()),
        }
    }
}

impl Reachability {
    /// Milliseconds since the tracker was made, at least 1 (0 means never).
    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The upstream answered (any HTTP status).
    pub fn answered(&self) {
        self.last_answer_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request to the upstream got no answer.
    pub fn failed(&self, why: &str) {
        {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            if *failure != why {
                why.clone_into(&mut failure);
            }
        }
        self.last_failure_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// What the latest outcome says.
    pub fn state(&self) -> Reach {
        self.state_at(self.now_ms())
    }

    fn state_at(&self, now: u64) -> Reach {
        let answer = self.last_answer_ms.load(Ordering::Relaxed);
        let failure = self.last_failure_ms.load(Ordering::Relaxed);
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if answer == 0 && failure == 0 {
            return Reach::Unknown;
        }
        if answer >= failure {
            if now.saturating_sub(answer) > millis(ANSWER_FRESH) {
                return Reach::Unknown;
            }
            Reach::Reachable
        } else if now.saturating_sub(failure) > millis(FAILURE_FRESH) {
            Reach::Unknown
        } else {
            Reach::Unreachable {
                why: self
                    .failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
                for_ms: now.saturating_sub(answer),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_fresh_outcome_decides() {
        let reach = Reachability::default();
        assert_eq!(reach.state_at(10), Reach::Unknown, "nothing known yet");
        reach.last_answer_ms.store(100, Ordering::Relaxed);
        assert_eq!(reach.state_at(200), Reach::Reachable);
        reach.failed("connection refused");
        reach.last_failure_ms.store(300, Ordering::Relaxed);
        assert_eq!(
            reach.state_at(400),
            Reach::Unreachable {
                why: "connection refused".to_owned(),
                for_ms: 300
            }
        );
        assert_eq!(
            reach.state_at(300 + 1_001),
            Reach::Unknown,
            "a failure is checked again after a second"
        );
        reach.last_answer_ms.store(500, Ordering::Relaxed);
        assert_eq!(reach.state_at(600), Reach::Reachable, "it answered again");
        assert_eq!(reach.state_at(500 + 5_000), Reach::Reachable);
        assert_eq!(
            reach.state_at(500 + 5_001),
            Reach::Unknown,
            "too old to say"
        );
    }
}
