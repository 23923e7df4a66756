//! Replace (repair, then refresh by the new committee) for both curves, on
//! the simulator: the group key never moves, the repaired holder signs with
//! the others (k256 / ed25519-dalek `verify_strict`), an index can go to a
//! node id that sorts elsewhere, FROST can grow and shrink the committee,
//! and bad inputs give typed errors with no output.

mod common;

use std::collections::BTreeMap;

use common::*;
use dkls23::protocols::repair::RepairError;
use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::{EcdsaKeyShare, EcdsaReplace};
use tessera_session::eddsa::{EddsaKeyShare, EddsaReplace};
use tessera_session::parties::Parties;
use tessera_session::repair_failure::RepairFailure;
use tessera_session::simulator::{run, sessions, Faults, Outcome, PartyOutcome};
use tessera_session::{Abort, KeyShare, ReplaceError, ReplacePlan, ReplaceRole, TargetKey};
use tessera_types::{ErrorCode, NodeId};

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// `committee` as (node, index); helpers are every member but `targets`.
fn plan(committee: &[(NodeId, u8)], targets: Vec<NodeId>) -> ReplacePlan {
    let committee = Parties::from_pairs(committee.iter().cloned()).unwrap();
    let helpers = committee
        .ids()
        .iter()
        .filter(|n| !targets.contains(n))
        .cloned()
        .collect();
    ReplacePlan {
        committee,
        helpers,
        targets,
    }
}

fn target_key(me: &NodeId, info: &tessera_session::ShareInfo) -> TargetKey {
    TargetKey {
        me: me.clone(),
        public_key: info.public_key.clone(),
        threshold: info.threshold,
        epoch: info.epoch,
    }
}

fn ecdsa_replace(
    sid: &str,
    shares: &BTreeMap<NodeId, EcdsaKeyShare>,
    plan: &ReplacePlan,
    cheater: Option<&NodeId>,
) -> Outcome<EcdsaKeyShare> {
    let info = &shares.values().next().unwrap().info;
    let cfg = config(sid, plan.committee.ids(), info.threshold.0);
    let made = sessions(&cfg, |me| {
        let role = match shares.get(me) {
            Some(s) if plan.helpers.contains(me) => ReplaceRole::Helper(s.clone()),
            _ => ReplaceRole::Target(target_key(me, info)),
        };
        let mut p = EcdsaReplace::new(&cfg, plan.clone(), role)?;
        if Some(me) == cheater {
            p.send_wrong_repair_terms_for_tests();
        }
        Ok(p)
    })
    .unwrap();
    run(made, &Faults::default())
}

fn eddsa_replace(
    sid: &str,
    shares: &BTreeMap<NodeId, EddsaKeyShare>,
    plan: &ReplacePlan,
    cheater: Option<&NodeId>,
) -> Outcome<EddsaKeyShare> {
    let info = &shares.values().next().unwrap().info;
    let cfg = config(sid, plan.committee.ids(), info.threshold.0);
    let made = sessions(&cfg, |me| {
        let role = match shares.get(me) {
            Some(s) if plan.helpers.contains(me) => ReplaceRole::Helper(s.clone()),
            _ => ReplaceRole::Target(target_key(me, info)),
        };
        let mut p = EddsaReplace::new(&cfg, plan.clone(), role)?;
        if Some(me) == cheater {
            p.send_wrong_sigmas_for_tests();
        }
        Ok(p)
    })
    .unwrap();
    run(made, &Faults::default())
}

