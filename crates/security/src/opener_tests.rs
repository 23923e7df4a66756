use tessera_types::ErrorCode;

use super::*;
use crate::envelope::seal;
use crate::replay::{RunId, RunNonce, RunTag};

fn node(name: &str) -> NodeIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap())
}

fn sid() -> SessionId {
    SessionId::new("sess-1").unwrap()
}

/// The run every opener of these tests is bound to (unless a test says otherwise).
const RUN_A: RunId = RunId([0xa; 32]);

fn hdr(from: &NodeIdentity, to: Option<&NodeIdentity>, round: u16, seq: u64) -> EnvelopeHeader {
    hdr_in(RunTag::Bound(RUN_A), from, to, round, seq)
}

fn hdr_in(
    run: RunTag,
    from: &NodeIdentity,
    to: Option<&NodeIdentity>,
    round: u16,
    seq: u64,
) -> EnvelopeHeader {
    EnvelopeHeader {
        session_id: sid(),
        run,
        sender: from.node_id().clone(),
        receiver: to.map(|n| n.node_id().clone()),
        round,
        seq,
    }
}

/// Builds a correctly signed envelope around any body.
fn forge(signer: &NodeIdentity, header: &EnvelopeHeader, body: &[u8]) -> Vec<u8> {
    let mut b = vec![crate::envelope::ENVELOPE_VERSION];
    b.extend(postcard::to_allocvec(header).unwrap());
    b.extend_from_slice(body);
    let sig = signer.sign(&signing_input(&b));
    b.extend_from_slice(&sig);
    b
}

struct Cluster {
    a: NodeIdentity,
    b: NodeIdentity,
    c: NodeIdentity,
}

impl Cluster {
    fn new() -> Self {
        Self {
            a: node("node1"),
            b: node("node2"),
            c: node("node3"),
        }
    }

    fn publics(&self) -> Vec<PublicIdentity> {
        vec![self.a.public(), self.b.public(), self.c.public()]
    }

    fn opener(&self, me: &NodeIdentity) -> Opener {
        let mut o = self.unbound(me);
        o.bind_run(RUN_A).unwrap();
        o
    }

    fn unbound(&self, me: &NodeIdentity) -> Opener {
        Opener::new(me, sid(), self.publics()).unwrap()
    }
}

#[test]
fn opens_broadcast_and_p2p() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b);
    let bc = seal(&k.a, hdr(&k.a, None, 1, 0), b"to all", None).unwrap();
    let got = ob.open(bc.as_bytes()).unwrap();
    assert_eq!(got.header, hdr(&k.a, None, 1, 0));
    assert_eq!(got.payload.as_slice(), b"to all");
    let p2p = seal(
        &k.a,
        hdr(&k.a, Some(&k.b), 1, 1),
        b"to b",
        Some(&k.b.public()),
    )
    .unwrap();
    assert_eq!(ob.open(p2p.as_bytes()).unwrap().payload.as_slice(), b"to b");
    assert!(format!("{got:?}").contains("<redacted>"));
}

#[test]
fn reordering_within_the_window_is_fine() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b);
    let envs: Vec<_> = (0..20)
        .map(|s| seal(&k.a, hdr(&k.a, None, 1, s), b"m", None).unwrap())
        .collect();
    for i in (0..20).rev() {
        ob.open(envs[i].as_bytes()).unwrap();
    }
    for e in &envs {
        assert!(matches!(
            ob.open(e.as_bytes()),
            Err(EnvelopeError::Replayed { .. })
        ));
    }
}

#[test]
fn seqs_are_tracked_per_sender() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b);
    ob.open(
        seal(&k.a, hdr(&k.a, None, 1, 0), b"m", None)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    ob.open(
        seal(&k.c, hdr(&k.c, None, 1, 0), b"m", None)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
}

#[test]
fn rejected_envelopes_do_not_burn_a_seq() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b);
    let honest = seal(&k.a, hdr(&k.a, Some(&k.b), 1, 5), b"m", Some(&k.b.public())).unwrap();
    let mut bad = honest.to_bytes();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        ob.open(&bad),
        Err(EnvelopeError::BadSignature { .. })
    ));
    // The same seq, validly signed by the sender, with a body that does not decrypt.
    let garbage = forge(&k.a, &hdr(&k.a, Some(&k.b), 1, 5), &[0u8; 40]);
    assert!(matches!(
        ob.open(&garbage),
        Err(EnvelopeError::DecryptionFailed { .. })
    ));
    let short = forge(&k.a, &hdr(&k.a, Some(&k.b), 1, 5), &[0u8; 3]);
    assert!(matches!(
        ob.open(&short),
        Err(EnvelopeError::DecryptionFailed { .. })
    ));
    ob.open(honest.as_bytes()).unwrap();
    assert!(matches!(
        ob.open(honest.as_bytes()),
        Err(EnvelopeError::Replayed { seq: 5, .. })
    ));
}

#[test]
fn own_envelopes_and_strangers_are_unknown() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b);
    assert!(!ob.is_peer(k.b.node_id()));
    assert!(ob.is_peer(k.a.node_id()));
    let mine = seal(&k.b, hdr(&k.b, None, 1, 0), b"m", None).unwrap();
    let err = ob.open(mine.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::UnknownSender {
            sender: k.b.node_id().clone()
        }
    );
    assert_eq!(err.code(), ErrorCode::MessageVerification);
}

