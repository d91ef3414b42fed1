//! Matching a playlist line against a marker form the demo banner prints. Test code only: the
//! binary's unit tests use it, and `tests/demo_cli.rs` includes this file with `#[path]`, so
//! the two check the banner with one definition (a binary's items cannot be imported).

/// Whether a playlist `line` has a marker `form` the banner prints, where each `...` stands for
/// text that varies (dates, elapsed times, SCTE-35 payloads).
pub fn has_form(line: &str, form: &str) -> bool {
    let pieces: Vec<&str> = form.split("...").collect();
    let [first, middle @ .., last] = pieces.as_slice() else {
        return line == form;
    };
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    for piece in middle {
        let Some(at) = rest.find(piece) else {
            return false;
        };
        rest = &rest[at + piece.len()..];
    }
    rest.ends_with(last)
}