fn ecdsa_signs(shares: &BTreeMap<NodeId, EcdsaKeyShare>, signers: &[NodeId], pk: &[u8]) {
    let d = [0x5a; 32];
    let sigs = ecdsa_sign(
        shares,
        signers,
        &d,
        &DerivationPath::root(),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap_or_else(|e| panic!("{signers:?}: {e}"));
    sigs.values().for_each(|s| assert_ecdsa_valid(s, pk, &d));
}

fn eddsa_signs(shares: &BTreeMap<NodeId, EddsaKeyShare>, signers: &[NodeId], pk: &[u8; 32]) {
    let m = b"after the replace";
    let sigs = eddsa_sign(
        shares,
        signers,
        m,
        &DerivationPath::root(),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap_or_else(|e| panic!("{signers:?}: {e}"));
    assert_eq!(sigs.len(), signers.len());
    sigs.values().for_each(|s| assert_eddsa_valid(s, pk, m));
}

/// Every party failed; returns the aborts.
fn all_failed<O: std::fmt::Debug>(out: Outcome<O>) -> BTreeMap<NodeId, Abort> {
    out.parties
        .into_iter()
        .map(|(id, o)| match o {
            PartyOutcome::Failed(a) => (id, a),
            other => panic!("{id} did not fail: {other:?}"),
        })
        .collect()
}

/// Index 2 goes to "node1b" (sorts where node1 did: indices stay
/// positional), then to "node9" (sorts last: index 2 is not its sorted
/// position). The second repair checks against the package the first
/// replace's refresh produced.
#[test]
fn ecdsa_replace_then_move_index_2_keeps_the_key_and_signs() {
    let old = ecdsa_fixture(1, 3);
    let pk = old[&node(0)].info.public_key.clone();
    let replacement = id("node1b");
    let p = plan(
        &[(node(0), 1), (replacement.clone(), 2), (node(2), 3)],
        vec![replacement.clone()],
    );
    let new = ecdsa_replace("replace-e", old, &p, None)
        .into_outputs()
        .unwrap();
    assert_eq!(new.len(), 3);
    for (n, s) in &new {
        assert_eq!(s.info.public_key, pk, "{n}: key moved");
        assert_eq!(s.info.epoch, 1, "{n}: epoch");
        assert_eq!(s.info.participants, p.committee.ids(), "{n}");
        assert_eq!(s.info.indices, vec![1, 2, 3], "{n}");
        assert!(s.has_public_package(), "{n}: package lost");
    }
    ecdsa_signs(&new, &[node(0), replacement.clone()], &pk);
    ecdsa_signs(&new, &[replacement.clone(), node(2)], &pk);

    let mover = id("node9");
    let p = plan(
        &[(node(0), 1), (mover.clone(), 2), (node(2), 3)],
        vec![mover.clone()],
    );
    let helpers: BTreeMap<NodeId, EcdsaKeyShare> =
        new.into_iter().filter(|(n, _)| *n != replacement).collect();
    let moved = ecdsa_replace("move-e", &helpers, &p, None)
        .into_outputs()
        .unwrap();
    assert_eq!(
        moved[&mover].info.participants,
        vec![node(0), node(2), mover.clone()]
    );
    assert_eq!(moved[&mover].info.indices, vec![1, 3, 2]);
    assert_eq!(moved[&mover].info.epoch, 2);
    // The index map survives the share format (version 3).
    let bytes = KeyShare::Ecdsa(moved[&mover].clone()).to_bytes().unwrap();
    assert_eq!(bytes[4], 3);
    let KeyShare::Ecdsa(decoded) = KeyShare::from_bytes(&bytes).unwrap() else {
        panic!("scheme changed");
    };
    let mut moved = moved;
    moved.insert(mover.clone(), decoded);
    ecdsa_signs(&moved, &[node(0), mover.clone()], &pk);
    ecdsa_signs(&moved, &[mover, node(2)], &pk);
}

#[test]
fn ecdsa_wrong_repair_term_is_a_share_mismatch_with_no_output() {
    let old = ecdsa_fixture(1, 3);
    let target = node(1);
    let p = plan(
        &[(node(0), 1), (node(1), 2), (node(2), 3)],
        vec![target.clone()],
    );
    let aborts = all_failed(ecdsa_replace("bad-term-e", old, &p, Some(&node(0))));
    assert_eq!(
        aborts[&target],
        Abort::Repair(RepairFailure::Ecdsa(RepairError::ShareMismatch))
    );
    assert_eq!(aborts[&target].code(), ErrorCode::ProtocolCheating);
    for a in aborts.values() {
        assert!(
            a.blame().proven.is_empty() && a.blame().ban.is_empty(),
            "{a}"
        );
    }
}

#[test]
fn replace_plans_the_libraries_cannot_run_are_refused() {
    let e = ecdsa_fixture(1, 3);
    let d = eddsa_fixture(1, 3);
    let all = [(node(0), 1), (node(1), 2), (node(2), 3)];
    let cfg = config("refused", &nodes(3), 1);
    // What the ECDSA and the EdDSA replace say to `p`, on `me`'s side (a
    // helper bringing its share).
    let refused = |p: &ReplacePlan, me: usize| -> [Abort; 2] {
        [
            EcdsaReplace::new(&cfg, p.clone(), ReplaceRole::Helper(e[&node(me)].clone()))
                .unwrap_err(),
            EddsaReplace::new(&cfg, p.clone(), ReplaceRole::Helper(d[&node(me)].clone()))
                .unwrap_err(),
        ]
    };

    // The target listed among the helpers (dkls23 refuses it; frost's
    // `repair_share_part1` does not check it), on a helper's side and on the
    // target's own.
    let mut p = plan(&all, vec![node(1)]);
    p.helpers.push(node(1));
    p.helpers.sort();
    for a in refused(&p, 0).into_iter().chain(refused(&p, 1)) {
        assert_eq!(a, Abort::Replace(ReplaceError::TargetIsHelper(node(1))));
        assert_eq!(a.code(), ErrorCode::IncompatiblePeerIds);
    }
    // Two targets of a 2-of-3 key leave one helper; t + 1 = 2 are needed.
    let p = plan(&all, vec![node(1), node(2)]);
    for a in refused(&p, 0) {
        assert_eq!(
            a,
            Abort::Replace(ReplaceError::TooFewHelpers { needed: 2, got: 1 })
        );
        assert_eq!(a.code(), ErrorCode::InsufficientParticipants);
    }
    // A helper whose share is for another index than the plan gives it.
    let swapped = [(node(0), 2), (node(1), 1), (node(2), 3)];
    let p = plan(&swapped, vec![node(1)]);
    for a in refused(&p, 0) {
        assert!(
            matches!(
                a,
                Abort::Replace(ReplaceError::IndexMoved {
                    held: 1,
                    planned: 2,
                    ..
                })
            ),
            "{a}"
        );
    }
}

#[test]
fn ecdsa_cannot_grow_and_each_role_must_be_the_planned_one() {
    let e = ecdsa_fixture(1, 3);
    let info = &e[&node(0)].info;
    // A fourth index: DKLs23 fixes n at keygen.
    let grown = plan(
        &[(node(0), 1), (node(1), 2), (node(2), 3), (node(3), 4)],
        vec![node(3)],
    );
    let cfg = config("grow-e", grown.committee.ids(), 1);
    let a = EcdsaReplace::new(&cfg, grown, ReplaceRole::Helper(e[&node(0)].clone())).unwrap_err();
    assert!(
        matches!(a, Abort::Replace(ReplaceError::EcdsaIndices { .. })),
        "{a}"
    );
    // A player that brings a share but is planned as a target.
    let p = plan(&[(node(0), 1), (node(1), 2), (node(2), 3)], vec![node(1)]);
    let cfg = config("role-e", &nodes(3), 1);
    let a =
        EcdsaReplace::new(&cfg, p.clone(), ReplaceRole::Helper(e[&node(1)].clone())).unwrap_err();
    assert!(
        matches!(a, Abort::Replace(ReplaceError::WrongRole { .. })),
        "{a}"
    );
    let a =
        EcdsaReplace::new(&cfg, p, ReplaceRole::Target(target_key(&node(0), info))).unwrap_err();
    assert!(
        matches!(a, Abort::Replace(ReplaceError::WrongRole { .. })),
        "{a}"
    );
}

/// The FROST counterpart of the ECDSA test: same index, then moved to a node
/// id that sorts elsewhere.
#[test]
fn eddsa_replace_then_move_index_2_keeps_the_key_and_signs() {
    let old = eddsa_fixture(1, 3);
    let pk = old[&node(0)].public_key();
    let replacement = id("node1b");
    let p = plan(
        &[(node(0), 1), (replacement.clone(), 2), (node(2), 3)],
        vec![replacement.clone()],
    );
    let new = eddsa_replace("replace-d", old, &p, None)
        .into_outputs()
        .unwrap();
    assert!(new
        .values()
        .all(|s| s.public_key() == pk && s.info.epoch == 1));
    eddsa_signs(&new, &[node(0), replacement.clone()], &pk);
    eddsa_signs(&new, &[replacement.clone(), node(2)], &pk);

    let mover = id("node9");
    let p = plan(
        &[(node(0), 1), (mover.clone(), 2), (node(2), 3)],
        vec![mover.clone()],
    );
    let helpers: BTreeMap<NodeId, EddsaKeyShare> =
        new.into_iter().filter(|(n, _)| *n != replacement).collect();
    let moved = eddsa_replace("move-d", &helpers, &p, None)
        .into_outputs()
        .unwrap();
    assert_eq!(moved[&mover].info.indices, vec![1, 3, 2]);
    eddsa_signs(&moved, &[mover.clone(), node(0)], &pk);
    eddsa_signs(&moved, &[node(2), mover], &pk);
}

/// A new identifier 4 is enrolled by repair (the FROST book's "issue a new
/// share to a new participant"), then all four refresh; {4, 1} signs.
#[test]
fn eddsa_grows_from_3_to_4_identifiers_and_the_new_one_signs() {
    let old = eddsa_fixture(1, 3);
    let pk = old[&node(0)].public_key();
    let p = plan(
        &[(node(0), 1), (node(1), 2), (node(2), 3), (node(3), 4)],
        vec![node(3)],
    );
    let grown = eddsa_replace("grow-d", old, &p, None)
        .into_outputs()
        .unwrap();
    assert_eq!(grown.len(), 4);
    for s in grown.values() {
        assert_eq!(s.public_key(), pk);
        assert_eq!(s.info.indices, vec![1, 2, 3, 4]);
    }
    eddsa_signs(&grown, &[node(3), node(0)], &pk);
}

/// Identifier 2 is left out of the refresh: the others sign without it, and
/// its old key package no longer makes a valid signature with them.
#[test]
fn eddsa_removes_identifier_2_and_its_old_share_no_longer_signs() {
    let old = eddsa_fixture(1, 3);
    let pk = old[&node(0)].public_key();
    let p = plan(&[(node(0), 1), (node(2), 3)], vec![]);
    let rest = eddsa_replace("remove-d", old, &p, None)
        .into_outputs()
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[&node(0)].info.participants, vec![node(0), node(2)]);
    assert_eq!(rest[&node(0)].info.indices, vec![1, 3]);
    eddsa_signs(&rest, &[node(0), node(2)], &pk);

    // The refreshed holder still lists the removed one (so its signing
    // session accepts it); the removed one brings its old share.
    let removed = node(1);
    let mut mixed = BTreeMap::new();
    let mut widened = rest[&node(0)].clone();
    widened.info.participants = nodes(3);
    widened.info.indices = vec![1, 2, 3];
    mixed.insert(node(0), widened);
    mixed.insert(removed.clone(), old[&removed].clone());
    let out = eddsa_sign(
        &mixed,
        &[node(0), removed],
        b"m",
        &DerivationPath::root(),
        &Faults::default(),
    );
    all_failed(out);
}

#[test]
fn eddsa_wrong_sigma_is_a_repaired_share_mismatch_with_no_output() {
    let old = eddsa_fixture(1, 3);
    let target = node(1);
    let p = plan(
        &[(node(0), 1), (node(1), 2), (node(2), 3)],
        vec![target.clone()],
    );
    let aborts = all_failed(eddsa_replace("bad-sigma-d", old, &p, Some(&node(2))));
    let a = &aborts[&target];
    assert_eq!(a, &Abort::Repair(RepairFailure::ShareMismatch { index: 2 }));
    assert!(
        a.to_string().contains("repaired share does not match"),
        "{a}"
    );
    for a in aborts.values() {
        assert!(
            a.blame().proven.is_empty() && a.blame().ban.is_empty(),
            "{a}"
        );
    }
}
