//! `TenantKeyRegistration`: a client registers a tenant's (a device's) identity
//! key for one session id on the server nodes, as the TSM's
//! `RegisterTenantPublicKey` does. Published to the nodes' tenant-key bucket
//! (see `tessera-transport`'s `tenants` module); each node checks the
//! initiator's signature itself before using it, and only for that session id.

use serde::{Deserialize, Serialize};

use super::b64;
use super::error::{self, WireError};
use super::go_json::GoObject;
use super::session_spec::DynamicKey;
use crate::identity::{hex32, PublicIdentity};
use crate::ids::{NodeId, SessionId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantKeyRegistration {
    pub session_id: String,
    /// The tenant's player id.
    pub player: String,
    /// Ed25519 verifying key (hex).
    #[serde(with = "hex32")]
    pub signing_key: [u8; 32],
    /// X25519 public key (hex).
    #[serde(with = "hex32")]
    pub agreement_key: [u8; 32],
    /// Initiator signature over [`Self::signing_bytes`].
    #[serde(with = "b64::bytes")]
    pub signature: Vec<u8>,
}

impl TenantKeyRegistration {
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        error::decode(json)
    }

    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        error::encode(self)
    }

    /// What the initiator signs: Go's compact JSON of
    /// `{"session_id","player","signing_key","agreement_key"}` (keys in hex).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let hex = self.key().to_hex_pair();
        let (signing, agreement) = hex.split_once(':').unwrap_or_default();
        GoObject::new()
            .string("session_id", &self.session_id)
            .string("player", &self.player)
            .string("signing_key", signing)
            .string("agreement_key", agreement)
            .finish()
    }

    /// The session id and player, validated.
    pub fn ids(&self) -> Result<(SessionId, NodeId), WireError> {
        Ok((
            error::parse_id::<SessionId>("session_id", &self.session_id)?,
            error::parse_id::<NodeId>("player", &self.player)?,
        ))
    }

    /// The registered keys.
    pub fn key(&self) -> DynamicKey {
        DynamicKey {
            signing_key: self.signing_key,
            agreement_key: self.agreement_key,
        }
    }

    /// The registered identity.
    pub fn identity(&self) -> Result<PublicIdentity, WireError> {
        let (_, player) = self.ids()?;
        Ok(self.key().identity(player))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_signed_bytes() {
        let r = TenantKeyRegistration {
            session_id: "s1".into(),
            player: "device-1".into(),
            signing_key: [0xab; 32],
            agreement_key: [0x01; 32],
            signature: vec![1, 2, 3],
        };
        let json = r.to_json().unwrap();
        assert_eq!(TenantKeyRegistration::from_json(&json).unwrap(), r);
        let signed = String::from_utf8(r.signing_bytes()).unwrap();
        assert_eq!(
            signed,
            format!(
                "{{\"session_id\":\"s1\",\"player\":\"device-1\",\"signing_key\":\"{}\",\"agreement_key\":\"{}\"}}",
                "ab".repeat(32),
                "01".repeat(32)
            )
        );
        let bad = TenantKeyRegistration {
            player: "a.b".into(),
            ..r
        };
        assert!(bad.ids().is_err());
    }
}
