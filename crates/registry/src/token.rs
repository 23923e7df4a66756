//! `ConsulToken`: the Consul ACL token, held as a secret.
//!
//! It is wiped from memory when dropped (through [`tessera_security::Secret`]),
//! prints `<redacted>` in `Debug` and `Display`, travels only in the
//! `X-Consul-Token` header (marked sensitive) and never appears in a URL or an
//! error text.

use std::fmt;

use tessera_security::secret::{Secret, REDACTED};

/// A Consul ACL token. `Debug` and `Display` print `<redacted>`.
#[derive(Clone)]
pub struct ConsulToken(Secret<String>);

impl ConsulToken {
    /// Wraps `token` (e.g. read from the token file, whitespace trimmed).
    /// Emptiness and header syntax are checked by [`crate::ConsulClient::new`].
    pub fn new(token: String) -> Self {
        Self(Secret::new(token))
    }

    /// The token, for the request header. Every call is a place it is used.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl From<String> for ConsulToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for ConsulToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsulToken({REDACTED})")
    }
}

impl fmt::Display for ConsulToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let t = ConsulToken::new("s3cret-token".to_string());
        for text in [format!("{t:?}"), format!("{t}"), format!("{:?}", Some(&t))] {
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        assert_eq!(t.expose(), "s3cret-token");
    }
}
