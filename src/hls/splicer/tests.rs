use std::collections::BTreeMap;

use super::*;
use crate::hls::{BreakRequest, Start, rewrite};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Five 4 s segments from media sequence `msn`; segment 100 starts at 08:00:00, a rendition's
/// boundaries are `shift_ms` later (audio that is not aligned exactly).
fn window_of(msn: u64, shift_ms: i64) -> Vec<u8> {
    let mut text = format!("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{msn}\n");
    for n in msn..msn + 5 {
        let ms = (n as i64 - 100) * 4000 + if n > 100 { shift_ms } else { 0 };
        let start = t("2026-11-21T08:00:00Z") + Duration::milliseconds(ms);
        text += &format!(
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:4.000,\nseg{n}.ts\n",
            start.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        );
    }
    text.into_bytes()
}

fn window(msn: u64) -> Vec<u8> {
    window_of(msn, 0)
}

fn at(start: &str, ms: u64) -> ScheduleRequest {
    ScheduleRequest {
        start: Start::At(t(start)),
        duration_ms: ms,
        event_id: None,
        request_id: None,
        ads: None,
    }
}

fn start_date(out: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().find(|l| l.starts_with("#EXT-X-DATERANGE:"))?;
    let from = line.find("START-DATE=\"")? + "START-DATE=\"".len();
    Some(line[from..from + 24].to_owned())
}

#[derive(Default)]
struct Store {
    meta: SplicerMeta,
    breaks: BTreeMap<u64, Break>,
}

impl Store {
    fn persist(&mut self, changes: SplicerChanges) {
        self.meta = changes.meta;
        for b in changes.breaks {
            self.breaks.insert(b.id, b);
        }
        for id in changes.pruned {
            self.breaks.remove(&id);
        }
    }

    fn restore(&self) -> Splicer {
        Splicer::restore(self.meta, self.breaks.values().cloned())
    }
}

/// The case that made this type: rewriting and forgetting `Timeline::apply` lets a later window
/// decide the start again, and the published START-DATE changes. Through the splicer it cannot.
#[test]
fn a_later_window_keeps_the_start_date_the_first_one_decided() {
    let opts = RewriteOptions::default();
    // Requested inside segment 101 (08:00:04 to 08:00:08): snaps to 08:00:08.
    let request = BreakRequest {
        event_id: None,
        start: t("2026-11-21T08:00:05Z"),
        planned_duration_ms: 30_000,
    };

    let mut raw = Timeline::new();
    raw.add_break(request.clone()).unwrap();
    let mut out = Vec::new();
    let _ = rewrite(&window(100), &raw, &opts, &mut out).unwrap();
    assert_eq!(
        start_date(&out).as_deref(),
        Some("2026-11-21T08:00:08.000Z")
    );
    // No apply: window 102 no longer lists the boundary it was decided on and takes the
    // requested time as decided.
    let _ = rewrite(&window(102), &raw, &opts, &mut out).unwrap();
    assert_eq!(
        start_date(&out).as_deref(),
        Some("2026-11-21T08:00:05.000Z")
    );

    let mut splicer = Splicer::new();
    // The live edge at 08:00:04.
    let _ = splicer
        .rewrite("video", &window(96), &opts, &mut out)
        .unwrap();
    let scheduled = splicer
        .schedule(at("2026-11-21T08:00:05Z", 30_000))
        .unwrap();
    assert_eq!(scheduled.changes.breaks.len(), 1);
    let first = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    assert_eq!(first.outcome.decisions.len(), 1);
    assert_eq!(
        first.changes.breaks[0].decided_start,
        Some(t("2026-11-21T08:00:08Z"))
    );
    assert_eq!(
        start_date(&out).as_deref(),
        Some("2026-11-21T08:00:08.000Z")
    );
    for msn in 101..106 {
        let later = splicer
            .rewrite("video", &window(msn), &opts, &mut out)
            .unwrap();
        assert!(
            later.changes.breaks.is_empty(),
            "window {msn} changed a break"
        );
        assert_eq!(
            start_date(&out).as_deref(),
            Some("2026-11-21T08:00:08.000Z"),
            "window {msn}"
        );
    }
}

