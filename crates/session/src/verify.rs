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
