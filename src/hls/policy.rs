//! A stream's break policy, the operator's limits on top of the timeline rules: see
//! [`BreakPolicy`].
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::timeline::{Break, MAX_LIVE_BREAKS};

/// The rolling window of [`BreakPolicy::max_per_hour`].
pub const HOUR_MS: i64 = 3_600_000;
/// Largest accepted [`BreakPolicy::max_per_hour`]: a timeline never holds more breaks.
pub const MAX_PER_HOUR_LIMIT: u32 = MAX_LIVE_BREAKS as u32;
/// Largest accepted [`BreakPolicy::min_spacing_ms`] (a day): a larger spacing is a typo.
pub const MAX_SPACING_MS: u64 = 86_400_000;

/// A stream's break policy: the operator's limits on top of the timeline rules
/// ([`crate::hls::Timeline::schedule`]), evaluated the same way for every API style.
///
/// - **`enabled`**: a disabled stream takes no new break. Breaks already in its timeline are
///   untouched (published ones end as planned; scheduled ones can still be cancelled).
/// - **Duration**: from `min_duration` to `max_duration`. Unset, the minimum is 1.5 × the
///   stream's `EXT-X-TARGETDURATION` (OvenMediaEngine's rule: a break shorter than that may not
///   cover a single segment boundary) and the maximum is the server's longest break.
/// - **`max_per_hour`**: no rolling hour — any half-open interval `[w, w + 1 h)` of program
///   time — may contain more break starts than this. A break counts at its start (its decided
///   start, else its requested one), so a break scheduled 20 minutes ahead counts toward every
///   hour that contains that start, and a new break is refused when it would make any hour
///   that contains its own start exceed the cap.
/// - **`min_spacing`**: two break starts are at least this far apart, whichever came first
///   (a break scheduled ahead keeps a new one away on both sides).
///
/// Everything is measured in program time (`EXT-X-PROGRAM-DATE-TIME`), never by a clock, and
/// counted from the breaks the timeline holds: it keeps ended breaks for at least an hour after
/// their end, so every start of the last hour is there after a restart and on every replica.
/// Cancelled breaks never aired and do not count.
///
/// A refusal names the rule ([`PolicyRefusal::rule`]) and, for the rate rules, the earliest
/// program time at or after the requested start at which a break of the same duration would be
/// accepted by every rule and would overlap no other break ([`PolicyRefusal::next_allowed`]).
///
/// ```
/// use hlsplice::hls::{BreakPolicy, BreakRequest, PolicyLimits, PolicyRefusal, Timeline};
/// use hlsplice::hls::{DateTime, Utc};
///
/// let start: DateTime<Utc> = "2026-11-21T20:00:00Z".parse()?;
/// let mut timeline = Timeline::new();
/// timeline.add_break(BreakRequest { event_id: None, start, planned_duration_ms: 30_000 })?;
///
/// // Dailymotion's rules: 24 breaks per rolling hour, starts at least 45 s apart.
/// let policy = BreakPolicy::DAILYMOTION;
/// let limits = PolicyLimits { min_duration_ms: 6_000, max_duration_ms: 600_000 };
/// let too_close = start + chrono::Duration::seconds(40);
/// let refused = policy
///     .check(too_close, 30_000, timeline.breaks(), limits)
///     .unwrap_err();
/// assert!(matches!(refused, PolicyRefusal::MinSpacing { .. }));
/// assert_eq!(refused.rule(), "min_spacing_s");
/// // The next start may be 45 s after the one at 20:00, at 20:00:45.
/// assert_eq!(refused.next_allowed(), Some("2026-11-21T20:00:45Z".parse()?));
/// assert_eq!(refused.retry_after_secs(), Some(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakPolicy {
    /// Most break starts in any rolling hour; `None`: no cap.
    #[serde(default)]
    pub max_per_hour: Option<u32>,
    /// Least time between two break starts, in milliseconds; 0: none.
    #[serde(default)]
    pub min_spacing_ms: u64,
    /// Shortest break, in milliseconds; `None`: 1.5 × the stream's target duration.
    #[serde(default)]
    pub min_duration_ms: Option<u64>,
    /// Longest break, in milliseconds; `None`: the server's longest break.
    #[serde(default)]
    pub max_duration_ms: Option<u64>,
    /// Whether the stream takes new breaks at all.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

