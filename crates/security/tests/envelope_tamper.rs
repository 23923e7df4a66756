//! The envelope tamper matrix: every way a message can be damaged, redirected,
//! replayed or forged is rejected, with the error that names what happened.

use rand_core::{OsRng, RngCore};
use tessera_security::envelope::ENVELOPE_VERSION;
use tessera_security::{
    seal, Envelope, EnvelopeError, EnvelopeHeader, NodeIdentity, Opener, RunNonce, RunTag,
};
use tessera_types::{NodeId, PublicIdentity, SessionId};

fn node(name: &str) -> NodeIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap())
}

fn session(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

struct Cluster {
    n1: NodeIdentity,
    n2: NodeIdentity,
    n3: NodeIdentity,
}

impl Cluster {
    fn new() -> Self {
        Self {
            n1: node("node1"),
            n2: node("node2"),
            n3: node("node3"),
        }
    }

    fn publics(&self) -> Vec<PublicIdentity> {
        vec![self.n1.public(), self.n2.public(), self.n3.public()]
    }

    fn opener(&self, me: &NodeIdentity, s: &str) -> Opener {
        Opener::new(me, session(s), self.publics()).unwrap()
    }

    fn header(&self, s: &str, to: Option<&NodeIdentity>, round: u16, seq: u64) -> EnvelopeHeader {
        EnvelopeHeader {
            session_id: session(s),
            // A join-barrier tag: these openers are not bound to a run.
            run: RunTag::Joining(RunNonce([1; 32])),
            sender: self.n1.node_id().clone(),
            receiver: to.map(|n| n.node_id().clone()),
            round,
            seq,
        }
    }

    /// node1 -> all, session s1.
    fn broadcast(&self) -> Vec<u8> {
        seal(
            &self.n1,
            self.header("s1", None, 1, 0),
            b"round one commitments",
            None,
        )
        .unwrap()
        .into_bytes()
    }

    /// node1 -> node2, session s1.
    fn p2p(&self) -> Vec<u8> {
        let h = self.header("s1", Some(&self.n2), 2, 1);
        seal(
            &self.n1,
            h,
            b"secret share for node2",
            Some(&self.n2.public()),
        )
        .unwrap()
        .into_bytes()
    }
}

/// What an attacker with `signer`'s key can build: the wire format by hand.
fn forge(signer: &NodeIdentity, header: &EnvelopeHeader, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ENVELOPE_VERSION];
    b.extend(postcard::to_allocvec(header).unwrap());
    b.extend_from_slice(body);
    let mut msg = b"tessera/envelope/sig/v2".to_vec();
    msg.extend_from_slice(&b);
    b.extend_from_slice(&signer.sign(&msg));
    b
}

/// Damage is caught by decoding or by the signature, never by a later check:
/// the signature covers every byte before it.
fn is_tamper_error(e: &EnvelopeError) -> bool {
    matches!(
        e,
        EnvelopeError::Malformed { .. }
            | EnvelopeError::UnknownSender { .. }
            | EnvelopeError::BadSignature { .. }
    )
}

#[test]
fn forge_helper_matches_the_real_format() {
    // Ed25519 is deterministic, so re-signing the honest parts must reproduce the honest bytes;
    // otherwise the forgery tests below would prove nothing.
    let k = Cluster::new();
    for bytes in [k.broadcast(), k.p2p()] {
        let env = Envelope::from_bytes(&bytes).unwrap();
        assert_eq!(forge(&k.n1, env.header(), env.body()), bytes);
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let k = Cluster::new();
    for bytes in [k.broadcast(), k.p2p()] {
        let mut opener = k.opener(&k.n2, "s1");
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let err = opener.open(&bad).expect_err("flipped bit accepted");
            assert!(is_tamper_error(&err), "bit {bit}: {err:?}");
        }
        // Nothing above moved the replay window: the original still opens.
        opener.open(&bytes).unwrap();
    }
}

