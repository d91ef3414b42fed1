//! Attribute lists (RFC 8216bis §4.2): `NAME=value` pairs, quoted strings and decimal integers,
//! read in place without allocation. Only the few attributes the rewriter needs are ever looked up.

/// Iterates over `NAME=value` pairs of an attribute list (RFC 8216bis §4.2), honouring quoted
/// strings. Values keep their quotes. Yields `(name, value, range)` where `range` is the byte
/// span of the pair within `list`.
pub(crate) struct Attributes<'a> {
    list: &'a [u8],
    pos: usize,
}

impl<'a> Attributes<'a> {
    pub fn new(list: &'a [u8]) -> Self {
        Self { list, pos: 0 }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8], (usize, usize));

    fn next(&mut self) -> Option<Self::Item> {
        let list = self.list;
        while self.pos < list.len() {
            let start = self.pos;
            let mut i = start;
            let mut quoted = false;
            while i < list.len() {
                match list[i] {
                    b'"' => quoted = !quoted,
                    b',' if !quoted => break,
                    _ => {}
                }
                i += 1;
            }
            self.pos = i + 1;
            let pair = &list[start..i];
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            return Some((name.trim_ascii(), value.trim_ascii(), (start, i)));
        }
        None
    }
}

/// The value of attribute `name` in `list`, quotes kept.
pub(crate) fn attribute<'a>(list: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    Attributes::new(list)
        .find(|(n, _, _)| *n == name)
        .map(|(_, v, _)| v)
}

/// Strips one pair of surrounding double quotes.
pub(crate) fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// Parses an unsigned decimal integer (`decimal-integer`, RFC 8216bis §4.2).
pub(crate) fn parse_u64(value: &[u8]) -> Option<u64> {
    // Up to 19 plain digits cannot overflow: read them without trimming or checked arithmetic.
    if !value.is_empty() && value.len() <= 19 {
        let mut n: u64 = 0;
        let mut plain = true;
        for &b in value {
            let d = b.wrapping_sub(b'0');
            plain &= d <= 9;
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        if plain {
            return Some(n);
        }
    }
    let v = value.trim_ascii();
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_honour_quotes() {
        let list = br#"ID="a,b",START-DATE="2026-11-21T08:00:00Z",X-FLAG,PLANNED-DURATION=30"#;
        let names: Vec<&[u8]> = Attributes::new(list).map(|(n, _, _)| n).collect();
        assert_eq!(
            names,
            vec![&b"ID"[..], b"START-DATE", b"X-FLAG", b"PLANNED-DURATION"]
        );
        assert_eq!(attribute(list, b"ID"), Some(&br#""a,b""#[..]));
        assert_eq!(unquote(attribute(list, b"ID").unwrap()), b"a,b");
        assert_eq!(attribute(list, b"PLANNED-DURATION"), Some(&b"30"[..]));
        assert_eq!(attribute(list, b"DURATION"), None);
        let (_, _, range) = Attributes::new(list).nth(2).unwrap();
        assert_eq!(&list[range.0..range.1], b"X-FLAG");
        assert_eq!(Attributes::new(b",,").count(), 0);
        assert_eq!(unquote(b"\""), b"\"");
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u64(b"1151226"), Some(1_151_226));
        assert_eq!(parse_u64(b" 7 "), Some(7));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(
            parse_u64(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b""), None);
    }
}
