use rand_core::RngCore;

use super::*;

fn node(name: &str) -> NodeIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap())
}

fn header(from: &NodeIdentity, to: Option<&NodeIdentity>, seq: u64) -> EnvelopeHeader {
    EnvelopeHeader {
        session_id: SessionId::new("sess-1").unwrap(),
        run: RunTag::Bound(crate::replay::RunId([5; 32])),
        sender: from.node_id().clone(),
        receiver: to.map(|n| n.node_id().clone()),
        round: 2,
        seq,
    }
}

#[test]
fn broadcast_layout() {
    let a = node("node1");
    let env = seal(&a, header(&a, None, 7), b"hello all", None).unwrap();
    let bytes = env.to_bytes();
    assert_eq!(bytes[0], ENVELOPE_VERSION);
    assert_eq!(env.body(), b"hello all");
    assert_eq!(env.signature().len(), SIGNATURE_LEN);
    assert_eq!(&bytes[bytes.len() - SIGNATURE_LEN..], env.signature());
    let back = Envelope::from_bytes(&bytes).unwrap();
    assert_eq!(back, env);
    assert_eq!(back.header(), &header(&a, None, 7));
    assert!(back.header().is_broadcast());
    assert_eq!(env.clone().into_bytes(), env.as_bytes());
    // A header is tens of bytes (33 of them the run tag); the envelope is compact.
    assert!(
        bytes.len() < 1 + 40 + 33 + 9 + SIGNATURE_LEN,
        "{}",
        bytes.len()
    );
}

#[test]
fn p2p_body_is_nonce_and_ciphertext() {
    let (a, b) = (node("node1"), node("node2"));
    let secret = b"my secret share for node2 only";
    let e1 = seal(&a, header(&a, Some(&b), 1), secret, Some(&b.public())).unwrap();
    assert_eq!(e1.body().len(), NONCE_LEN + secret.len() + TAG_LEN);
    assert!(!e1
        .as_bytes()
        .windows(8)
        .any(|w| secret.windows(8).any(|s| s == w)));
    let e2 = seal(&a, header(&a, Some(&b), 1), secret, Some(&b.public())).unwrap();
    assert_ne!(
        e1.body()[..NONCE_LEN],
        e2.body()[..NONCE_LEN],
        "nonces repeat"
    );
    assert!(!format!("{e1:?}").contains("body: ["));
}

#[test]
fn seal_rejects_inconsistent_arguments() {
    let (a, b, c) = (node("node1"), node("node2"), node("node3"));
    let err = seal(&a, header(&b, None, 0), b"x", None).unwrap_err();
    assert!(matches!(err, SealError::SenderMismatch { .. }));
    assert_eq!(err.code(), ErrorCode::Internal);
    assert_eq!(
        seal(&a, header(&a, Some(&b), 0), b"x", None).unwrap_err(),
        SealError::MissingReceiverKey
    );
    assert_eq!(
        seal(&a, header(&a, Some(&b), 0), b"x", Some(&c.public())).unwrap_err(),
        SealError::ReceiverMismatch
    );
    assert_eq!(
        seal(&a, header(&a, None, 0), b"x", Some(&b.public())).unwrap_err(),
        SealError::ReceiverMismatch
    );
    assert_eq!(
        seal(&a, header(&a, Some(&a), 0), b"x", Some(&a.public())).unwrap_err(),
        SealError::SelfAddressed
    );
    let mut weak = b.public();
    weak.agreement_key = [0u8; 32];
    assert!(matches!(
        seal(&a, header(&a, Some(&b), 0), b"x", Some(&weak)),
        Err(SealError::PeerKey(PeerKeyError::WeakAgreementKey { .. }))
    ));
}

