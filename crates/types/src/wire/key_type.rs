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
}
