//! Shared helpers: party ids, keygen fixtures (computed once per test binary),
//! and one-call signing and refresh runs on the simulator.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::{EcdsaKeyShare, EcdsaKeygen, EcdsaRefresh, EcdsaSign, EcdsaSignature};
use tessera_session::eddsa::{EddsaKeyShare, EddsaKeygen, EddsaRefresh, EddsaSign, EddsaSignature};
use tessera_session::simulator::{run, sessions, Faults, Outcome};
use tessera_session::Session;
use tessera_types::{NodeId, SessionConfig, SessionId, Threshold};

pub fn node(i: usize) -> NodeId {
    NodeId::new(format!("node{i}")).unwrap()
}

pub fn nodes(n: usize) -> Vec<NodeId> {
    (0..n).map(node).collect()
}

pub fn config(sid: &str, players: &[NodeId], t: u16) -> SessionConfig {
    SessionConfig::new(SessionId::new(sid).unwrap(), players.to_vec(), Threshold(t)).unwrap()
}

pub fn ecdsa_keygen_sessions(sid: &str, t: u16, n: usize) -> Vec<Session<EcdsaKeygen>> {
    let cfg = config(sid, &nodes(n), t);
    sessions(&cfg, |me| EcdsaKeygen::new(cfg.clone(), me.clone())).unwrap()
}

pub fn eddsa_keygen_sessions(sid: &str, t: u16, n: usize) -> Vec<Session<EddsaKeygen>> {
    let cfg = config(sid, &nodes(n), t);
    sessions(&cfg, |me| EddsaKeygen::new(cfg.clone(), me.clone())).unwrap()
}

pub fn ecdsa_keygen(t: u16, n: usize) -> BTreeMap<NodeId, EcdsaKeyShare> {
    run(
        ecdsa_keygen_sessions(&format!("kg-ecdsa-{t}-{n}"), t, n),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap()
}

pub fn eddsa_keygen(t: u16, n: usize) -> BTreeMap<NodeId, EddsaKeyShare> {
    run(
        eddsa_keygen_sessions(&format!("kg-eddsa-{t}-{n}"), t, n),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap()
}

/// Keys reused by every test that is not about keygen itself.
pub fn ecdsa_fixture(t: u16, n: usize) -> &'static BTreeMap<NodeId, EcdsaKeyShare> {
    static K13: OnceLock<BTreeMap<NodeId, EcdsaKeyShare>> = OnceLock::new();
    static K25: OnceLock<BTreeMap<NodeId, EcdsaKeyShare>> = OnceLock::new();
    match (t, n) {
        (1, 3) => K13.get_or_init(|| ecdsa_keygen(1, 3)),
        (2, 5) => K25.get_or_init(|| ecdsa_keygen(2, 5)),
        _ => panic!("no fixture for ({t}, {n})"),
    }
}

pub fn eddsa_fixture(t: u16, n: usize) -> &'static BTreeMap<NodeId, EddsaKeyShare> {
    static K13: OnceLock<BTreeMap<NodeId, EddsaKeyShare>> = OnceLock::new();
    static K25: OnceLock<BTreeMap<NodeId, EddsaKeyShare>> = OnceLock::new();
    match (t, n) {
        (1, 3) => K13.get_or_init(|| eddsa_keygen(1, 3)),
        (2, 5) => K25.get_or_init(|| eddsa_keygen(2, 5)),
        _ => panic!("no fixture for ({t}, {n})"),
    }
}

pub fn ecdsa_sign_sessions(
    sid: &str,
    shares: &BTreeMap<NodeId, EcdsaKeyShare>,
    signers: &[NodeId],
    digest: &[u8],
    path: &DerivationPath,
) -> Vec<Session<EcdsaSign>> {
    let t = shares.values().next().unwrap().info.threshold.0;
    let cfg = config(sid, signers, t);
    cfg.players()
        .iter()
        .map(|me| {
            let p = EcdsaSign::new(&cfg, shares[me].clone(), digest, path).unwrap();
            Session::new(
                cfg.session_id.clone(),
                cfg.players().to_vec(),
                me.clone(),
                p,
            )
            .unwrap()
        })
        .collect()
}

