//! API authentication: `Authorization: Bearer <token>` or `Basic base64(<token>)` (the
//! form OvenMediaEngine clients send, where the token is the whole credential).
//!
//! Tokens are compared with `subtle` so the time taken does not depend on how many
//! leading bytes matched. Every configured token is compared, so the time does not tell
//! which one matched either. With no token configured every API request is refused
//! (fail closed).
use base64::Engine;
use http::HeaderValue;
use subtle::{Choice, ConstantTimeEq};

/// The configured API tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    tokens: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.tokens.len())
    }
}

impl Tokens {
    /// Empty tokens are ignored: an empty token would accept an empty credential.
    pub fn new(tokens: &[String]) -> Self {
        let tokens = tokens
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| t.as_bytes().into())
            .collect();
        Tokens { tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether an `Authorization` header value carries one of the tokens.
    pub fn accepts(&self, header: Option<&HeaderValue>) -> bool {
        let Some(value) = header.map(HeaderValue::as_bytes) else {
            return false;
        };
        let (scheme, credential) = match value.iter().position(|&b| b == b' ') {
            Some(space) => (&value[..space], trim(&value[space + 1..])),
            None => return false,
        };
        if scheme.eq_ignore_ascii_case(b"Bearer") {
            self.matches(credential)
        } else if scheme.eq_ignore_ascii_case(b"Basic") {
            match base64::engine::general_purpose::STANDARD.decode(credential) {
                Ok(decoded) => self.matches(&decoded),
                Err(_) => false,
            }
        } else {
            false
        }
    }

    fn matches(&self, candidate: &[u8]) -> bool {
        let mut any = Choice::from(0);
        for token in &self.tokens {
            any |= token.as_ref().ct_eq(candidate);
        }
        bool::from(any)
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ')
        .map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn bearer_and_basic() {
        let tokens = Tokens::new(&["s3cret".to_owned(), "other".to_owned()]);
        assert!(tokens.accepts(Some(&header("Bearer s3cret"))));
        assert!(tokens.accepts(Some(&header("bearer other"))));
        let basic = base64::engine::general_purpose::STANDARD.encode("s3cret");
        assert!(tokens.accepts(Some(&header(&format!("Basic {basic}")))));
        assert!(!tokens.accepts(Some(&header("Bearer s3cre"))));
        assert!(!tokens.accepts(Some(&header("Bearer s3cret2"))));
        assert!(!tokens.accepts(Some(&header("Basic s3cret"))));
        assert!(!tokens.accepts(Some(&header("Token s3cret"))));
        assert!(!tokens.accepts(Some(&header("s3cret"))));
        assert!(!tokens.accepts(None));
    }

    #[test]
    fn no_tokens_refuses_everything() {
        let tokens = Tokens::new(&[String::new()]);
        assert!(tokens.is_empty());
        assert!(!tokens.accepts(Some(&header("Bearer "))));
        assert!(!tokens.accepts(Some(&header("Basic "))));
    }
}
