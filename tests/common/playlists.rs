//! Playlist generators shared by the rewriter's property tests (tests/rewrite_props.rs) and the
//! library's scan-reference test (src/hls/scan_reference.rs, which includes this file by path):
//! generated live and LL-HLS playlists, and the testdata playlists with random byte edits.
//! Only std, chrono and proptest: the file compiles inside and outside the crate.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

pub fn base() -> DateTime<Utc> {
    "2026-11-21T08:00:00Z".parse().unwrap()
}

pub fn at(ms: i64) -> DateTime<Utc> {
    base() + Duration::milliseconds(ms)
}

pub fn fmt_pdt(ms: i64, mode: PdtMode) -> String {
    match mode {
        PdtMode::Offset => (at(ms) + Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S%.3f+0100")
            .to_string(),
        _ => at(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PdtMode {
    Every,
    FirstOnly,
    AfterExtinf,
    Offset,
    None,
}

#[derive(Clone, Debug)]
pub struct PlaylistSpec {
    pub first_msn: u64,
    /// Start of the first listed segment, ms after `base()`.
    pub first_start_ms: i64,
    pub durations_ms: Vec<i64>,
    pub pdt: PdtMode,
    pub crlf: bool,
    /// How many of the last complete segments are listed with parts.
    pub parts_on_last: usize,
    /// Parts of the in-progress segment (0: none listed).
    pub in_progress_parts: usize,
    pub comments: bool,
    pub server_control_skip_dateranges: bool,
}

impl PlaylistSpec {
    /// The playlist text and the start (ms after `base()`) of every listed segment, the
    /// in-progress one included.
    pub fn render(&self) -> (Vec<u8>, Vec<i64>) {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut l: Vec<String> = vec![
            "#EXTM3U".into(),
            "#EXT-X-VERSION:9".into(),
            "#EXT-X-TARGETDURATION:6".into(),
        ];
        if self.parts_on_last > 0 || self.in_progress_parts > 0 {
            let mut sc = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,".to_string();
            if self.server_control_skip_dateranges {
                sc.push_str("CAN-SKIP-DATERANGES=YES,");
            }
            sc.push_str("PART-HOLD-BACK=3.0,CAN-SKIP-UNTIL=36.0");
            l.push(sc);
            l.push("#EXT-X-PART-INF:PART-TARGET=1.0".into());
        }
        l.push(format!("#EXT-X-MEDIA-SEQUENCE:{}", self.first_msn));
        if self.comments {
            l.push("# generated".into());
            l.push(String::new());
        }
        let mut starts = Vec::new();
        let mut t = self.first_start_ms;
        let n = self.durations_ms.len();
        for (i, &d) in self.durations_ms.iter().enumerate() {
            starts.push(t);
            let pdt_before = match self.pdt {
                PdtMode::Every | PdtMode::Offset => true,
                PdtMode::FirstOnly => i == 0,
                _ => false,
            };
            if pdt_before {
                l.push(format!("#EXT-X-PROGRAM-DATE-TIME:{}", fmt_pdt(t, self.pdt)));
            }
            if self.comments && i % 3 == 1 {
                l.push("#X-UNKNOWN-TAG:A=1".into());
            }
            if i + self.parts_on_last >= n {
                for p in 0..4 {
                    l.push(format!(
                        "#EXT-X-PART:DURATION={:.3},URI=\"p{}.{p}.m4s\"",
                        d as f64 / 4000.0,
                        self.first_msn + i as u64
                    ));
                }
            }
            l.push(format!("#EXTINF:{:.3},", d as f64 / 1000.0));
            if self.pdt == PdtMode::AfterExtinf {
                l.push(format!("#EXT-X-PROGRAM-DATE-TIME:{}", fmt_pdt(t, self.pdt)));
            }
            l.push(format!("s{}.m4s", self.first_msn + i as u64));
            t += d;
        }
        if self.in_progress_parts > 0 {
            starts.push(t);
            for p in 0..self.in_progress_parts {
                l.push(format!(
                    "#EXT-X-PART:DURATION=1.000,URI=\"p{}.{p}.m4s\"",
                    self.first_msn + n as u64
                ));
            }
            l.push(format!(
                "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p{}.{}.m4s\"",
                self.first_msn + n as u64,
                self.in_progress_parts
            ));
            l.push(format!(
                "#EXT-X-RENDITION-REPORT:URI=\"other.m3u8\",LAST-MSN={},LAST-PART={}",
                self.first_msn + n as u64,
                self.in_progress_parts - 1
            ));
        }
        let mut text = l.join(eol);
        text.push_str(eol);
        (text.into_bytes(), starts)
    }
}

pub fn pdt_mode() -> impl Strategy<Value = PdtMode> {
    prop_oneof![
        Just(PdtMode::Every),
        Just(PdtMode::FirstOnly),
        Just(PdtMode::AfterExtinf),
        Just(PdtMode::Offset),
        Just(PdtMode::None),
    ]
}

pub fn playlist() -> impl Strategy<Value = PlaylistSpec> {
    (
        0u64..1_000_000,
        -5_000i64..5_000,
        prop::collection::vec(1_000i64..6_000, 1..12),
        pdt_mode(),
        any::<bool>(),
        0usize..4,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                first_msn,
                first_start_ms,
                durations_ms,
                pdt,
                crlf,
                parts,
                in_progress,
                comments,
                skip,
            )| {
                let parts_on_last = parts.min(durations_ms.len());
                PlaylistSpec {
                    first_msn,
                    first_start_ms,
                    durations_ms,
                    pdt,
                    crlf,
                    parts_on_last,
                    in_progress_parts: in_progress,
                    comments,
                    server_control_skip_dateranges: skip,
                }
            },
        )
}

/// Playlists from testdata with random byte edits (inserted, deleted, duplicated, overwritten).
pub fn mutated_playlist() -> impl Strategy<Value = Vec<u8>> {
    let seeds = testdata_playlists();
    let edits = prop::collection::vec(
        (
            any::<u64>(),
            0u8..4,
            prop::collection::vec(any::<u8>(), 0..12),
        ),
        0..6,
    );
    (0..seeds.len(), edits).prop_map(move |(seed, edits)| {
        let mut pl = seeds[seed].clone();
        for (pos, kind, junk) in edits {
            if pl.is_empty() {
                break;
            }
            let p = (pos as usize) % pl.len();
            let e = (p + junk.len()).min(pl.len());
            match kind {
                0 => {
                    pl.splice(p..p, junk);
                }
                1 => {
                    pl.drain(p..e);
                }
                2 => {
                    let copy = pl[p..e].to_vec();
                    pl.splice(p..p, copy);
                }
                _ => pl[p..e].copy_from_slice(&junk[..e - p]),
            }
        }
        pl
    })
}

/// Every playlist in testdata/playlists (the inputs of the golden tests), sorted by name.
pub fn testdata_playlists() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/playlists");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}