impl Default for BreakPolicy {
    fn default() -> Self {
        BreakPolicy::NONE
    }
}

/// The named policies `--default-policy` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyPreset {
    /// [`BreakPolicy::NONE`].
    None,
    /// [`BreakPolicy::DAILYMOTION`].
    Dailymotion,
}

impl PolicyPreset {
    /// The policy this preset names.
    pub fn policy(self) -> BreakPolicy {
        match self {
            PolicyPreset::None => BreakPolicy::NONE,
            PolicyPreset::Dailymotion => BreakPolicy::DAILYMOTION,
        }
    }
}

/// A preset name that is not `none` or `dailymotion`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPreset(pub String);

impl fmt::Display for UnknownPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown break policy {:?} (expected none or dailymotion)",
            self.0
        )
    }
}

impl std::error::Error for UnknownPreset {}

impl std::str::FromStr for PolicyPreset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(PolicyPreset::None),
            "dailymotion" => Ok(PolicyPreset::Dailymotion),
            other => Err(UnknownPreset(other.to_owned())),
        }
    }
}

/// The duration limits that apply when the policy leaves them unset: they depend on the stream
/// and the server, not on the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyLimits {
    /// The shortest break when [`BreakPolicy::min_duration_ms`] is unset (see
    /// [`PolicyLimits::min_for_target_duration`]).
    pub min_duration_ms: u64,
    /// The server's longest break; [`BreakPolicy::max_duration_ms`] never goes beyond it.
    pub max_duration_ms: u64,
}

impl PolicyLimits {
    /// 1.5 × `EXT-X-TARGETDURATION` in milliseconds, rounded up; 0 while the target duration
    /// is unknown (no media playlist of the stream was read yet) or not a usable number.
    pub fn min_for_target_duration(target_duration_s: Option<f64>) -> u64 {
        match target_duration_s {
            Some(td) if td.is_finite() && td > 0.0 => {
                let ms = (td * 1500.0).ceil();
                if ms >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    ms as u64
                }
            }
            _ => 0,
        }
    }
}

