//! Closing links, and living through a nats-server restart.

mod common;

use std::time::Duration;

use async_nats::RequestErrorKind;
use bytes::Bytes;
use common::*;
use tessera_testkit::wait::{holds_for, POLL};
use tessera_testkit::Nats;
use tessera_transport::{subjects, Transport, TransportError, TransportOptions};
use tessera_types::ErrorCode;

/// Whether the server knows any subscriber for `subject`: a request to a
/// subject without interest gets an immediate "no responders" status back.
async fn server_has_interest(raw: &async_nats::Client, subject: String) -> bool {
    let request = async_nats::Request::new()
        .payload(Bytes::new())
        .timeout(Some(Duration::from_millis(200)));
    match raw.send_request(subject, request).await {
        Err(e) if e.kind() == RequestErrorKind::NoResponders => false,
        Err(e) if e.kind() == RequestErrorKind::TimedOut => true,
        other => panic!("unexpected request outcome: {other:?}"),
    }
}

async fn eventually_no_interest(raw: &async_nats::Client, subject: String) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while server_has_interest(raw, subject.clone()).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server still routes {subject}"
        );
    }
}

#[tokio::test]
async fn close_and_drop_remove_every_subscription_and_route() {
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let options = TransportOptions {
        hold_unopened: Duration::from_millis(200),
        ..TransportOptions::default()
    };
    let ta = connect_with(&nats, &a, options).await;
    let tb = connect(&nats, &b).await;
    let raw = raw_client(&nats).await;
    let peers = publics(&[&a, &b]);
    let s = sid("closing");
    let bcast = subjects::session_broadcast(&s);
    let p2p_to_a = subjects::session_p2p(&s, b.node_id(), a.node_id());

    let la = open(&ta, &s, &peers).await;
    assert_eq!(ta.open_sessions(), 1);
    // While open, the server routes both session subjects to a.
    assert!(server_has_interest(&raw, bcast.clone()).await);
    assert!(server_has_interest(&raw, p2p_to_a.clone()).await);
    la.close().await;
    assert_eq!(ta.open_sessions(), 0);
    eventually_no_interest(&raw, bcast.clone()).await;
    eventually_no_interest(&raw, p2p_to_a.clone()).await;

    // A late control message for the closed session is dropped quietly, not held.
    let mut lb = open(&tb, &s, &peers).await;
    lb.send_control(a.node_id(), 5, b"late abort")
        .await
        .unwrap();
    // a's router has taken it; must not happen: it being held, and dropped
    // (counted) when its 200 ms hold runs out.
    control_barrier(&tb, &ta, &peers).await;
    assert!(
        holds_for(Duration::from_millis(500), POLL, || ta.dropped_unopened()
            == 0)
        .await,
        "the late message was held"
    );
    lb.close().await;
    eventually_no_interest(&raw, bcast.clone()).await;

    // Dropping a link without close cleans up as well.
    let s2 = sid("dropped");
    let l2 = open(&ta, &s2, &peers).await;
    assert_eq!(ta.open_sessions(), 1);
    drop(l2);
    eventually(WAIT, "dropped link deregistered", || {
        ta.open_sessions() == 0
    })
    .await;
    eventually_no_interest(&raw, subjects::session_broadcast(&s2)).await;
    // And the id can be opened again.
    let _again = open(&ta, &s2, &peers).await;
    assert_eq!(ta.open_sessions(), 1);
}

#[tokio::test]
async fn a_server_restart_is_survived_and_unconfirmed_opens_fail() {
    let mut nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let options = TransportOptions {
        probe_timeout: Duration::from_millis(500),
        ..TransportOptions::default()
    };
    let ta = connect_with(&nats, &a, options.clone()).await;
    let tb = connect_with(&nats, &b, options).await;
    let peers = publics(&[&a, &b]);
    let s = sid("survivor");
    let mut la = open(&ta, &s, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;
    assert!(ta.is_connected());

    nats.kill();
    eventually(WAIT, "disconnect noticed", || !ta.is_connected()).await;
    let err = ta
        .open(sid("unconfirmed"), peers.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::SubscriptionNotConfirmed { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::NetworkSubscription);
    eventually(WAIT, "failed open deregistered", || ta.open_sessions() == 1).await;
    // A link does not end while the connection is down.
    assert!(tokio::time::timeout(QUIET, lb.recv()).await.is_err());

    nats.restart().await.unwrap();
    let reconnect = Duration::from_secs(15);
    eventually(reconnect, "reconnected", || {
        ta.is_connected() && tb.is_connected()
    })
    .await;
    // Subscriptions come back with the connection; retry until b's is in place.
    let mut delivered = None;
    for _ in 0..50 {
        la.send(None, 7, b"after restart").await.unwrap();
        if let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(200), lb.recv()).await {
            delivered = Some(item);
            break;
        }
    }
    let m = delivered
        .expect("no message after restart")
        .message()
        .unwrap();
    assert_eq!(m.payload.as_slice(), b"after restart");
    // The control inbox is back too.
    la.send_control(b.node_id(), 8, b"control after restart")
        .await
        .unwrap();
    loop {
        let m = next_message(&mut lb).await;
        if m.header.round == 8 {
            assert_eq!(m.payload.as_slice(), b"control after restart");
            break;
        }
    }
    // And new sessions open normally.
    let s2 = sid("after");
    let mut la2 = open(&ta, &s2, &peers).await;
    let mut lb2 = open(&tb, &s2, &peers).await;
    lb2.send(Some(a.node_id()), 1, b"hi").await.unwrap();
    assert_eq!(next_message(&mut la2).await.payload.as_slice(), b"hi");
}

#[tokio::test]
async fn connect_takes_a_list_of_seeds_and_rejects_bad_urls_without_echoing_them() {
    let nats = Nats::start().await.unwrap();
    let a = identity("a");
    // A dead seed next to a live one: the live one is used.
    let urls = format!("nats://127.0.0.1:1, {}", nats.url());
    let t = tokio::time::timeout(
        WAIT,
        Transport::connect(&urls, a.clone(), TransportOptions::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(t.is_connected());
    assert_eq!(t.node_id(), a.node_id());

    // Credentials never go in a URL (async-nats would ignore them); the URL is not echoed.
    let bad = format!("{}, nats://user:hunter2@[bad", nats.url());
    let err = Transport::connect(&bad, a.clone(), TransportOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::CredentialInUrl { position: 2 }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("hunter2"));
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
    let bad = format!("{}, nats://[bad", nats.url());
    let err = Transport::connect(&bad, a.clone(), TransportOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::InvalidUrl { position: 2 }),
        "{err:?}"
    );

    let err = Transport::connect("nats://127.0.0.1:1", a, TransportOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NetworkConnection);
}
