//! What a tenant is asked to do (a keygen, a signing) and the runner requests
//! made from it, built here and nowhere else, so a new
//! runner field (such as per-session keys of players outside the directory,
//! which a tenant leaves empty: it knows its servers statically) is one line.

use std::collections::BTreeMap;

use tessera_runner::{KeygenRequest, SignRequest};
use tessera_session::derive::DerivationPath;
use tessera_types::wire::keygen_session_id;
use tessera_types::{KeyType, NodeId, SessionId, Threshold, WalletId};

use crate::error::TenantError;

/// A new wallet shared by `players` (this tenant among them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantKeygen {
    /// The session id agreed with the servers (their request's
    /// `tessera_session.session_id`). The two curves run as
    /// `<session_id>-secp256k1` and `<session_id>-ed25519`, so it may be at
    /// most `tessera_types::wire::MAX_CLIENT_SESSION_ID_LEN` bytes.
    pub session_id: SessionId,
    pub wallet_id: WalletId,
    /// Every party of the new keys: this tenant and servers from its configuration.
    pub players: Vec<NodeId>,
    /// mpcium's `t`: any `t + 1` players sign.
    pub threshold: Threshold,
}

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

/// The curves of a wallet, in the order keygen reports them.
pub(crate) const CURVES: [KeyType; 2] = [KeyType::Secp256k1, KeyType::Ed25519];

/// A wallet's two keygen sessions, with the ids every server node derives
/// from the same session id: `<session>-secp256k1`, `<session>-ed25519`.
pub(crate) fn keygen(req: &TenantKeygen) -> Result<[KeygenRequest; 2], TenantError> {
    let request = |key_type| -> Result<KeygenRequest, TenantError> {
        let session_id = keygen_session_id(&req.session_id, key_type).map_err(|e| {
            TenantError::InvalidRequest {
                detail: format!("keygen session id: {e}"),
            }
        })?;
        Ok(KeygenRequest {
            session_id,
            wallet_id: req.wallet_id.clone(),
            key_type,
            participants: req.players.clone(),
            threshold: req.threshold,
            dynamic_keys: BTreeMap::new(),
        })
    };
    Ok([request(CURVES[0])?, request(CURVES[1])?])
}

pub(crate) fn sign(req: TenantSign) -> SignRequest {
    SignRequest {
        session_id: req.session_id,
        wallet_id: req.wallet_id,
        key_type: req.key_type,
        signers: req.players,
        message: req.message,
        path: DerivationPath::new(req.path),
        dynamic_keys: BTreeMap::new(),
        epoch: None,
    }
}
