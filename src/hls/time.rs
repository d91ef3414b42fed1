//! Program time: parsing EXT-X-PROGRAM-DATE-TIME values and rendering dates, without allocation.
//!
//! Internally a program time is an `i64` count of microseconds since the Unix epoch (UTC). The
//! parser accepts RFC 3339 (RFC 8216bis §4.4.4.6) and what packagers really write: `Z`/`z`,
//! `+hh:mm`, `+hhmm` and `+hh` offsets, no offset at all (read as UTC), any number of fractional
//! digits (rounded to the microsecond) and a lowercase `t` or a space as the date/time separator.
//! Dates are always rendered in one fixed form, `2026-11-21T08:00:00.000Z`, so that every rendition
//! and every refresh of a playlist prints a stored value byte for byte the same.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

pub(crate) const MICROS_PER_MILLI: i64 = 1_000;
pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;

/// Microseconds since the epoch of a chrono date.
pub(crate) fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The chrono date of a microsecond count (saturating at chrono's range, which no playlist reaches).
pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// [`from_micros`] remembering the last day it converted: a chrono date is built from a day
/// count by calendar arithmetic, and consecutive live edges almost always fall on the same day.
#[derive(Debug, Default)]
pub(crate) struct DateCache {
    day: Option<(i64, NaiveDate)>,
}

impl DateCache {
    /// The chrono date of a microsecond count, equal to [`from_micros`].
    pub fn date(&mut self, us: i64) -> DateTime<Utc> {
        let day = us.div_euclid(MICROS_PER_DAY);
        let in_day = us.rem_euclid(MICROS_PER_DAY);
        if let Some((cached, date)) = self.day
            && cached == day
            && let Ok(seconds) = u32::try_from(in_day / MICROS_PER_SECOND)
            && let Ok(nanos) = u32::try_from(in_day % MICROS_PER_SECOND * 1000)
            && let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
        {
            return date.and_time(time).and_utc();
        }
        let t = from_micros(us);
        self.day = Some((day, t.date_naive()));
        t
    }
}

/// Rounds a microsecond time to the nearest millisecond (ties away from zero), the precision
/// at which decided values are stored and rendered.
pub(crate) fn round_to_millis(us: i64) -> i64 {
    let ms = us.div_euclid(MICROS_PER_MILLI);
    let rem = us.rem_euclid(MICROS_PER_MILLI);
    let ms = if rem >= MICROS_PER_MILLI / 2 {
        ms + 1
    } else {
        ms
    };
    ms.saturating_mul(MICROS_PER_MILLI)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Trims ASCII whitespace, checking the ends first: values almost never carry any.
#[inline]
fn trim_fast(v: &[u8]) -> &[u8] {
    match (v.first(), v.last()) {
        (Some(a), Some(b)) if a.is_ascii_whitespace() || b.is_ascii_whitespace() => v.trim_ascii(),
        _ => v,
    }
}

/// Reads the leading decimal digits of a fraction: (microseconds, digits read). Digits beyond
/// the sixth round (half up) on the seventh.
#[inline]
fn fraction_micros(frac: &[u8]) -> (i64, usize) {
    const SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let mut acc: i64 = 0;
    let mut round = 0;
    let mut n = 0;
    while let Some(&d) = frac.get(n) {
        if !d.is_ascii_digit() {
            break;
        }
        if n < 6 {
            acc = acc * 10 + i64::from(d - b'0');
        } else if n == 6 && d >= b'5' {
            round = 1;
        }
        n += 1;
    }
    (acc * SCALE[n.min(6)] + round, n)
}

#[inline]
fn two_digits(a: u8, b: u8) -> Option<i64> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
    } else {
        None
    }
}

/// Parses EXT-X-PROGRAM-DATE-TIME values, remembering the minute of the last one: consecutive
/// segments almost always share date, hour and minute, so the calendar arithmetic runs about
/// once per playlist.
#[derive(Debug, Default)]
pub(crate) struct PdtParser {
    /// `YYYY-MM-DDThh:mm` of the last value (0: none yet), and its seconds since the epoch
    /// (before the offset).
    minute: u128,
    minute_seconds: i64,
}

