//! Lossless HLS / LL-HLS media-playlist rewriter: inserts a stream's ad breaks as
//! `EXT-X-CUE-OUT`/`-CONT`/`-IN`, `EXT-X-DATERANGE` SCTE-35 tags and HLS Interstitials
//! (draft-pantos-hls-rfc8216bis). Which of these, [`RewriteOptions::dialect`] says: a set of
//! marker families ([`Markers`]: `cue`, `daterange`, `enhanced`, `interstitial`; `both` =
//! `cue,daterange`, the default).
//!
//! # Lossless
//! The output is the input with whole lines inserted. Every other byte stays where it was: line
//! terminators (LF or CRLF; inserted lines use the playlist's own, that of its first line),
//! comments, blank lines, unknown tags, parts, hints and reports. The only exceptions:
//! - with [`RewriteOptions::strip_upstream_markers`], upstream marker lines are removed
//!   (`EXT-X-CUE-OUT`, `-CUE-OUT-CONT`, `-CUE-IN`, `-CUE-SPAN`, `-CUE`, `EXT-OATCLS-SCTE35`,
//!   `EXT-X-ASSET`, `EXT-X-SCTE35`, `EXT-X-SPLICEPOINT-SCTE35`, and every `EXT-X-DATERANGE` with
//!   a `SCTE35-*` attribute together with later tags carrying the same ID);
//! - `CAN-SKIP-DATERANGES=YES` is withdrawn from `EXT-X-SERVER-CONTROL` (that attribute and one
//!   adjacent comma are removed from the line), in every media playlist, whatever the dialect.
//!   Our ranges are always written in full; §6.2.5.1 would require us to omit ranges added more
//!   than CAN-SKIP-UNTIL ago from v2 delta updates and to list ranges we removed in
//!   RECENTLY-REMOVED-DATERANGES. Withdrawing the attribute means compliant clients never ask
//!   for `_HLS_skip=v2`; an origin proxy forwards a client's `_HLS_skip=v2` upstream as
//!   `_HLS_skip=YES` (a plain delta, in which all date ranges are present).
//!
//! # Use
//! A packager that rewrites its own playlists uses a [`Splicer`]: it owns a stream's
//! [`Timeline`], stores what each rewrite decides inside the call, takes ad-break requests by
//! the break rules (now is the live edge, end as soon as possible, idempotency by request id),
//! and hands back every change to persist, from which [`Splicer::restore`] rebuilds it (its docs
//! have an example; `examples/packager.rs` runs a live loop with a restart).
//!
//! Underneath, [`Timeline`] holds a stream's breaks; [`rewrite`] (or [`rewrite_with`], which
//! reuses its scratch memory across calls) inserts them into one media playlist and returns the
//! values it decided in [`RewriteOutcome::decisions`]. A caller of these raw functions stores
//! those itself with [`Timeline::apply`] (and persists them, if the timeline is) before the
//! output is published, so that the next refresh and every other rendition render the same
//! tags; `RewriteOutcome` is `#[must_use]` for that reason.
//!
//! ```
//! use hlsplice::hls::{rewrite, BreakRequest, DateTime, Markers, RewriteOptions, Timeline, Utc};
//!
//! let playlist = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n\
//!     #EXT-X-PROGRAM-DATE-TIME:2026-11-21T08:00:00.000Z\n\
//!     #EXTINF:4.000,\nseg100.ts\n#EXTINF:4.000,\nseg101.ts\n#EXTINF:4.000,\nseg102.ts\n\
//!     #EXTINF:4.000,\nseg103.ts\n";
//!
//! // An 8 s break asked for at 08:00:03; it snaps to the next segment boundary, 08:00:04.
//! let mut timeline = Timeline::new();
//! let start: DateTime<Utc> = "2026-11-21T08:00:03Z".parse()?;
//! let id = timeline
//!     .add_break(BreakRequest { event_id: Some(7), start, planned_duration_ms: 8_000 })?
//!     .id;
//!
//! let options = RewriteOptions { dialect: Markers::BOTH, ..RewriteOptions::default() };
//! let mut out = Vec::new();
//! let outcome = rewrite(playlist.as_bytes(), &timeline, &options, &mut out)?;
//! // Decided once, stored before publishing: START-DATE never changes after this.
//! assert!(timeline.apply(&outcome.decisions));
//! assert_eq!(
//!     timeline.get(id).unwrap().decided_start,
//!     Some("2026-11-21T08:00:04Z".parse()?)
//! );
//!
//! let text = String::from_utf8(out)?;
//! assert!(text.contains(
//!     "#EXT-X-DATERANGE:ID=\"splice-7\",START-DATE=\"2026-11-21T08:00:04.000Z\",PLANNED-DURATION=8.000,SCTE35-OUT=0xFC30"
//! ));
//! assert!(text.contains("#EXT-X-CUE-OUT:DURATION=8.000\n#EXTINF:4.000,\nseg101.ts\n"));
//! assert!(text.contains("#EXT-X-CUE-IN\n#EXTINF:4.000,\nseg103.ts\n"));
//! // Lossless: without the inserted lines, the output is the input.
//! let kept: String = text
//!     .split_inclusive('\n')
//!     .filter(|l| !l.starts_with("#EXT-X-DATERANGE") && !l.starts_with("#EXT-X-CUE"))
//!     .collect();
//! assert_eq!(kept, playlist);
//!
//! // A refresh renders the stored values and decides nothing new.
//! let mut again = Vec::new();
//! let second = rewrite(playlist.as_bytes(), &timeline, &options, &mut again)?;
//! assert!(second.decisions.is_empty());
//! assert_eq!(again, text.as_bytes());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A stream's operator limits — breaks per rolling hour, spacing, duration range, on/off — are
//! a [`BreakPolicy`], checked on program time against the breaks a [`Timeline`] holds.
//!
//! Multivariant playlists pass through untouched. Input that is not a media playlist comes back
//! unchanged with a [`RewriteError`]; the rewriter never panics.
//!
//! # Program time
//! Segment start times come from `EXT-X-PROGRAM-DATE-TIME` (RFC 3339, RFC 8216bis §4.4.4.6, and
//! what packagers really write: `z`, `+hhmm` and `+hh` offsets, no offset (read as UTC), any
//! number of fractional digits, a lowercase `t` or a space as the separator), carried forward by
//! EXTINF and backwards from the first tag to the
//! segments before it. A tag between EXTINF and the URI (ffmpeg) belongs to that segment. A
//! playlist without any PDT is rewritten from [`RewriteOptions::pdt_anchor`] (the program time of
//! its first listed segment) and then gets an `EXT-X-PROGRAM-DATE-TIME` line before its first
//! segment, since a playlist with EXT-X-DATERANGE must have one (§4.4.5.1). Without PDT and
//! anchor, a timeline with breaks gives [`RewriteError::NoProgramTime`].
//!
//! # Timeline rules
//! - A break's start snaps to the first segment start at or after its requested time; its end to
//!   the first segment start at or after min(decided start + planned duration, requested end)
//!   and more than the tolerance after the start. "At" allows the tolerance: a boundary up to
//!   250 ms early counts, so whichever rendition decides first, the others find their matching
//!   segment. A requested time before the playlist's first segment (by more than the tolerance)
//!   is taken as already decided, unless content after it was already published
//!   ([`Publication::published_until`]): then it snaps to the first boundary after that, so a
//!   range served as still running does not vanish. Snapped values are returned in [`RewriteOutcome::decisions`]; the caller
//!   stores them with [`Timeline::apply`] before publishing the output, and from then on they are
//!   rendered as stored. Decided times are whole milliseconds and dates render as
//!   `2026-11-21T08:00:00.000Z`, so every rendition and refresh prints the same bytes.
//! - A decided time goes before the first segment starting at or after it minus the tolerance
//!   ([`RewriteOptions::tolerance_ms`], 250 ms), so renditions whose boundaries differ slightly
//!   carry it at their matching segment.
//! - CUE: `#EXT-X-CUE-OUT:DURATION=<planned>` before the break's first segment,
//!   `#EXT-X-CUE-OUT-CONT:ElapsedTime=<e>,Duration=<planned>` before every later segment in the
//!   break (also the first listed one when the break began earlier), `#EXT-X-CUE-IN` before the
//!   first segment at or after the decided end. [`RewriteOptions::cue_style`] picks the syntax
//!   of the first two ([`CueStyle`]: `DURATION=` as above, `elemental` `#EXT-X-CUE-OUT:<planned>`
//!   with the same CONT, `slash` `#EXT-X-CUE-OUT:<planned>` and `#EXT-X-CUE-OUT-CONT:<e>/<planned>`).
//!   Enhanced adds `#EXT-OATCLS-SCTE35:<base64>` before the CUE-OUT and, except in the slash
//!   style (which has no place for it), `,SCTE35=<base64>` to every CUE-OUT-CONT.
//! - DATERANGE (§4.4.5.1.1):
//!   `#EXT-X-DATERANGE:ID="…",START-DATE="…",PLANNED-DURATION=…,SCTE35-OUT=0x…` before the break's
//!   first segment, or before the playlist's first segment when it began earlier; once the decided
//!   end's segment is listed, `#EXT-X-DATERANGE:ID="…",START-DATE="…",END-DATE="…",DURATION=…,
//!   SCTE35-IN=0x…` before it. A range is written while its end is unknown or not before the
//!   first segment (§6.2.1); in a delta update, not before the skipped segments (at most
//!   SKIPPED-SEGMENTS × target duration earlier). Cancelled breaks never appear (a break can only
//!   be cancelled before its start is decided). The SCTE-35 bytes are those stored in the
//!   [`Break`].
//! - Interstitials (Appendix D; the attribute set and why in [`interstitial`]): an opening
//!   `#EXT-X-DATERANGE:ID="ad-<SCTE-35 range ID>",CLASS="com.apple.hls.interstitial",START-DATE="…",
//!   PLANNED-DURATION=…,X-ASSET-LIST="…",X-SNAP="OUT,IN",X-RESTRICT="SKIP,JUMP",CUE="ONCE"` placed
//!   as the DATERANGE OUT, and a closing tag that repeats ID, CLASS and START-DATE and adds
//!   END-DATE, DURATION and X-PLAYOUT-LIMIT, placed as the DATERANGE IN. The asset-list URI comes
//!   from [`RewriteOptions::interstitial_asset_list`] and the break's id alone; without it the
//!   family gives [`RewriteError::NoAssetList`].
//! - Breaks are decided in requested-start order, each no earlier than the decided end of the
//!   one before (a break never begins inside the previous one; one whose predecessor has no
//!   decided end yet waits).
//! - Order before one segment: inserted PDT, then per break in start order its DATERANGE OUT,
//!   DATERANGE IN, interstitial opening, interstitial closing, then its CUE tag.
//! - LL-HLS: a segment's tags go before its first line, i.e. its first `EXT-X-PART` when it has
//!   parts (§4.4.4.9), including the in-progress segment that has parts and no EXTINF yet.
//! - Delta updates (`EXT-X-SKIP`): nothing is written for skipped segments; a break that began in
//!   the skipped part is handled like one that began before the first segment.
//!
//! # Cost
//! One line scan that records segment offsets and times in reusable per-thread scratch memory,
//! then one copy of the input into the caller's buffer with the new lines spliced in. No
//! allocation per line; a steady-state call allocates only when it returns decisions. Figures,
//! with the m3u8-rs round trip and a memcpy measured in the same run, are in BENCHMARKS.md.
//!
//! # Inside
//! A rewrite runs three stages over one [`RewriteScratch`]:
//! - `scan.rs`: the playlist scan (segments, their first line and program time, header values,
//!   ranges to remove), with fast paths for the lines every segment has; `lines.rs` splits
//!   lines, `attributes.rs` reads attribute lists, `time.rs` reads and renders dates and
//!   durations. `scan_reference.rs` (tests and feature `fuzzing` only) is the same rule
//!   written plainly, line by line; property tests and the fuzz target `playlist_scan` hold the
//!   fast scan to it on generated, decorated, mutated and fuzzed playlists;
//! - `place.rs`: the timeline rules on the segment boundaries (decisions and where each break's
//!   tags go), formatting nothing;
//! - `render.rs`: the copy with the tags spliced in, the tag lines themselves in `tags.rs`.
//!
//! The public types live in `options.rs` (what to write), `interstitial.rs` (the asset-list
//! template, with the interstitial tags) and `outcome.rs` (what came back); `rewrite.rs` holds the
//! entry points, `splicer.rs` the owning type on top of them.

