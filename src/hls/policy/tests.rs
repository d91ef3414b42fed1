use super::*;
use crate::hls::{BreakRequest, Decision, Timeline};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn secs(base: DateTime<Utc>, s: i64) -> DateTime<Utc> {
    base + Duration::seconds(s)
}

const LIMITS: PolicyLimits = PolicyLimits {
    min_duration_ms: 1_500,
    max_duration_ms: 600_000,
};

fn timeline_with(starts: &[DateTime<Utc>], ms: u64) -> Timeline {
    let mut tl = Timeline::new();
    for start in starts {
        tl.add_break(BreakRequest {
            event_id: None,
            start: *start,
            planned_duration_ms: ms,
        })
        .unwrap();
    }
    tl
}

fn capped(max: u32, spacing_ms: u64) -> BreakPolicy {
    BreakPolicy {
        max_per_hour: Some(max),
        min_spacing_ms: spacing_ms,
        ..BreakPolicy::NONE
    }
}

#[test]
fn disabled_and_duration_rules_come_first() {
    let tl = Timeline::new();
    let at = t("2026-01-01T00:00:00Z");
    let off = BreakPolicy {
        enabled: false,
        ..BreakPolicy::DAILYMOTION
    };
    let refused = off.check(at, 30_000, tl.breaks(), LIMITS).unwrap_err();
    assert_eq!(refused, PolicyRefusal::Disabled);
    assert_eq!((refused.rule(), refused.next_allowed()), ("enabled", None));
    assert_eq!(refused.retry_after_secs(), None);
    assert!(!refused.is_rate());

    // Unset, the range is the stream's 1.5 x target duration up to the server's maximum.
    let none = BreakPolicy::NONE;
    assert_eq!(
        none.check(at, 1_499, tl.breaks(), LIMITS),
        Err(PolicyRefusal::TooShort {
            duration_ms: 1_499,
            min_ms: 1_500
        })
    );
    assert!(none.check(at, 1_500, tl.breaks(), LIMITS).is_ok());
    assert!(none.check(at, 600_000, tl.breaks(), LIMITS).is_ok());
    let long = none.check(at, 600_001, tl.breaks(), LIMITS).unwrap_err();
    assert_eq!(long.rule(), "max_duration_s");
    assert!(long.to_string().contains("600.001 s"), "{long}");
    // Set, the policy's own range wins, but never beyond the server's maximum.
    let own = BreakPolicy {
        min_duration_ms: Some(1_000),
        max_duration_ms: Some(60_000),
        ..BreakPolicy::NONE
    };
    assert!(own.check(at, 1_000, tl.breaks(), LIMITS).is_ok());
    assert_eq!(
        own.check(at, 60_001, tl.breaks(), LIMITS)
            .unwrap_err()
            .rule(),
        "max_duration_s"
    );
    let server = PolicyLimits {
        max_duration_ms: 30_000,
        ..LIMITS
    };
    assert_eq!(own.duration_range(server), (1_000, 30_000));
}

#[test]
fn the_default_minimum_is_one_and_a_half_target_durations() {
    assert_eq!(PolicyLimits::min_for_target_duration(Some(1.0)), 1_500);
    assert_eq!(PolicyLimits::min_for_target_duration(Some(4.0)), 6_000);
    assert_eq!(PolicyLimits::min_for_target_duration(Some(0.3333)), 500);
    assert_eq!(PolicyLimits::min_for_target_duration(None), 0);
    assert_eq!(PolicyLimits::min_for_target_duration(Some(f64::NAN)), 0);
    assert_eq!(PolicyLimits::min_for_target_duration(Some(-2.0)), 0);
}

