//! Offline helpers: child keys against BIP-32's published vectors and the
//! session crate, and signature checks against signatures made with k256 and
//! ed25519-dalek.

use ed25519_dalek::Signer as _;
use tessera_client::derive::{self, HARDENED};
use tessera_client::{verify, ErrorCode};
use tessera_types::{SigningIds, SigningResultEvent};

/// Decodes a BIP-32 xpub: (child number, chain code, key).
fn xpub(s: &str) -> (u32, [u8; 32], [u8; 33]) {
    let raw = bs58::decode(s).with_check(None).into_vec().unwrap();
    assert_eq!(raw.len(), 78);
    (
        u32::from_be_bytes(raw[9..13].try_into().unwrap()),
        raw[13..45].try_into().unwrap(),
        raw[45..78].try_into().unwrap(),
    )
}

// BIP-32 test vector 1: m/0H/1/2H, and its non-hardened descendants.
const M_0H_1_2H: &str = "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5";
const M_0H_1_2H_2: &str = "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV";
const M_0H_1_2H_2_1E9: &str = "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy";

#[test]
fn ecdsa_child_keys_follow_bip32() {
    let (_, cc, key) = xpub(M_0H_1_2H);
    let (_, _, want_2) = xpub(M_0H_1_2H_2);
    let (_, want_cc, want_leaf) = xpub(M_0H_1_2H_2_1E9);
    assert_eq!(
        derive::ecdsa_child_public_key(&key, cc, &[2]).unwrap(),
        want_2
    );
    let leaf = derive::ecdsa_child(&key, cc, &[2, 1_000_000_000]).unwrap();
    assert_eq!(leaf.public_key, want_leaf);
    assert_eq!(leaf.chain_code, want_cc);
    // An uncompressed master key works the same; the empty path is the master.
    let full = derive::ecdsa_uncompressed(&key).unwrap();
    assert_eq!(
        derive::ecdsa_child_public_key(&full, cc, &[2]).unwrap(),
        want_2
    );
    assert_eq!(derive::ecdsa_child_public_key(&key, cc, &[]).unwrap(), key);

    let err = derive::ecdsa_child_public_key(&key, cc, &[HARDENED]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidDerivationPath);
    let err = derive::ecdsa_child_public_key(&[5u8; 33], cc, &[1]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyDecoding);
}

#[test]
fn eddsa_child_keys_match_the_session_crate() {
    let master = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32])
        .verifying_key()
        .to_bytes();
    let path = [44, 501, 0, 7];
    let session = tessera_session::derive::ed25519::derive(&master, &path).unwrap();
    assert_eq!(
        derive::eddsa_child_public_key(master, &path).unwrap(),
        session.public_key
    );
    assert_eq!(
        derive::eddsa_master_chain_code(&master),
        tessera_session::derive::ed25519::master_chain_code(&master)
    );
    assert_eq!(derive::eddsa_child_public_key(master, &[]).unwrap(), master);
    assert_ne!(
        derive::eddsa_child_public_key(master, &[1]).unwrap(),
        derive::eddsa_child_public_key(master, &[2]).unwrap()
    );
    assert!(derive::eddsa_child_public_key(master, &[HARDENED + 1]).is_err());
}

fn ids() -> SigningIds {
    SigningIds {
        wallet_id: "w".into(),
        tx_id: "t".into(),
        network_internal_code: "eth".into(),
    }
}

#[test]
fn ecdsa_signatures_are_checked_with_their_recovery_id() {
    let key = k256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let public = key.verifying_key().to_encoded_point(true);
    let digest = [0x5a; 32];
    let (sig, recid) = key.sign_prehash_recoverable(&digest).unwrap();
    let sig = sig.normalize_s().unwrap_or(sig);
    // Normalizing may flip the recovery id's parity bit.
    let recid =
        k256::ecdsa::RecoveryId::trial_recovery_from_prehash(key.verifying_key(), &digest, &sig)
            .unwrap_or(recid);
    let (r, s) = sig.split_bytes();
    let event = SigningResultEvent::ecdsa_success(ids(), r.into(), s.into(), recid.to_byte());
    assert!(verify::ecdsa(public.as_bytes(), &digest, &event));
    let uncompressed = key.verifying_key().to_encoded_point(false);
    assert!(verify::ecdsa(uncompressed.as_bytes(), &digest, &event));

    assert!(!verify::ecdsa(public.as_bytes(), &[0x5b; 32], &event));
    let other = k256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap();
    let other_pub = other.verifying_key().to_encoded_point(true);
    assert!(!verify::ecdsa(other_pub.as_bytes(), &digest, &event));
    let mut wrong_recid = event.clone();
    wrong_recid.signature_recovery = Some(vec![recid.to_byte() ^ 1]);
    assert!(!verify::ecdsa(public.as_bytes(), &digest, &wrong_recid));
    let mut missing = event.clone();
    missing.s = None;
    assert!(!verify::ecdsa(public.as_bytes(), &digest, &missing));
    let error = SigningResultEvent::error(ids(), ErrorCode::SigningFailure, "x");
    assert!(!verify::ecdsa(public.as_bytes(), &digest, &error));
}

#[test]
fn ed25519_signatures_are_checked() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let public = key.verifying_key().to_bytes();
    let message = b"transfer 1 SOL";
    let event = SigningResultEvent::eddsa_success(ids(), key.sign(message).to_bytes());
    assert!(verify::ed25519(&public, message, &event));
    assert!(!verify::ed25519(&public, b"transfer 2 SOL", &event));
    let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])
        .verifying_key()
        .to_bytes();
    assert!(!verify::ed25519(&other, message, &event));
    let mut short = event.clone();
    short.signature = Some(vec![0; 63]);
    assert!(!verify::ed25519(&public, message, &short));
}
