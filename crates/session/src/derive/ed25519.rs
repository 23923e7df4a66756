//! Tessera's non-hardened derivation for Ed25519 (additive tweak).
//!
//! Ed25519 has no BIP-32; Tessera uses this scheme, which a client can compute
//! offline from the wallet's 32-byte public key `A`:
//!
//! ```text
//! master chain code  c0 = SHA-256("tessera/ed25519/chain-code/v1" || A)
//! for each index i (< 2^31), from (A, c):
//!   t  = SHA-512 wide reduction of HMAC-SHA512(key = c, 0x00 || A || be32(i))   (mod l)
//!   c' = first 32 bytes of   HMAC-SHA512(key = c, 0x01 || A || be32(i))
//!   A' = A + t·B
//! ```
//!
//! Signing under the path adds the sum of the step tweaks to every participant's
//! FROST signing share (and `t·B` to every verifying share and the group key):
//! shares of `s` become shares of `s + t`, because Lagrange coefficients over
//! any signer set sum to one. The result is an ordinary Ed25519 signature under `A'`.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::Scalar;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::{DeriveError, HARDENED};

/// The master chain code of an Ed25519 wallet key.
pub fn master_chain_code(public_key: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"tessera/ed25519/chain-code/v1")
        .chain_update(public_key)
        .finalize()
        .into()
}

/// A derived Ed25519 child key and the total tweak from the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519Child {
    pub public_key: [u8; 32],
    pub chain_code: [u8; 32],
    /// Sum of the step tweaks; public (computable by anyone from `A` and the path).
    pub tweak: Scalar,
}

fn hmac(key: &[u8; 32], tag: u8, public_key: &[u8; 32], index: u32) -> [u8; 64] {
    // HMAC accepts any key length, so this cannot fail.
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(&[tag]);
    mac.update(public_key);
    mac.update(&index.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// Derives the child of `public_key` along `path`.
pub fn derive(public_key: &[u8; 32], path: &[u32]) -> Result<Ed25519Child, DeriveError> {
    let mut point = CompressedEdwardsY(*public_key)
        .decompress()
        .ok_or(DeriveError::InvalidPublicKey)?;
    let mut child = Ed25519Child {
        public_key: *public_key,
        chain_code: master_chain_code(public_key),
        tweak: Scalar::ZERO,
    };
    for &i in path {
        if i >= HARDENED {
            return Err(DeriveError::Hardened(i));
        }
        let t =
            Scalar::from_bytes_mod_order_wide(&hmac(&child.chain_code, 0, &child.public_key, i));
        let next_cc = hmac(&child.chain_code, 1, &child.public_key, i);
        point += ED25519_BASEPOINT_POINT * t;
        if point.is_small_order() {
            return Err(DeriveError::InvalidChild(i));
        }
        child.public_key = point.compress().to_bytes();
        child.chain_code.copy_from_slice(&next_cc[..32]);
        child.tweak += t;
    }
    Ok(child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn child_key_matches_tweaked_private_key() {
        // With secret s and A = s·B, the child key must be (s + tweak)·B: the
        // shares of s shifted by the tweak are shares of the child's secret.
        let s = Scalar::from_bytes_mod_order([7u8; 32]);
        let a = (ED25519_BASEPOINT_POINT * s).compress().to_bytes();
        let child = derive(&a, &[44, 60, 0, 0, 7]).unwrap();
        assert_eq!(
            (ED25519_BASEPOINT_POINT * (s + child.tweak))
                .compress()
                .to_bytes(),
            child.public_key
        );
        assert_ne!(child.public_key, a);
        // The empty path is the master key; an intermediate key differs from the leaf.
        let mid = derive(&a, &[44, 60, 0]).unwrap();
        assert_eq!(derive(&a, &[]).unwrap().public_key, a);
        assert_ne!(mid.public_key, child.public_key);
    }

    #[test]
    fn hardened_and_bad_keys_are_refused() {
        let a = SigningKey::from_bytes(&[1u8; 32])
            .verifying_key()
            .to_bytes();
        assert_eq!(
            derive(&a, &[HARDENED]),
            Err(DeriveError::Hardened(HARDENED))
        );
        let mut bad = [0u8; 32];
        bad[0] = 2; // y = 2 is not on the curve
        assert_eq!(derive(&bad, &[1]), Err(DeriveError::InvalidPublicKey));
    }
}
