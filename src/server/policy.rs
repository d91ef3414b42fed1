//! The break-policy operations every API style shares: read a stream's policy, replace it, turn
//! its breaks on or off, and report where the stream stands (the Dailymotion-style status).
//!
//! A stream without a policy of its own follows the server's default
//! ([`StreamSettings::default_policy`](super::streams::StreamSettings)); the first change
//! stores one with the stream, committed like any other change of it (compare-and-set on the
//! stream's revision, durable before the answer). The policy is enforced in
//! [`Streams::create_break`]; what is computed here is read-only.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::breaks::BreakError;
use super::stream::Stream;
use super::streams::Streams;
use crate::hls::{BreakPolicy, MAX_LIVE_BREAKS};

/// A stream's policy as the API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyAt {
    /// The policy the stream is held to.
    pub policy: BreakPolicy,
    /// Whether it is the stream's own (else the server's default).
    pub stored: bool,
}

/// Where a stream's breaks stand at its live edge (Dailymotion's `live_ad_break*` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakStatus {
    /// Whether the stream takes new breaks.
    pub enabled: bool,
    /// How many more breaks could start at the live edge before a rolling hour holds
    /// `max_per_hour` (0 when disabled). Without a cap: how many more breaks the stream's
    /// timeline can hold at all ([`MAX_LIVE_BREAKS`] minus those it holds). `None` while no live
    /// edge is known.
    pub remaining: Option<u32>,
    /// The end the current break (active, or due at the live edge) is heading for.
    pub current_end: Option<DateTime<Utc>>,
}

impl Streams {
    /// The policy of stream `key`.
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::Store`].
    pub async fn policy(&self, key: &str) -> Result<PolicyAt, BreakError> {
        let stream = self.known(key).await?;
        Ok(self.policy_at(&stream))
    }

    fn policy_at(&self, stream: &Stream) -> PolicyAt {
        let own = stream.policy();
        PolicyAt {
            policy: own.unwrap_or(self.settings().default_policy),
            stored: own.is_some(),
        }
    }

    /// Replaces the policy of stream `key` with `policy` (already validated).
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::Store`].
    pub async fn set_policy(&self, key: &str, policy: BreakPolicy) -> Result<PolicyAt, BreakError> {
        self.change_policy(key, |_| Some(policy)).await
    }

    /// Turns new breaks of stream `key` on or off, keeping the rest of its policy (the default's
    /// values are stored with it when it had none of its own). Nothing is written when the
    /// policy already says so.
    ///
    /// # Errors
    /// [`BreakError::UnknownStream`], [`BreakError::Store`].
    pub async fn set_breaks_enabled(
        &self,
        key: &str,
        enabled: bool,
    ) -> Result<PolicyAt, BreakError> {
        self.change_policy(key, |current| {
            (current.enabled != enabled).then_some(BreakPolicy { enabled, ..current })
        })
        .await
    }

    /// Commits what `change` makes of the current policy (`None`: no change).
    async fn change_policy(
        &self,
        key: &str,
        change: impl FnOnce(BreakPolicy) -> Option<BreakPolicy>,
    ) -> Result<PolicyAt, BreakError> {
        let stream = self.known(key).await?;
        let writer = stream.writer().await?;
        let current = self.policy_at(&stream);
        let Some(policy) = change(current.policy) else {
            return Ok(current);
        };
        let mut draft = stream.draft();
        draft.policy = Some(policy);
        stream.commit(self.store(), writer, draft, |_| ()).await?;
        tracing::info!(stream = %key, enabled = policy.enabled, max_per_hour = ?policy.max_per_hour, min_spacing_ms = policy.min_spacing_ms, "break policy changed");
        Ok(PolicyAt {
            policy,
            stored: true,
        })
    }

    /// Where `stream`'s breaks stand at its live edge as last seen (callers refresh it first).
    pub fn break_status(&self, stream: &Arc<Stream>) -> BreakStatus {
        let policy = self.policy_at(stream).policy;
        let state = stream.state();
        let breaks = state.timeline.breaks();
        let remaining = state.live_edge.map(|edge| {
            policy.remaining_at(edge, breaks).unwrap_or_else(|| {
                u32::try_from(MAX_LIVE_BREAKS.saturating_sub(breaks.len())).unwrap_or(u32::MAX)
            })
        });
        BreakStatus {
            enabled: policy.enabled,
            remaining,
            current_end: state.timeline.current(state.live_edge).map(|b| b.end()),
        }
    }
}