impl PdtParser {
    /// The 24-byte form `YYYY-MM-DDThh:mm:ss.mmmZ` in the same minute as the previous value:
    /// one compare of the 16 bytes that name the minute, then only `:ss.mmmZ` is read. `None`
    /// for anything else (then [`PdtParser::parse`] decides); where it answers, it agrees with
    /// it. Every byte it accepts is a digit or punctuation, none a line break.
    #[inline]
    pub fn parse_same_minute(&self, v: &[u8; 24]) -> Option<i64> {
        let (head, tail) = v.split_at(16);
        let key = u128::from_le_bytes(head.try_into().ok()?);
        if key != self.minute || key == 0 {
            return None;
        }
        let d = |i: usize| i64::from(tail[i].wrapping_sub(b'0'));
        let (s1, s2, m1, m2, m3) = (d(1), d(2), d(4), d(5), d(6));
        if tail[0] != b':'
            || tail[3] != b'.'
            || tail[7] != b'Z'
            || s1.max(s2).max(m1).max(m2).max(m3) > 9
        {
            return None;
        }
        let second = s1 * 10 + s2;
        if second > 60 {
            return None;
        }
        let millis = m1 * 100 + m2 * 10 + m3;
        Some((self.minute_seconds + second) * MICROS_PER_SECOND + millis * MICROS_PER_MILLI)
    }

    /// Parses a value (the text after the colon) into microseconds since the epoch.
    /// Returns `None` for anything that is not a date-time.
    pub fn parse(&mut self, value: &[u8]) -> Option<i64> {
        // The common case: `…:ss.mmmZ` in the same minute as the previous value.
        if let Ok(v) = <&[u8; 24]>::try_from(value)
            && self.minute != 0
            && v[16] == b':'
            && v[19] == b'.'
            && v[23] == b'Z'
            && v.first_chunk::<16>().map(|c| u128::from_le_bytes(*c)) == Some(self.minute)
            && let (Some(second), Some(ms_hi), Some(ms_lo)) = (
                two_digits(v[17], v[18]),
                two_digits(v[20], v[21]),
                two_digits(b'0', v[22]),
            )
            && second <= 60
        {
            let millis = ms_hi * 10 + ms_lo;
            return Some(
                (self.minute_seconds + second) * MICROS_PER_SECOND + millis * MICROS_PER_MILLI,
            );
        }
        let v = trim_fast(value);
        if v.len() < 19
            || v[4] != b'-'
            || v[7] != b'-'
            || !matches!(v[10], b'T' | b't' | b' ')
            || v[13] != b':'
            || v[16] != b':'
        {
            return None;
        }
        let key = v
            .first_chunk::<16>()
            .map_or(0, |chunk| u128::from_le_bytes(*chunk));
        let minute_seconds = if key == self.minute && key != 0 {
            self.minute_seconds
        } else {
            let year = two_digits(v[0], v[1])? * 100 + two_digits(v[2], v[3])?;
            let month = two_digits(v[5], v[6])?;
            let day = two_digits(v[8], v[9])?;
            let hour = two_digits(v[11], v[12])?;
            let minute = two_digits(v[14], v[15])?;
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
                return None;
            }
            let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60;
            self.minute = key;
            self.minute_seconds = seconds;
            seconds
        };
        let second = two_digits(v[17], v[18])?;
        if second > 60 {
            return None;
        }
        let mut rest = &v[19..];
        let mut micros: i64 = 0;
        if let Some((&b'.', frac)) = rest.split_first() {
            let (value, n) = fraction_micros(frac);
            if n == 0 {
                return None;
            }
            micros = value;
            rest = &frac[n..];
        }
        let offset_seconds: i64 = match rest {
            [] | [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), tz @ ..] => {
                let (hh, mm) = match *tz {
                    [h1, h2] => (two_digits(h1, h2)?, 0),
                    [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => {
                        (two_digits(h1, h2)?, two_digits(m1, m2)?)
                    }
                    _ => return None,
                };
                if hh > 23 || mm > 59 {
                    return None;
                }
                let off = hh * 3600 + mm * 60;
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        let seconds = minute_seconds + second - offset_seconds;
        Some(seconds * MICROS_PER_SECOND + micros)
    }
}

/// Parses one EXT-X-PROGRAM-DATE-TIME value (the text after the colon) into microseconds since
/// the epoch. Returns `None` for anything that is not a date-time.
#[cfg(test)]
pub(crate) fn parse_program_date_time(value: &[u8]) -> Option<i64> {
    PdtParser::default().parse(value)
}

/// Appends `2026-11-21T08:00:00.000Z` for a microsecond time, truncated to the millisecond
/// (stored values are already whole milliseconds).
pub(crate) fn push_date(out: &mut Vec<u8>, us: i64) {
    let ms_total = us.div_euclid(MICROS_PER_MILLI);
    let days = ms_total.div_euclid(86_400_000);
    let ms_of_day = ms_total.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    // Years outside 0..=9999 cannot come from a parsed playlist; clamp to keep four digits.
    let year = year.clamp(0, 9999);
    let digit = |v: i64| b'0' + (v % 10) as u8;
    let (h, m, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    out.extend_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
        b'T',
        digit(h / 10),
        digit(h),
        b':',
        digit(m / 10),
        digit(m),
        b':',
        digit(s / 10),
        digit(s),
        b'.',
        digit(ms / 100),
        digit(ms / 10),
        digit(ms),
        b'Z',
    ]);
}