/// Why a value of a policy does not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// `max_per_hour` is 0 or over [`MAX_PER_HOUR_LIMIT`].
    MaxPerHour(u32),
    /// `min_spacing` over [`MAX_SPACING_MS`].
    Spacing(u64),
    /// `max_duration` is 0 or over the server's longest break.
    MaxDuration {
        /// Asked for.
        max_duration_ms: u64,
        /// The server's longest break.
        server_max_ms: u64,
    },
    /// `min_duration` is over `max_duration` (or the server's longest break).
    MinOverMax {
        /// Asked for.
        min_duration_ms: u64,
        /// The maximum it is over.
        max_duration_ms: u64,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxPerHour(n) => write!(
                f,
                "max_per_hour must be 1 to {MAX_PER_HOUR_LIMIT} or null (no cap), got {n}; \
                 to refuse every break set enabled to false"
            ),
            Self::Spacing(ms) => write!(
                f,
                "min_spacing_s must be 0 to {} s, got {}",
                MAX_SPACING_MS / 1000,
                Seconds(*ms)
            ),
            Self::MaxDuration {
                max_duration_ms,
                server_max_ms,
            } => write!(
                f,
                "max_duration_s must be more than 0 and at most the server's longest break ({} s), got {}",
                Seconds(*server_max_ms),
                Seconds(*max_duration_ms)
            ),
            Self::MinOverMax {
                min_duration_ms,
                max_duration_ms,
            } => write!(
                f,
                "min_duration_s {} is over the maximum duration {} s",
                Seconds(*min_duration_ms),
                Seconds(*max_duration_ms)
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// Why the policy refused a break.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// The stream takes no new breaks (`enabled` is false).
    Disabled,
    /// The break is shorter than the minimum.
    TooShort {
        /// Asked for.
        duration_ms: u64,
        /// The minimum.
        min_ms: u64,
    },
    /// The break is longer than the maximum.
    TooLong {
        /// Asked for.
        duration_ms: u64,
        /// The maximum.
        max_ms: u64,
    },
    /// A rolling hour that contains the start would hold more than `max` starts.
    MaxPerHour {
        /// The cap.
        max: u32,
        /// The requested start.
        start: DateTime<Utc>,
        /// The earliest start every rule accepts.
        next_allowed: DateTime<Utc>,
    },
    /// Another break starts less than the spacing away.
    MinSpacing {
        /// The spacing, in milliseconds.
        min_spacing_ms: u64,
        /// The requested start.
        start: DateTime<Utc>,
        /// The start of the nearest break that is too close.
        other: DateTime<Utc>,
        /// The earliest start every rule accepts.
        next_allowed: DateTime<Utc>,
    },
}

impl PolicyRefusal {
    /// The policy field that refused, as the API names it: `enabled`, `min_duration_s`,
    /// `max_duration_s`, `max_per_hour` or `min_spacing_s`.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Disabled => "enabled",
            Self::TooShort { .. } => "min_duration_s",
            Self::TooLong { .. } => "max_duration_s",
            Self::MaxPerHour { .. } => "max_per_hour",
            Self::MinSpacing { .. } => "min_spacing_s",
        }
    }

    /// Whether the refusal is about when (the cap or the spacing): the same break is accepted
    /// at [`PolicyRefusal::next_allowed`].
    pub fn is_rate(&self) -> bool {
        matches!(self, Self::MaxPerHour { .. } | Self::MinSpacing { .. })
    }

    /// The earliest program time at or after the requested start at which the same break
    /// would be accepted; `None` when waiting does not help (disabled, duration).
    pub fn next_allowed(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::MaxPerHour { next_allowed, .. } | Self::MinSpacing { next_allowed, .. } => {
                Some(*next_allowed)
            }
            _ => None,
        }
    }

    /// Whole seconds from the requested start to [`PolicyRefusal::next_allowed`], rounded up
    /// (at least 1): for a break asked for at the live edge, how long to wait before asking
    /// again (HTTP `Retry-After`); for one asked for ahead, how much later to ask for it.
    pub fn retry_after_secs(&self) -> Option<u64> {
        let (start, next) = match self {
            Self::MaxPerHour {
                start,
                next_allowed,
                ..
            }
            | Self::MinSpacing {
                start,
                next_allowed,
                ..
            } => (*start, *next_allowed),
            _ => return None,
        };
        let ms = (next - start).num_milliseconds().max(1) as u64;
        Some(ms.div_ceil(1000))
    }
}

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.rule();
        match self {
            Self::Disabled => write!(
                f,
                "{rule}: ad breaks are disabled on this stream; no new break is possible until they are enabled again"
            ),
            Self::TooShort {
                duration_ms,
                min_ms,
            } => write!(
                f,
                "{rule}: a break of {} s is shorter than the minimum of {} s",
                Seconds(*duration_ms),
                Seconds(*min_ms)
            ),
            Self::TooLong {
                duration_ms,
                max_ms,
            } => write!(
                f,
                "{rule}: a break of {} s is longer than the maximum of {} s",
                Seconds(*duration_ms),
                Seconds(*max_ms)
            ),
            Self::MaxPerHour {
                max,
                start,
                next_allowed,
            } => write!(
                f,
                "{rule}: a break starting at {} would make {} breaks start within one rolling hour (at most {max}); the next break is possible at {} (program time)",
                rfc3339(*start),
                u64::from(*max) + 1,
                rfc3339(*next_allowed)
            ),
            Self::MinSpacing {
                min_spacing_ms,
                start,
                other,
                next_allowed,
            } => write!(
                f,
                "{rule}: a break starting at {} would be less than {} s from the break starting at {}; the next break is possible at {} (program time)",
                rfc3339(*start),
                Seconds(*min_spacing_ms),
                rfc3339(*other),
                rfc3339(*next_allowed)
            ),
        }
    }
}