#[test]
fn changes_name_what_was_added_decided_ended_and_pruned() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    let nothing = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    assert!(nothing.changes.is_empty());
    assert_eq!(
        nothing.changes.meta.live_edge,
        Some(t("2026-11-21T08:00:20Z"))
    );
    assert_eq!(
        nothing.changes.meta.published_until,
        Some(t("2026-11-21T08:00:16Z"))
    );

    let scheduled = splicer
        .schedule(ScheduleRequest {
            start: Start::Now,
            ..at("2026-11-21T08:00:00Z", 8_000)
        })
        .unwrap();
    let Scheduled::Created(b) = scheduled.value else {
        panic!("not created");
    };
    let id = b.id;
    assert_eq!(b.requested_start, t("2026-11-21T08:00:20Z"));
    assert_eq!(scheduled.changes.meta.timeline.last_id, id);
    assert_eq!(scheduled.changes.breaks[0].id, id);
    assert_eq!(splicer.state(id), Some(BreakState::Scheduled));

    let started = splicer
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert_eq!(
        started.changes.breaks[0].decided_start,
        Some(t("2026-11-21T08:00:20Z"))
    );
    assert_eq!(splicer.state(id), Some(BreakState::Active));
    assert_eq!(splicer.current().map(|b| b.id), Some(id));
    let refresh = splicer
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert!(refresh.changes.is_empty());

    // 08:00:20 + 8 s: segment 107.
    let _ = splicer
        .rewrite("video", &window(102), &opts, &mut out)
        .unwrap();
    let ended = splicer
        .rewrite("video", &window(103), &opts, &mut out)
        .unwrap();
    assert_eq!(
        ended.changes.breaks[0].decided_end,
        Some(t("2026-11-21T08:00:28Z"))
    );
    assert!(ended.changes.pruned.is_empty());

    // Still in the window, and then within the hour kept after the live edge: held.
    let within = splicer
        .rewrite("video", &window(1000), &opts, &mut out)
        .unwrap();
    assert!(within.changes.pruned.is_empty());
    assert!(splicer.timeline().get(id).is_some());
    // An hour and more after its end: it leaves, once.
    let later = splicer
        .rewrite("video", &window(1020), &opts, &mut out)
        .unwrap();
    assert_eq!(later.changes.pruned, vec![id]);
    assert!(splicer.timeline().get(id).is_none());
    let after = splicer
        .rewrite("video", &window(1021), &opts, &mut out)
        .unwrap();
    assert!(after.changes.is_empty());
}

#[test]
fn a_rendition_whose_window_reaches_back_holds_an_ended_break() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    let _ = splicer
        .rewrite("video", &window(96), &opts, &mut out)
        .unwrap();
    let id = match splicer
        .schedule(at("2026-11-21T08:00:04Z", 4_000))
        .unwrap()
        .value
    {
        Scheduled::Created(b) => b.id,
        Scheduled::Repeated(_) => panic!("repeated"),
    };
    let _ = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    assert!(splicer.timeline().get(id).unwrap().decided_end.is_some());
    // Audio still lists the break's segments; video is two hours on.
    let _ = splicer
        .rewrite("audio", &window(100), &opts, &mut out)
        .unwrap();
    let video = splicer
        .rewrite("video", &window(2000), &opts, &mut out)
        .unwrap();
    assert!(video.changes.pruned.is_empty());
    assert!(splicer.forget_rendition("audio"));
    assert!(!splicer.forget_rendition("audio"));
    let video = splicer
        .rewrite("video", &window(2001), &opts, &mut out)
        .unwrap();
    assert_eq!(video.changes.pruned, vec![id]);
}

#[test]
fn a_restored_splicer_renders_what_was_persisted() {
    let opts = RewriteOptions::default();
    let mut store = Store::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    store.persist(
        splicer
            .rewrite("video", &window(100), &opts, &mut out)
            .unwrap()
            .changes,
    );
    store.persist(
        splicer
            .schedule(at("2026-11-21T08:00:21Z", 12_000))
            .unwrap()
            .changes,
    );
    store.persist(
        splicer
            .rewrite("video", &window(102), &opts, &mut out)
            .unwrap()
            .changes,
    );
    let published = out.clone();
    assert!(start_date(&published).is_some());

    let mut restored = store.restore();
    assert_eq!(restored.timeline().breaks(), splicer.timeline().breaks());
    assert_eq!(restored.meta(), splicer.meta());
    let again = restored
        .rewrite("video", &window(102), &opts, &mut out)
        .unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(out, published);

    // The same through JSON, as a packager might keep it.
    let json = serde_json::to_string(&store.meta).unwrap();
    assert!(json.contains("\"last_id\":1"), "{json}");
    let meta: SplicerMeta = serde_json::from_str(&json).unwrap();
    assert_eq!(meta, store.meta);
}