/// A short rendered number, kept on the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmallText {
    buf: [u8; 24],
    start: u8,
    end: u8,
}

impl SmallText {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..usize::from(self.end)]
    }
}

/// A non-negative duration in microseconds as seconds with exactly three decimals, rounded to
/// the millisecond (`12.000`, `0.033`). Negative values render as `0.000`.
pub(crate) fn seconds_3(us: i64) -> SmallText {
    // Non-negative, so rounding half up is plain integer arithmetic.
    let ms = (us.max(0).unsigned_abs() + 500) / 1000;
    let mut buf = [0u8; 24];
    if ms < 1_000_000 {
        let n = put_seconds_3(&mut buf, us);
        return SmallText {
            buf,
            start: 0,
            end: n as u8,
        };
    }
    let mut i = buf.len();
    let mut whole = ms / 1000;
    let frac = ms % 1000;
    for d in [frac % 10, frac / 10 % 10, frac / 100] {
        i -= 1;
        buf[i] = b'0' + d as u8;
    }
    i -= 1;
    buf[i] = b'.';
    loop {
        i -= 1;
        buf[i] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    // i >= 24 - 1 - 20 - 4: fits in u8.
    SmallText {
        buf,
        start: i as u8,
        end: 24,
    }
}

/// Appends [`seconds_3`].
pub(crate) fn push_seconds_3(out: &mut Vec<u8>, us: i64) {
    out.extend_from_slice(seconds_3(us).as_bytes());
}

/// Writes [`seconds_3`] at the start of `dst` and returns its length: whole seconds below 1000
/// (every real elapsed time) take a branch-light path without the digit loop.
#[inline]
pub(crate) fn put_seconds_3(dst: &mut [u8; 24], us: i64) -> usize {
    let ms = (us.max(0).unsigned_abs() + 500) / 1000;
    let whole = ms / 1000;
    let frac = ms % 1000;
    let d = |v: u64| b'0' + (v % 10) as u8;
    let n = if whole < 10 {
        dst[0] = d(whole);
        1
    } else if whole < 100 {
        dst[..2].copy_from_slice(&[d(whole / 10), d(whole)]);
        2
    } else if whole < 1000 {
        dst[..3].copy_from_slice(&[d(whole / 100), d(whole / 10), d(whole)]);
        3
    } else {
        // Here `seconds_3` takes its digit loop, not this function.
        let text = seconds_3(us);
        let text = text.as_bytes();
        let n = text.len().min(dst.len());
        dst[..n].copy_from_slice(&text[..n]);
        return n;
    };
    dst[n..n + 4].copy_from_slice(&[b'.', d(frac / 100), d(frac / 10), d(frac)]);
    n + 4
}

/// The EXTINF duration in the form packagers write, `<digits>[.<up to 6 digits>],`, read in
/// one pass: (microseconds, index of the comma). `None` for anything else (then
/// [`parse_decimal_micros`] decides); where it answers, it agrees with it.
#[inline]
pub(crate) fn plain_extinf(value: &[u8]) -> Option<(i64, usize)> {
    // `<d>.<ddd>,`, what most packagers write, read without the digit loops.
    if let Some(&[w, b'.', f1, f2, f3, b',']) = value.first_chunk::<6>() {
        let d = |b: u8| i64::from(b.wrapping_sub(b'0'));
        let (w, f1, f2, f3) = (d(w), d(f1), d(f2), d(f3));
        if w.max(f1).max(f2).max(f3) <= 9 {
            let millis = f1 * 100 + f2 * 10 + f3;
            return Some((w * MICROS_PER_SECOND + millis * MICROS_PER_MILLI, 5));
        }
    }
    let mut whole: i64 = 0;
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // Wrapping: more than 12 digits are refused below, whatever the value.
        whole = whole.wrapping_mul(10).wrapping_add(i64::from(d));
        i += 1;
    }
    if i == 0 || i > 12 {
        return None;
    }
    let mut micros: i64 = 0;
    if value.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while let Some(&b) = value.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            // Wrapping: more than 6 digits are refused below.
            micros = micros.wrapping_mul(10).wrapping_add(i64::from(d));
            i += 1;
        }
        let n = i - frac_start;
        if n > 6 {
            return None;
        }
        micros *= [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1][n];
    }
    if value.get(i) != Some(&b',') {
        return None;
    }
    Some((whole * MICROS_PER_SECOND + micros, i))
}

