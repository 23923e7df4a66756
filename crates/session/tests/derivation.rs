//! HD derivation: BIP-32 public derivation against the BIP's published
//! vectors, and signing under a path verified against the child key computed
//! from public data alone, for both curves.

mod common;

use common::*;
use tessera_session::derive::ed25519;
use tessera_session::derive::secp256k1::ExtendedPublicKey;
use tessera_session::derive::{DerivationPath, HARDENED};
use tessera_session::ecdsa::EcdsaSign;
use tessera_session::eddsa::EddsaSign;
use tessera_session::simulator::Faults;
use tessera_session::Abort;

/// Decodes a BIP-32 xpub: (child number, chain code, key).
fn xpub(s: &str) -> (u32, [u8; 32], [u8; 33]) {
    let raw = bs58::decode(s)
        .with_check(None)
        .into_vec()
        .expect("bad checksum");
    assert_eq!(raw.len(), 78);
    let child = u32::from_be_bytes(raw[9..13].try_into().unwrap());
    (
        child,
        raw[13..45].try_into().unwrap(),
        raw[45..78].try_into().unwrap(),
    )
}

/// Every non-hardened step of BIP-32 test vectors 1 and 2: (parent, child).
const STEPS: &[(&str, &str)] = &[
    // Vector 1: m/0H -> m/0H/1
    ("xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
     "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ"),
    // Vector 1: m/0H/1/2H -> m/0H/1/2H/2
    ("xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
     "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV"),
    // Vector 1: m/0H/1/2H/2 -> m/0H/1/2H/2/1000000000
    ("xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
     "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"),
    // Vector 2: m -> m/0
    ("xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
     "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"),
];

#[test]
fn bip32_public_derivation_matches_published_vectors() {
    for (parent, child) in STEPS {
        let (_, cc, key) = xpub(parent);
        let (index, want_cc, want_key) = xpub(child);
        assert!(index < HARDENED);
        let got = ExtendedPublicKey::new(&key, cc)
            .unwrap()
            .child(index)
            .unwrap();
        assert_eq!(got.public_key, want_key, "key of {child}");
        assert_eq!(got.chain_code, want_cc, "chain code of {child}");
    }
    let (_, cc, key) = xpub(STEPS[0].0);
    let x = ExtendedPublicKey::new(&key, cc).unwrap();
    assert!(
        x.child(HARDENED).is_err(),
        "hardened public derivation must fail"
    );
}

#[test]
fn ecdsa_signature_under_path_verifies_against_offline_child_key() {
    let shares = ecdsa_fixture(1, 3);
    let info = &shares[&node(0)].info;
    let path = DerivationPath::new(vec![44, 60, 0, 0, 7]);
    // Public data only: master key + chain code from the share's public metadata.
    let child = ExtendedPublicKey::new(&info.public_key, info.chain_code)
        .unwrap()
        .derive(path.indices())
        .unwrap();
    let d = [0x42; 32];
    let sigs = ecdsa_sign(shares, &nodes(3)[1..], &d, &path, &Faults::default())
        .into_outputs()
        .unwrap();
    for sig in sigs.values() {
        assert_ecdsa_valid(sig, &child.public_key, &d);
    }
}

#[test]
fn eddsa_signature_under_path_verifies_against_offline_child_key() {
    let shares = eddsa_fixture(1, 3);
    let pk = shares[&node(0)].public_key();
    let path = DerivationPath::new(vec![44, 501, 0, 0]);
    let child = ed25519::derive(&pk, path.indices()).unwrap();
    assert_ne!(child.public_key, pk);
    for signers in [nodes(3)[..2].to_vec(), nodes(3)[1..].to_vec()] {
        let msg = b"\x00child key message";
        let sigs = eddsa_sign(shares, &signers, msg, &path, &Faults::default())
            .into_outputs()
            .unwrap();
        for sig in sigs.values() {
            assert_eddsa_valid(sig, &child.public_key, msg);
        }
    }
}

#[test]
fn hardened_index_is_a_typed_error_for_both_curves() {
    let path = DerivationPath::new(vec![44, HARDENED + 60]);
    let cfg = config("hard", &nodes(3)[..2], 1);
    let e =
        EcdsaSign::new(&cfg, ecdsa_fixture(1, 3)[&node(0)].clone(), &[1; 32], &path).unwrap_err();
    assert_eq!(
        e,
        Abort::HardenedIndex {
            index: HARDENED + 60
        }
    );
    assert_eq!(e.code(), tessera_types::ErrorCode::InvalidDerivationPath);
    let e = EddsaSign::new(&cfg, &eddsa_fixture(1, 3)[&node(0)], b"m", &path).unwrap_err();
    assert_eq!(
        e,
        Abort::HardenedIndex {
            index: HARDENED + 60
        }
    );
}

#[test]
fn ecdsa_rejects_a_digest_that_is_not_32_bytes() {
    let cfg = config("digest", &nodes(3)[..2], 1);
    let share = ecdsa_fixture(1, 3)[&node(0)].clone();
    let e = EcdsaSign::new(&cfg, share, &[1; 31], &DerivationPath::root()).unwrap_err();
    assert_eq!(e, Abort::BadDigest { len: 31 });
}
