//! Shares written by earlier releases still decode, from fixture files:
//! `tests/fixtures/{ecdsa,eddsa}-v1-{0,1,2}.bin` (format version 1, a 2-of-3
//! keygen of node0..node2) and `...-v2-...` (format version 2: the same keys
//! after one refresh, epoch 1), written by the code at commit 42b3f81.
//! They read with indices 1..=n and, for ECDSA, no public key package; they
//! still sign; and a share nothing new was added to is written back byte for
//! byte in its old version.

mod common;

use std::collections::BTreeMap;

use common::*;
use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::EcdsaKeyShare;
use tessera_session::eddsa::EddsaKeyShare;
use tessera_session::simulator::Faults;
use tessera_session::KeyShare;
use tessera_types::NodeId;

fn fixture(name: &str, i: usize) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/{name}-{i}.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decoded(name: &str) -> (Vec<Vec<u8>>, Vec<KeyShare>) {
    let bytes: Vec<Vec<u8>> = (0..3).map(|i| fixture(name, i)).collect();
    let shares = bytes
        .iter()
        .map(|b| KeyShare::from_bytes(b).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    (bytes, shares)
}

fn check_old_format(name: &str, version: u8, epoch: u64) {
    let (bytes, shares) = decoded(name);
    for (i, (b, s)) in bytes.iter().zip(&shares).enumerate() {
        assert_eq!(b[4], version, "{name}-{i}: fixture version");
        let info = s.info();
        assert_eq!(info.participants, nodes(3), "{name}-{i}");
        assert_eq!(info.indices, vec![1, 2, 3], "{name}-{i}: indices");
        assert_eq!(info.me, node(i), "{name}-{i}");
        assert_eq!(info.epoch, epoch, "{name}-{i}: epoch");
        if let KeyShare::Ecdsa(e) = s {
            assert!(!e.has_public_package(), "{name}-{i}: package from nowhere");
        }
        // Nothing was added, so it is written back exactly as it was read.
        assert_eq!(*s.to_bytes().unwrap(), *b, "{name}-{i}: re-encoding");
    }
}

fn ecdsa_shares(name: &str) -> BTreeMap<NodeId, EcdsaKeyShare> {
    decoded(name)
        .1
        .into_iter()
        .map(|s| match s {
            KeyShare::Ecdsa(e) => (e.info.me.clone(), e),
            KeyShare::Eddsa(_) => panic!("{name}: scheme"),
        })
        .collect()
}

fn eddsa_shares(name: &str) -> BTreeMap<NodeId, EddsaKeyShare> {
    decoded(name)
        .1
        .into_iter()
        .map(|s| match s {
            KeyShare::Eddsa(e) => (e.info.me.clone(), e),
            KeyShare::Ecdsa(_) => panic!("{name}: scheme"),
        })
        .collect()
}

#[test]
fn format_v1_fixtures_decode_at_epoch_0_with_positional_indices() {
    check_old_format("ecdsa-v1", 1, 0);
    check_old_format("eddsa-v1", 1, 0);
}

#[test]
fn format_v2_fixtures_decode_at_epoch_1_with_positional_indices() {
    check_old_format("ecdsa-v2", 2, 1);
    check_old_format("eddsa-v2", 2, 1);
}

/// The v1 and v2 fixtures are one key before and after a refresh: both
/// sign under the same key (one signature each, to keep the test short).
#[test]
fn old_format_fixtures_still_sign() {
    let d = [0x11; 32];
    for name in ["ecdsa-v1", "ecdsa-v2"] {
        let shares = ecdsa_shares(name);
        let pk = shares[&node(0)].info.public_key.clone();
        let sigs = ecdsa_sign(
            &shares,
            &[node(0), node(2)],
            &d,
            &DerivationPath::root(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        sigs.values().for_each(|s| assert_ecdsa_valid(s, &pk, &d));
    }
    for name in ["eddsa-v1", "eddsa-v2"] {
        let shares = eddsa_shares(name);
        let pk = shares[&node(0)].public_key();
        let sigs = eddsa_sign(
            &shares,
            &[node(1), node(2)],
            b"m",
            &DerivationPath::root(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        sigs.values().for_each(|s| assert_eddsa_valid(s, &pk, b"m"));
    }
}

/// An old ECDSA share refreshes (no package to carry) and the result is
/// written in version 2, still without a package.
#[test]
fn an_old_ecdsa_share_refreshes_without_a_package() {
    let shares = ecdsa_shares("ecdsa-v2");
    let new = ecdsa_refresh("fixture-refresh", &shares, &Faults::default())
        .into_outputs()
        .unwrap();
    for s in new.values() {
        assert_eq!(s.info.epoch, 2);
        assert!(!s.has_public_package());
        assert_eq!(KeyShare::Ecdsa(s.clone()).to_bytes().unwrap()[4], 2);
    }
}
