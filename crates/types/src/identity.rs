//! A party's public identity as other parties see it: the Ed25519 key that
//! signs its protocol messages and the X25519 key that p2p payloads to it are
//! encrypted for. This crate only carries the bytes; `tessera-security` checks them.

use serde::{Deserialize, Serialize};

use crate::ids::NodeId;

/// Public half of a node identity, as published in an identity document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicIdentity {
    pub node_id: NodeId,
    /// Ed25519 verifying key.
    #[serde(with = "hex32")]
    pub signing_key: [u8; 32],
    /// X25519 public key.
    #[serde(with = "hex32")]
    pub agreement_key: [u8; 32],
}

/// Serde for 32-byte keys as lowercase hex, the format of identity documents.
pub mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(64);
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != 64 || !s.is_ascii() {
            return Err(D::Error::custom("expected 64 hex characters"));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("invalid hex"))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = PublicIdentity {
            node_id: NodeId::new("node0").unwrap(),
            signing_key: [0xab; 32],
            agreement_key: [1; 32],
        };
        let json = serde_json::to_string(&id).unwrap();
        assert!(json.contains(&"ab".repeat(32)));
        let back: PublicIdentity = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<PublicIdentity>(&json.replace("ab", "zz")).is_err());
    }
}
