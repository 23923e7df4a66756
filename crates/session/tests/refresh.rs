//! Share refresh for both curves, 2-of-3 and 3-of-5: every holder ends one
//! epoch later with the same group key and chain code, and signatures made
//! after the refresh verify (k256, ed25519-dalek `verify_strict`) under the
//! same master key and the same child key, derived from public data alone.

mod common;

use std::collections::BTreeMap;

use common::*;
use tessera_session::derive::ed25519;
use tessera_session::derive::secp256k1::ExtendedPublicKey;
use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::EcdsaKeyShare;
use tessera_session::eddsa::EddsaKeyShare;
use tessera_session::simulator::Faults;
use tessera_session::KeyShare;
use tessera_types::NodeId;

const CHILD: [u32; 2] = [0, 7];

fn ecdsa_bytes(s: &EcdsaKeyShare) -> Vec<u8> {
    KeyShare::Ecdsa(s.clone()).to_bytes().unwrap().to_vec()
}

fn eddsa_bytes(s: &EddsaKeyShare) -> Vec<u8> {
    KeyShare::Eddsa(s.clone()).to_bytes().unwrap().to_vec()
}

/// Signs at the root and at `CHILD` with `signers` and checks both signatures
/// against keys computed from the (unchanged) public key and chain code.
fn ecdsa_signs_master_and_child(
    shares: &BTreeMap<NodeId, EcdsaKeyShare>,
    signers: &[NodeId],
    pk: &[u8],
    chain_code: [u8; 32],
) {
    let child = ExtendedPublicKey::new(pk, chain_code)
        .unwrap()
        .derive(&CHILD)
        .unwrap()
        .public_key;
    for (path, key) in [
        (DerivationPath::root(), pk.to_vec()),
        (DerivationPath::new(CHILD.to_vec()), child.to_vec()),
    ] {
        let d = [0x42; 32];
        let sigs = ecdsa_sign(shares, signers, &d, &path, &Faults::default())
            .into_outputs()
            .unwrap_or_else(|e| panic!("path {path:?}: {e}"));
        assert_eq!(sigs.len(), signers.len());
        sigs.values().for_each(|s| assert_ecdsa_valid(s, &key, &d));
    }
}

fn eddsa_signs_master_and_child(
    shares: &BTreeMap<NodeId, EddsaKeyShare>,
    signers: &[NodeId],
    pk: [u8; 32],
) {
    let child = ed25519::derive(&pk, &CHILD).unwrap().public_key;
    for (path, key) in [
        (DerivationPath::root(), pk),
        (DerivationPath::new(CHILD.to_vec()), child),
    ] {
        let msg = b"after the refresh";
        let sigs = eddsa_sign(shares, signers, msg, &path, &Faults::default())
            .into_outputs()
            .unwrap_or_else(|e| panic!("path {path:?}: {e}"));
        sigs.values().for_each(|s| assert_eddsa_valid(s, &key, msg));
    }
}

fn ecdsa_refresh_keeps_the_key(t: u16, n: usize) {
    let old = ecdsa_fixture(t, n);
    let first = &old[&node(0)].info;
    let (pk, cc) = (first.public_key.clone(), first.chain_code);
    let new = ecdsa_refresh(&format!("refresh-e-{t}-{n}"), old, &Faults::default())
        .into_outputs()
        .unwrap();
    assert_eq!(new.len(), n, "every holder gets a refreshed share");
    for (id, s) in &new {
        assert_eq!(s.info.public_key, pk, "{id}: group key moved");
        assert_eq!(s.info.chain_code, cc, "{id}: chain code moved");
        assert_eq!(s.info.epoch, old[id].info.epoch + 1, "{id}: epoch");
        assert_eq!(s.info.participants, old[id].info.participants);
        assert_eq!(s.info.threshold, old[id].info.threshold);
        assert_ne!(
            ecdsa_bytes(s),
            ecdsa_bytes(&old[id]),
            "{id}: share unchanged"
        );
    }
    let ids = nodes(n);
    // The last t+1 holders and a set mixing low and high indices.
    ecdsa_signs_master_and_child(&new, &ids[n - (t as usize + 1)..], &pk, cc);
    let mut mixed = vec![ids[0].clone()];
    mixed.extend(ids[n - t as usize..].iter().cloned());
    ecdsa_signs_master_and_child(&new, &mixed, &pk, cc);

    // A second refresh chains on the first.
    let again = ecdsa_refresh(&format!("refresh-e2-{t}-{n}"), &new, &Faults::default())
        .into_outputs()
        .unwrap();
    assert!(again.values().all(|s| s.info.epoch == 2));
    ecdsa_signs_master_and_child(&again, &ids[..t as usize + 1], &pk, cc);
}

