//! Rewriter throughput against two baselines measured in the same run: a memcpy of the input
//! (the floor: `out.clear(); out.extend_from_slice(input)`) and the m3u8-rs parse + serialize
//! round trip. Three playlists, each with one active break (DATERANGE + CUE, decided values
//! stored as the proxy runs it):
//! - live_6: 6-segment live playlist (~1 KB)
//! - live_20: 20-segment live playlist (~2.5 KB)
//! - llhls_30s: LL-HLS, 4 s segments, 1 s parts, 30 s window (~8 KB)
//!
//! Each group also rewrites through `hls::Splicer` (`hlsplice_splicer_rewrite`), whose
//! bookkeeping (remembered windows, pruning, changes) comes on top of the raw rewrite.
//!
//! A fourth group, `live_20_history`, rewrites live_20 with a timeline that went through
//! 100,000 earlier breaks (a break every 20 minutes for almost four years) and holds 100 more
//! scheduled ahead, beside the same playlist with no history, in the same run: the cost of a
//! rewrite must not depend on the stream's age or its schedule.
//!
//! `cargo bench --bench rewrite -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hlsplice::hls::{
    BreakRequest, Markers, RewriteOptions, Splicer, SplicerMeta, Timeline, rewrite,
};

fn t0() -> DateTime<Utc> {
    "2026-11-21T08:00:00Z".parse().unwrap()
}

fn pdt(ms: i64) -> String {
    (t0() + Duration::milliseconds(ms))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn live(segments: usize, uri_prefix: &str) -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:480120\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n",
    );
    for i in 0..segments {
        s += &format!("#EXT-X-PROGRAM-DATE-TIME:{}\n", pdt(i as i64 * 4000));
        s += &format!(
            "#EXTINF:4.000,\n{uri_prefix}video_1080p/segment_{}.ts\n",
            480_120 + i
        );
    }
    s
}

fn llhls() -> String {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-VERSION:9\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.0,CAN-SKIP-UNTIL=24.0\n#EXT-X-PART-INF:PART-TARGET=1.0\n#EXT-X-MEDIA-SEQUENCE:480120\n#EXT-X-MAP:URI=\"video_1080p/init.mp4\"\n",
    );
    // 30 s window: 7 full segments + the in-progress one with 2 parts; parts on every segment.
    for i in 0..7 {
        s += &format!("#EXT-X-PROGRAM-DATE-TIME:{}\n", pdt(i as i64 * 4000));
        for p in 0..4 {
            let independent = if p == 0 { ",INDEPENDENT=YES" } else { "" };
            s += &format!(
                "#EXT-X-PART:DURATION=1.00000,URI=\"video_1080p/part_{}.{p}.m4s?skid=default&signature=NjZmYzFjODBfYzY3NGRlODc4Zjk1MjM1OGNmMmE3NjhiM2E2NTUyNGI1Y2JiYzMyZDU5YTFjNTQzODI2MjI5ZTllZmNh&zone=1\"{independent}\n",
                480_120 + i
            );
        }
        s += &format!(
            "#EXTINF:4.00000,\nvideo_1080p/segment_{}.m4s?skid=default&signature=NjZmYzFjODBfYzY3NGRlODc4Zjk1MjM1OGNmMmE3NjhiM2E2NTUyNGI1Y2JiYzMyZDU5YTFjNTQzODI2MjI5ZTllZmNh&zone=1\n",
            480_120 + i
        );
    }
    s += &format!("#EXT-X-PROGRAM-DATE-TIME:{}\n", pdt(28_000));
    for p in 0..2 {
        s += &format!(
            "#EXT-X-PART:DURATION=1.00000,URI=\"video_1080p/part_480127.{p}.m4s?skid=default&signature=NjZmYzFjODBfYzY3NGRlODc4Zjk1MjM1OGNmMmE3NjhiM2E2NTUyNGI1Y2JiYzMyZDU5YTFjNTQzODI2MjI5ZTllZmNh&zone=1\"\n"
        );
    }
    s += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"video_1080p/part_480127.2.m4s?skid=default&signature=NjZmYzFjODBfYzY3NGRlODc4Zjk1MjM1OGNmMmE3NjhiM2E2NTUyNGI1Y2JiYzMyZDU5YTFjNTQzODI2MjI5ZTllZmNh&zone=1\"\n";
    s += "#EXT-X-RENDITION-REPORT:URI=\"../audio_en/index.m3u8\",LAST-MSN=480127,LAST-PART=1\n";
    s += "#EXT-X-RENDITION-REPORT:URI=\"../video_720p/index.m3u8\",LAST-MSN=480127,LAST-PART=1\n";
    s
}

/// One break that started at 8 s and is still running; its start is already decided.
fn active_break() -> Timeline {
    let mut tl = Timeline::new();
    tl.add_break(BreakRequest {
        event_id: Some(1001),
        start: t0() + Duration::seconds(8),
        planned_duration_ms: 120_000,
    })
    .unwrap();
    let opts = RewriteOptions::default();
    let mut out = Vec::new();
    let outcome = rewrite(live(20, "").as_bytes(), &tl, &opts, &mut out).unwrap();
    assert!(tl.apply(&outcome.decisions), "the break's start is decided");
    tl
}