/// The mark persisted last may be older than what was published: the first playlist of each
/// rendition after a restore decides nothing, and the decision comes on a boundary after what it
/// listed.
#[test]
fn after_a_restore_the_first_playlist_counts_as_published() {
    let opts = RewriteOptions::default();
    let mut store = Store::default();
    let mut splicer = Splicer::new();
    splicer.set_primary(Some("video"));
    let mut out = Vec::new();
    store.persist(
        splicer
            .rewrite("video", &window(100), &opts, &mut out)
            .unwrap()
            .changes,
    );
    store.persist(
        splicer
            .schedule(at("2026-11-21T08:00:20Z", 12_000))
            .unwrap()
            .changes,
    );
    // Audio publishes its segment 105 (08:00:20.060) without the break, which only video
    // decides; the mark that advanced is not persisted. Then a restart.
    let audio = splicer
        .rewrite("audio", &window_of(101, 60), &opts, &mut out)
        .unwrap();
    assert!(audio.outcome.undecided && audio.changes.is_empty());
    assert_eq!(start_date(&out), None);

    // Trusting the stale mark, video would decide 08:00:20, and audio's segment 105, already
    // published, would get the OUT.
    let mut trusting = store.restore();
    trusting.restored = false;
    trusting.set_primary(Some("video"));
    let decided = trusting
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert_eq!(
        decided.changes.breaks[0].decided_start,
        Some(t("2026-11-21T08:00:20Z"))
    );

    let mut restored = store.restore();
    restored.set_primary(Some("video"));
    let first = restored
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert!(first.changes.is_empty());
    assert!(first.outcome.undecided);
    assert_eq!(start_date(&out), None);
    let second = restored
        .rewrite("video", &window(102), &opts, &mut out)
        .unwrap();
    assert_eq!(
        second.changes.breaks[0].decided_start,
        Some(t("2026-11-21T08:00:24Z"))
    );
    assert_eq!(
        start_date(&out).as_deref(),
        Some("2026-11-21T08:00:24.000Z")
    );
}

#[test]
fn only_the_primary_decides_when_one_is_named() {
    let opts = RewriteOptions::default();
    let mut out = Vec::new();
    for primary in [Some("video"), None] {
        let mut splicer = Splicer::new();
        splicer.set_primary(primary);
        assert_eq!(splicer.primary(), primary);
        let _ = splicer
            .rewrite("video", &window(100), &opts, &mut out)
            .unwrap();
        let _ = splicer.schedule(at("2026-11-21T08:00:20Z", 8_000)).unwrap();
        // Audio boundaries 60 ms later than video's.
        let audio = splicer
            .rewrite("audio", &window_of(101, 60), &opts, &mut out)
            .unwrap();
        if primary.is_some() {
            assert!(audio.outcome.undecided);
            assert!(audio.changes.is_empty());
            assert_eq!(start_date(&out), None);
            let video = splicer
                .rewrite("video", &window(102), &opts, &mut out)
                .unwrap();
            // Audio published segment 105 without the break: the start moves to 106.
            assert_eq!(
                video.changes.breaks[0].decided_start,
                Some(t("2026-11-21T08:00:24Z"))
            );
        } else {
            assert_eq!(
                audio.changes.breaks[0].decided_start,
                Some(t("2026-11-21T08:00:20.060Z"))
            );
            assert_eq!(
                start_date(&out).as_deref(),
                Some("2026-11-21T08:00:20.060Z")
            );
        }
    }
}

/// Another rendition carries a decided time at its first segment starting at or after it minus
/// the tolerance. When that rendition was rewritten (and published) before the primary, its
/// matching segment may already be out: the decision goes past it.
#[test]
fn a_decision_never_lands_on_a_segment_another_rendition_published() {
    let opts = RewriteOptions::default();
    let mut out = Vec::new();
    let mut splicer = Splicer::new();
    splicer.set_primary(Some("video"));
    let _ = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    let _ = splicer
        .rewrite("audio", &window_of(100, -1), &opts, &mut out)
        .unwrap();
    let _ = splicer.schedule(at("2026-11-21T08:00:20Z", 8_000)).unwrap();
    // Audio's segment 105 starts at 08:00:19.999, 1 ms before video's, and is published first.
    let audio = splicer
        .rewrite("audio", &window_of(101, -1), &opts, &mut out)
        .unwrap();
    assert!(audio.outcome.undecided);
    assert_eq!(start_date(&out), None);
    // Video's segment 105 would carry the OUT, and so would audio's 105, already published.
    let video = splicer
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert!(video.changes.is_empty());
    let video = splicer
        .rewrite("video", &window(102), &opts, &mut out)
        .unwrap();
    assert_eq!(
        video.changes.breaks[0].decided_start,
        Some(t("2026-11-21T08:00:24Z"))
    );
    let _ = splicer
        .rewrite("audio", &window_of(102, -1), &opts, &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let out_line = text.find("#EXT-X-CUE-OUT:").unwrap();
    assert!(text[out_line..].contains("seg106.ts") && !text[out_line..].contains("seg105.ts"));
}

#[test]
fn remembered_renditions_are_bounded() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    for i in 0..MAX_RENDITIONS + 10 {
        let _ = splicer
            .rewrite(&format!("r{i}"), &window(100), &opts, &mut out)
            .unwrap();
    }
    // Seen again: moves to the back, so r10 is now the least recently rewritten.
    let _ = splicer
        .rewrite("r11", &window(100), &opts, &mut out)
        .unwrap();
    let _ = splicer
        .rewrite("new", &window(100), &opts, &mut out)
        .unwrap();
    assert_eq!(splicer.windows.len(), MAX_RENDITIONS);
    let names: Vec<&str> = splicer.windows.iter().map(|w| &*w.rendition).collect();
    assert_eq!(names.first(), Some(&"r12"));
    assert_eq!(names.last(), Some(&"new"));
    assert!(names.contains(&"r11") && !names.contains(&"r10"));
}

