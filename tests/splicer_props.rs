//! Property test of `hls::Splicer`, the type that stores decisions inside the rewrite: a live
//! window sliding across breaks in two renditions (video, and audio whose boundaries differ by
//! less than the tolerance), rewritten only through the splicer (no `Timeline::apply` anywhere),
//! with breaks scheduled before and during the stream ("now" at the live edge), ended early (as
//! soon as possible, or at a time), cancelled, the renditions rewritten in either order, with or
//! without a primary rendition, and restarts that rebuild the splicer from what was persisted
//! (through JSON, the meta persisted with every change or on every rewrite). Across all of it:
//! - every tag of a date range is published once and then repeated byte for byte, in every
//!   rendition, refresh and restart (so no attribute under an ID ever changes);
//! - no tag is ever inserted before a segment that was already published: the tags before a
//!   listed segment (other than the window's first, where §6.2.1 lets ranges come and go) are
//!   the ones it was first published with;
//! - an ID never reappears after it went, a cancelled break never appears;
//! - the earliest break, when due early enough, was published.

mod common;

use common::playlists::{PdtMode, PlaylistSpec, at, base};

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use hlsplice::hls::{
    AssetListTemplate, Break, BreakState, BreakTarget, Markers, RewriteOptions, ScheduleRequest,
    Splicer, SplicerChanges, SplicerMeta, Start,
};
use proptest::prelude::*;

const TOLERANCE_MS: i64 = 250;
const ASSET_LIST: &str = "/hlsplice/assets/live/{break_id}.json";

/// Where the packager keeps what it must not lose.
#[derive(Default)]
struct Store {
    meta: SplicerMeta,
    breaks: BTreeMap<u64, Break>,
}

impl Store {
    fn persist(&mut self, changes: SplicerChanges, every_rewrite: bool) {
        if changes.is_empty() && !every_rewrite {
            return;
        }
        self.meta = changes.meta;
        for b in changes.breaks {
            self.breaks.insert(b.id, b);
        }
        for id in changes.pruned {
            self.breaks.remove(&id);
        }
    }

    /// A restart: what was persisted, written out as JSON and read back.
    fn restore(&self, primary: Option<&str>) -> Splicer {
        let breaks: Vec<&Break> = self.breaks.values().collect();
        let json = serde_json::to_string(&(self.meta, breaks)).unwrap();
        let (meta, breaks): (SplicerMeta, Vec<Break>) = serde_json::from_str(&json).unwrap();
        let mut splicer = Splicer::restore(meta, breaks);
        splicer.set_primary(primary);
        splicer
    }
}

#[derive(Clone, Debug)]
struct BreakSpec {
    start_ms: i64,
    duration_ms: u64,
}

#[derive(Clone, Debug)]
enum EarlyEnd {
    /// `end_now` on the current break.
    Now,
    /// `end_at` the first break not ended, this long after its start.
    After(i64),
}

fn break_spec() -> impl Strategy<Value = BreakSpec> {
    (0i64..110_000, 1_000u64..40_000).prop_map(|(start_ms, duration_ms)| BreakSpec {
        start_ms: start_ms + 10_000,
        duration_ms,
    })
}

fn early_end() -> impl Strategy<Value = EarlyEnd> {
    prop_oneof![
        Just(EarlyEnd::Now),
        (1_000i64..20_000).prop_map(EarlyEnd::After)
    ]
}