/// [`active_break`] on a timeline that first went through `history` breaks, one every 20
/// minutes before the window, each decided, ended and let go of as the proxy does, and that
/// holds `ahead` breaks scheduled after the window.
fn with_history(history: u32, ahead: u32) -> Timeline {
    let mut tl = Timeline::new();
    for i in (1..=history).rev() {
        let start = t0() - Duration::minutes(20 * i64::from(i));
        let id = tl
            .add_break(BreakRequest {
                event_id: None,
                start,
                planned_duration_ms: 60_000,
            })
            .unwrap()
            .id;
        let end = start + Duration::seconds(60);
        assert!(tl.apply(&[hlsplice::hls::Decision {
            break_id: id,
            start: Some(start),
            end: Some(end),
        }]));
        let _ = tl.take_changes();
        tl.prune(end + Duration::seconds(1));
    }
    let active = active_break();
    let b = &active.breaks()[0];
    let id = tl
        .add_break(BreakRequest {
            event_id: Some(b.splice_event_id),
            start: b.requested_start,
            planned_duration_ms: b.planned_duration_ms,
        })
        .unwrap()
        .id;
    assert!(tl.apply(&[hlsplice::hls::Decision {
        break_id: id,
        start: b.decided_start,
        end: None,
    }]));
    for i in 0..ahead {
        tl.add_break(BreakRequest {
            event_id: None,
            start: t0() + Duration::hours(3) + Duration::minutes(20 * i64::from(i)),
            planned_duration_ms: 60_000,
        })
        .unwrap();
    }
    let _ = tl.take_changes();
    tl
}

fn bench_history(c: &mut Criterion) {
    let opts = RewriteOptions::default();
    let input = live(20, "cdn.example.com/live/ch1/").into_bytes();
    let fresh = active_break();
    let aged = with_history(100_000, 100);
    assert_eq!(aged.meta().last_id, 100_101);
    assert_eq!(
        aged.breaks().len(),
        101,
        "the active break and the schedule"
    );
    let mut group = c.benchmark_group("live_20_history");
    group.throughput(Throughput::Bytes(input.len() as u64));
    for (name, timeline) in [("no_history", &fresh), ("100k_ended_100_scheduled", &aged)] {
        let mut out = Vec::with_capacity(input.len() * 2);
        let outcome = rewrite(&input, timeline, &opts, &mut out).unwrap();
        assert!(outcome.decisions.is_empty(), "{name}");
        assert!(
            out.len() > input.len(),
            "{name}: the break is not in the window"
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = rewrite(black_box(&input), timeline, &opts, &mut out);
                black_box(&out);
                outcome
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let timeline = active_break();
    let opts = RewriteOptions {
        dialect: Markers::BOTH,
        ..RewriteOptions::default()
    };
    for (name, input) in [
        ("live_6", live(6, "https://cdn.example.com/live/channel-1/")),
        ("live_20", live(20, "cdn.example.com/live/ch1/")),
        ("llhls_30s", llhls()),
    ] {
        let input = input.into_bytes();
        let mut out = Vec::with_capacity(input.len() * 2);
        let outcome = rewrite(&input, &timeline, &opts, &mut out).unwrap();
        assert!(outcome.decisions.is_empty());
        assert!(
            out.len() > input.len(),
            "{name}: the break is not in the window"
        );
        eprintln!(
            "{name}: input {} bytes, output {} bytes",
            input.len(),
            out.len()
        );

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("hlsplice_rewrite", |b| {
            b.iter(|| {
                let outcome = rewrite(black_box(&input), &timeline, &opts, &mut out);
                black_box(&out);
                outcome
            })
        });
        // The same rewrite through the type that owns the timeline and stores decisions
        // (nothing to decide here): its bookkeeping over the raw rewrite above.
        let mut splicer = Splicer::restore(
            SplicerMeta {
                timeline: timeline.meta(),
                ..SplicerMeta::default()
            },
            timeline.breaks().iter().cloned(),
        );
        let spliced = splicer.rewrite("video", &input, &opts, &mut out).unwrap();
        assert!(spliced.changes.is_empty());
        group.bench_function("hlsplice_splicer_rewrite", |b| {
            b.iter(|| {
                let spliced = splicer.rewrite("video", black_box(&input), &opts, &mut out);
                black_box(&out);
                spliced
            })
        });
        group.bench_function("memcpy", |b| {
            b.iter(|| {
                out.clear();
                out.extend_from_slice(black_box(&input));
                black_box(&out);
            })
        });
        group.bench_function("m3u8_rs_parse_serialize", |b| {
            b.iter(|| {
                let playlist = m3u8_rs::parse_playlist_res(black_box(&input)).unwrap();
                out.clear();
                playlist.write_to(&mut out).unwrap();
                black_box(&out);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench, bench_history);
criterion_main!(benches);
