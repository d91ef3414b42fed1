use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn req(event_id: Option<u32>, start: &str, ms: u64) -> BreakRequest {
    BreakRequest {
        event_id,
        start: t(start),
        planned_duration_ms: ms,
    }
}

fn decide(tl: &mut Timeline, id: u64, start: Option<&str>, end: Option<&str>) -> bool {
    tl.apply(&[Decision {
        break_id: id,
        start: start.map(t),
        end: end.map(t),
    }])
}

#[test]
fn add_assigns_ids_and_unique_daterange_ids() {
    let mut tl = Timeline::new();
    let v0 = tl.version();
    let a = tl
        .add_break(req(Some(7), "2026-11-21T08:00:00Z", 30_000))
        .unwrap()
        .clone();
    assert_eq!(
        (a.id, a.splice_event_id, a.daterange_id.as_str()),
        (1, 7, "splice-7")
    );
    let b = tl
        .add_break(req(Some(7), "2026-11-21T08:01:00Z", 30_000))
        .unwrap()
        .clone();
    assert_eq!((b.id, b.splice_event_id), (2, 7));
    assert_eq!(b.daterange_id, "splice-7-2");
    let c = tl
        .add_break(req(None, "2026-11-21T08:02:00Z", 30_000))
        .unwrap()
        .clone();
    assert_eq!(
        (c.splice_event_id, c.daterange_id.as_str()),
        (8, "splice-8")
    );
    // An event id below the largest used may have been used long ago: disambiguated.
    let d = tl
        .add_break(req(Some(3), "2026-11-21T08:03:00Z", 30_000))
        .unwrap()
        .clone();
    assert_eq!(d.daterange_id, "splice-3-4");
    assert!(tl.version() > v0);
    assert_eq!(tl.breaks().len(), 4);
    assert_eq!(tl.get(2), Some(&b));
    // The sections are encoded once, with the break's event id and duration.
    let out = crate::scte35::SpliceInfoSection::decode(&a.scte35_out).unwrap();
    let want = crate::scte35::splice_insert_out(
        7,
        crate::scte35::SpliceTime::Immediate,
        Some(30_000 * 90),
        true,
    );
    assert_eq!(out, want);
    let back_in = crate::scte35::SpliceInfoSection::decode(&a.scte35_in).unwrap();
    assert_eq!(
        back_in,
        crate::scte35::splice_insert_in(7, crate::scte35::SpliceTime::Immediate)
    );
    assert_ne!(a.scte35_out, a.scte35_in);
    assert_eq!(tl.get(9), None);
}

/// A DATERANGE ID is never issued twice in a stream's life, even once the break that had it
/// left the timeline: only the counters are needed, not the history.
#[test]
fn daterange_ids_never_repeat_after_pruning() {
    let mut tl = Timeline::new();
    let mut seen = std::collections::HashSet::new();
    let base = t("2026-11-21T08:00:00Z");
    for i in 0..200u32 {
        let start = base + Duration::seconds(60 * i64::from(i));
        // Event ids cycle through a few values, some repeating, some new maxima.
        let event_id = [None, Some(5), Some(i), Some(1)][i as usize % 4];
        let b = tl
            .add_break(BreakRequest {
                event_id,
                start,
                planned_duration_ms: 10_000,
            })
            .unwrap()
            .clone();
        assert!(
            seen.insert(b.daterange_id.clone()),
            "{} repeated",
            b.daterange_id
        );
        let end = start + Duration::seconds(10);
        assert!(tl.apply(&[Decision {
            break_id: b.id,
            start: Some(start),
            end: Some(end),
        }]));
        let _ = tl.take_changes();
        tl.prune(end + Duration::seconds(1));
        assert!(tl.breaks().is_empty(), "pruned at {i}");
    }
}

