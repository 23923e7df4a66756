//! A DKLs23 key share: the library's `Party` (secret share, OT state for
//! every counterparty, chain code), the group's `PublicKeyPackage` (every
//! index's verifying share, which a repair checks against), plus Tessera's
//! metadata.
//!
//! Body layouts: versions 1 and 2 are `(ShareInfo, Party)`, version 3 is
//! `(ShareInfo, Party, Option<PublicKeyPackage>)`. Shares written before
//! keygen kept the package read as `None`.

use dkls23::protocols::{Party, PublicKeyPackage};
use zeroize::Zeroizing;

use super::Curve;
use crate::share_info::{
    format_version, put_info, take_info, ShareDecodeError, ShareEncodeError, ShareInfo,
};

/// One participant's ECDSA share. Zeroized on drop (by `Party`'s own `Drop`).
pub struct EcdsaKeyShare {
    pub info: ShareInfo,
    pub(crate) party: Party<Curve>,
    /// The group's verifying shares; `None` for shares made before keygen
    /// kept it (a repair needs it).
    pub(crate) package: Option<PublicKeyPackage<Curve>>,
}

impl std::fmt::Debug for EcdsaKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaKeyShare")
            .field("info", &self.info)
            .field("package", &self.package.is_some())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl EcdsaKeyShare {
    /// The master public key, SEC1 compressed.
    pub fn public_key(&self) -> &[u8] {
        &self.info.public_key
    }

    /// `true` when the share carries the group's public key package.
    pub fn has_public_package(&self) -> bool {
        self.package.is_some()
    }

    /// The share format version this share is written in (see `share_info`).
    pub(crate) fn format_version(&self) -> u8 {
        format_version(&self.info, self.package.is_some())
    }

    /// The body in share format `version`.
    pub(crate) fn body_bytes(&self, version: u8) -> Result<Zeroizing<Vec<u8>>, ShareEncodeError> {
        let mut body = Zeroizing::new(put_info(&self.info, version)?);
        let rest = if version < 3 {
            postcard::to_allocvec(&self.party)
        } else {
            postcard::to_allocvec(&(&self.party, &self.package))
        };
        let rest = Zeroizing::new(rest.map_err(|e| ShareEncodeError(e.to_string()))?);
        body.extend_from_slice(&rest);
        Ok(body)
    }

    pub(crate) fn from_body(body: &[u8], version: u8) -> Result<Self, ShareDecodeError> {
        let corrupt = |e: postcard::Error| ShareDecodeError::Corrupt(e.to_string());
        let (info, rest) = take_info(body, version)?;
        let (party, package) = if version < 3 {
            (postcard::from_bytes(rest).map_err(corrupt)?, None)
        } else {
            postcard::from_bytes(rest).map_err(corrupt)?
        };
        Ok(Self {
            info,
            party,
            package,
        })
    }
}

impl Clone for EcdsaKeyShare {
    fn clone(&self) -> Self {
        Self {
            info: self.info.clone(),
            party: self.party.clone(),
            package: self.package.clone(),
        }
    }
}
