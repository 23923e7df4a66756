//! Checking returned signatures with independent libraries: `k256` and
//! `ed25519-dalek` (strict verification).

use tessera_testkit::signatures;
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
    let r: [u8; 32] = ev.r.clone().expect("r").try_into().expect("32-byte r");
    let s: [u8; 32] = ev.s.clone().expect("s").try_into().expect("32-byte s");
    signatures::ecdsa_verifies(key, digest, r, s)
}

/// An Ed25519 result verifies under `key` for `message`.
pub fn ed25519(key: &[u8], message: &[u8], ev: &SigningResultEvent) {
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    let signature = ev.signature.as_deref().expect("signature");
    signatures::check_ed25519(key, message, signature);
}
