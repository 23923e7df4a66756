//! Checking returned signatures with independent libraries: `k256` and
//! `ed25519-dalek` (strict verification).

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use tessera_types::wire::{ResultType, SigningResultEvent};

/// An ECDSA result verifies under `key` (SEC1, or mpcium's 64-byte X‖Y) for `digest`.
pub fn ecdsa(key: &[u8], digest: &[u8; 32], ev: &SigningResultEvent) {
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    assert!(
        ecdsa_verifies(key, digest, ev),
        "k256 rejects the signature of {}",
        ev.tx_id
    );
}

/// Whether an ECDSA result verifies under `key` for `digest`.
pub fn ecdsa_verifies(key: &[u8], digest: &[u8; 32], ev: &SigningResultEvent) -> bool {
    let sec1 = if key.len() == 64 {
        [&[4u8][..], key].concat()
    } else {
        key.to_vec()
    };
    let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("secp256k1 key");
    let r: [u8; 32] = ev.r.clone().expect("r").try_into().expect("32-byte r");
    let s: [u8; 32] = ev.s.clone().expect("s").try_into().expect("32-byte s");
    let sig = k256::ecdsa::Signature::from_scalars(r, s).expect("valid scalars");
    key.verify_prehash(digest, &sig).is_ok()
}

/// An Ed25519 result verifies under `key` for `message`.
pub fn ed25519(key: &[u8], message: &[u8], ev: &SigningResultEvent) {
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    let key = ed25519_dalek::VerifyingKey::from_bytes(key.try_into().expect("32-byte key"))
        .expect("ed25519 key");
    let sig = ed25519_dalek::Signature::from_slice(ev.signature.as_deref().expect("signature"))
        .expect("64-byte signature");
    key.verify_strict(message, &sig)
        .unwrap_or_else(|e| panic!("ed25519-dalek rejects the signature of {}: {e}", ev.tx_id));
}