impl std::error::Error for PolicyRefusal {}

/// Milliseconds written as seconds (`45`, `1.5`).
struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, ms) = (self.0 / 1000, self.0 % 1000);
        if ms == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{ms:03}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ms(n: u64) -> Duration {
    Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX / 1_000_000))
}

const HOUR: Duration = Duration::milliseconds(HOUR_MS);

impl BreakPolicy {
    /// No cap, no spacing, durations from the stream's and server's defaults, enabled: what a
    /// stream gets unless told otherwise.
    pub const NONE: BreakPolicy = BreakPolicy {
        max_per_hour: None,
        min_spacing_ms: 0,
        min_duration_ms: None,
        max_duration_ms: None,
        enabled: true,
    };

    /// Dailymotion's live ad-break rules: 24 breaks per rolling hour, 45 s between two.
    pub const DAILYMOTION: BreakPolicy = BreakPolicy {
        max_per_hour: Some(24),
        min_spacing_ms: 45_000,
        ..BreakPolicy::NONE
    };

    /// Checks that every value fits, given the server's longest break.
    ///
    /// # Errors
    /// [`PolicyError`] naming the first value that does not.
    pub fn validate(&self, server_max_ms: u64) -> Result<(), PolicyError> {
        if let Some(n) = self.max_per_hour
            && !(1..=MAX_PER_HOUR_LIMIT).contains(&n)
        {
            return Err(PolicyError::MaxPerHour(n));
        }
        if self.min_spacing_ms > MAX_SPACING_MS {
            return Err(PolicyError::Spacing(self.min_spacing_ms));
        }
        if let Some(max) = self.max_duration_ms
            && (max == 0 || max > server_max_ms)
        {
            return Err(PolicyError::MaxDuration {
                max_duration_ms: max,
                server_max_ms,
            });
        }
        let max = self.max_duration_ms.unwrap_or(server_max_ms);
        if let Some(min) = self.min_duration_ms
            && min > max
        {
            return Err(PolicyError::MinOverMax {
                min_duration_ms: min,
                max_duration_ms: max,
            });
        }
        Ok(())
    }

    /// The shortest and longest break this policy accepts under `limits`.
    pub fn duration_range(&self, limits: PolicyLimits) -> (u64, u64) {
        let max = self
            .max_duration_ms
            .unwrap_or(limits.max_duration_ms)
            .min(limits.max_duration_ms);
        let min = self.min_duration_ms.unwrap_or(limits.min_duration_ms);
        (min, max)
    }

