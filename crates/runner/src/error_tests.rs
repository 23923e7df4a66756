//! Blame classification: what this node proved, what it saw, what it was told.

use super::*;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn sid() -> SessionId {
    SessionId::new("s").unwrap()
}

#[test]
fn a_dkls_ban_abort_is_proven_and_banned() {
    let e = SessionError::Protocol {
        session_id: sid(),
        abort: Abort::Cheating {
            culprits: vec![id("c")],
            ban: true,
            detail: "multiplication check".into(),
        },
    };
    let c = e.culprits();
    assert_eq!(c.proven, vec![id("c")]);
    assert_eq!(c.ban, vec![id("c")]);
    assert!(c.claimed.is_empty() && c.observed_silent.is_empty());
    assert_eq!(c.found(), vec![id("c")]);
    assert_eq!(e.code(), ErrorCode::ProtocolCheating);
}

#[test]
fn a_peers_abort_is_a_claim_and_the_peer_itself_was_seen_leaving() {
    let e = SessionError::PeerAborted {
        session_id: sid(),
        peer: id("liar"),
        code: ErrorCode::ProtocolCheating,
        blamed: vec![id("honest")],
        reason: "cheating".into(),
    };
    let c = e.culprits();
    assert_eq!(c.claimed, vec![id("honest")]);
    assert_eq!(c.observed_silent, vec![id("liar")]);
    assert!(c.proven.is_empty() && c.ban.is_empty());
    // The claim is never passed on as ours.
    assert_eq!(c.found(), vec![id("liar")]);
    // A claimed equivocation (a third party's echo) is no proof either.
    let e = SessionError::Protocol {
        session_id: sid(),
        abort: Abort::Equivocation {
            culprit: id("s"),
            reported_by: id("k"),
            round: 1,
        },
    };
    let c = e.culprits();
    assert_eq!(c.claimed, vec![id("s")]);
    assert!(c.proven.is_empty() && c.ban.is_empty());
    // A reporter contradicting our own broadcast is proven and banned.
    let e = SessionError::Protocol {
        session_id: sid(),
        abort: Abort::Equivocation {
            culprit: id("k"),
            reported_by: id("k"),
            round: 1,
        },
    };
    assert_eq!(e.culprits().ban, vec![id("k")]);
}

#[test]
fn silence_is_observed_never_proven() {
    let e = SessionError::JoinTimeout {
        session_id: sid(),
        missing: vec![id("a"), id("b")],
    };
    assert_eq!(e.culprits().observed_silent, vec![id("a"), id("b")]);
    assert!(e.culprits().proven.is_empty());
    let e = SessionError::PeerKeyMismatch {
        session_id: sid(),
        peer: id("x"),
    };
    assert_eq!(e.culprits().observed_silent, vec![id("x")]);
    assert!(e.culprits().ban.is_empty());
}

#[test]
fn a_banned_party_has_its_own_code_and_names_the_party() {
    let e = SessionError::Banned {
        party: id("node0"),
        reason: "ot check failed in session s1".into(),
    };
    assert_eq!(e.code(), ErrorCode::PartyBanned);
    assert!(e.to_string().contains("node0"), "{e}");
    assert!(e.culprits().is_empty());
}
