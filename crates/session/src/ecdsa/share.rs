//! A DKLs23 key share: the library's `Party` (secret share, OT state for
//! every counterparty, chain code) plus Tessera's metadata.

use dkls23::protocols::Party;
use zeroize::Zeroizing;

use super::Curve;
use crate::share_info::{ShareDecodeError, ShareEncodeError, ShareInfo, ShareInfoV1};

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

    /// The body in share format `version` (1: no epoch, see `share_info`).
    pub(crate) fn body_bytes(&self, version: u8) -> Result<Zeroizing<Vec<u8>>, ShareEncodeError> {
        let body = if version == 1 {
            postcard::to_allocvec(&(&ShareInfoV1::from(&self.info), &self.party))
        } else {
            postcard::to_allocvec(&(&self.info, &self.party))
        };
        body.map(Zeroizing::new)
            .map_err(|e| ShareEncodeError(e.to_string()))
    }

    pub(crate) fn from_body(body: &[u8], version: u8) -> Result<Self, ShareDecodeError> {
        let corrupt = |e: postcard::Error| ShareDecodeError::Corrupt(e.to_string());
        let (info, party) = if version == 1 {
            let (info, party): (ShareInfoV1, Party<Curve>) =
                postcard::from_bytes(body).map_err(corrupt)?;
            (info.into(), party)
        } else {
            postcard::from_bytes::<(ShareInfo, Party<Curve>)>(body).map_err(corrupt)?
        };
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