pub fn eddsa_sign_sessions(
    sid: &str,
    shares: &BTreeMap<NodeId, EddsaKeyShare>,
    signers: &[NodeId],
    message: &[u8],
    path: &DerivationPath,
) -> Vec<Session<EddsaSign>> {
    let t = shares.values().next().unwrap().info.threshold.0;
    let cfg = config(sid, signers, t);
    cfg.players()
        .iter()
        .map(|me| {
            let p = EddsaSign::new(&cfg, &shares[me], message, path).unwrap();
            Session::new(
                cfg.session_id.clone(),
                cfg.players().to_vec(),
                me.clone(),
                p,
            )
            .unwrap()
        })
        .collect()
}

pub fn ecdsa_sign(
    shares: &BTreeMap<NodeId, EcdsaKeyShare>,
    signers: &[NodeId],
    digest: &[u8; 32],
    path: &DerivationPath,
    faults: &Faults,
) -> Outcome<EcdsaSignature> {
    run(
        ecdsa_sign_sessions("sign-ecdsa", shares, signers, digest, path),
        faults,
    )
}

pub fn eddsa_sign(
    shares: &BTreeMap<NodeId, EddsaKeyShare>,
    signers: &[NodeId],
    message: &[u8],
    path: &DerivationPath,
    faults: &Faults,
) -> Outcome<EddsaSignature> {
    run(
        eddsa_sign_sessions("sign-eddsa", shares, signers, message, path),
        faults,
    )
}

/// Independent ECDSA check with k256: verifies, is low-s, and the recovery id
/// recovers the expected key.
pub fn assert_ecdsa_valid(sig: &EcdsaSignature, expected_pk: &[u8], digest: &[u8; 32]) {
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
    assert_eq!(sig.public_key, expected_pk, "signature is for another key");
    let vk = VerifyingKey::from_sec1_bytes(expected_pk).unwrap();
    let s = Signature::from_scalars(sig.r, sig.s).unwrap();
    assert!(s.normalize_s().is_none(), "high s");
    vk.verify_prehash(digest, &s)
        .expect("k256 rejects the signature");
    let rec = VerifyingKey::recover_from_prehash(
        digest,
        &s,
        RecoveryId::from_byte(sig.recovery_id).unwrap(),
    )
    .unwrap();
    assert_eq!(rec, vk, "recovery id recovers another key");
}

/// Independent EdDSA check with ed25519-dalek `verify_strict`.
pub fn assert_eddsa_valid(sig: &EddsaSignature, expected_pk: &[u8; 32], message: &[u8]) {
    assert_eq!(&sig.public_key, expected_pk, "signature is for another key");
    let vk = ed25519_dalek::VerifyingKey::from_bytes(expected_pk).unwrap();
    vk.verify_strict(
        message,
        &ed25519_dalek::Signature::from_bytes(&sig.signature),
    )
    .expect("ed25519-dalek rejects the signature");
}

/// Every 2-element subset of `ids` (and so on): all subsets of size `k`.
pub fn subsets(ids: &[NodeId], k: usize) -> Vec<Vec<NodeId>> {
    if k == 0 {
        return vec![vec![]];
    }
    if ids.len() < k {
        return vec![];
    }
    let mut out = subsets(&ids[1..], k - 1)
        .into_iter()
        .map(|mut s| {
            s.insert(0, ids[0].clone());
            s
        })
        .collect::<Vec<_>>();
    out.extend(subsets(&ids[1..], k));
    out
}

/// A refresh of `shares` by every holder, over the simulator.
pub fn ecdsa_refresh(
    sid: &str,
    shares: &BTreeMap<NodeId, EcdsaKeyShare>,
    faults: &Faults,
) -> Outcome<EcdsaKeyShare> {
    let t = shares.values().next().unwrap().info.threshold.0;
    let ids: Vec<NodeId> = shares.keys().cloned().collect();
    let cfg = config(sid, &ids, t);
    run(
        sessions(&cfg, |me| EcdsaRefresh::new(&cfg, shares[me].clone())).unwrap(),
        faults,
    )
}

pub fn eddsa_refresh(
    sid: &str,
    shares: &BTreeMap<NodeId, EddsaKeyShare>,
    faults: &Faults,
) -> Outcome<EddsaKeyShare> {
    let t = shares.values().next().unwrap().info.threshold.0;
    let ids: Vec<NodeId> = shares.keys().cloned().collect();
    let cfg = config(sid, &ids, t);
    run(
        sessions(&cfg, |me| EddsaRefresh::new(&cfg, &shares[me])).unwrap(),
        faults,
    )
}