pub mod ads;
mod attributes;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod interstitial;
mod lines;
pub mod multivariant;
mod options;
mod outcome;
mod place;
mod policy;
mod render;
mod rewrite;
mod scan;
#[cfg(any(test, feature = "fuzzing"))]
mod scan_reference;
mod schedule;
mod splicer;
mod tags;
mod time;
mod timeline;

pub use ads::{AdAsset, AdAssets, AdDecisionTemplate, AdSource, InvalidAdSource};
pub use interstitial::{AssetListTemplate, InvalidAssetListTemplate};
pub use options::{CueStyle, Markers, RewriteOptions, UnknownCueStyle, UnknownDialect};
pub use outcome::{PlaylistKind, RewriteError, RewriteOutcome};
pub use policy::{
    BreakPolicy, HOUR_MS, MAX_PER_HOUR_LIMIT, MAX_SPACING_MS, PolicyError, PolicyLimits,
    PolicyPreset, PolicyRefusal, UnknownPreset,
};
pub use rewrite::{
    Publication, RewriteScratch, rewrite, rewrite_published, rewrite_with, rewrite_with_publication,
};
pub use schedule::{BreakTarget, Ended, RuleError, ScheduleRequest, Scheduled, Start, asap_end};
pub use splicer::{
    Applied, KEEP_ENDED_MS, MAX_RENDITIONS, Spliced, Splicer, SplicerChanges, SplicerMeta,
};
pub use timeline::{
    Break, BreakRequest, BreakState, Decision, MAX_LIVE_BREAKS, MAX_PLANNED_MS, Timeline,
    TimelineChanges, TimelineError, TimelineMeta, TimelineSnapshot, latest_time,
};

/// The date type of the API, re-exported so callers (and the fuzz crate) need not name chrono.
pub use chrono::{DateTime, Utc};