/// Parses a non-negative decimal (`10`, `4.00008`, `6.`) into microseconds, rounding beyond six
/// fractional digits. `None` for anything else (signs, exponents, empty, absurdly large values).
pub(crate) fn parse_decimal_micros(value: &[u8]) -> Option<i64> {
    let v = trim_fast(value);
    let mut whole: i64 = 0;
    let mut int_len = 0;
    while let Some(&d) = v.get(int_len) {
        if !d.is_ascii_digit() {
            break;
        }
        if int_len == 12 {
            return None;
        }
        whole = whole * 10 + i64::from(d - b'0');
        int_len += 1;
    }
    let micros = match v.get(int_len) {
        None if int_len > 0 => 0,
        Some(b'.') => {
            let frac = &v[int_len + 1..];
            let (micros, n) = fraction_micros(frac);
            if n != frac.len() || (int_len == 0 && n == 0) {
                return None;
            }
            micros
        }
        _ => return None,
    };
    Some(whole * MICROS_PER_SECOND + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(us: i64) -> String {
        let mut out = Vec::new();
        push_date(&mut out, us);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_rfc3339_and_packager_variants() {
        let reference = parse_program_date_time(b"2024-10-20T03:48:18.085Z").unwrap();
        for text in [
            "2024-10-20T03:48:18.085Z",
            "2024-10-20T03:48:18.085z",
            "2024-10-20T11:48:18.085+0800",
            "2024-10-20T11:48:18.085+08:00",
            "2024-10-20T11:48:18.085+08",
            "2024-10-19T23:48:18.085-04:00",
            "2024-10-20T03:48:18.085000000Z",
            "2024-10-20t03:48:18.0850",
            "2024-10-20 03:48:18.085 ",
        ] {
            assert_eq!(
                parse_program_date_time(text.as_bytes()),
                Some(reference),
                "{text}"
            );
        }
        assert_eq!(
            parse_program_date_time(b"2016-05-27T16:34:44Z"),
            Some(1_464_366_884 * MICROS_PER_SECOND)
        );
        assert_eq!(
            parse_program_date_time(b"2022-04-26T13:11:31.3333005Z").map(|t| t % MICROS_PER_SECOND),
            Some(333_301)
        );
    }

    #[test]
    fn the_date_cache_does_not_leak_between_values() {
        let mut p = PdtParser::default();
        let a = p.parse(b"2026-11-21T08:00:00Z").unwrap();
        assert_eq!(
            p.parse(b"2026-11-21T08:00:04Z"),
            Some(a + 4 * MICROS_PER_SECOND)
        );
        assert_eq!(
            p.parse(b"2026-11-22T08:00:00Z"),
            Some(a + 86_400 * MICROS_PER_SECOND)
        );
        assert_eq!(p.parse(b"2026-11-21T08:00:00Z"), Some(a));
        assert_eq!(p.parse(b"2026-11-21T25:00:00Z"), None);
        assert_eq!(p.parse(b"2026-13-21T08:00:00Z"), None);
        assert_eq!(p.parse(b"2026-11-21T08:00:00Z"), Some(a));
    }

    #[test]
    fn rejects_non_dates() {
        for text in [
            "",
            "2024-10-20",
            "2024-13-20T03:48:18Z",
            "2024-10-20T24:00:00Z",
            "2024-10-20T03:48:18.Z",
            "2024-10-20T03:48:18+8",
            "2024-10-20T03:48:18Zjunk",
            "yyyy-mm-ddThh:mm:ssZ",
        ] {
            assert_eq!(parse_program_date_time(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn renders_one_fixed_date_form() {
        let t = parse_program_date_time(b"2026-11-21T08:00:00Z").unwrap();
        assert_eq!(date(t), "2026-11-21T08:00:00.000Z");
        assert_eq!(date(t + 4_004_000), "2026-11-21T08:00:04.004Z");
        assert_eq!(date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(date(-1_000), "1969-12-31T23:59:59.999Z");
        let leap = parse_program_date_time(b"2024-02-29T23:59:59.999Z").unwrap();
        assert_eq!(date(leap), "2024-02-29T23:59:59.999Z");
        assert_eq!(to_micros(from_micros(t)), t);
    }

    proptest::proptest! {
        /// Naive reference: chrono parses the RFC 3339 form; every variant we accept must agree.
        #[test]
        fn agrees_with_chrono(secs in -2_000_000_000i64..8_000_000_000, micros in 0u32..1_000_000, offset_min in -1439i32..1440, style in 0u8..5) {
            let utc = DateTime::from_timestamp(secs, micros * 1000).unwrap();
            let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let local = utc.with_timezone(&offset);
            let text = match style {
                0 => local.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                1 => utc.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                2 => local.format("%Y-%m-%dT%H:%M:%S%.6f%z").to_string(),
                3 => local.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string(),
                _ => utc.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            };
            proptest::prop_assert_eq!(parse_program_date_time(text.as_bytes()), Some(utc.timestamp_micros()), "{}", text);
            let mut out = Vec::new();
            push_date(&mut out, round_to_millis(utc.timestamp_micros()));
            let rendered = String::from_utf8(out).unwrap();
            let back = DateTime::parse_from_rfc3339(&rendered).unwrap();
            proptest::prop_assert_eq!(back.timestamp_micros(), round_to_millis(utc.timestamp_micros()));
        }
    }

    proptest::proptest! {
        /// One cache over a run of values, most on the same day as the one before (as live edges
        /// are), some far away or before the epoch: every answer equals the uncached conversion.
        #[test]
        fn date_cache_agrees_with_from_micros(
            start in -4_000_000_000_000_000i64..8_000_000_000_000_000,
            steps in proptest::collection::vec(-200_000_000_000i64..200_000_000_000, 1..40),
        ) {
            let mut cache = DateCache::default();
            let mut t = start;
            for step in steps {
                proptest::prop_assert_eq!(cache.date(t), from_micros(t), "{}", t);
                t = t.saturating_add(step);
            }
        }
    }

    #[test]
    fn plain_extinf_agrees_with_the_general_parser() {
        for text in [
            "4.000,",
            "4,",
            "4.,",
            "10.5,",
            "0.000001,",
            "4.0000001,",
            "123456789012.5,",
            "1234567890123,",
            ".5,",
            "4.000",
            "4.0x,",
            "-4,",
            " 4,",
            "4.000,title",
            "9.999,",
            "0.001,",
            "4.0a0,",
            "4/000,",
            ":.000,",
        ] {
            let v = text.as_bytes();
            if let Some((us, comma)) = plain_extinf(v) {
                assert_eq!(v[comma], b',', "{text}");
                assert_eq!(Some(us), parse_decimal_micros(&v[..comma]), "{text}");
            }
        }
        assert_eq!(plain_extinf(b"4.000,"), Some((4_000_000, 5)));
        assert_eq!(plain_extinf(b"9.999,"), Some((9_999_000, 5)));
        assert_eq!(plain_extinf(b"4.0a0,"), None);
        assert_eq!(plain_extinf(b"4.,"), Some((4_000_000, 2)));
        assert_eq!(plain_extinf(b"0.000001,"), Some((1, 8)));
        assert_eq!(plain_extinf(b"4.0000001,"), None);
        assert_eq!(plain_extinf(b".5,"), None);
        // Far more digits than any value has (found by fuzz/playlist_rewrite): refused, and
        // reading them must not overflow.
        let long = "1".repeat(100);
        assert_eq!(plain_extinf(format!("{long},").as_bytes()), None);
        assert_eq!(plain_extinf(format!("1.{long},").as_bytes()), None);
    }

    #[test]
    fn same_minute_path_agrees_with_the_general_parser() {
        let mut parser = PdtParser::default();
        assert_eq!(
            parser.parse_same_minute(b"2026-11-21T08:00:00.000Z"),
            None,
            "no minute cached yet"
        );
        parser.parse(b"2026-11-21T08:00:00.000Z").unwrap();
        for text in [
            "2026-11-21T08:00:04.000Z",
            "2026-11-21T08:00:59.999Z",
            "2026-11-21T08:00:60.000Z",
            "2026-11-21T08:00:61.000Z",
            "2026-11-21T08:00:4a.000Z",
            "2026-11-21T08:00:04.0/0Z",
            "2026-11-21T08:00:04.000z",
            "2026-11-21T08:00:04,000Z",
            "2026-11-21T08:00 04.000Z",
            "2026-11-21T08:01:04.000Z",
        ] {
            let v: &[u8; 24] = text.as_bytes().try_into().unwrap();
            if let Some(t) = parser.parse_same_minute(v) {
                assert_eq!(Some(t), PdtParser::default().parse(v), "{text}");
            }
        }
        assert_eq!(
            parser.parse_same_minute(b"2026-11-21T08:00:04.250Z"),
            parse_program_date_time(b"2026-11-21T08:00:04.250Z")
        );
        assert_eq!(parser.parse_same_minute(b"2026-11-21T08:00:61.000Z"), None);
        assert_eq!(parser.parse_same_minute(b"2026-11-21T08:01:04.000Z"), None);
    }

    proptest::proptest! {
        #[test]
        fn plain_extinf_agrees_on_any_text(text in "[0-9.,x ]{0,16}") {
            let v = text.as_bytes();
            if let Some((us, comma)) = plain_extinf(v) {
                proptest::prop_assert_eq!(v[comma], b',');
                proptest::prop_assert_eq!(Some(us), parse_decimal_micros(&v[..comma]));
            }
        }
    }

    #[test]
    fn decimals_and_seconds() {
        assert_eq!(parse_decimal_micros(b"10"), Some(10_000_000));
        assert_eq!(parse_decimal_micros(b"4.00008"), Some(4_000_080));
        assert_eq!(parse_decimal_micros(b" 5.1666 "), Some(5_166_600));
        assert_eq!(parse_decimal_micros(b"0.33333349"), Some(333_333));
        assert_eq!(parse_decimal_micros(b".5"), Some(500_000));
        assert_eq!(parse_decimal_micros(b"6."), Some(6_000_000));
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3", "9999999999999"] {
            assert_eq!(parse_decimal_micros(bad.as_bytes()), None, "{bad}");
        }
        let mut out = Vec::new();
        push_seconds_3(&mut out, 30_000_000);
        out.push(b' ');
        push_seconds_3(&mut out, 33_499);
        out.push(b' ');
        push_seconds_3(&mut out, 59_999_600);
        out.push(b' ');
        push_seconds_3(&mut out, -5);
        assert_eq!(out, b"30.000 0.033 60.000 0.000");
        for us in [
            -5,
            0,
            499,
            500,
            33_499,
            9_999_499,
            9_999_500,
            59_999_600,
            99_999_500,
            999_999_499,
            999_999_500,
            123_456_789_012,
        ] {
            let mut buf = [0u8; 24];
            let n = put_seconds_3(&mut buf, us);
            assert_eq!(&buf[..n], seconds_3(us).as_bytes(), "{us}");
        }
        assert_eq!(seconds_3(999_999_499).as_bytes(), b"999.999");
        assert_eq!(seconds_3(999_999_500).as_bytes(), b"1000.000");
        assert_eq!(seconds_3(123_456_789_012).as_bytes(), b"123456.789");
        assert_eq!(seconds_3(120_000_000).as_bytes(), b"120.000");
        assert_eq!(round_to_millis(1_499), 1_000);
        assert_eq!(round_to_millis(1_500), 2_000);
        assert_eq!(round_to_millis(-1_400), -1_000);
    }
}
