//! Identifiers. Each is a validated newtype so a wallet id can never be passed
//! where a node id is expected.
//!
//! All ids are non-empty UTF-8 of at most [`MAX_ID_LEN`] bytes. Node and session ids
//! also become NATS subject tokens, so they must not contain whitespace, `.`, `*` or `>`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest id accepted anywhere (bytes).
pub const MAX_ID_LEN: usize = 128;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is longer than {max} bytes")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} contains a character not allowed in a subject token")]
    BadCharacter { kind: &'static str },
}

fn check(kind: &'static str, s: &str, token: bool) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            max: MAX_ID_LEN,
        });
    }
    if s.chars().any(char::is_control)
        || (token
            && s.chars()
                .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>')))
    {
        return Err(IdError::BadCharacter { kind });
    }
    Ok(())
}

/// Checks that `s` can be one NATS subject token as an id of `kind`: what a
/// wallet id must be before it names a keygen result subject.
pub fn check_subject_token(kind: &'static str, s: &str) -> Result<(), IdError> {
    check(kind, s, true)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $token:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check($kind, &s, $token)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// A wallet: one ECDSA and one EdDSA threshold key created by one keygen.
    WalletId, "wallet id", false
);
id_type!(
    /// A client's transaction id; with the wallet id it names one signing request.
    TxId, "tx id", false
);
id_type!(
    /// One protocol run. Every subject and envelope of the run is bound to it.
    SessionId, "session id", true
);
id_type!(
    /// A party: a server node (`node0`, ...) or a tenant device.
    NodeId, "node id", true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_reject_subject_wildcards() {
        for bad in ["", "a.b", "a*", "a>", "a b", "a\n"] {
            assert!(NodeId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(NodeId::new("node-0_A").is_ok());
    }

    #[test]
    fn wallet_ids_allow_dots_but_not_controls() {
        assert!(WalletId::new("w.1 x").is_ok());
        assert!(WalletId::new("w\u{0}").is_err());
        assert!(WalletId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn serde_validates() {
        let ok: NodeId = serde_json::from_str("\"node1\"").unwrap();
        assert_eq!(ok.as_str(), "node1");
        assert!(serde_json::from_str::<NodeId>("\"bad.id\"").is_err());
    }
}
