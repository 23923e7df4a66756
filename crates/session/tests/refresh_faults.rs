//! What goes wrong around a refresh gives typed errors, never a signature or a ban:
//! an old share mixed with refreshed ones cannot sign (ECDSA: a recoverable
//! session mismatch, named but never banned; EdDSA: aggregation fails);
//! a corrupted refresh message ends the refresh for every holder, naming the
//! sender where the library can tell; a silent holder leaves the others
//! waiting for it; a threshold change or another committee is refused.

mod common;

use std::collections::BTreeMap;

use common::*;
use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::{EcdsaKeyShare, EcdsaRefresh};
use tessera_session::eddsa::{EddsaKeyShare, EddsaRefresh};
use tessera_session::simulator::{Faults, Outcome, PartyOutcome};
use tessera_session::Abort;
use tessera_types::{ErrorCode, NodeId, Threshold};

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut x = Faults::default();
    f(&mut x);
    x
}

/// No honest party produced output and none is to be banned, except
/// `bannable` (a sender whose own signed messages contradict each other, whose
/// own outcome is not checked); returns the honest parties' aborts.
fn failed_banning<O: std::fmt::Debug>(
    out: Outcome<O>,
    bannable: Option<&NodeId>,
    what: &str,
) -> BTreeMap<NodeId, Abort> {
    let mut aborts = BTreeMap::new();
    for (id, o) in out.parties {
        if Some(&id) == bannable {
            continue;
        }
        match o {
            PartyOutcome::Failed(a) => {
                let ban = a.blame().ban;
                assert!(
                    ban.iter().all(|b| Some(b) == bannable),
                    "{what}: {id} would ban {ban:?}: {a}"
                );
                aborts.insert(id, a);
            }
            other => panic!("{what}: {id} did not fail: {other:?}"),
        }
    }
    aborts
}

fn all_failed<O: std::fmt::Debug>(out: Outcome<O>, what: &str) -> BTreeMap<NodeId, Abort> {
    failed_banning(out, None, what)
}

fn stale_ecdsa_share_cannot_sign(t: u16, n: usize) {
    let old = ecdsa_fixture(t, n);
    let mut mixed: BTreeMap<NodeId, EcdsaKeyShare> =
        ecdsa_refresh(&format!("stale-e-{t}-{n}"), old, &Faults::default())
            .into_outputs()
            .unwrap();
    let stale = node(1);
    mixed.insert(stale.clone(), old[&stale].clone());
    let signers = &nodes(n)[..t as usize + 1];
    let out = ecdsa_sign(
        &mixed,
        signers,
        &[7; 32],
        &DerivationPath::root(),
        &Faults::default(),
    );
    let aborts = all_failed(out, "stale ecdsa share");
    // Every refreshed signer's own check fails on the stale signer's message:
    // the library calls it a recoverable session mismatch, never a ban.
    for (id, a) in &aborts {
        if *id == stale {
            continue;
        }
        match a {
            Abort::PeerAborted { .. } => {}
            Abort::Cheating {
                culprits,
                ban,
                detail,
            } => {
                assert!(!ban, "{id}: a stale share must never cause a ban");
                assert!(
                    culprits.contains(&stale),
                    "{id} blamed {culprits:?}: {detail}"
                );
                assert!(detail.to_lowercase().contains("session"), "{id}: {detail}");
            }
            other => panic!("{id}: unexpected abort {other}"),
        }
    }
    assert!(
        aborts
            .iter()
            .any(|(id, a)| *id != stale && matches!(a, Abort::Cheating { .. })),
        "no refreshed signer found the stale share itself: {aborts:?}"
    );
}

#[test]
fn stale_ecdsa_share_with_refreshed_ones_fails_without_a_ban_2_of_3() {
    stale_ecdsa_share_cannot_sign(1, 3);
}

#[test]
fn stale_ecdsa_share_with_refreshed_ones_fails_without_a_ban_3_of_5() {
    stale_ecdsa_share_cannot_sign(2, 5);
}

fn stale_eddsa_share_cannot_sign(t: u16, n: usize) {
    let old = eddsa_fixture(t, n);
    let mut mixed: BTreeMap<NodeId, EddsaKeyShare> =
        eddsa_refresh(&format!("stale-d-{t}-{n}"), old, &Faults::default())
            .into_outputs()
            .unwrap();
    let stale = node(0);
    mixed.insert(stale.clone(), old[&stale].clone());
    let signers = &nodes(n)[..t as usize + 1];
    let out = eddsa_sign(
        &mixed,
        signers,
        b"m",
        &DerivationPath::root(),
        &Faults::default(),
    );
    // Aggregation fails for everyone: the refreshed signers check the stale
    // signature share against the refreshed verifying shares and name it.
    let aborts = all_failed(out, "stale eddsa share");
    for (id, a) in aborts.iter().filter(|(id, _)| **id != stale) {
        if let Abort::Cheating { culprits, .. } = a {
            assert_eq!(culprits, &vec![stale.clone()], "{id}: {a}");
        }
    }
}

#[test]
fn stale_eddsa_share_with_refreshed_ones_fails_2_of_3() {
    stale_eddsa_share_cannot_sign(1, 3);
}

#[test]
fn stale_eddsa_share_with_refreshed_ones_fails_3_of_5() {
    stale_eddsa_share_cannot_sign(2, 5);
}

