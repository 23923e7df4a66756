//! A DKLs23 key share: the library's `Party` (secret share, OT state for
//! every counterparty, chain code) plus Tessera's metadata.

use dkls23::protocols::Party;
use zeroize::Zeroizing;

use super::Curve;
use crate::share_info::{ShareDecodeError, ShareEncodeError, ShareInfo};

/// One participant's ECDSA share. Zeroized on drop (by `Party`'s own `Drop`).
pub struct EcdsaKeyShare {
    pub info: ShareInfo,
    pub(crate) party: Party<Curve>,
}

impl std::fmt::Debug for EcdsaKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaKeyShare")
            .field("info", &self.info)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl EcdsaKeyShare {
    /// The master public key, SEC1 compressed.
    pub fn public_key(&self) -> &[u8] {
        &self.info.public_key
    }

    pub(crate) fn body_bytes(&self) -> Result<Zeroizing<Vec<u8>>, ShareEncodeError> {
        postcard::to_allocvec(&(&self.info, &self.party))
            .map(Zeroizing::new)
            .map_err(|e| ShareEncodeError(e.to_string()))
    }

    pub(crate) fn from_body(body: &[u8]) -> Result<Self, ShareDecodeError> {
        let (info, party): (ShareInfo, Party<Curve>) =
            postcard::from_bytes(body).map_err(|e| ShareDecodeError::Corrupt(e.to_string()))?;
        Ok(Self { info, party })
    }
}

impl Clone for EcdsaKeyShare {
    fn clone(&self) -> Self {
        Self {
            info: self.info.clone(),
            party: self.party.clone(),
        }
    }
}