/// 24 breaks a minute apart fill the hour from the first: the 25th is refused, and is possible
/// exactly one hour after the first (the hour is half-open).
#[test]
fn the_twenty_fifth_break_in_an_hour_is_refused() {
    let base = t("2026-01-01T00:00:00Z");
    let starts: Vec<_> = (0..24).map(|i| secs(base, i * 60)).collect();
    let tl = timeline_with(&starts, 30_000);
    let policy = BreakPolicy::DAILYMOTION;
    let at = secs(base, 24 * 60);
    let refused = policy.check(at, 30_000, tl.breaks(), LIMITS).unwrap_err();
    assert_eq!(
        refused,
        PolicyRefusal::MaxPerHour {
            max: 24,
            start: at,
            next_allowed: secs(base, 3600),
        }
    );
    assert_eq!(refused.rule(), "max_per_hour");
    assert_eq!(refused.retry_after_secs(), Some(3600 - 24 * 60));
    let text = refused.to_string();
    assert!(
        text.contains("25 breaks") && text.contains("2026-01-01T01:00:00.000Z"),
        "{text}"
    );
    assert!(
        policy
            .check(secs(base, 3600), 30_000, tl.breaks(), LIMITS)
            .is_ok()
    );
    // One millisecond early is still inside the first hour.
    let early = base + Duration::milliseconds(HOUR_MS - 1);
    assert!(policy.check(early, 30_000, tl.breaks(), LIMITS).is_err());
    assert_eq!(policy.remaining_at(at, tl.breaks()), Some(0));
    assert_eq!(policy.remaining_at(secs(base, 3600), tl.breaks()), Some(1));
}

/// A break scheduled 20 minutes ahead counts toward every hour that contains its start: a
/// break now is refused when that hour would hold one too many, even though only the later
/// start makes it so.
#[test]
fn a_break_scheduled_ahead_counts_at_its_start() {
    let base = t("2026-01-01T00:00:00Z");
    let policy = capped(3, 0);
    // Two breaks in the past half hour, one scheduled 20 minutes ahead.
    let edge = secs(base, 3600);
    let starts = [secs(edge, -1800), secs(edge, -900), secs(edge, 1200)];
    let tl = timeline_with(&starts, 30_000);
    // [edge - 30 min, edge + 30 min) would hold four starts.
    let refused = policy.check(edge, 30_000, tl.breaks(), LIMITS).unwrap_err();
    assert_eq!(refused.rule(), "max_per_hour");
    // The earliest start is once the first has left the hour: edge + 30 min (where no three
    // of the others plus it fall within an hour: -15 min, +20 min, +30 min and -30 min is out).
    assert_eq!(refused.next_allowed(), Some(secs(edge, 1800)));
    assert_eq!(refused.retry_after_secs(), Some(1800));
    // Without the scheduled one, now is fine.
    let past_only = timeline_with(&starts[..2], 30_000);
    assert!(
        policy
            .check(edge, 30_000, past_only.breaks(), LIMITS)
            .is_ok()
    );
    // A start far enough ahead of everything is fine, and a new break after the scheduled
    // one is counted against the hour around the scheduled one too.
    assert!(
        policy
            .check(secs(edge, 3600 + 1200), 30_000, tl.breaks(), LIMITS)
            .is_ok()
    );
    assert_eq!(policy.remaining_at(edge, tl.breaks()), Some(0));
    assert_eq!(policy.remaining_at(secs(edge, 1800), tl.breaks()), Some(1));
}