#[test]
fn refusals_and_bad_input_change_nothing() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    assert_eq!(
        splicer
            .schedule(ScheduleRequest {
                start: Start::Now,
                ..at("2026-11-21T08:00:00Z", 8_000)
            })
            .map(|a| a.changes),
        Err(RuleError::NoLiveEdge)
    );
    let _ = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    let _ = splicer.schedule(at("2026-11-21T08:01:00Z", 8_000)).unwrap();
    assert!(matches!(
        splicer
            .schedule(at("2026-11-21T08:01:04Z", 8_000))
            .map(|a| a.changes),
        Err(RuleError::Overlaps { .. })
    ));
    assert!(matches!(
        splicer
            .schedule(at("2026-11-21T08:00:10Z", 8_000))
            .map(|a| a.changes),
        Err(RuleError::StartBeforeLiveEdge { .. })
    ));
    let meta = splicer.meta();
    assert_eq!(
        splicer.rewrite("video", b"not a playlist", &opts, &mut out),
        Err(RewriteError::NotAPlaylist)
    );
    assert_eq!(out, b"not a playlist");
    assert_eq!(splicer.meta(), meta);
    let quiet = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();
    assert!(quiet.changes.is_empty());
}

#[test]
fn end_cancel_and_explicit_end() {
    let opts = RewriteOptions::default();
    let mut splicer = Splicer::new();
    let mut out = Vec::new();
    let _ = splicer
        .rewrite("video", &window(100), &opts, &mut out)
        .unwrap();

    // Not started: ending it cancels it, and the cancelled break is a change.
    let ahead = match splicer
        .schedule(at("2026-11-21T09:00:00Z", 8_000))
        .unwrap()
        .value
    {
        Scheduled::Created(b) => b.id,
        Scheduled::Repeated(_) => panic!("repeated"),
    };
    let ended = splicer.end_now(BreakTarget::Id(ahead)).unwrap();
    assert!(matches!(ended.value, Ended::Cancelled(_)));
    assert!(ended.changes.breaks[0].cancelled);
    assert_eq!(splicer.state(ahead), None);

    let id = match splicer
        .schedule(at("2026-11-21T08:00:20Z", 30_000))
        .unwrap()
        .value
    {
        Scheduled::Created(b) => b.id,
        Scheduled::Repeated(_) => panic!("repeated"),
    };
    let _ = splicer
        .rewrite("video", &window(101), &opts, &mut out)
        .unwrap();
    assert!(matches!(
        splicer.cancel(id).map(|a| a.changes),
        Err(RuleError::AlreadyStarted { .. })
    ));
    let asked = splicer.end_at(id, t("2026-11-21T08:00:27Z")).unwrap();
    assert_eq!(asked.value.requested_end, Some(t("2026-11-21T08:00:27Z")));
    assert_eq!(asked.changes.breaks.len(), 1);
    let ended = splicer
        .rewrite("video", &window(103), &opts, &mut out)
        .unwrap();
    assert_eq!(
        ended.changes.breaks[0].decided_end,
        Some(t("2026-11-21T08:00:28Z"))
    );
    assert!(matches!(
        splicer
            .end_at(id, t("2026-11-21T08:00:30Z"))
            .map(|a| a.changes),
        Err(RuleError::Timeline(_))
    ));

    let third = match splicer
        .schedule(at("2026-11-21T10:00:00Z", 8_000))
        .unwrap()
        .value
    {
        Scheduled::Created(b) => b.id,
        Scheduled::Repeated(_) => panic!("repeated"),
    };
    let cancelled = splicer.cancel(third).unwrap();
    assert!(cancelled.value.cancelled);
    assert_eq!(cancelled.changes.breaks[0].id, third);
}
