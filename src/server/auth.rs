//! API authentication: `Authorization: Bearer <token>` or `Basic base64(<token>)` (the
//! form OvenMediaEngine clients send, where the token is the whole credential).
//!
//! Each token has a scope: [`Scope::Write`] (`--api-token`: create, end and cancel breaks,
//! change policies, and everything a read token may) or [`Scope::Read`] (`--read-token`: list
//! and status only). A token configured with both gets write.
//!
//! Tokens are compared with `subtle` so the time taken does not depend on how many
//! leading bytes matched. Every configured token is compared, so the time does not tell
//! which one matched either. With no token configured every API request is refused
//! (fail closed).
use base64::Engine;
use http::HeaderValue;
use subtle::{Choice, ConstantTimeEq};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// List and status.
    Read,
    /// Everything.
    Write,
}

/// The configured API tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    tokens: Vec<(Box<[u8]>, Scope)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.tokens.len())
    }
}

impl Tokens {
    /// Write tokens and read tokens. Empty tokens are ignored: an empty token would accept an
    /// empty credential.
    pub fn new(write: &[String], read: &[String]) -> Self {
        let scoped = |tokens: &[String], scope| {
            tokens
                .iter()
                .filter(|t| !t.is_empty())
                .map(move |t| (Box::<[u8]>::from(t.as_bytes()), scope))
                .collect::<Vec<_>>()
        };
        let mut tokens = scoped(write, Scope::Write);
        tokens.extend(scoped(read, Scope::Read));
        Tokens { tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether an `Authorization` header value carries one of the tokens.
    #[cfg(test)]
    pub fn accepts(&self, header: Option<&HeaderValue>) -> bool {
        self.scope(header).is_some()
    }

    /// The scope of the token an `Authorization` header value carries; `None` when it carries
    /// none of them.
    pub fn scope(&self, header: Option<&HeaderValue>) -> Option<Scope> {
        let value = header.map(HeaderValue::as_bytes)?;
        let space = value.iter().position(|&b| b == b' ')?;
        let (scheme, credential) = (&value[..space], trim(&value[space + 1..]));
        if scheme.eq_ignore_ascii_case(b"Bearer") {
            self.matches(credential)
        } else if scheme.eq_ignore_ascii_case(b"Basic") {
            match base64::engine::general_purpose::STANDARD.decode(credential) {
                Ok(decoded) => self.matches(&decoded),
                Err(_) => None,
            }
        } else {
            None
        }
    }

    /// Compares with every token (write and read alike), so neither the time taken nor its
    /// branches depend on which one matched or how much of it.
    fn matches(&self, candidate: &[u8]) -> Option<Scope> {
        let mut write = Choice::from(0);
        let mut read = Choice::from(0);
        for (token, scope) in &self.tokens {
            let equal = token.as_ref().ct_eq(candidate);
            match scope {
                Scope::Write => write |= equal,
                Scope::Read => read |= equal,
            }
        }
        if bool::from(write) {
            Some(Scope::Write)
        } else if bool::from(read) {
            Some(Scope::Read)
        } else {
            None
        }
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
        let tokens = Tokens::new(&["s3cret".to_owned(), "other".to_owned()], &[]);
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
    fn scopes() {
        let tokens = Tokens::new(
            &["writer".to_owned(), "both".to_owned()],
            &["reader".to_owned(), "both".to_owned(), String::new()],
        );
        assert_eq!(
            tokens.scope(Some(&header("Bearer writer"))),
            Some(Scope::Write)
        );
        assert_eq!(
            tokens.scope(Some(&header("Bearer reader"))),
            Some(Scope::Read)
        );
        assert_eq!(
            tokens.scope(Some(&header("Bearer both"))),
            Some(Scope::Write)
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("reader");
        assert_eq!(
            tokens.scope(Some(&header(&format!("Basic {basic}")))),
            Some(Scope::Read)
        );
        assert_eq!(tokens.scope(Some(&header("Bearer read"))), None);
        assert_eq!(tokens.scope(Some(&header("Bearer "))), None);
        assert!(Scope::Write > Scope::Read);
        // Only read tokens: not empty, nothing writes.
        let readers = Tokens::new(&[], &["reader".to_owned()]);
        assert!(!readers.is_empty());
        assert_eq!(
            readers.scope(Some(&header("Bearer reader"))),
            Some(Scope::Read)
        );
        assert!(!format!("{readers:?}").contains("reader"));
    }

    #[test]
    fn no_tokens_refuses_everything() {
        let tokens = Tokens::new(&[String::new()], &[String::new()]);
        assert!(tokens.is_empty());
        assert!(!tokens.accepts(Some(&header("Bearer "))));
        assert!(!tokens.accepts(Some(&header("Basic "))));
    }
}