#[test]
fn add_refuses_overlap_and_bad_durations() {
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
        .unwrap();
    assert_eq!(
        tl.add_break(req(None, "2026-11-21T08:00:29Z", 30_000)),
        Err(TimelineError::Overlaps { id: 1 })
    );
    assert_eq!(
        tl.add_break(req(None, "2026-11-21T07:59:31Z", 30_000)),
        Err(TimelineError::Overlaps { id: 1 })
    );
    assert!(
        tl.add_break(req(None, "2026-11-21T08:00:30Z", 30_000))
            .is_ok()
    );
    assert_eq!(
        tl.add_break(req(None, "2026-11-21T09:00:00Z", 0))
            .unwrap_err(),
        TimelineError::InvalidDuration {
            planned_duration_ms: 0
        }
    );
    assert!(
        tl.add_break(req(None, "2026-11-21T09:00:00Z", MAX_PLANNED_MS + 1))
            .is_err()
    );
    // A cancelled break frees its slot.
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
        .unwrap();
    tl.cancel_break(1).unwrap();
    assert!(
        tl.add_break(req(None, "2026-11-21T08:00:10Z", 30_000))
            .is_ok()
    );
}

/// A schedule: breaks added in any order are held in the order they are decided in.
#[test]
fn breaks_are_held_in_requested_start_order() {
    let mut tl = Timeline::new();
    for (minute, id) in [(30, 1), (10, 2), (50, 3), (20, 4), (40, 5)] {
        let b = tl
            .add_break(req(None, &format!("2026-11-21T08:{minute}:00Z"), 60_000))
            .unwrap();
        assert_eq!(b.id, id);
    }
    let order: Vec<u64> = tl.breaks().iter().map(|b| b.id).collect();
    assert_eq!(order, [2, 4, 1, 5, 3]);
    tl.cancel_break(4).unwrap();
    let order: Vec<u64> = tl.breaks().iter().map(|b| b.id).collect();
    assert_eq!(order, [2, 1, 5, 3]);
}

#[test]
fn the_number_of_held_breaks_is_capped() {
    let mut tl = Timeline::new();
    let base = t("2026-11-21T08:00:00Z");
    for i in 0..MAX_LIVE_BREAKS {
        let start = base + Duration::seconds(10 * i as i64);
        tl.add_break(BreakRequest {
            event_id: None,
            start,
            planned_duration_ms: 1_000,
        })
        .unwrap();
    }
    let after = base + Duration::days(30);
    assert_eq!(
        tl.add_break(BreakRequest {
            event_id: None,
            start: after,
            planned_duration_ms: 1_000,
        })
        .unwrap_err(),
        TimelineError::TooManyBreaks {
            max: MAX_LIVE_BREAKS
        }
    );
    // Once breaks ended and left, there is room again.
    let first = tl.breaks()[0].clone();
    decide(
        &mut tl,
        first.id,
        Some("2026-11-21T08:00:00Z"),
        Some("2026-11-21T08:00:01Z"),
    );
    let _ = tl.take_changes();
    assert_eq!(tl.prune(t("2026-11-21T08:00:05Z")), 1);
    assert!(
        tl.add_break(BreakRequest {
            event_id: None,
            start: after,
            planned_duration_ms: 1_000,
        })
        .is_ok()
    );
}

#[test]
fn end_and_cancel_rules() {
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
        .unwrap();
    assert_eq!(
        tl.end_break(1, t("2026-11-21T08:00:00Z")).unwrap_err(),
        TimelineError::EndBeforeStart { id: 1 }
    );
    let v = tl.version();
    let b = tl.end_break(1, t("2026-11-21T08:00:12Z")).unwrap();
    assert_eq!(b.end_target(), t("2026-11-21T08:00:12Z"));
    assert!(tl.version() > v);
    // A late "early IN" does not extend the break.
    tl.end_break(1, t("2026-11-21T08:05:00Z")).unwrap();
    assert_eq!(tl.get(1).unwrap().end_target(), t("2026-11-21T08:00:30Z"));
    assert_eq!(
        tl.end_break(5, t("2026-11-21T08:05:00Z")).unwrap_err(),
        TimelineError::NotFound { id: 5 }
    );

    assert!(decide(&mut tl, 1, Some("2026-11-21T08:00:02Z"), None));
    assert_eq!(
        tl.cancel_break(1).unwrap_err(),
        TimelineError::AlreadyStarted { id: 1 }
    );
    assert!(decide(&mut tl, 1, None, Some("2026-11-21T08:00:32Z")));
    assert_eq!(
        tl.end_break(1, t("2026-11-21T08:00:20Z")).unwrap_err(),
        TimelineError::AlreadyEnded { id: 1 }
    );

    tl.add_break(req(None, "2026-11-21T09:00:00Z", 30_000))
        .unwrap();
    let v = tl.version();
    let cancelled = tl.cancel_break(2).unwrap();
    assert!(cancelled.cancelled);
    assert!(tl.version() > v);
    assert_eq!(tl.get(2), None, "a cancelled break leaves the timeline");
    assert_eq!(
        tl.cancel_break(2).unwrap_err(),
        TimelineError::NotFound { id: 2 }
    );
    assert_eq!(
        tl.end_break(2, t("2026-11-21T09:00:10Z")).unwrap_err(),
        TimelineError::NotFound { id: 2 }
    );
}

