//! A wallet's keygen on the tenant: both curves at once (ECDSA secp256k1 and
//! EdDSA Ed25519), exactly as server nodes run it for one wallet, so the
//! tenant and the servers meet in the same two sessions.

use tessera_runner::KeyMetadata;
use tessera_types::{KeyType, WalletId};

use crate::error::TenantError;
use crate::requests;
pub use crate::requests::TenantKeygen;
use crate::tenant::Tenant;

/// A wallet's public keys, as every player agreed on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletKeys {
    pub wallet_id: WalletId,
    /// The secp256k1 master key, SEC1 compressed (33 bytes).
    pub ecdsa_public_key: Vec<u8>,
    /// Its BIP-32 chain code, for non-hardened child keys.
    pub ecdsa_chain_code: [u8; 32],
    /// The Ed25519 master key.
    pub eddsa_public_key: [u8; 32],
}

impl Tenant {
    /// Runs the wallet's two keygen sessions concurrently and returns its keys
    /// once every player confirmed them; this tenant's shares are stored by then.
    ///
    /// Both sessions run to their end even if one fails (the first error is
    /// returned, ECDSA's if both fail). As on server nodes, a wallet whose
    /// other curve succeeded keeps that key.
    pub async fn keygen(&self, req: TenantKeygen) -> Result<WalletKeys, TenantError> {
        let max = tessera_types::wire::MAX_CLIENT_SESSION_ID_LEN;
        if req.session_id.as_str().len() > max {
            return Err(TenantError::InvalidRequest {
                detail: format!("keygen session id longer than {max} bytes"),
            });
        }
        let [ecdsa, eddsa] = requests::keygen(&req)?;
        let (ecdsa, eddsa) = tokio::join!(self.node.keygen(ecdsa), self.node.keygen(eddsa));
        let (ecdsa, eddsa) = (ecdsa?, eddsa?);
        wallet_keys(&req.wallet_id, &ecdsa, &eddsa)
    }
}

fn wallet_keys(
    wallet_id: &WalletId,
    ecdsa: &KeyMetadata,
    eddsa: &KeyMetadata,
) -> Result<WalletKeys, TenantError> {
    let bad = |key_type, detail| TenantError::BadKey {
        wallet_id: wallet_id.clone(),
        key_type,
        detail,
    };
    let ecdsa_chain_code = ecdsa
        .chain_code
        .ok_or_else(|| bad(KeyType::Secp256k1, "no chain code"))?;
    let eddsa_public_key = eddsa
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| bad(KeyType::Ed25519, "public key is not 32 bytes"))?;
    Ok(WalletKeys {
        wallet_id: wallet_id.clone(),
        ecdsa_public_key: ecdsa.public_key.clone(),
        ecdsa_chain_code,
        eddsa_public_key,
    })
}
