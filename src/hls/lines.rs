//! The line splitter: splits a playlist into lines with `memchr`, each line keeping its own
//! terminator (RFC 8216bis §4.1: lines end in LF or CRLF). No allocation.
//!
//! Besides the plain splitter ([`Lines`], [`line_at`]) it has the two word-at-a-time helpers the
//! scan's fast paths use: [`short_line_at`] for the short header lines and [`has_newline`] for a
//! 24-byte date.

/// One line of a playlist: `start..end` is its text without terminator, `next` is where the
/// following line starts (after `\n` or `\r\n`, or the end of input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub start: usize,
    pub end: usize,
    pub next: usize,
}

/// Iterates over the lines of `input`.
pub(crate) struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }
}

impl Iterator for Lines<'_> {
    type Item = Line;

    #[inline]
    fn next(&mut self) -> Option<Line> {
        let start = self.pos;
        if start >= self.input.len() {
            return None;
        }
        let line = line_at(self.input, start);
        self.pos = line.next;
        Some(line)
    }
}

/// The line starting at `start` (which must be at most `input.len()`).
#[inline]
pub(crate) fn line_at(input: &[u8], start: usize) -> Line {
    let rest = &input[start..];
    let (end, next) = match memchr::memchr(b'\n', rest) {
        Some(i) if i > 0 && rest[i - 1] == b'\r' => (start + i - 1, start + i + 1),
        Some(i) => (start + i, start + i + 1),
        None => (input.len(), input.len()),
    };
    Line { start, end, next }
}

/// The line starting at `start`: [`line_at`], but a line ending within 32 bytes (most tag
/// lines) is found a word at a time in place, without a call.
#[inline]
pub(crate) fn short_line_at(input: &[u8], start: usize) -> Line {
    match input.get(start..).and_then(newline_in_32) {
        Some(i) => {
            let nl = start + i;
            let end = if i > 0 && input[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            Line {
                start,
                end,
                next: nl + 1,
            }
        }
        None => line_at(input, start),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is `\n` — exact for the lowest such byte (borrows
/// only mark bytes above a match), which is all the callers read.
#[inline]
fn newline_bits(word: u64) -> u64 {
    let x = word ^ (ONES * u64::from(b'\n'));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The index of the first `\n` among the first 32 bytes, if there are 32 and one is.
#[inline]
fn newline_in_32(bytes: &[u8]) -> Option<usize> {
    let chunk = bytes.first_chunk::<32>()?;
    chunk.chunks_exact(8).enumerate().find_map(|(i, w)| {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let bits = newline_bits(u64::from_le_bytes(word));
        (bits != 0).then(|| i * 8 + bits.trailing_zeros() as usize / 8)
    })
}

/// Whether 24 bytes hold a `\n`, three words at a time.
#[inline]
pub(crate) fn has_newline(v: &[u8; 24]) -> bool {
    v.chunks_exact(8).any(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        newline_bits(u64::from_le_bytes(word)) != 0
    })
}

/// When `bytes[at]` starts a line break (`\n`, or `\r\n`), its length.
#[inline]
pub(crate) fn line_break_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'\n' => Some(1),
        b'\r' if bytes.get(at + 1) == Some(&b'\n') => Some(2),
        _ => None,
    }
}

/// The terminator inserted lines use: the playlist's own (that of its first line), LF otherwise.
/// (The rewriter reads it off the first line it splits; this is the rule as a function.)
#[cfg(test)]
pub(crate) fn line_terminator(input: &[u8]) -> &'static [u8] {
    match memchr::memchr(b'\n', input) {
        Some(i) if i > 0 && input[i - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Just;

    fn texts(input: &[u8]) -> Vec<(&[u8], &[u8])> {
        Lines::new(input)
            .map(|l| (&input[l.start..l.end], &input[l.end..l.next]))
            .collect()
    }

    proptest::proptest! {
        /// The in-place search finds the line `memchr` finds from every start, wherever the
        /// terminators fall relative to the words it reads (bytes drawn mostly from `\n`,
        /// `\r` and one other, so every position pattern occurs).
        #[test]
        fn short_line_at_agrees_with_line_at(
            input in proptest::collection::vec(
                proptest::prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), 0u8..=255],
                0..80,
            ),
        ) {
            for start in 0..=input.len() {
                proptest::prop_assert_eq!(short_line_at(&input, start), line_at(&input, start));
            }
        }
    }

    #[test]
    fn lines_keep_their_terminators() {
        let input = b"#EXTM3U\r\n#A\n\nuri\r\n\r\nlast";
        assert_eq!(
            texts(input),
            vec![
                (&b"#EXTM3U"[..], &b"\r\n"[..]),
                (b"#A", b"\n"),
                (b"", b"\n"),
                (b"uri", b"\r\n"),
                (b"", b"\r\n"),
                (b"last", b""),
            ]
        );
        assert_eq!(texts(b""), vec![]);
        assert_eq!(texts(b"\r"), vec![(&b"\r"[..], &b""[..])]);
        assert_eq!(line_terminator(b"#EXTM3U\r\n#A\n"), b"\r\n");
        assert_eq!(line_terminator(b"#EXTM3U\n#A\r\n"), b"\n");
        assert_eq!(line_terminator(b"#EXTM3U"), b"\n");
        assert_eq!(line_terminator(b"\n"), b"\n");
    }

    #[test]
    fn line_breaks() {
        assert_eq!(line_break_at(b"a\nb", 1), Some(1));
        assert_eq!(line_break_at(b"a\r\nb", 1), Some(2));
        assert_eq!(line_break_at(b"a\r", 1), None);
        assert_eq!(line_break_at(b"a\rb", 1), None);
        assert_eq!(line_break_at(b"a", 1), None);
        assert_eq!(line_break_at(b"ab", 1), None);
        let mut date = *b"2026-11-21T08:00:00.000Z";
        assert!(!has_newline(&date));
        for i in 0..24 {
            date[i] = b'\n';
            assert!(has_newline(&date), "{i}");
            date[i] = b'0';
        }
    }
}