fn eddsa_refresh_keeps_the_key(t: u16, n: usize) {
    let old = eddsa_fixture(t, n);
    let pk = old[&node(0)].public_key();
    let cc = old[&node(0)].info.chain_code;
    let new = eddsa_refresh(&format!("refresh-d-{t}-{n}"), old, &Faults::default())
        .into_outputs()
        .unwrap();
    assert_eq!(new.len(), n);
    for (id, s) in &new {
        assert_eq!(s.public_key(), pk, "{id}: group key moved");
        assert_eq!(s.info.chain_code, cc, "{id}: chain code moved");
        assert_eq!(s.info.epoch, 1, "{id}: epoch");
        assert_ne!(
            eddsa_bytes(s),
            eddsa_bytes(&old[id]),
            "{id}: share unchanged"
        );
    }
    let ids = nodes(n);
    eddsa_signs_master_and_child(&new, &ids[n - (t as usize + 1)..], pk);
    eddsa_signs_master_and_child(&new, &ids, pk);
}

#[test]
fn ecdsa_2_of_3_refresh_keeps_key_chain_code_and_child_keys() {
    ecdsa_refresh_keeps_the_key(1, 3);
}

#[test]
fn ecdsa_3_of_5_refresh_keeps_key_chain_code_and_child_keys() {
    ecdsa_refresh_keeps_the_key(2, 5);
}

#[test]
fn eddsa_2_of_3_refresh_keeps_key_and_child_keys() {
    eddsa_refresh_keeps_the_key(1, 3);
}

#[test]
fn eddsa_3_of_5_refresh_keeps_key_and_child_keys() {
    eddsa_refresh_keeps_the_key(2, 5);
}

#[test]
fn refreshed_shares_survive_serialisation_at_their_epoch() {
    let e = ecdsa_refresh("refresh-ser-e", ecdsa_fixture(1, 3), &Faults::default())
        .into_outputs()
        .unwrap();
    let d = eddsa_refresh("refresh-ser-d", eddsa_fixture(1, 3), &Faults::default())
        .into_outputs()
        .unwrap();
    let mut e2 = BTreeMap::new();
    let mut d2 = BTreeMap::new();
    for id in nodes(3) {
        let eb = ecdsa_bytes(&e[&id]);
        // Keygen keeps the ECDSA public key package, which the refresh carries
        // on: that needs format version 3.
        assert_eq!(
            eb[4], 3,
            "a refreshed share with its package is format version 3"
        );
        match KeyShare::from_bytes(&eb).unwrap() {
            KeyShare::Ecdsa(s) => e2.insert(id.clone(), s),
            KeyShare::Eddsa(_) => panic!("scheme changed"),
        };
        match KeyShare::from_bytes(&eddsa_bytes(&d[&id])).unwrap() {
            KeyShare::Eddsa(s) => d2.insert(id.clone(), s),
            KeyShare::Ecdsa(_) => panic!("scheme changed"),
        };
        assert_eq!(e2[&id].info.epoch, 1);
        assert_eq!(d2[&id].info.epoch, 1);
    }
    let first = &e2[&node(0)].info;
    ecdsa_signs_master_and_child(
        &e2,
        &nodes(3)[1..],
        &first.public_key.clone(),
        first.chain_code,
    );
    eddsa_signs_master_and_child(&d2, &nodes(3)[..2], d2[&node(0)].public_key());
}

#[test]
fn every_holder_computes_one_epoch_digest_and_each_attempt_its_own() {
    let digest = |s: KeyShare| s.epoch_digest().unwrap();
    let old = eddsa_fixture(1, 3);
    let a = eddsa_refresh("digest-d-a", old, &Faults::default())
        .into_outputs()
        .unwrap();
    let b = eddsa_refresh("digest-d-b", old, &Faults::default())
        .into_outputs()
        .unwrap();
    let da: Vec<_> = a
        .values()
        .map(|s| digest(KeyShare::Eddsa(s.clone())))
        .collect();
    assert!(da.windows(2).all(|w| w[0] == w[1]), "holders disagree");
    assert_ne!(da[0], digest(KeyShare::Eddsa(b[&node(0)].clone())));
    assert_ne!(da[0], digest(KeyShare::Eddsa(old[&node(0)].clone())));

    let old = ecdsa_fixture(1, 3);
    let a = ecdsa_refresh("digest-e-a", old, &Faults::default())
        .into_outputs()
        .unwrap();
    let b = ecdsa_refresh("digest-e-b", old, &Faults::default())
        .into_outputs()
        .unwrap();
    let da: Vec<_> = a
        .values()
        .map(|s| digest(KeyShare::Ecdsa(s.clone())))
        .collect();
    assert!(da.windows(2).all(|w| w[0] == w[1]), "holders disagree");
    assert_ne!(da[0], digest(KeyShare::Ecdsa(b[&node(0)].clone())));
}
