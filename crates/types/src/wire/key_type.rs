//! Which curve a request or result is about: the `key_type` field.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One keygen creates both kinds for a wallet; sign and reshare name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// ECDSA over secp256k1; `tx` is the 32-byte digest to sign.
    Secp256k1,
    /// EdDSA over Ed25519; `tx` is the message itself.
    Ed25519,
}

impl KeyType {
    /// The wire string: `"secp256k1"` or `"ed25519"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Secp256k1 => "secp256k1",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// Longest session id a client may give (`tessera_session.session_id`): room
/// for the `-<key type>` suffix of a wallet's two keygen sessions.
pub const MAX_CLIENT_SESSION_ID_LEN: usize = crate::ids::MAX_ID_LEN - 16;

/// The session id of a wallet's keygen for one curve: `<session>-<key type>`.
/// Every party of a keygen (server nodes and tenants) derives the same two ids.
/// Fails for a session id longer than [`MAX_CLIENT_SESSION_ID_LEN`] (no room
/// for the suffix): ids from clients are checked against it where they enter,
/// and one from a peer is refused the same way.
pub fn keygen_session_id(
    session: &crate::SessionId,
    key_type: KeyType,
) -> Result<crate::SessionId, crate::IdError> {
    crate::SessionId::new(format!("{session}-{}", key_type.as_str()))
}

/// When `json` failed to decode because its `key_type` is a string that names
/// no key type, that error (a more precise answer than "malformed"); the
/// quoted value is cut to 32 characters.
pub(crate) fn unknown_key_type(json: &[u8]) -> Option<super::WireError> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let found = value.get("key_type")?.as_str()?;
    if serde_json::from_value::<KeyType>(serde_json::Value::from(found)).is_ok() {
        return None;
    }
    Some(super::WireError::UnknownKeyType {
        found: found.chars().take(32).collect(),
    })
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_matches_as_str() {
        for k in [KeyType::Secp256k1, KeyType::Ed25519] {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!(serde_json::from_str::<KeyType>("\"Secp256k1\"").is_err());
        assert!(serde_json::from_str::<KeyType>("\"p256\"").is_err());
    }

    #[test]
    fn an_unknown_key_type_is_named_and_a_known_one_is_not_blamed() {
        let e = unknown_key_type(br#"{"key_type":"p256","tx":1}"#).unwrap();
        assert_eq!(e.code(), crate::ErrorCode::InvalidSessionType);
        assert!(e.to_string().contains("\"p256\""), "{e}");
        assert!(unknown_key_type(br#"{"key_type":"ed25519","tx":1}"#).is_none());
        assert!(unknown_key_type(br#"{"key_type":7}"#).is_none());
        assert!(unknown_key_type(b"{not json").is_none());
        let long = format!(r#"{{"key_type":"{}"}}"#, "x".repeat(1000));
        let e = unknown_key_type(long.as_bytes()).unwrap();
        assert!(e.to_string().len() < 100, "{e}");
    }
}