#[test]
fn spacing_holds_on_both_sides_and_names_the_other_break() {
    let base = t("2026-01-01T00:00:00Z");
    let policy = capped(24, 45_000);
    let ahead = secs(base, 600);
    let tl = timeline_with(&[base, ahead], 30_000);
    // 40 s after the first: too close to it.
    let refused = policy
        .check(secs(base, 40), 30_000, tl.breaks(), LIMITS)
        .unwrap_err();
    match &refused {
        PolicyRefusal::MinSpacing {
            other,
            next_allowed,
            ..
        } => {
            assert_eq!(*other, base);
            assert_eq!(*next_allowed, secs(base, 45));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(refused.retry_after_secs(), Some(5));
    // 30 s before the one scheduled ahead: too close to it; the next possible start is after
    // it (45 s past it), since nothing fits between.
    let before_ahead = secs(ahead, -30);
    let refused = policy
        .check(before_ahead, 30_000, tl.breaks(), LIMITS)
        .unwrap_err();
    assert_eq!(refused.rule(), "min_spacing_s");
    assert_eq!(refused.next_allowed(), Some(secs(ahead, 45)));
    // Exactly the spacing away is fine on either side.
    assert!(
        policy
            .check(secs(base, 45), 30_000, tl.breaks(), LIMITS)
            .is_ok()
    );
    assert!(
        policy
            .check(secs(ahead, -45), 30_000, tl.breaks(), LIMITS)
            .is_ok()
    );
}

/// The next allowed start also steps over the breaks themselves: a 60 s break after a 60 s
/// one may not start before the first ended, even when the spacing alone would allow it.
#[test]
fn the_next_allowed_start_overlaps_no_break() {
    let base = t("2026-01-01T00:00:00Z");
    let policy = capped(24, 45_000);
    let tl = timeline_with(&[base], 60_000);
    let refused = policy
        .check(secs(base, 10), 60_000, tl.breaks(), LIMITS)
        .unwrap_err();
    assert_eq!(refused.next_allowed(), Some(secs(base, 60)));
}

/// Decided starts count, not requested ones; and an early IN does not make a break count less.
#[test]
fn a_break_counts_at_its_decided_start() {
    let base = t("2026-01-01T00:00:00Z");
    let mut tl = timeline_with(&[base], 30_000);
    assert!(tl.apply(&[Decision {
        break_id: 1,
        start: Some(secs(base, 4)),
        end: Some(secs(base, 10)),
    }]));
    let policy = capped(24, 45_000);
    let refused = policy
        .check(secs(base, 48), 30_000, tl.breaks(), LIMITS)
        .unwrap_err();
    assert_eq!(refused.next_allowed(), Some(secs(base, 49)));
}

#[test]
fn no_cap_and_presets() {
    let tl = timeline_with(&[t("2026-01-01T00:00:00Z")], 30_000);
    assert_eq!(
        BreakPolicy::NONE.remaining_at(t("2026-01-01T00:00:10Z"), tl.breaks()),
        None
    );
    let off = BreakPolicy {
        enabled: false,
        ..BreakPolicy::NONE
    };
    assert_eq!(
        off.remaining_at(t("2026-01-01T00:00:10Z"), tl.breaks()),
        Some(0)
    );
    assert_eq!(
        "none".parse::<PolicyPreset>().unwrap().policy(),
        BreakPolicy::NONE
    );
    let dm = "dailymotion".parse::<PolicyPreset>().unwrap().policy();
    assert_eq!((dm.max_per_hour, dm.min_spacing_ms), (Some(24), 45_000));
    assert!("youtube".parse::<PolicyPreset>().is_err());
    assert_eq!(BreakPolicy::default(), BreakPolicy::NONE);
}

#[test]
fn values_that_do_not_fit_are_refused() {
    let max = 600_000;
    assert!(BreakPolicy::DAILYMOTION.validate(max).is_ok());
    for (bad, needle) in [
        (capped(0, 0), "max_per_hour"),
        (capped(MAX_PER_HOUR_LIMIT + 1, 0), "max_per_hour"),
        (capped(1, MAX_SPACING_MS + 1), "min_spacing_s"),
        (
            BreakPolicy {
                max_duration_ms: Some(0),
                ..BreakPolicy::NONE
            },
            "max_duration_s",
        ),
        (
            BreakPolicy {
                max_duration_ms: Some(max + 1),
                ..BreakPolicy::NONE
            },
            "max_duration_s",
        ),
        (
            BreakPolicy {
                min_duration_ms: Some(30_001),
                max_duration_ms: Some(30_000),
                ..BreakPolicy::NONE
            },
            "min_duration_s",
        ),
        (
            BreakPolicy {
                min_duration_ms: Some(max + 1),
                ..BreakPolicy::NONE
            },
            "min_duration_s",
        ),
    ] {
        let err = bad.validate(max).unwrap_err().to_string();
        assert!(err.contains(needle), "{bad:?}: {err}");
    }
}

/// Stored policies written before a field existed read with that field's default.
#[test]
fn stored_form_round_trips_and_defaults_missing_fields() {
    let json = serde_json::to_string(&BreakPolicy::DAILYMOTION).unwrap();
    assert_eq!(
        serde_json::from_str::<BreakPolicy>(&json).unwrap(),
        BreakPolicy::DAILYMOTION
    );
    assert_eq!(
        serde_json::from_str::<BreakPolicy>("{}").unwrap(),
        BreakPolicy::NONE
    );
}

/// Naive reference: a start is allowed when no other start is within the spacing, no hour
/// window holding it holds `max` others, and the break overlaps none (checked window by
/// window, second by second).
fn allowed_naive(policy: &BreakPolicy, starts: &[i64], duration_s: i64, t: i64) -> bool {
    let spacing = (policy.min_spacing_ms / 1000) as i64;
    if starts.iter().any(|s| (s - t).abs() < spacing) {
        return false;
    }
    if starts
        .iter()
        .any(|s| t < s + duration_s && *s < t + duration_s)
    {
        return false;
    }
    if let Some(max) = policy.max_per_hour {
        // Every window [w, w + 3600) holding t; the count only changes where a start enters
        // (w = s - 3599) or leaves (w = s + 1), so those and the first window are enough.
        let windows = std::iter::once(t - 3599)
            .chain(starts.iter().flat_map(|s| [s - 3599, s + 1]))
            .filter(|w| (t - 3599..=t).contains(w));
        for w in windows {
            let count = starts.iter().filter(|s| (w..w + 3600).contains(*s)).count();
            if count >= max as usize {
                return false;
            }
        }
    }
    true
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// The next allowed start is allowed by the naive rules, and no whole second between the
    /// requested start and it is (all starts are whole seconds, so every interval end is).
    #[test]
    fn next_allowed_is_the_earliest_allowed_start(
        mut offsets in proptest::collection::vec(0i64..5400, 0..12),
        max in 1u32..5,
        spacing_s in 0u64..300,
        request in 0i64..5400,
    ) {
        offsets.sort_unstable();
        let duration_s = 10i64;
        // Keep the others apart so the timeline takes them (no overlap among them).
        offsets.dedup_by(|a, b| *a - *b < duration_s);
        let base = t("2026-01-01T00:00:00Z");
        let starts: Vec<_> = offsets.iter().map(|s| secs(base, *s)).collect();
        let tl = timeline_with(&starts, (duration_s * 1000) as u64);
        let policy = capped(max, spacing_s * 1000);
        let at = secs(base, request);
        // The timeline refuses overlaps first; the policy is asked only for starts clear of them.
        let overlapping = offsets.iter().any(|s| request < s + duration_s && *s < request + duration_s);
        proptest::prop_assume!(!overlapping);
        let naive_ok = allowed_naive(&policy, &offsets, duration_s, request);
        match policy.check(at, (duration_s * 1000) as u64, tl.breaks(), LIMITS) {
            Ok(()) => proptest::prop_assert!(naive_ok),
            Err(refused) => {
                proptest::prop_assert!(!naive_ok, "{}", refused);
                let next = refused.next_allowed().unwrap();
                let next_s = (next - base).num_seconds();
                proptest::prop_assert_eq!(next, secs(base, next_s), "whole seconds");
                proptest::prop_assert!(allowed_naive(&policy, &offsets, duration_s, next_s));
                for between in request..next_s {
                    proptest::prop_assert!(!allowed_naive(&policy, &offsets, duration_s, between), "{} is allowed before {}", between, next_s);
                }
                proptest::prop_assert_eq!(refused.retry_after_secs(), Some((next_s - request) as u64));
            }
        }
    }
}
