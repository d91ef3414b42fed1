//! Where segment and part boundaries fall, in 90 kHz ticks from the packager's origin.
//!
//! Video boundaries sit on an exact grid (`k × segment`). Audio boundaries are snapped up to whole
//! AAC frames (1024 samples at 48 kHz = 1920 ticks), as a real packager cutting audio-only segments
//! does (ffmpeg's segmenter cuts at the first packet at or after the boundary), so audio segment
//! durations differ from the video's by a few milliseconds while never drifting.

/// 90 kHz ticks per millisecond.
pub const TICKS_PER_MS: u64 = 90;
/// One AAC-LC frame (1024 samples) at 48 kHz, in 90 kHz ticks.
pub const AAC_FRAME_TICKS: u64 = 1920;

/// The boundary grid of one rendition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Nominal segment duration in ticks (> 0).
    pub segment: u64,
    /// Nominal part duration in ticks (> 0, ≤ segment), LL-HLS only.
    pub part: Option<u64>,
    /// Boundaries are rounded up to a multiple of this (audio frames); `None` for exact.
    pub snap: Option<u64>,
}

impl Grid {
    fn snap_up(&self, t: u64) -> u64 {
        match self.snap {
            Some(f) if f > 0 => t.div_ceil(f).saturating_mul(f),
            _ => t,
        }
    }

    /// Start of segment `k` (= end of segment `k - 1`).
    pub fn segment_start(&self, k: u64) -> u64 {
        self.snap_up(k.saturating_mul(self.segment))
    }

    /// Duration of segment `k` in ticks.
    pub fn segment_duration(&self, k: u64) -> u64 {
        self.segment_start(k.saturating_add(1))
            .saturating_sub(self.segment_start(k))
    }

    /// Number of parts each segment is cut into (1 without parts).
    pub fn parts_per_segment(&self) -> u64 {
        match self.part {
            Some(p) if p > 0 => self.segment.div_ceil(p).max(1),
            _ => 1,
        }
    }

    /// Start of part `j` of segment `k`; `j == parts_per_segment()` gives the segment's end.
    pub fn part_start(&self, k: u64, j: u64) -> u64 {
        let n = self.parts_per_segment();
        if j >= n {
            return self.segment_start(k.saturating_add(1));
        }
        let nominal = k
            .saturating_mul(self.segment)
            .saturating_add(j.saturating_mul(self.part.unwrap_or(self.segment)));
        self.snap_up(nominal)
            .min(self.segment_start(k.saturating_add(1)))
    }

    /// Duration of part `j` of segment `k`.
    pub fn part_duration(&self, k: u64, j: u64) -> u64 {
        self.part_start(k, j.saturating_add(1))
            .saturating_sub(self.part_start(k, j))
    }

    /// How many segments are complete at `elapsed` ticks (segments `0..n` are published).
    pub fn complete_segments(&self, elapsed: u64) -> u64 {
        if self.segment == 0 {
            return 0;
        }
        let mut n = elapsed / self.segment;
        while n > 0 && self.segment_start(n) > elapsed {
            n -= 1;
        }
        while self.segment_start(n.saturating_add(1)) <= elapsed && n < u64::MAX {
            n += 1;
        }
        n
    }

    /// How many parts of segment `k` are complete at `elapsed` ticks.
    pub fn complete_parts(&self, k: u64, elapsed: u64) -> u64 {
        let n = self.parts_per_segment();
        (0..n)
            .take_while(|&j| self.part_start(k, j + 1) <= elapsed)
            .count() as u64
    }

    /// Longest possible segment, in ticks (for EXT-X-TARGETDURATION).
    pub fn max_segment(&self) -> u64 {
        self.segment + self.snap.unwrap_or(0)
    }

    /// Longest possible part, in ticks (for PART-TARGET).
    pub fn max_part(&self) -> u64 {
        self.part.unwrap_or(self.segment) + self.snap.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio() -> Grid {
        Grid {
            segment: 1000 * TICKS_PER_MS,
            part: Some(250 * TICKS_PER_MS),
            snap: Some(AAC_FRAME_TICKS),
        }
    }

    #[test]
    fn audio_boundaries_sit_on_aac_frames_and_never_drift() {
        let g = audio();
        for k in 0..500 {
            let s = g.segment_start(k);
            assert_eq!(s % AAC_FRAME_TICKS, 0);
            assert!(s >= k * 90_000 && s < k * 90_000 + AAC_FRAME_TICKS);
            let d = g.segment_duration(k);
            assert!(d.abs_diff(90_000) < AAC_FRAME_TICKS, "segment {k}: {d}");
            let parts: u64 = (0..g.parts_per_segment())
                .map(|j| g.part_duration(k, j))
                .sum();
            assert_eq!(parts, d);
            for j in 0..4 {
                assert!(g.part_duration(k, j) > 0 && g.part_duration(k, j) <= g.max_part());
            }
        }
        // Durations differ from the video's at least somewhere.
        assert!((0..10).any(|k| g.segment_duration(k) != 90_000));
    }

    #[test]
    fn completion_counts_match_boundaries() {
        let g = audio();
        for e in (0..2_000_000).step_by(977) {
            let n = g.complete_segments(e);
            assert!(g.segment_start(n) <= e && g.segment_start(n + 1) > e);
            let p = g.complete_parts(n, e);
            assert!(p < g.parts_per_segment());
            assert!(g.part_start(n, p) <= e && g.part_start(n, p + 1) > e);
        }
    }
}
