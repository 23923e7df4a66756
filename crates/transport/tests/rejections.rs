//! Hostile input on the session subjects: every bad envelope becomes a typed
//! rejection naming the claimed sender, nothing panics, and the link keeps working.

mod common;

use bytes::Bytes;
use common::*;
use futures::StreamExt;
use tessera_security::{seal, EnvelopeError, EnvelopeHeader, RunNonce, RunTag};
use tessera_testkit::Nats;
use tessera_transport::subjects;

#[tokio::test]
async fn tampered_replayed_foreign_and_garbage_envelopes_are_rejected() {
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    let peers = publics(&[&a, &b]);
    let s = sid("hostile");
    let mut la = open(&ta, &s, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;
    let bcast = subjects::session_broadcast(&s);

    // Capture a's real broadcast off the wire.
    let raw = raw_client(&nats).await;
    let mut tap = raw_subscribe(&raw, bcast.clone(), bcast.clone()).await;
    la.send(None, 1, b"genuine").await.unwrap();
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"genuine");
    let captured = tokio::time::timeout(WAIT, tap.next())
        .await
        .unwrap()
        .unwrap()
        .payload;

    // Replay: the exact same bytes again.
    raw.publish(bcast.clone(), captured.clone()).await.unwrap();
    let (sender, error) = next_rejection(&mut lb).await;
    assert_eq!(sender.as_ref(), Some(a.node_id()));
    assert_eq!(
        error,
        EnvelopeError::Replayed {
            sender: a.node_id().clone(),
            seq: 0
        }
    );

    // Tampered: one payload byte flipped.
    let mut bad = captured.to_vec();
    let i = bad.len() - 64 - 1;
    bad[i] ^= 0x01;
    raw.publish(bcast.clone(), Bytes::from(bad)).await.unwrap();
    let (sender, error) = next_rejection(&mut lb).await;
    assert_eq!(sender.as_ref(), Some(a.node_id()));
    assert!(
        matches!(error, EnvelopeError::BadSignature { .. }),
        "{error}"
    );

    // A stranger: valid envelope, signed by a node that is not a player.
    let stranger = identity("mallory");
    let header = EnvelopeHeader {
        session_id: s.clone(),
        run: RunTag::Joining(RunNonce([1; 32])),
        sender: stranger.node_id().clone(),
        receiver: None,
        round: 1,
        seq: 0,
    };
    let env = seal(&stranger, header, b"let me in", None).unwrap();
    raw.publish(bcast.clone(), Bytes::from(env.into_bytes()))
        .await
        .unwrap();
    let (sender, error) = next_rejection(&mut lb).await;
    assert_eq!(sender.as_ref(), Some(stranger.node_id()));
    assert!(
        matches!(error, EnvelopeError::UnknownSender { .. }),
        "{error}"
    );

    // Garbage of every shape, on every subject b listens to.
    let p2p_to_b = subjects::session_p2p(&s, a.node_id(), b.node_id());
    let control_b = subjects::node_control(b.node_id());
    let garbage: Vec<Bytes> = vec![
        Bytes::new(),
        Bytes::from_static(&[1]),
        Bytes::from_static(&[2; 100]),
        Bytes::from(vec![1u8; 65]),
        Bytes::from(vec![0xff; 4096]),
    ];
    for g in &garbage {
        raw.publish(bcast.clone(), g.clone()).await.unwrap();
        raw.publish(p2p_to_b.clone(), g.clone()).await.unwrap();
        // Not even routable to a session: dropped by the router, not delivered.
        raw.publish(control_b.clone(), g.clone()).await.unwrap();
    }
    for _ in 0..garbage.len() * 2 {
        let (sender, error) = next_rejection(&mut lb).await;
        assert_eq!(sender, None);
        assert!(matches!(error, EnvelopeError::Malformed { .. }), "{error}");
    }

    // An envelope claiming to come from b itself, on b's own inbox.
    let header = EnvelopeHeader {
        session_id: s.clone(),
        run: RunTag::Joining(RunNonce([1; 32])),
        sender: b.node_id().clone(),
        receiver: Some(a.node_id().clone()),
        round: 1,
        seq: 7,
    };
    // b's link drops it as its own echo: nothing delivered.
    let env = seal(&b, header, b"echo", Some(&a.public())).unwrap();
    raw.publish(p2p_to_b.clone(), Bytes::from(env.into_bytes()))
        .await
        .unwrap();

    // The link still works.
    la.send(None, 2, b"after the storm").await.unwrap();
    let m = next_message(&mut lb).await;
    assert_eq!(m.payload.as_slice(), b"after the storm");
    assert_eq!(m.header.seq, 1);
    la.send(Some(b.node_id()), 2, b"p2p too").await.unwrap();
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"p2p too");
    assert_quiet(&mut lb).await;
}

#[tokio::test]
async fn a_p2p_envelope_for_another_node_is_rejected() {
    let nats = Nats::start().await.unwrap();
    let (a, b, c) = (identity("a"), identity("b"), identity("c"));
    let (tb, tc) = (connect(&nats, &b).await, connect(&nats, &c).await);
    let peers = publics(&[&a, &b, &c]);
    let s = sid("misaddressed");
    let _lb = open(&tb, &s, &peers).await;
    let mut lc = open(&tc, &s, &peers).await;
    // a's genuine p2p envelope for b, redirected to c's inbox by a bad actor.
    let header = EnvelopeHeader {
        session_id: s.clone(),
        run: RunTag::Joining(RunNonce([1; 32])),
        sender: a.node_id().clone(),
        receiver: Some(b.node_id().clone()),
        round: 1,
        seq: 0,
    };
    let env = seal(&a, header, b"for b", Some(&b.public())).unwrap();
    let raw = raw_client(&nats).await;
    raw.publish(
        subjects::session_p2p(&s, a.node_id(), c.node_id()),
        Bytes::from(env.into_bytes()),
    )
    .await
    .unwrap();
    let (sender, error) = next_rejection(&mut lc).await;
    assert_eq!(sender.as_ref(), Some(a.node_id()));
    assert!(
        matches!(error, EnvelopeError::WrongReceiver { .. }),
        "{error}"
    );
}
