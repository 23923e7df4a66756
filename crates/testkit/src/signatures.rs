//! Checking signatures with independent libraries (`k256`, `ed25519-dalek`),
//! not with Tessera code: the harnesses turn their result types into these
//! byte-level checks.

use k256::ecdsa::signature::hazmat::PrehashVerifier;

/// An ECDSA (secp256k1) signature `r`, `s` over `digest` verifies under
/// `public_key` (SEC1, or the 64-byte X‖Y form), and, when given,
/// `recovery_id` recovers that key. Panics with what failed.
pub fn check_ecdsa(
    public_key: &[u8],
    digest: &[u8; 32],
    r: [u8; 32],
    s: [u8; 32],
    recovery_id: Option<u8>,
) {
    let key = ecdsa_key(public_key);
    let signature = k256::ecdsa::Signature::from_scalars(r, s).expect("valid scalars");
    key.verify_prehash(digest, &signature)
        .expect("k256 verifies the signature");
    if let Some(recid) = recovery_id {
        let recid = k256::ecdsa::RecoveryId::from_byte(recid).expect("recovery id 0 to 3");
        let recovered = k256::ecdsa::VerifyingKey::recover_from_prehash(digest, &signature, recid)
            .expect("a key is recovered");
        assert_eq!(recovered, key, "the recovery id recovers the signing key");
    }
}

/// Whether `r`, `s` verifies over `digest` under `public_key` (as in [`check_ecdsa`]).
pub fn ecdsa_verifies(public_key: &[u8], digest: &[u8; 32], r: [u8; 32], s: [u8; 32]) -> bool {
    let Ok(signature) = k256::ecdsa::Signature::from_scalars(r, s) else {
        return false;
    };
    ecdsa_key(public_key)
        .verify_prehash(digest, &signature)
        .is_ok()
}

fn ecdsa_key(public_key: &[u8]) -> k256::ecdsa::VerifyingKey {
    let sec1 = if public_key.len() == 64 {
        [&[4u8][..], public_key].concat()
    } else {
        public_key.to_vec()
    };
    k256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("a secp256k1 public key")
}

/// An Ed25519 signature over `message` verifies under `public_key`, with
/// `ed25519-dalek`'s plain and strict verification. Panics with what failed.
pub fn check_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) {
    use ed25519_dalek::Verifier;
    let key = ed25519_dalek::VerifyingKey::from_bytes(
        public_key.try_into().expect("a 32-byte ed25519 key"),
    )
    .expect("an ed25519 public key");
    let signature = ed25519_dalek::Signature::from_slice(signature).expect("a 64-byte signature");
    key.verify(message, &signature)
        .expect("ed25519-dalek verifies the signature");
    key.verify_strict(message, &signature)
        .expect("ed25519-dalek verifies the signature strictly");
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    #[test]
    fn good_signatures_pass_and_others_do_not() {
        let sk = k256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let digest = [9u8; 32];
        let (sig, recid) = sk.sign_prehash_recoverable(&digest).unwrap();
        let (r, s) = (sig.r().to_bytes().into(), sig.s().to_bytes().into());
        let sec1 = sk.verifying_key().to_sec1_bytes();
        check_ecdsa(&sec1, &digest, r, s, Some(recid.to_byte()));
        let uncompressed = sk.verifying_key().to_encoded_point(false);
        assert!(ecdsa_verifies(&uncompressed.as_bytes()[1..], &digest, r, s));
        assert!(!ecdsa_verifies(&sec1, &[8; 32], r, s));

        let ed = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let sig = ed.sign(b"m");
        check_ed25519(ed.verifying_key().as_bytes(), b"m", &sig.to_bytes());
    }
}
