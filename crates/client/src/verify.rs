//! Checking a signing result's signature before using it.
//!
//! Nodes verify every signature before publishing it; checking again on the
//! client costs microseconds and catches a result for the wrong key or the
//! wrong message (for example, a child key the caller did not expect).

use tessera_session::verify::{verify_ecdsa, verify_ed25519};
use tessera_types::SigningResultEvent;

use crate::result::ecdsa_parts;

/// `true` when the event's `r`, `s` and `signature_recovery` form a low-s
/// ECDSA signature of `digest` under `public_key_sec1` (compressed or
/// uncompressed), and the recovery id recovers that key.
pub fn ecdsa(public_key_sec1: &[u8], digest: &[u8; 32], event: &SigningResultEvent) -> bool {
    let Some(sig) = ecdsa_parts(event) else {
        return false;
    };
    verify_ecdsa(public_key_sec1, digest, &sig.r, &sig.s, sig.recovery_id)
}

/// `true` when the event's `signature` is a strictly valid Ed25519 signature
/// of `message` under `public_key`.
pub fn ed25519(public_key: &[u8; 32], message: &[u8], event: &SigningResultEvent) -> bool {
    let Some(sig) = event
        .signature
        .as_deref()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
    else {
        return false;
    };
    verify_ed25519(public_key, message, &sig)
}