#[test]
fn construction_checks_the_peer_set() {
    let k = Cluster::new();
    let mut peers = k.publics();
    peers.push(k.a.public());
    assert!(matches!(
        Opener::new(&k.b, sid(), peers),
        Err(PeerKeyError::DuplicatePeer { .. })
    ));
    let mut weak = k.a.public();
    weak.agreement_key = [0u8; 32];
    assert!(matches!(
        Opener::new(&k.b, sid(), [weak]),
        Err(PeerKeyError::WeakAgreementKey { .. })
    ));
    let mut bad = k.a.public();
    bad.signing_key = [0u8; 32];
    assert!(Opener::new(&k.b, sid(), [bad]).is_err());
}

#[test]
fn size_limit_applies_before_decoding() {
    let k = Cluster::new();
    let mut ob = k.opener(&k.b).with_max_len(100);
    let env = seal(&k.a, hdr(&k.a, None, 1, 0), &[0u8; 200], None).unwrap();
    assert!(matches!(
        ob.open(env.as_bytes()),
        Err(EnvelopeError::TooLarge { max: 100, .. })
    ));
    assert_eq!(ob.session_id(), &sid());
    let dbg = format!("{ob:?}");
    assert!(dbg.contains("node1") && dbg.contains("node3") && !dbg.contains("inbound"));
}

#[test]
fn an_envelope_sealed_for_one_run_does_not_open_in_another() {
    let k = Cluster::new();
    let run_b = RunId::derive(&sid(), [(k.b.node_id(), &RunNonce([2; 32]))]);
    let mut in_b = k.unbound(&k.b);
    in_b.bind_run(run_b).unwrap();
    assert_eq!(in_b.run(), Some(&run_b));
    // Recorded in run A, replayed into run B under the same session id: both
    // kinds are from another run, whatever their seq, and the window is untouched.
    let bc = seal(&k.a, hdr(&k.a, None, 1, 0), b"m", None).unwrap();
    let p2p = seal(&k.a, hdr(&k.a, Some(&k.b), 1, 1), b"s", Some(&k.b.public())).unwrap();
    for env in [&bc, &p2p] {
        let err = in_b.open(env.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::OtherRun {
                sender: k.a.node_id().clone()
            }
        );
        assert_eq!(err.code(), ErrorCode::MessageRouting);
    }
    // Run B's own envelopes with the same seqs open.
    let hb = |to: Option<&NodeIdentity>, seq| hdr_in(RunTag::Bound(run_b), &k.a, to, 1, seq);
    in_b.open(seal(&k.a, hb(None, 0), b"m", None).unwrap().as_bytes())
        .unwrap();
    let got = in_b
        .open(
            seal(&k.a, hb(Some(&k.b), 1), b"s", Some(&k.b.public()))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(got.payload.as_slice(), b"s");
    // Binding again changes nothing.
    in_b.bind_run(RUN_A).unwrap();
    assert_eq!(in_b.run(), Some(&run_b));
}

#[test]
fn a_p2p_body_moved_into_another_runs_header_does_not_decrypt() {
    let k = Cluster::new();
    let sealed = seal(&k.a, hdr(&k.a, Some(&k.b), 1, 3), b"s", Some(&k.b.public())).unwrap();
    // The sender re-signs run A's ciphertext under run B's header.
    let run_b = RunId([0xb; 32]);
    let mut in_b = k.unbound(&k.b);
    in_b.bind_run(run_b).unwrap();
    let moved = forge(
        &k.a,
        &hdr_in(RunTag::Bound(run_b), &k.a, Some(&k.b), 1, 3),
        sealed.body(),
    );
    assert!(matches!(
        in_b.open(&moved),
        Err(EnvelopeError::DecryptionFailed { .. })
    ));
}

#[test]
fn bound_envelopes_wait_for_the_binding_and_join_envelopes_do_not() {
    let k = Cluster::new();
    let mut ob = k.unbound(&k.b);
    let bound = seal(&k.a, hdr(&k.a, None, 1, 4), b"early", None).unwrap();
    assert_eq!(
        ob.open(bound.as_bytes()).unwrap_err(),
        EnvelopeError::RunNotBound {
            sender: k.a.node_id().clone()
        }
    );
    let nonce = RunNonce([1; 32]);
    let join = seal(
        &k.a,
        hdr_in(RunTag::Joining(nonce), &k.a, Some(&k.b), 0, 0),
        b"join",
        Some(&k.b.public()),
    )
    .unwrap();
    assert_eq!(
        ob.open(join.as_bytes()).unwrap().payload.as_slice(),
        b"join"
    );
    ob.bind_run(RUN_A).unwrap();
    // Not burnt by the first attempt.
    ob.open(bound.as_bytes()).unwrap();
    // Join-barrier envelopes still open after binding (a slower peer's joins).
    let again = seal(
        &k.a,
        hdr_in(RunTag::Joining(nonce), &k.a, None, 0, 1),
        b"j",
        None,
    )
    .unwrap();
    ob.open(again.as_bytes()).unwrap();
}

#[test]
fn a_recorded_join_does_not_shadow_this_runs_seqs() {
    let k = Cluster::new();
    let mut ob = k.unbound(&k.b);
    let join = |nonce: u8, seq| {
        let h = hdr_in(RunTag::Joining(RunNonce([nonce; 32])), &k.a, None, 0, seq);
        seal(&k.a, h, b"join", None).unwrap()
    };
    // A join recorded in another run arrives first with seq 0, then this run's.
    ob.open(join(1, 0).as_bytes()).unwrap();
    ob.open(join(2, 0).as_bytes()).unwrap();
    // Exact copies are still replays.
    assert!(matches!(
        ob.open(join(2, 0).as_bytes()),
        Err(EnvelopeError::Replayed { seq: 0, .. })
    ));
    assert!(matches!(
        ob.open(join(1, 0).as_bytes()),
        Err(EnvelopeError::Replayed { seq: 0, .. })
    ));
}
