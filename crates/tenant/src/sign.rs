//! One signing session on the tenant, with the signers the servers use.

use tessera_runner::Signature;
use tessera_types::{KeyType, NodeId, SessionId, WalletId};

use crate::error::TenantError;
use crate::requests;
use crate::tenant::Tenant;

/// `players` sign `message` with the wallet's `key_type` key (its child at
/// `path`, if not empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSign {
    /// The session id agreed with the servers, fresh for every signing.
    pub session_id: SessionId,
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    /// The signers, this tenant among them: exactly `t + 1` for ECDSA, at
    /// least `t + 1` for EdDSA, all parties of the key.
    pub players: Vec<NodeId>,
    /// secp256k1: the 32-byte digest. ed25519: the message itself.
    pub message: Vec<u8>,
    /// Non-hardened BIP-32 style indices; empty for the master key.
    pub path: Vec<u32>,
}

impl Tenant {
    /// Runs the signing session. The signature is verified (with `k256` or
    /// `ed25519-dalek`) against the key it was made with before it is returned.
    pub async fn sign(&self, req: TenantSign) -> Result<Signature, TenantError> {
        Ok(self.node.sign(requests::sign(req)).await?)
    }
}
