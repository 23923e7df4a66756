//! `ResharingMessage`: a client asks to move a key to a new node set and
//! threshold. mpcium takes it on the core NATS subject `mpc:reshare`.

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
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(self.node_ids.len());
        for raw in &self.node_ids {
            let id = error::parse_id::<NodeId>("node_ids", raw)?;
            if !seen.insert(id.clone()) {
                return Err(WireError::Reshare(SessionConfigError::DuplicatePlayer(id)));
            }
            out.push(id);
        }
        Ok(out)
    }

    /// Checks ids and that `1 <= new_threshold < len(node_ids) <= 16`.
    pub fn validate(&self) -> Result<(), WireError> {
        self.parse_session_id()?;
        self.parse_wallet_id()?;
        let nodes = self.parse_node_ids()?;
        self.new_threshold
            .check(nodes.len())
            .map_err(WireError::Reshare)
    }
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
