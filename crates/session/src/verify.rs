//! Independent signature checks. Every signature is verified here, with libraries
//! other than the one that produced it, before a session returns it:
//! `k256` 0.13 for ECDSA (DKLs23 runs on k256 0.14 internals) and
//! `ed25519-dalek` `verify_strict` for EdDSA (FROST runs on its own code path).

use ed25519_dalek::{Signature as EdSignature, VerifyingKey as EdKey};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};

/// `true` when (r, s) is a low-s signature of `digest` under `public_key`
/// (SEC1) and `recovery_id` recovers that key.
pub fn verify_ecdsa(
    public_key: &[u8],
    digest: &[u8; 32],
    r: &[u8; 32],
    s: &[u8; 32],
    recovery_id: u8,
) -> bool {
    let Ok(key) = VerifyingKey::from_sec1_bytes(public_key) else {
        return false;
    };
    let Ok(sig) = Signature::from_scalars(*r, *s) else {
        return false;
    };
    if sig.normalize_s().is_some() {
        return false; // high s
    }
    let Some(recid) = RecoveryId::from_byte(recovery_id) else {
        return false;
    };
    // `recover_from_prehash` verifies (r, s) under the key it recovers before
    // returning it (ecdsa 0.16 `recovery.rs`), so equal keys mean a valid
    // signature and a right recovery id: one verification, not two.
    VerifyingKey::recover_from_prehash(digest, &sig, recid).is_ok_and(|k| k == key)
}

/// `true` when `signature` is a strictly valid Ed25519 signature of `message`.
pub fn verify_ed25519(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = EdKey::from_bytes(public_key) else {
        return false;
    };
    key.verify_strict(message, &EdSignature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use k256::ecdsa::SigningKey;

    use super::*;

    /// A low-s k256 signature of `digest`: (public key, r, s, recovery id).
    fn signed(key: &SigningKey, digest: &[u8; 32]) -> (Vec<u8>, [u8; 32], [u8; 32], u8) {
        let (sig, recid) = key.sign_prehash_recoverable(digest).unwrap();
        let (r, s) = sig.split_bytes();
        let public = key
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        (public, r.into(), s.into(), recid.to_byte())
    }

    #[test]
    fn ecdsa_accepts_only_the_right_key_digest_and_recovery_id() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let digest = [7u8; 32];
        let (public, r, s, recid) = signed(&key, &digest);
        assert!(verify_ecdsa(&public, &digest, &r, &s, recid));
        assert!(
            !verify_ecdsa(&public, &[8u8; 32], &r, &s, recid),
            "other digest"
        );
        assert!(
            !verify_ecdsa(&public, &digest, &r, &s, recid ^ 1),
            "other recovery id"
        );
        let other = SigningKey::random(&mut rand::rngs::OsRng);
        let other_public = other
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        assert!(
            !verify_ecdsa(&other_public, &digest, &r, &s, recid),
            "other key"
        );
        let mut bad_s = s;
        bad_s[31] ^= 1;
        assert!(
            !verify_ecdsa(&public, &digest, &r, &bad_s, recid),
            "other s"
        );
    }

    #[test]
    fn ecdsa_refuses_high_s() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let digest = [9u8; 32];
        let (public, r, s, recid) = signed(&key, &digest);
        // (r, n - s) is the same signature with high s (and the other recovery id).
        let sig = Signature::from_scalars(r, s).unwrap();
        let high = Signature::from_scalars(r, (-*sig.s()).to_bytes()).unwrap();
        let high_s: [u8; 32] = high.s().to_bytes().into();
        assert!(!verify_ecdsa(&public, &digest, &r, &high_s, recid ^ 1));
        assert!(!verify_ecdsa(&public, &digest, &r, &high_s, recid));
    }
}