    /// Whether a break of `duration_ms` starting at `start` may be added next to `others` (the
    /// breaks the timeline holds, without the new one).
    ///
    /// # Errors
    /// The first rule that refuses, in this order: `enabled`, the duration, the spacing, the
    /// hourly cap. A rate refusal carries the next start every rule accepts.
    pub fn check<'a>(
        &self,
        start: DateTime<Utc>,
        duration_ms: u64,
        others: impl IntoIterator<Item = &'a Break>,
        limits: PolicyLimits,
    ) -> Result<(), PolicyRefusal> {
        if !self.enabled {
            return Err(PolicyRefusal::Disabled);
        }
        let (min_ms, max_ms) = self.duration_range(limits);
        if duration_ms < min_ms {
            return Err(PolicyRefusal::TooShort {
                duration_ms,
                min_ms,
            });
        }
        if duration_ms > max_ms {
            return Err(PolicyRefusal::TooLong {
                duration_ms,
                max_ms,
            });
        }
        if self.max_per_hour.is_none() && self.min_spacing_ms == 0 {
            return Ok(());
        }
        let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            others.into_iter().map(|b| (b.start(), b.end())).collect();
        let mut starts: Vec<DateTime<Utc>> = spans.iter().map(|(s, _)| *s).collect();
        starts.sort_unstable();
        let spacing = ms(self.min_spacing_ms);
        let too_close = starts
            .iter()
            .filter(|s| (**s - start).abs() < spacing)
            .min_by_key(|s| (**s - start).abs());
        if let Some(other) = too_close {
            return Err(PolicyRefusal::MinSpacing {
                min_spacing_ms: self.min_spacing_ms,
                start,
                other: *other,
                next_allowed: self.next_allowed(start, duration_ms, &starts, &spans),
            });
        }
        if let Some(max) = self.max_per_hour
            && most_in_an_hour_around(&starts, start) >= max as usize
        {
            return Err(PolicyRefusal::MaxPerHour {
                max,
                start,
                next_allowed: self.next_allowed(start, duration_ms, &starts, &spans),
            });
        }
        Ok(())
    }

    /// The earliest `t >= from` at which a break of `duration_ms` keeps the spacing and the cap
    /// and overlaps none of `spans`. Each rule forbids open intervals of start times: the
    /// spacing `(s - spacing, s + spacing)` around every start `s`; the cap, for every `max`
    /// consecutive starts `first..last` less than an hour apart, `(last - 1 h, first + 1 h)`
    /// (a start in there would be the `max + 1`-th within an hour); another break `(b, e)`
    /// forbids `(b - duration, e)`. The answer is found by a sweep over those intervals.
    fn next_allowed(
        &self,
        from: DateTime<Utc>,
        duration_ms: u64,
        starts: &[DateTime<Utc>],
        spans: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> DateTime<Utc> {
        let spacing = ms(self.min_spacing_ms);
        let mut forbidden: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        if self.min_spacing_ms > 0 {
            forbidden.extend(starts.iter().map(|s| (*s - spacing, *s + spacing)));
        }
        if let Some(max) = self.max_per_hour {
            let max = max as usize;
            if max > 0 && starts.len() >= max {
                for group in starts.windows(max) {
                    let (first, last) = (group[0], group[max - 1]);
                    if last - first < HOUR {
                        forbidden.push((last - HOUR, first + HOUR));
                    }
                }
            }
        }
        let duration = ms(duration_ms);
        forbidden.extend(spans.iter().map(|(b, e)| (*b - duration, *e)));
        forbidden.retain(|(lo, hi)| lo < hi && *hi > from);
        forbidden.sort_unstable();
        let mut t = from;
        for (lo, hi) in forbidden {
            if lo >= t {
                break;
            }
            if hi > t {
                t = hi;
            }
        }
        t
    }

    /// How many more breaks could start at `at` before a rolling hour that contains it holds
    /// `max_per_hour` starts (the spacing aside): 0 when disabled, `None` without a cap.
    pub fn remaining_at<'a>(
        &self,
        at: DateTime<Utc>,
        breaks: impl IntoIterator<Item = &'a Break>,
    ) -> Option<u32> {
        if !self.enabled {
            return Some(0);
        }
        let max = self.max_per_hour?;
        let mut starts: Vec<DateTime<Utc>> = breaks.into_iter().map(Break::start).collect();
        starts.sort_unstable();
        let used = most_in_an_hour_around(&starts, at);
        Some(max.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)))
    }
}

/// The most of the sorted `starts` that one rolling hour containing `at` holds: the longest
/// run `starts[i..=j]` that, together with `at`, spans less than an hour (two pointers).
fn most_in_an_hour_around(starts: &[DateTime<Utc>], at: DateTime<Utc>) -> usize {
    let fits = |first: DateTime<Utc>, last: DateTime<Utc>| last.max(at) - first.min(at) < HOUR;
    let mut best = 0;
    let mut i = 0;
    for j in 0..starts.len() {
        while i <= j && !fits(starts[i], starts[j]) {
            i += 1;
        }
        if i <= j {
            best = best.max(j + 1 - i);
        }
    }
    best
}

#[cfg(test)]
mod tests;
