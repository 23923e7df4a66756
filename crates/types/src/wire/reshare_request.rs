//! `ResharingMessage`: a client asks to move a key to a new node set and
//! threshold. mpcium takes it on the core NATS subject `mpc:reshare`.
//!
//! Tessera adds an optional, separately signed `tessera_replace`: the holders
//! whose share is to be repaired (new identity, lost or stale share). Both
//! extension fields are omitted when unset, so mpcium's JSON is unchanged.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::authorizer::{no_authorizers, AuthorizerSignature, InitiatorMessage};
use super::b64;
use super::error::{self, WireError};
use super::go_json::GoObject;
use super::key_type::KeyType;
use crate::ids::{NodeId, SessionId, WalletId};
use crate::session_config::{SessionConfigError, Threshold};

/// A reshare request. Field order is mpcium's Go struct order.
///
/// Unknown JSON fields are ignored. The five signed fields are required;
/// `signature` may be missing because Go marks it `omitempty` (a request
/// without one then fails verification, with a proper error code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResharingMessage {
    /// Kept as sent; [`Self::parse_session_id`] validates it.
    pub session_id: String,
    /// The nodes that hold the key after the reshare.
    pub node_ids: Vec<String>,
    /// mpcium's `t` for the new key: **t+1** of `node_ids` are needed to sign.
    pub new_threshold: Threshold,
    pub key_type: KeyType,
    /// Kept as sent; [`Self::parse_wallet_id`] validates it.
    pub wallet_id: String,
    /// Initiator signature over [`Self::signing_bytes`].
    #[serde(default, with = "b64::bytes", skip_serializing_if = "Vec::is_empty")]
    pub signature: Vec<u8>,
    #[serde(default, skip_serializing_if = "no_authorizers")]
    pub authorizer_signatures: Option<Vec<AuthorizerSignature>>,
    /// Tessera's addition: holders (node ids, kept as sent) whose share is
    /// repaired for their configured identity. [`Self::parse_replace`] validates it.
    #[serde(
        default,
        rename = "tessera_replace",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub replace: Vec<String>,
    /// The initiator's signature over [`Self::replace_signing_bytes`];
    /// required when `tessera_replace` is present.
    #[serde(
        default,
        rename = "tessera_replace_signature",
        with = "b64::opt_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub replace_signature: Option<Vec<u8>>,
}

impl ResharingMessage {
    /// Parses a request from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        error::decode(json)
    }

    /// JSON as mpcium's Go client writes it.
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        error::encode(self)
    }

    /// What the initiator signs: Go's compact JSON of
    /// `{"session_id","node_ids","new_threshold","key_type","wallet_id"}`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        GoObject::new()
            .string("session_id", &self.session_id)
            .strings("node_ids", &self.node_ids)
            .uint("new_threshold", u64::from(self.new_threshold.0))
            .string("key_type", self.key_type.as_str())
            .string("wallet_id", &self.wallet_id)
            .finish()
    }

    /// What a Tessera initiator signs to authenticate `tessera_replace`:
    /// `tessera/replace/v1` and a zero byte (see [`super::domain`]), then Go's
    /// compact JSON of `{"session_id","wallet_id","key_type","replace"}`.
    pub fn replace_signing_bytes(&self) -> Vec<u8> {
        let json = GoObject::new()
            .string("session_id", &self.session_id)
            .string("wallet_id", &self.wallet_id)
            .string("key_type", self.key_type.as_str())
            .strings("replace", &self.replace)
            .finish();
        super::domain::prefixed(super::domain::REPLACE, json)
    }

    /// The nodes to replace, validated and free of duplicates, in request order.
    pub fn parse_replace(&self) -> Result<Vec<NodeId>, WireError> {
        unique_ids("tessera_replace", &self.replace)
    }

    /// The session id, validated.
    pub fn parse_session_id(&self) -> Result<SessionId, WireError> {
        error::parse_id::<SessionId>("session_id", &self.session_id)
    }

    /// The wallet id, validated.
    pub fn parse_wallet_id(&self) -> Result<WalletId, WireError> {
        error::parse_id::<WalletId>("wallet_id", &self.wallet_id)
    }

    /// The new node set, validated and free of duplicates, in request order.
    pub fn parse_node_ids(&self) -> Result<Vec<NodeId>, WireError> {
        unique_ids("node_ids", &self.node_ids)
    }

    /// Checks ids (those of `tessera_replace` too) and that
    /// `1 <= new_threshold < len(node_ids) <= 16`.
    pub fn validate(&self) -> Result<(), WireError> {
        self.parse_session_id()?;
        self.parse_wallet_id()?;
        self.parse_replace()?;
        let nodes = self.parse_node_ids()?;
        self.new_threshold
            .check(nodes.len())
            .map_err(WireError::Reshare)
    }
}

/// `raw` as node ids, each valid and listed once.
fn unique_ids(field: &'static str, raw: &[String]) -> Result<Vec<NodeId>, WireError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let id = error::parse_id::<NodeId>(field, r)?;
        if !seen.insert(id.clone()) {
            return Err(WireError::Reshare(SessionConfigError::DuplicatePlayer(id)));
        }
        out.push(id);
    }
    Ok(out)
}

impl InitiatorMessage for ResharingMessage {
    fn signing_bytes(&self) -> Vec<u8> {
        ResharingMessage::signing_bytes(self)
    }
    fn initiator_signature(&self) -> &[u8] {
        &self.signature
    }
    fn initiator_id(&self) -> &str {
        &self.wallet_id
    }
    fn authorizer_signatures(&self) -> &[AuthorizerSignature] {
        self.authorizer_signatures.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPCIUM: &str = r#"{"session_id":"s-1","node_ids":["node0","node1","node2"],"new_threshold":1,"key_type":"secp256k1","wallet_id":"w-1","signature":"c2ln"}"#;

    #[test]
    fn mpcium_json_is_unchanged_by_the_extension() {
        let m = ResharingMessage::from_json(MPCIUM.as_bytes()).unwrap();
        assert!(m.replace.is_empty() && m.replace_signature.is_none());
        assert_eq!(m.to_json().unwrap(), MPCIUM.as_bytes());
    }

    #[test]
    fn replace_is_signed_with_its_own_label_and_round_trips() {
        let mut m = ResharingMessage::from_json(MPCIUM.as_bytes()).unwrap();
        m.replace = vec!["node2".into(), "n<1>".into()];
        m.replace_signature = Some(b"rs".to_vec());
        let want = concat!(
            "tessera/replace/v1\0",
            r#"{"session_id":"s-1","wallet_id":"w-1","key_type":"secp256k1","#,
            r#""replace":["node2","n\u003c1\u003e"]}"#
        );
        assert_eq!(m.replace_signing_bytes(), want.as_bytes());
        let json = String::from_utf8(m.to_json().unwrap()).unwrap();
        assert!(
            json.ends_with(r#","tessera_replace":["node2","n\u003c1\u003e"],"tessera_replace_signature":"cnM="}"#),
            "{json}"
        );
        assert_eq!(ResharingMessage::from_json(json.as_bytes()).unwrap(), m);
        // The ids are checked by validate: duplicates and bad ids are refused.
        m.replace = vec!["node2".into(), "node2".into()];
        assert!(m.validate().is_err());
        m.replace = vec!["a.b".into()];
        assert!(m.validate().is_err());
        m.replace = vec!["node2".into()];
        assert!(m.validate().is_ok());
    }
}
