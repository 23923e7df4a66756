//! The runner requests a tenant makes, built here and nowhere else, so a new
//! runner field (such as per-session keys of players outside the directory,
//! which a tenant leaves empty: it knows its servers statically) is one line.

use std::collections::BTreeMap;

use tessera_runner::{KeygenRequest, SignRequest};
use tessera_session::derive::DerivationPath;
use tessera_types::wire::keygen_session_id;
use tessera_types::KeyType;

use crate::error::TenantError;
use crate::keygen::TenantKeygen;
use crate::sign::TenantSign;

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
    }
}