fn daterange_attrs(line: &str) -> (String, BTreeMap<String, String>) {
    let list = line.strip_prefix("#EXT-X-DATERANGE:").unwrap();
    let mut attrs = BTreeMap::new();
    // Split on the commas outside quoted strings (X-SNAP="OUT,IN").
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in list.char_indices().chain([(list.len(), ',')]) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                let (k, v) = list[start..i].split_once('=').unwrap();
                attrs.insert(k.to_string(), v.to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    (attrs["ID"].trim_matches('"').to_string(), attrs)
}

fn inserted(line: &str) -> bool {
    line.starts_with("#EXT-X-DATERANGE:")
        || line.starts_with("#EXT-X-CUE")
        || line.starts_with("#EXT-OATCLS-SCTE35:")
}

/// The media sequence number a line names: a segment URI `s<msn>.m4s` or an `EXT-X-PART` with
/// URI `p<msn>.<part>.m4s` (the generator's names).
fn msn_of(line: &str) -> Option<u64> {
    if let Some(rest) = line.strip_prefix('s') {
        return rest.strip_suffix(".m4s")?.parse().ok();
    }
    let uri = line.strip_prefix("#EXT-X-PART:")?.split("URI=\"p").nth(1)?;
    uri.split('.').next()?.parse().ok()
}

/// Each listed segment (by media sequence number, in order) with the inserted lines before its
/// first line.
fn tags_per_segment(text: &str) -> Vec<(u64, Vec<String>)> {
    let mut segments: Vec<(u64, Vec<String>)> = Vec::new();
    let mut pending = Vec::new();
    for line in text.lines() {
        if inserted(line) {
            pending.push(line.to_string());
        } else if let Some(msn) = msn_of(line)
            && segments.last().is_none_or(|(last, _)| *last != msn)
        {
            segments.push((msn, std::mem::take(&mut pending)));
        }
    }
    segments
}

/// What every rendering published so far, checked as each new one comes.
#[derive(Default)]
struct Published {
    /// (range ID, closing tag) → the line as first published, in any rendition.
    tag_lines: BTreeMap<(String, bool), String>,
    /// (rendition, msn) → the inserted lines before that segment when it was first listed
    /// other than first.
    segment_tags: BTreeMap<(usize, u64), Vec<String>>,
    /// (rendition, range ID) → the refreshes it was listed in.
    seen_at: BTreeMap<(usize, String), Vec<usize>>,
    /// Each rendition's previous rendering, for the failure message.
    previous: BTreeMap<usize, String>,
}

impl Published {
    fn check(&mut self, rendition: usize, k: usize, text: &str) -> Result<(), TestCaseError> {
        for line in text.lines().filter(|l| l.starts_with("#EXT-X-DATERANGE:")) {
            let (id, attrs) = daterange_attrs(line);
            let kind = (id.clone(), attrs.contains_key("END-DATE"));
            let first = self
                .tag_lines
                .entry(kind)
                .or_insert_with(|| line.to_string());
            prop_assert_eq!(
                first.as_str(),
                line,
                "refresh {} rendition {}: a tag of {} changed",
                k,
                rendition,
                id
            );
            let seen = self.seen_at.entry((rendition, id)).or_default();
            if seen.last() != Some(&k) {
                seen.push(k);
            }
        }
        for (position, (msn, tags)) in tags_per_segment(text).into_iter().enumerate() {
            if position == 0 {
                continue;
            }
            let first = self
                .segment_tags
                .entry((rendition, msn))
                .or_insert_with(|| tags.clone());
            prop_assert_eq!(
                &*first,
                &tags,
                "refresh {} rendition {}: the tags before segment {}, already published, changed\n\
                 before:\n{}\nnow:\n{}",
                k,
                rendition,
                msn,
                self.previous.get(&rendition).map_or("", String::as_str),
                text
            );
        }
        self.previous.insert(rendition, text.to_owned());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sliding_window_through_the_splicer_never_changes_a_published_tag(
        durations in prop::collection::vec(1_500i64..6_000, 30..40),
        jitter in prop::collection::vec(-100i64..100, 40),
        window in 3usize..8,
        breaks in prop::collection::vec(break_spec(), 1..4),
        now_break in prop::option::of((0usize..30, 1_000u64..30_000)),
        early in prop::option::of((0usize..30, early_end())),
        cancel_at in prop::option::of(0usize..30),
        restarts in prop::collection::btree_set(1usize..35, 0..4),
        shuffled in any::<bool>(),
        audio_first in prop::collection::vec(any::<bool>(), 40),
        with_primary in any::<bool>(),
        persist_every_rewrite in any::<bool>(),
        pdt in prop_oneof![
            Just(PdtMode::Every),
            Just(PdtMode::FirstOnly),
            Just(PdtMode::AfterExtinf)
        ],
        ll in any::<bool>(),
        interstitials in any::<bool>(),
    ) {
        let mut video_starts = vec![0i64];
        for d in &durations {
            video_starts.push(video_starts.last().unwrap() + d);
        }
        let audio_starts: Vec<i64> = video_starts
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == 0 { s } else { s + jitter[i % jitter.len()] })
            .collect();
        let renditions = ["video", "audio"];
        let primary = with_primary.then_some("video");
        let dialect = if interstitials {
            Markers::BOTH | Markers::INTERSTITIAL
        } else {
            Markers::BOTH
        };

        let mut store = Store::default();
        let mut splicer = Splicer::new();
        splicer.set_primary(primary);
        // An evening's schedule, loaded before the stream is seen (no live edge: taken as is).
        for b in &breaks {
            let request = ScheduleRequest {
                start: Start::At(at(b.start_ms)),
                duration_ms: b.duration_ms,
                event_id: None,
                request_id: Some(format!("spec-{}", b.start_ms)),
                ads: None,
            };
            if let Ok(applied) = splicer.schedule(request) {
                store.persist(applied.changes, persist_every_rewrite);
            }
        }
        let mut cancelled = BTreeSet::new();
        let mut published = Published::default();
        let mut out = Vec::new();
        let n = durations.len();
        for k in 0..n.saturating_sub(window) {
            if restarts.contains(&k) {
                splicer = store.restore(primary);
            }
            if let Some((when, duration_ms)) = now_break
                && when == k
                && let Ok(applied) = splicer.schedule(ScheduleRequest {
                    start: Start::Now,
                    duration_ms,
                    event_id: None,
                    request_id: None,
                    ads: None,
                })
            {
                store.persist(applied.changes, persist_every_rewrite);
            }
            if let Some((when, how)) = &early
                && *when == k
            {
                let changes = match how {
                    EarlyEnd::Now => splicer
                        .end_now(BreakTarget::Current { event_id: None })
                        .map(|applied| applied.changes),
                    EarlyEnd::After(ms) => {
                        let open = splicer
                            .timeline()
                            .breaks()
                            .iter()
                            .find(|b| b.decided_end.is_none())
                            .map(|b| (b.id, b.start()));
                        match open {
                            Some((id, start)) => splicer
                                .end_at(id, start + Duration::milliseconds(*ms))
                                .map(|applied| applied.changes),
                            None => Ok(SplicerChanges::default()),
                        }
                    }
                };
                if let Ok(changes) = changes {
                    let gone = changes.breaks.iter().filter(|b| b.cancelled);
                    cancelled.extend(gone.map(|b| b.daterange_id.clone()));
                    store.persist(changes, persist_every_rewrite);
                }
            }
            if cancel_at == Some(k) {
                let not_started = splicer
                    .timeline()
                    .breaks()
                    .iter()
                    .find(|b| splicer.state(b.id) == Some(BreakState::Scheduled))
                    .map(|b| b.id);
                if let Some(id) = not_started {
                    let applied = splicer.cancel(id).unwrap();
                    cancelled.insert(applied.value.daterange_id.clone());
                    store.persist(applied.changes, persist_every_rewrite);
                }
            }
            let order: [usize; 2] = if shuffled && audio_first[k % audio_first.len()] {
                [1, 0]
            } else {
                [0, 1]
            };
            for r in order {
                let starts = if r == 0 { &video_starts } else { &audio_starts };
                let spec = PlaylistSpec {
                    first_msn: k as u64,
                    first_start_ms: starts[k],
                    durations_ms: (k..k + window).map(|i| starts[i + 1] - starts[i]).collect(),
                    pdt,
                    crlf: false,
                    parts_on_last: if ll { 2 } else { 0 },
                    in_progress_parts: if ll { 2 } else { 0 },
                    comments: false,
                    server_control_skip_dateranges: ll,
                };
                let (input, _) = spec.render();
                let opts = RewriteOptions {
                    dialect,
                    interstitial_asset_list: Some(AssetListTemplate::new(ASSET_LIST).unwrap()),
                    ..RewriteOptions::default()
                };
                let spliced = splicer.rewrite(renditions[r], &input, &opts, &mut out).unwrap();
                // Persisted before publishing.
                store.persist(spliced.changes, persist_every_rewrite);
                common::assert_lossless(&input, &out);
                published.check(r, k, &String::from_utf8_lossy(&out))?;
            }
        }

        for ((rendition, id), refreshes) in &published.seen_at {
            let contiguous = refreshes.windows(2).all(|w| w[1] == w[0] + 1);
            prop_assert!(
                contiguous,
                "rendition {}: {} disappeared and came back: {:?}",
                rendition,
                id,
                refreshes
            );
            let plain = id.trim_start_matches("ad-");
            prop_assert!(!cancelled.contains(plain), "cancelled {} was published", id);
        }
        // The test must exercise something: the earliest break not cancelled (no break before it
        // holds it back), due a few refreshes before the end, was published. Each restart
        // delays a decision by a refresh; so may a rendition that may not decide rewritten
        // before the primary, once per round it comes first, so the rounds must be in the
        // recommended order (primary first) or have no primary.
        let last_listed = n - 2;
        let earliest = store
            .breaks
            .values()
            .filter(|b| !b.cancelled)
            .min_by_key(|b| (b.requested_start, b.id));
        if let Some(first) = earliest
            && (primary.is_none() || !shuffled)
            && (first.requested_start - base()).num_milliseconds() + TOLERANCE_MS
                < video_starts[last_listed - restarts.len() - 2]
        {
            let id = first.daterange_id.clone();
            prop_assert!(
                published.tag_lines.contains_key(&(id.clone(), false)),
                "{} never published: {:?}; breaks as stored: {:?}",
                id,
                published.tag_lines.keys(),
                store
                    .breaks
                    .values()
                    .map(|b| (b.id, b.decided_start, b.decided_end, b.requested_end, b.cancelled))
                    .collect::<Vec<_>>()
            );
        }
    }
}
