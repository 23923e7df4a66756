//! BIP-32 public child derivation (`CKDpub`) for secp256k1, non-hardened only.
//!
//! `I = HMAC-SHA512(chain_code, serP(K) || ser32(i))`, child key `K + parse256(I_L)·G`,
//! child chain code `I_R`. Written over `k256` 0.13, independently of DKLs23's
//! own derivation; tests pin it to the BIP's published vectors and to DKLs23.

use hmac::{Hmac, Mac};
use k256::elliptic_curve::group::GroupEncoding;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::PrimeField;
use k256::{ProjectivePoint, PublicKey, Scalar};
use sha2::Sha512;

use super::{DeriveError, HARDENED};

/// An extended public key: SEC1 compressed key and chain code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedPublicKey {
    pub public_key: [u8; 33],
    pub chain_code: [u8; 32],
}

impl ExtendedPublicKey {
    pub fn new(public_key: &[u8], chain_code: [u8; 32]) -> Result<Self, DeriveError> {
        let pk =
            PublicKey::from_sec1_bytes(public_key).map_err(|_| DeriveError::InvalidPublicKey)?;
        let mut compressed = [0u8; 33];
        compressed.copy_from_slice(pk.to_encoded_point(true).as_bytes());
        Ok(Self {
            public_key: compressed,
            chain_code,
        })
    }

    /// One `CKDpub` step.
    pub fn child(&self, index: u32) -> Result<Self, DeriveError> {
        if index >= HARDENED {
            return Err(DeriveError::Hardened(index));
        }
        let mut mac = Hmac::<Sha512>::new_from_slice(&self.chain_code)
            .map_err(|_| DeriveError::InvalidPublicKey)?;
        mac.update(&self.public_key);
        mac.update(&index.to_be_bytes());
        let i = mac.finalize().into_bytes();
        let mut il = [0u8; 32];
        il.copy_from_slice(&i[..32]);
        let tweak: Option<Scalar> = Scalar::from_repr(il.into()).into();
        let tweak = tweak.ok_or(DeriveError::InvalidChild(index))?;
        let parent = PublicKey::from_sec1_bytes(&self.public_key)
            .map_err(|_| DeriveError::InvalidPublicKey)?;
        let child = ProjectivePoint::GENERATOR * tweak + parent.to_projective();
        if child == ProjectivePoint::IDENTITY {
            return Err(DeriveError::InvalidChild(index));
        }
        let mut public_key = [0u8; 33];
        public_key.copy_from_slice(&child.to_affine().to_bytes()[..]);
        let mut chain_code = [0u8; 32];
        chain_code.copy_from_slice(&i[32..]);
        Ok(Self {
            public_key,
            chain_code,
        })
    }

    /// Follows `path` from this key.
    pub fn derive(&self, path: &[u32]) -> Result<Self, DeriveError> {
        path.iter().try_fold(self.clone(), |k, &i| k.child(i))
    }
}
