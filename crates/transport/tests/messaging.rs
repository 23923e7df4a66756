//! Broadcast, p2p and control messages between real transports on a real nats-server.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use tessera_testkit::Nats;
use tessera_transport::{subjects, TransportError};
use tessera_types::ErrorCode;

#[tokio::test]
async fn broadcast_reaches_everyone_else_and_p2p_only_the_addressee() {
    let nats = Nats::start().await.unwrap();
    let (a, b, c) = (identity("a"), identity("b"), identity("c"));
    let (ta, tb, tc) = (
        connect(&nats, &a).await,
        connect(&nats, &b).await,
        connect(&nats, &c).await,
    );
    let peers = publics(&[&a, &b, &c]);
    let s = sid("fanout");
    let mut la = open(&ta, &s, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;
    let mut lc = open(&tc, &s, &peers).await;

    // Watch every p2p subject of the session from the outside.
    let raw = raw_client(&nats).await;
    let mut wire = raw_subscribe(
        &raw,
        format!("tessera.session.{s}.p2p.>"),
        format!("tessera.session.{s}.p2p.x.y"),
    )
    .await;

    la.send(None, 1, b"hello all").await.unwrap();
    for link in [&mut lb, &mut lc] {
        let m = next_message(link).await;
        assert_eq!(m.header.sender, *a.node_id());
        assert_eq!(m.header.receiver, None);
        assert_eq!(m.header.round, 1);
        assert_eq!(m.header.session_id, s);
        assert_eq!(m.payload.as_slice(), b"hello all");
    }

    la.send(Some(b.node_id()), 2, b"for b only").await.unwrap();
    let m = next_message(&mut lb).await;
    assert_eq!(m.header.receiver.as_ref(), Some(b.node_id()));
    assert_eq!(m.header.round, 2);
    assert_eq!(m.payload.as_slice(), b"for b only");

    // The p2p message travelled on p2p.a.b, encrypted.
    let seen = tokio::time::timeout(WAIT, wire.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        seen.subject.as_str(),
        subjects::session_p2p(&s, a.node_id(), b.node_id())
    );
    assert!(!seen.payload.windows(10).any(|w| w == b"for b only"));

    // c sees the broadcast after the p2p message, and never the p2p message.
    la.send(None, 3, b"marker").await.unwrap();
    assert_eq!(next_message(&mut lc).await.payload.as_slice(), b"marker");
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"marker");
    assert_quiet(&mut lc).await;
    // a never hears its own broadcasts.
    assert_quiet(&mut la).await;

    // Replies flow the other way too, each with its own seq.
    lb.send(Some(a.node_id()), 2, b"reply").await.unwrap();
    lc.send(None, 2, b"from c").await.unwrap();
    let mut got = vec![
        next_message(&mut la).await.payload.as_slice().to_vec(),
        next_message(&mut la).await.payload.as_slice().to_vec(),
    ];
    got.sort();
    assert_eq!(got, vec![b"from c".to_vec(), b"reply".to_vec()]);
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"from c");
}

#[tokio::test]
async fn control_messages_reach_the_right_session() {
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    let peers = publics(&[&a, &b]);
    let (s1, s2) = (sid("ctl-one"), sid("ctl-two"));
    let mut a1 = open(&ta, &s1, &peers).await;
    let mut a2 = open(&ta, &s2, &peers).await;
    let mut b1 = open(&tb, &s1, &peers).await;
    let mut b2 = open(&tb, &s2, &peers).await;
    assert_eq!(tb.open_sessions(), 2);

    a2.send_control(b.node_id(), 9, b"abort two").await.unwrap();
    let m = next_message(&mut b2).await;
    assert_eq!(m.header.session_id, s2);
    assert_eq!(m.header.receiver.as_ref(), Some(b.node_id()));
    assert_eq!(m.payload.as_slice(), b"abort two");
    assert_quiet(&mut b1).await;

    // Control and session messages share one seq counter and one replay window.
    a1.send(None, 1, b"bcast").await.unwrap();
    a1.send_control(b.node_id(), 1, b"ctl").await.unwrap();
    let x = next_message(&mut b1).await;
    let y = next_message(&mut b1).await;
    let mut seqs = [x.header.seq, y.header.seq];
    seqs.sort();
    assert_eq!(seqs, [0, 1]);
    assert_eq!(tb.dropped_unopened(), 0);
    drop((a1, a2));
}

