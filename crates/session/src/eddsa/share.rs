//! A FROST Ed25519 key share and its child-key tweak.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::Scalar;
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_ed25519::VerifyingKey;
use zeroize::Zeroizing;

use crate::derive::ed25519::derive;
use crate::derive::DerivationPath;
use crate::error::Abort;
use crate::share_info::{
    format_version, put_info, take_info, ShareDecodeError, ShareEncodeError, ShareInfo,
};

/// One participant's EdDSA share. `KeyPackage` zeroizes itself on drop.
#[derive(Clone)]
pub struct EddsaKeyShare {
    pub info: ShareInfo,
    pub(crate) key_package: KeyPackage,
    pub(crate) public_package: PublicKeyPackage,
}

impl std::fmt::Debug for EddsaKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EddsaKeyShare")
            .field("info", &self.info)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl EddsaKeyShare {
    /// The master public key (32 bytes).
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.info.public_key);
        out
    }

    /// The share format version this share is written in (see `share_info`).
    pub(crate) fn format_version(&self) -> u8 {
        format_version(&self.info, false)
    }

    /// The body in share format `version`: `(ShareInfo, KeyPackage,
    /// PublicKeyPackage)`, the packages in FROST's own encoding.
    pub(crate) fn body_bytes(&self, version: u8) -> Result<Zeroizing<Vec<u8>>, ShareEncodeError> {
        let fail = |e: String| ShareEncodeError(e);
        let kp = Zeroizing::new(
            self.key_package
                .serialize()
                .map_err(|e| fail(e.to_string()))?,
        );
        let pp = self
            .public_package
            .serialize()
            .map_err(|e| fail(e.to_string()))?;
        let mut body = Zeroizing::new(put_info(&self.info, version)?);
        let rest =
            Zeroizing::new(postcard::to_allocvec(&(&*kp, &pp)).map_err(|e| fail(e.to_string()))?);
        body.extend_from_slice(&rest);
        Ok(body)
    }

    pub(crate) fn from_body(body: &[u8], version: u8) -> Result<Self, ShareDecodeError> {
        let corrupt = |e: String| ShareDecodeError::Corrupt(e);
        let (info, rest) = take_info(body, version)?;
        let (kp, pp): (Vec<u8>, Vec<u8>) =
            postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))?;
        let kp = Zeroizing::new(kp);
        Ok(Self {
            info,
            key_package: KeyPackage::deserialize(&kp).map_err(|e| corrupt(e.to_string()))?,
            public_package: super::public_packages::decode(&pp)
                .map_err(|e| corrupt(e.to_string()))?,
        })
    }

    /// The packages for signing under `path`: every share, verifying share and
    /// the group key shifted by the path's public tweak (see `derive::ed25519`).
    pub(crate) fn tweaked(
        &self,
        path: &DerivationPath,
    ) -> Result<(KeyPackage, PublicKeyPackage, [u8; 32]), Abort> {
        path.check_non_hardened()?;
        let child = derive(&self.public_key(), path.indices())?;
        if path.is_empty() {
            return Ok((
                self.key_package.clone(),
                self.public_package.clone(),
                child.public_key,
            ));
        }
        let bad = |what: &str| Abort::Local(format!("tweak {what}"));
        let t = child.tweak;
        let shift = |bytes: Vec<u8>| -> Result<Vec<u8>, Abort> {
            let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("point length"))?;
            let p = CompressedEdwardsY(arr)
                .decompress()
                .ok_or_else(|| bad("point"))?;
            Ok((p + ED25519_BASEPOINT_POINT * t)
                .compress()
                .to_bytes()
                .to_vec())
        };
        let share_bytes = Zeroizing::new(self.key_package.signing_share().serialize());
        let arr: [u8; 32] = share_bytes
            .as_slice()
            .try_into()
            .map_err(|_| bad("share length"))?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(arr))
            .ok_or_else(|| bad("share"))?;
        let new_share = Zeroizing::new((s + t).to_bytes());
        let signing_share = SigningShare::deserialize(&*new_share).map_err(|_| bad("share"))?;
        let vshare = |v: &VerifyingShare| -> Result<VerifyingShare, Abort> {
            let b = v.serialize().map_err(|_| bad("verifying share"))?;
            VerifyingShare::deserialize(&shift(b)?).map_err(|_| bad("verifying share"))
        };
        let vkey = VerifyingKey::deserialize(&child.public_key).map_err(|_| bad("group key"))?;
        let kp = KeyPackage::new(
            *self.key_package.identifier(),
            signing_share,
            vshare(self.key_package.verifying_share())?,
            vkey,
            *self.key_package.min_signers(),
        );
        let mut shares = std::collections::BTreeMap::new();
        for (id, v) in self.public_package.verifying_shares() {
            shares.insert(*id, vshare(v)?);
        }
        let pp = PublicKeyPackage::new(shares, vkey, self.public_package.min_signers());
        Ok((kp, pp, child.public_key))
    }
}