#[test]
fn seal_enforces_the_size_limit() {
    let (a, b) = (node("node1"), node("node2"));
    let big = vec![0u8; MAX_ENVELOPE_LEN];
    let err = seal(&a, header(&a, None, 0), &big, None).unwrap_err();
    assert!(matches!(err, SealError::TooLarge { .. }));
    assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
    let hdr = header(&a, Some(&b), 0);
    let room = MAX_ENVELOPE_LEN
        - 1
        - postcard::to_allocvec(&hdr).unwrap().len()
        - NONCE_LEN
        - TAG_LEN
        - SIGNATURE_LEN;
    let env = seal(&a, hdr.clone(), &vec![1u8; room], Some(&b.public())).unwrap();
    assert_eq!(env.as_bytes().len(), MAX_ENVELOPE_LEN);
    assert!(Envelope::from_bytes(env.as_bytes()).is_ok());
    assert!(seal(&a, hdr, &vec![1u8; room + 1], Some(&b.public())).is_err());
}

#[test]
fn decoding_rejects_bad_structure() {
    let a = node("node1");
    let good = seal(&a, header(&a, None, 0), b"p", None)
        .unwrap()
        .into_bytes();
    let malformed = |b: &[u8]| {
        matches!(
            Envelope::from_bytes(b),
            Err(EnvelopeError::Malformed { .. })
        )
    };
    assert!(malformed(&[]));
    assert!(malformed(&[ENVELOPE_VERSION]));
    assert!(malformed(&[ENVELOPE_VERSION; SIGNATURE_LEN]));
    // Other versions, v1 (before run tags) among them, are not read.
    for version in [1, 3] {
        let mut other = good.clone();
        other[0] = version;
        assert!(malformed(&other));
    }
    assert_eq!(
        Envelope::from_bytes_with_limit(&good, 10),
        Err(EnvelopeError::TooLarge {
            len: good.len(),
            max: 10
        })
    );
    let huge = vec![ENVELOPE_VERSION; MAX_ENVELOPE_LEN + 1];
    assert!(matches!(
        Envelope::from_bytes(&huge),
        Err(EnvelopeError::TooLarge { .. })
    ));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = rand_core::OsRng;
    for _ in 0..2000 {
        let len = (rng.next_u32() % 300) as usize;
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        if let Some(b) = buf.first_mut() {
            *b = ENVELOPE_VERSION;
        }
        // Decoding may succeed on lucky garbage; it must never panic.
        let _ = Envelope::from_bytes(&buf);
    }
}

#[test]
fn error_senders_and_codes() {
    let s = NodeId::new("n").unwrap();
    let cases = [
        (
            EnvelopeError::Malformed { reason: "r" },
            false,
            ErrorCode::MessageFormat,
        ),
        (
            EnvelopeError::TooLarge { len: 2, max: 1 },
            false,
            ErrorCode::PayloadTooLarge,
        ),
        (
            EnvelopeError::UnknownSender { sender: s.clone() },
            true,
            ErrorCode::MessageVerification,
        ),
        (
            EnvelopeError::BadSignature { sender: s.clone() },
            true,
            ErrorCode::MessageVerification,
        ),
        (
            EnvelopeError::WrongSession { sender: s.clone() },
            true,
            ErrorCode::MessageRouting,
        ),
        (
            EnvelopeError::OtherRun { sender: s.clone() },
            true,
            ErrorCode::MessageRouting,
        ),
        (
            EnvelopeError::RunNotBound { sender: s.clone() },
            true,
            ErrorCode::MessageRouting,
        ),
        (
            EnvelopeError::WrongReceiver { sender: s.clone() },
            true,
            ErrorCode::MessageRouting,
        ),
        (
            EnvelopeError::Replayed {
                sender: s.clone(),
                seq: 1,
            },
            true,
            ErrorCode::MessageVerification,
        ),
        (
            EnvelopeError::DecryptionFailed { sender: s.clone() },
            true,
            ErrorCode::MessageVerification,
        ),
    ];
    for (e, has_sender, code) in cases {
        assert_eq!(e.sender().is_some(), has_sender, "{e}");
        if has_sender {
            assert_eq!(e.sender(), Some(&s));
        }
        assert_eq!(e.code(), code, "{e}");
    }
}