#[test]
fn apply_is_idempotent_and_first_value_wins() {
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
        .unwrap();
    let d = Decision {
        break_id: 1,
        start: Some(t("2026-11-21T08:00:02Z")),
        end: None,
    };
    assert!(tl.apply(std::slice::from_ref(&d)));
    let v = tl.version();
    assert!(!tl.apply(std::slice::from_ref(&d)));
    assert!(!decide(&mut tl, 1, Some("2026-11-21T08:00:04Z"), None));
    assert!(!decide(&mut tl, 42, Some("2026-11-21T08:00:04Z"), None));
    assert_eq!(tl.version(), v);
    assert_eq!(
        tl.get(1).unwrap().decided_start,
        Some(t("2026-11-21T08:00:02Z"))
    );
    assert_eq!(tl.get(1).unwrap().planned_end(), t("2026-11-21T08:00:32Z"));
}

#[test]
fn states() {
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 30_000))
        .unwrap();
    let b = tl.get(1).unwrap().clone();
    assert_eq!(b.state(None), BreakState::Scheduled);
    assert_eq!(
        b.state(Some(t("2026-11-21T07:59:00Z"))),
        BreakState::Scheduled
    );
    assert_eq!(b.state(Some(t("2026-11-21T08:00:10Z"))), BreakState::Active);
    assert_eq!(
        b.published_state(Some(t("2026-11-21T08:00:10Z"))),
        BreakState::Scheduled,
        "not published until a rendering decided its start"
    );
    decide(&mut tl, 1, Some("2026-11-21T08:00:02Z"), None);
    let b = tl.get(1).unwrap().clone();
    assert_eq!(b.state(None), BreakState::Active);
    assert_eq!(b.state(Some(t("2026-11-21T08:00:40Z"))), BreakState::Ended);
    assert_eq!(
        b.published_state(Some(t("2026-11-21T08:00:40Z"))),
        BreakState::Active
    );
    decide(&mut tl, 1, None, Some("2026-11-21T08:00:32Z"));
    assert_eq!(tl.get(1).unwrap().state(None), BreakState::Ended);
    tl.add_break(req(None, "2026-11-21T09:00:00Z", 30_000))
        .unwrap();
    let cancelled = tl.cancel_break(2).unwrap();
    assert_eq!(cancelled.state(None), BreakState::Cancelled);
    assert_eq!(cancelled.published_state(None), BreakState::Cancelled);
    let json = serde_json::to_string(&BreakState::Active).unwrap();
    assert_eq!(json, "\"active\"");
    let round: Timeline = serde_json::from_str(&serde_json::to_string(&tl).unwrap()).unwrap();
    assert_eq!(round.breaks(), tl.breaks());
    assert_eq!(round.meta(), tl.meta());
}