#[tokio::test]
async fn a_message_sent_right_after_open_returns_always_arrives() {
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    let peers = publics(&[&a, &b]);
    for i in 0..50 {
        let s = sid(&format!("race{i}"));
        let mut la = open(&ta, &s, &peers).await;
        let mut lb = open(&tb, &s, &peers).await;
        // b has just "joined": a sends at once, on both subjects.
        la.send(None, 1, b"first").await.unwrap();
        la.send(Some(b.node_id()), 1, b"second").await.unwrap();
        let mut got = vec![
            next_message(&mut lb).await.payload.as_slice().to_vec(),
            next_message(&mut lb).await.payload.as_slice().to_vec(),
        ];
        got.sort();
        assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()], "run {i}");
        la.close().await;
        lb.close().await;
    }
    assert_eq!((ta.open_sessions(), tb.open_sessions()), (0, 0));
}

#[tokio::test]
async fn opening_while_a_peer_sends_yields_an_unbroken_run() {
    // b opens while a is already sending: from the first message b gets, it
    // gets every later one, in order (the probe's own early-message handling
    // is checked in `probe`'s unit test).
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    let peers = publics(&[&a, &b]);
    let s = sid("early");
    let mut la = open(&ta, &s, &peers).await;
    let (sending, started) = tokio::sync::oneshot::channel();
    let sender = tokio::spawn(async move {
        let mut sending = Some(sending);
        for i in 0..200u16 {
            la.send(None, i, &i.to_be_bytes()).await.unwrap();
            if i == 10 {
                let _ = sending.take().map(|tx| tx.send(()));
            }
            // Paces the run so that b opens in the middle of it.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        la
    });
    // a is already sending: ten messages are out.
    started.await.unwrap();
    let mut lb = open(&tb, &s, &peers).await;
    let _la = sender.await.unwrap();
    // Whatever b got must be a contiguous run ending at the last message.
    let mut rounds = Vec::new();
    loop {
        let m = next_message(&mut lb).await;
        rounds.push(m.header.round);
        if m.header.round == 199 {
            break;
        }
    }
    let first = rounds[0];
    assert_eq!(rounds, (first..200).collect::<Vec<_>>());
}

#[tokio::test]
async fn large_messages_pass_on_a_default_server() {
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    assert_eq!(ta.max_payload(), 1024 * 1024);
    let peers = publics(&[&a, &b]);
    let s = sid("big");
    let mut la = open(&ta, &s, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;
    let payload: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    la.send(None, 1, &payload).await.unwrap();
    la.send(Some(b.node_id()), 1, &payload).await.unwrap();
    for _ in 0..2 {
        assert_eq!(next_message(&mut lb).await.payload.as_slice(), &payload[..]);
    }
}

#[tokio::test]
async fn misuse_is_a_typed_error() {
    let nats = Nats::start().await.unwrap();
    let (a, b, c) = (identity("a"), identity("b"), identity("c"));
    let ta = connect(&nats, &a).await;
    let peers = publics(&[&a, &b]);
    let s = sid("misuse");
    let mut la = open(&ta, &s, &peers).await;

    let err = ta.open(s.clone(), peers.clone()).await.unwrap_err();
    assert!(matches!(err, TransportError::AlreadyOpen { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::SessionDuplicate);
    assert_eq!(ta.open_sessions(), 1);

    let err = la.send(Some(c.node_id()), 1, b"x").await.unwrap_err();
    assert!(matches!(err, TransportError::UnknownPeer { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::ParticipantNotFound);
    let err = la.send_control(c.node_id(), 1, b"x").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ParticipantNotFound);

    let err = ta
        .open(sid("dup-peer"), vec![b.public(), b.public()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
    assert_eq!(ta.open_sessions(), 1);

    // After close the same id can be opened again.
    la.close().await;
    assert_eq!(ta.open_sessions(), 0);
    let again = open(&ta, &s, &peers).await;
    assert_eq!(again.session_id(), &s);
    assert_eq!(again.peers(), &peers[..]);
}
