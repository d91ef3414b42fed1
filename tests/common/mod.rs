//! Helpers shared by the rewriter's integration tests: a naive reference for "the output is the
//! input with whole lines inserted".
#![allow(dead_code)]

pub mod playlists;

/// The tags the rewriter inserts.
pub const INSERTED_TAGS: &[&str] = &[
    "#EXT-X-DATERANGE:",
    "#EXT-X-CUE-OUT:",
    "#EXT-X-CUE-OUT-CONT:",
    "#EXT-X-CUE-IN",
    "#EXT-OATCLS-SCTE35:",
    "#EXT-X-PROGRAM-DATE-TIME:",
];

/// Lines with their terminators.
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// Splits an attribute list on the commas outside quoted strings.
fn split_attributes(list: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, &c) in list.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// The input as the rewriter must pass it through: CAN-SKIP-DATERANGES withdrawn from
/// EXT-X-SERVER-CONTROL (the first such attribute and one adjacent comma).
pub fn withdrawn(input: &[u8]) -> Vec<u8> {
    const TAG: &[u8] = b"#EXT-X-SERVER-CONTROL:";
    let mut out = Vec::with_capacity(input.len());
    for line in lines(input) {
        let Some(list) = line.strip_prefix(TAG) else {
            out.extend_from_slice(line);
            continue;
        };
        let eol_len = if list.ends_with(b"\r\n") {
            2
        } else {
            usize::from(list.ends_with(b"\n"))
        };
        let body_len = list.len() - eol_len;
        let (body, eol) = list.split_at(body_len);
        let mut kept: Vec<&[u8]> = Vec::new();
        let mut removed = false;
        for part in split_attributes(body) {
            let name = part
                .split(|&b| b == b'=')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            if !removed && name == b"CAN-SKIP-DATERANGES" {
                removed = true;
            } else {
                kept.push(part);
            }
        }
        out.extend_from_slice(TAG);
        out.extend_from_slice(&kept.join(&b',')[..]);
        out.extend_from_slice(eol);
    }
    out
}

/// Removes the inserted lines from `output`, matching the input's lines in order; every line
/// that is not the next input line must be one of [`INSERTED_TAGS`]. Returns the remaining bytes
/// and the inserted lines.
pub fn split_inserted<'a>(
    output: &'a [u8],
    input: &[u8],
) -> Result<(Vec<u8>, Vec<&'a [u8]>), String> {
    let input_lines = lines(input);
    let mut next = 0;
    let mut kept = Vec::with_capacity(output.len());
    let mut inserted = Vec::new();
    for line in lines(output) {
        if input_lines.get(next) == Some(&line) {
            kept.extend_from_slice(line);
            next += 1;
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if !INSERTED_TAGS.iter().any(|t| text.starts_with(t)) {
            return Err(format!(
                "line {text:?} is neither the next input line nor an inserted tag"
            ));
        }
        inserted.push(line);
    }
    if next != input_lines.len() {
        return Err(format!(
            "{} input lines missing from the output",
            input_lines.len() - next
        ));
    }
    Ok((kept, inserted))
}

/// Asserts the lossless property: output = input (CAN-SKIP-DATERANGES withdrawn) + inserted lines,
/// each inserted line ending with the playlist's own terminator.
pub fn assert_lossless(input: &[u8], output: &[u8]) {
    let expected = withdrawn(input);
    let (kept, inserted) = split_inserted(output, &expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        kept, expected,
        "output minus inserted lines differs from the input"
    );
    let crlf = input
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && input[i - 1] == b'\r');
    for line in inserted {
        assert_eq!(
            line.ends_with(b"\r\n"),
            crlf,
            "terminator of {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(line.ends_with(b"\n"));
    }
}