#[test]
fn corrupted_ecdsa_refresh_messages_abort_naming_the_sender() {
    let shares = ecdsa_fixture(1, 3);
    let liar = node(2);
    // Rounds 1 and 2: proofs, zero-share commitments and seeds, OT init are
    // each checked against the sender's own commitments. Round 2 is p2p only:
    // DKLs23 calls every refresh failure recoverable, so nobody is banned.
    // Round 1's broadcast also disagrees with the sender's own signed echo
    // of it, which the driver treats as equivocation (a ban of the sender).
    for round in [1u16, 2] {
        for seed in 0..3 {
            let f = faults(|f| {
                f.corrupt = Some((liar.clone(), round));
                f.seed = seed;
            });
            let out = ecdsa_refresh(&format!("corrupt-re-{round}-{seed}"), shares, &f);
            let aborts = failed_banning(out, Some(&liar), "corrupted ecdsa refresh");
            for (id, a) in &aborts {
                if round == 2 {
                    assert!(a.blame().ban.is_empty(), "round 2: {id}: {a}");
                }
                assert_eq!(a.culprits(), vec![liar.clone()], "round {round}: {id}: {a}");
                assert!(
                    matches!(
                        a.code(),
                        ErrorCode::MessageFormat
                            | ErrorCode::ProtocolCheating
                            | ErrorCode::Equivocation
                    ),
                    "{a}"
                );
            }
        }
    }
    // Round 0: a wrong fragment only shows as the receiver's own point not
    // matching; the library cannot say which sender lied, so nobody is named.
    let f = faults(|f| f.corrupt = Some((liar.clone(), 0)));
    let aborts = failed_banning(ecdsa_refresh("corrupt-re-0", shares, &f), Some(&liar), "r0");
    for (id, a) in &aborts {
        assert!(a.blame().ban.is_empty(), "round 0: {id}: {a}");
        assert!(
            a.culprits().is_empty() || a.culprits() == vec![liar.clone()],
            "{id} blamed an honest party: {a}"
        );
    }
}

#[test]
fn corrupted_eddsa_refresh_messages_abort_without_blaming_the_honest() {
    let shares = eddsa_fixture(1, 3);
    let liar = node(2);
    let mut named = 0;
    for round in [0u16, 1] {
        for seed in 0..4 {
            let f = faults(|f| {
                f.corrupt = Some((liar.clone(), round));
                f.seed = seed;
            });
            let out = eddsa_refresh(&format!("corrupt-rd-{round}-{seed}"), shares, &f);
            for (id, o) in out.parties.iter().filter(|(id, _)| **id != liar) {
                let PartyOutcome::Failed(a) = o else {
                    // An altered proof of knowledge is not checked by the
                    // refresh (the zero constant term makes it unnecessary).
                    assert!(
                        round == 0,
                        "round {round} seed {seed}: {id} finished: {o:?}"
                    );
                    continue;
                };
                let ban = a.blame().ban;
                assert!(ban.is_empty() || ban == vec![liar.clone()], "{id}: {a}");
                let c = a.culprits();
                assert!(c.is_empty() || c == vec![liar.clone()], "{id}: {a}");
                named += usize::from(c == vec![liar.clone()]);
            }
        }
    }
    assert!(named > 0, "no corruption was ever attributed to its sender");
}

#[test]
fn a_silent_holder_leaves_the_others_waiting_for_it() {
    let f = faults(|f| {
        f.silent_from.insert(node(1), 1);
    });
    let out = ecdsa_refresh("silent-re", ecdsa_fixture(1, 3), &f);
    for id in [node(0), node(2)] {
        match &out.parties[&id] {
            PartyOutcome::Stuck { waiting_for, .. } => assert_eq!(waiting_for, &vec![node(1)]),
            other => panic!("{id}: expected stuck, got {other:?}"),
        }
    }
    let out = eddsa_refresh("silent-rd", eddsa_fixture(1, 3), &f);
    assert!(
        out.into_outputs().is_err(),
        "a refresh finished without a holder"
    );
}

#[test]
fn threshold_changes_and_other_committees_are_refused() {
    let e = &ecdsa_fixture(1, 3)[&node(0)];
    let d = &eddsa_fixture(1, 3)[&node(0)];
    let higher = config("r-t", &nodes(3), 2);
    let err = EcdsaRefresh::new(&higher, e.clone()).unwrap_err();
    assert_eq!(
        err,
        Abort::ThresholdChange {
            key: Threshold(1),
            requested: Threshold(2)
        }
    );
    assert_eq!(err.code(), ErrorCode::InvalidThreshold);
    assert!(err.to_string().contains("fixed at t=1"), "{err}");
    let err = EddsaRefresh::new(&higher, d).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidThreshold);

    // A holder left out (that would remove it) or a stranger added.
    let fewer = config("r-n", &nodes(3)[..2], 1);
    let err = EcdsaRefresh::new(&fewer, e.clone()).unwrap_err();
    assert_eq!(
        err,
        Abort::RefreshPlayers {
            missing: vec![node(2)],
            strangers: vec![]
        }
    );
    assert_eq!(err.code(), ErrorCode::IncompatiblePeerIds);
    let more = config("r-m", &nodes(4), 1);
    let err = EddsaRefresh::new(&more, d).unwrap_err();
    assert_eq!(
        err,
        Abort::RefreshPlayers {
            missing: vec![],
            strangers: vec![node(3)]
        }
    );
    assert!(err.blame().proven.is_empty() && err.culprits().is_empty());
}