#[test]
fn truncation_and_extension_are_rejected() {
    let k = Cluster::new();
    for bytes in [k.broadcast(), k.p2p()] {
        let mut opener = k.opener(&k.n2, "s1");
        for n in 0..bytes.len() {
            let err = opener.open(&bytes[..n]).unwrap_err();
            assert!(is_tamper_error(&err), "prefix {n}: {err:?}");
        }
        for extra in [&[0u8][..], &[1, 2, 3], &[0u8; 64]] {
            let mut long = bytes.clone();
            long.extend_from_slice(extra);
            assert!(is_tamper_error(&opener.open(&long).unwrap_err()));
        }
        assert!(matches!(
            opener.open(&[]),
            Err(EnvelopeError::Malformed { .. })
        ));
    }
}

#[test]
fn garbage_is_malformed_or_unauthenticated_never_a_panic() {
    let k = Cluster::new();
    let mut opener = k.opener(&k.n2, "s1");
    let mut rng = OsRng;
    for i in 0..3000 {
        let len = (rng.next_u32() % 400) as usize;
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        if i % 2 == 0 {
            if let Some(b) = buf.first_mut() {
                *b = ENVELOPE_VERSION;
            }
        }
        let err = opener.open(&buf).unwrap_err();
        assert!(is_tamper_error(&err), "{err:?}");
    }
    // A valid header with garbage where the body and signature go.
    let mut prefix = vec![ENVELOPE_VERSION];
    prefix.extend(postcard::to_allocvec(&k.header("s1", None, 1, 0)).unwrap());
    for tail in [0usize, 10, 63, 64, 65, 200] {
        let mut b = prefix.clone();
        b.extend(std::iter::repeat_n(0xa5u8, tail));
        assert!(is_tamper_error(&opener.open(&b).unwrap_err()));
    }
}

#[test]
fn broadcast_round_trips_to_every_peer() {
    let k = Cluster::new();
    let bytes = k.broadcast();
    for me in [&k.n2, &k.n3] {
        let opened = k.opener(me, "s1").open(&bytes).unwrap();
        assert_eq!(opened.payload.as_slice(), b"round one commitments");
        assert!(opened.header.receiver.is_none());
        assert_eq!(opened.header.sender.as_str(), "node1");
    }
}

#[test]
fn p2p_is_readable_only_by_its_receiver() {
    let k = Cluster::new();
    let bytes = k.p2p();
    let opened = k.opener(&k.n2, "s1").open(&bytes).unwrap();
    assert_eq!(opened.payload.as_slice(), b"secret share for node2");
    // The plaintext is nowhere in the envelope.
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
    // Delivered to node3, it is refused before any decryption is tried.
    assert_eq!(
        k.opener(&k.n3, "s1").open(&bytes).unwrap_err(),
        EnvelopeError::WrongReceiver {
            sender: k.n1.node_id().clone()
        }
    );
    // node3, an insider, re-addresses node1's ciphertext to itself and signs it as
    // node1 with its own key: bad signature. Signs it as itself: its key
    // with node2 is not node1's, so nothing decrypts.
    let env = Envelope::from_bytes(&bytes).unwrap();
    let mut h = env.header().clone();
    h.receiver = Some(k.n3.node_id().clone());
    assert!(matches!(
        k.opener(&k.n3, "s1").open(&forge(&k.n3, &h, env.body())),
        Err(EnvelopeError::BadSignature { .. })
    ));
    let mut h = env.header().clone();
    h.sender = k.n3.node_id().clone();
    assert_eq!(
        k.opener(&k.n2, "s1")
            .open(&forge(&k.n3, &h, env.body()))
            .unwrap_err(),
        EnvelopeError::DecryptionFailed {
            sender: k.n3.node_id().clone()
        }
    );
}

