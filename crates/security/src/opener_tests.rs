use tessera_types::ErrorCode;

use super::*;
use crate::envelope::seal;

fn node(name: &str) -> NodeIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap())
}

fn sid() -> SessionId {
    SessionId::new("sess-1").unwrap()
}

fn hdr(from: &NodeIdentity, to: Option<&NodeIdentity>, round: u16, seq: u64) -> EnvelopeHeader {
    EnvelopeHeader {
        session_id: sid(),
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