/// Changes name exactly the breaks that changed, as they now are; persisting them and
/// restoring gives the same timeline, which goes on numbering where it left off.
#[test]
fn changes_persisted_and_restored_give_the_same_timeline() {
    use std::collections::BTreeMap;
    let mut stored: BTreeMap<u64, Break> = BTreeMap::new();
    let mut meta = TimelineMeta::default();
    let mut persist = |tl: &mut Timeline| {
        let changes = tl.take_changes();
        meta = changes.meta;
        let ids: Vec<u64> = changes.breaks.iter().map(|b| b.id).collect();
        for b in changes.breaks {
            stored.insert(b.id, b);
        }
        ids
    };
    let mut tl = Timeline::new();
    assert!(!tl.has_changes());
    tl.add_keyed_break(
        req(Some(9), "2026-11-21T08:00:00Z", 30_000),
        Some("k1".into()),
    )
    .unwrap();
    tl.add_break(req(None, "2026-11-21T09:00:00Z", 30_000))
        .unwrap();
    tl.add_break(req(None, "2026-11-21T10:00:00Z", 30_000))
        .unwrap();
    assert!(tl.has_changes());
    assert_eq!(persist(&mut tl), [1, 2, 3]);
    assert!(!tl.has_changes());
    assert_eq!(persist(&mut tl), Vec::<u64>::new());

    decide(&mut tl, 1, Some("2026-11-21T08:00:01Z"), None);
    tl.cancel_break(3).unwrap();
    tl.end_break(2, t("2026-11-21T09:00:10Z")).unwrap();
    assert_eq!(persist(&mut tl), [1, 2, 3]);
    assert!(stored[&3].cancelled);
    assert_eq!(tl.find_request("k1").map(|b| b.id), Some(1));
    assert_eq!(tl.find_request("k2"), None);

    let restored = Timeline::restore(meta, stored.values().cloned());
    assert_eq!(restored.breaks(), tl.breaks());
    assert_eq!(restored.meta(), tl.meta());
    let mut restored = restored;
    let next = restored
        .add_break(req(None, "2026-11-21T11:00:00Z", 30_000))
        .unwrap();
    assert_eq!((next.id, next.splice_event_id), (4, 12));

    // Restoring from breaks alone (a lost meta) never reuses an id or an event id.
    let mut from_breaks = Timeline::restore(TimelineMeta::default(), stored.values().cloned());
    let next = from_breaks
        .add_break(req(None, "2026-11-21T11:00:00Z", 30_000))
        .unwrap();
    assert_eq!((next.id, next.splice_event_id), (4, 12));
}

/// Pruning lets go of ended breaks before the horizon only, keeps anything with changes not
/// yet taken, and bumps the version (renderings made before are stale).
#[test]
fn prune_keeps_what_may_still_appear() {
    let mut tl = Timeline::new();
    tl.add_break(req(None, "2026-11-21T08:00:00Z", 10_000))
        .unwrap();
    tl.add_break(req(None, "2026-11-21T08:01:00Z", 10_000))
        .unwrap();
    tl.add_break(req(None, "2026-11-21T08:02:00Z", 10_000))
        .unwrap();
    decide(
        &mut tl,
        1,
        Some("2026-11-21T08:00:00Z"),
        Some("2026-11-21T08:00:10Z"),
    );
    decide(&mut tl, 2, Some("2026-11-21T08:01:00Z"), None);
    assert_eq!(
        tl.prune(t("2026-11-21T09:00:00Z")),
        0,
        "changes not taken yet"
    );
    let _ = tl.take_changes();
    let v = tl.version();
    assert_eq!(
        tl.prune(t("2026-11-21T08:00:10Z")),
        0,
        "its end is still listed"
    );
    assert_eq!(tl.version(), v);
    assert_eq!(tl.prune(t("2026-11-21T09:00:00Z")), 1);
    assert!(tl.version() > v);
    let left: Vec<u64> = tl.breaks().iter().map(|b| b.id).collect();
    assert_eq!(left, [2, 3], "active and scheduled ones stay");
    assert_eq!(tl.meta().last_id, 3);
}

/// A break whose end would not fit in a four-digit year (the END-DATE would come out before the
/// START-DATE) is refused, and so is one before year 0000.
#[test]
fn times_a_playlist_cannot_carry_are_refused() {
    let mut tl = Timeline::new();
    for (start, ms) in [
        ("9999-12-31T23:59:59Z", 8_000),
        ("-0001-12-31T00:00:00Z", 1_000),
    ] {
        let start: DateTime<Utc> = start.parse().unwrap();
        assert_eq!(
            tl.add_break(BreakRequest {
                event_id: None,
                start,
                planned_duration_ms: ms,
            }),
            Err(TimelineError::OutOfRange { start })
        );
    }
    assert!(tl.breaks().is_empty());
    assert_eq!(tl.meta().last_id, 0, "nothing was used up");
    // The last moment that fits.
    assert!(
        tl.add_break(req(None, "9999-12-31T23:59:51.999Z", 8_000))
            .is_ok()
    );
}