#[test]
fn swapping_the_receiver_breaks_the_signature() {
    let k = Cluster::new();
    let env = Envelope::from_bytes(&k.p2p()).unwrap();
    let mut h = env.header().clone();
    h.receiver = Some(k.n3.node_id().clone());
    // Re-encode the header with node1's signature left as it was.
    let mut swapped = vec![ENVELOPE_VERSION];
    swapped.extend(postcard::to_allocvec(&h).unwrap());
    swapped.extend_from_slice(env.body());
    swapped.extend_from_slice(env.signature());
    assert_eq!(
        k.opener(&k.n3, "s1").open(&swapped).unwrap_err(),
        EnvelopeError::BadSignature {
            sender: k.n1.node_id().clone()
        }
    );
    // A broadcast turned into a p2p message (or back) likewise.
    let bc = Envelope::from_bytes(&k.broadcast()).unwrap();
    let mut h = bc.header().clone();
    h.receiver = Some(k.n2.node_id().clone());
    let mut turned = vec![ENVELOPE_VERSION];
    turned.extend(postcard::to_allocvec(&h).unwrap());
    turned.extend_from_slice(bc.body());
    turned.extend_from_slice(bc.signature());
    assert!(matches!(
        k.opener(&k.n2, "s1").open(&turned),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn honest_envelope_replayed_into_another_session() {
    let k = Cluster::new();
    for bytes in [k.broadcast(), k.p2p()] {
        assert_eq!(
            k.opener(&k.n2, "s2").open(&bytes).unwrap_err(),
            EnvelopeError::WrongSession {
                sender: k.n1.node_id().clone()
            }
        );
    }
}

#[test]
fn replays_in_the_same_session_whatever_the_round() {
    let k = Cluster::new();
    let mut opener = k.opener(&k.n2, "s1");
    let bytes = k.p2p();
    opener.open(&bytes).unwrap();
    assert_eq!(
        opener.open(&bytes).unwrap_err(),
        EnvelopeError::Replayed {
            sender: k.n1.node_id().clone(),
            seq: 1
        }
    );
    // The sender itself reusing seq 1 in another round is a replay too.
    let again = seal(&k.n1, k.header("s1", None, 3, 1), b"later", None).unwrap();
    assert!(matches!(
        opener.open(again.as_bytes()),
        Err(EnvelopeError::Replayed { seq: 1, .. })
    ));
    // An attacker moving it to another round or seq breaks the signature.
    let env = Envelope::from_bytes(&bytes).unwrap();
    let mut h = env.header().clone();
    h.round = 3;
    h.seq = 99;
    let mut moved = vec![ENVELOPE_VERSION];
    moved.extend(postcard::to_allocvec(&h).unwrap());
    moved.extend_from_slice(env.body());
    moved.extend_from_slice(env.signature());
    assert!(matches!(
        opener.open(&moved),
        Err(EnvelopeError::BadSignature { .. })
    ));
}

#[test]
fn keys_outside_the_peer_set() {
    let k = Cluster::new();
    let mut opener = k.opener(&k.n2, "s1");
    // A stranger under its own name: unknown sender.
    let mallory = node("mallory");
    let h = EnvelopeHeader {
        sender: mallory.node_id().clone(),
        ..k.header("s1", None, 1, 0)
    };
    let env = seal(&mallory, h, b"hi", None).unwrap();
    assert_eq!(
        opener.open(env.as_bytes()).unwrap_err(),
        EnvelopeError::UnknownSender {
            sender: mallory.node_id().clone()
        }
    );
    // A stranger's key claiming to be node1: bad signature, blamed on the claimed name.
    let impostor = node("node1");
    let env = seal(&impostor, k.header("s1", None, 1, 0), b"hi", None).unwrap();
    assert_eq!(
        opener.open(env.as_bytes()).unwrap_err(),
        EnvelopeError::BadSignature {
            sender: k.n1.node_id().clone()
        }
    );
    // node3 signing as node1: bad signature too.
    let forged = forge(&k.n3, &k.header("s1", None, 1, 0), b"hi");
    assert!(matches!(
        opener.open(&forged),
        Err(EnvelopeError::BadSignature { .. })
    ));
    // None of this blocked node1's real seq 0.
    opener.open(&k.broadcast()).unwrap();
}

#[test]
fn p2p_to_the_wrong_node_even_if_signed_for_it() {
    // node1 honestly addresses node3 but the transport delivers to node2.
    let k = Cluster::new();
    let h = k.header("s1", Some(&k.n3), 2, 4);
    let env = seal(&k.n1, h, b"for node3", Some(&k.n3.public())).unwrap();
    assert!(matches!(
        k.opener(&k.n2, "s1").open(env.as_bytes()),
        Err(EnvelopeError::WrongReceiver { .. })
    ));
    let got = k.opener(&k.n3, "s1").open(env.as_bytes()).unwrap();
    assert_eq!(got.payload.as_slice(), b"for node3");
}
