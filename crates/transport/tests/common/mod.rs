//! Shared helpers for the transport's integration tests: identities, a
//! connected transport per node, and receives bounded by timeouts.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tessera_security::{NodeIdentity, Opened};
use tessera_testkit::Nats;
use tessera_transport::{Inbound, SessionLink, Transport, TransportOptions};
use tessera_types::{NodeId, PublicIdentity, SessionId};

/// Upper bound for anything that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long we watch for a message that must not arrive.
pub const QUIET: Duration = Duration::from_millis(300);

#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::ids::{identity, node_id as node, session_id as sid};

pub fn publics(ids: &[&Arc<NodeIdentity>]) -> Vec<PublicIdentity> {
    ids.iter().map(|id| id.public()).collect()
}

pub async fn connect(nats: &Nats, id: &Arc<NodeIdentity>) -> Transport {
    connect_with(nats, id, TransportOptions::default()).await
}

pub async fn connect_with(
    nats: &Nats,
    id: &Arc<NodeIdentity>,
    options: TransportOptions,
) -> Transport {
    tokio::time::timeout(WAIT, Transport::connect(&nats.url(), id.clone(), options))
        .await
        .expect("connect timed out")
        .expect("connect")
}

pub async fn open(t: &Transport, s: &SessionId, peers: &[PublicIdentity]) -> SessionLink {
    tokio::time::timeout(WAIT, t.open(s.clone(), peers.to_vec()))
        .await
        .expect("open timed out")
        .expect("open")
}

/// The next inbound item, or a panic after [`WAIT`].
pub async fn next(link: &mut SessionLink) -> Inbound {
    tokio::time::timeout(WAIT, link.recv())
        .await
        .expect("nothing received in time")
        .expect("link ended")
}

/// The next inbound item, which must be an opened message.
pub async fn next_message(link: &mut SessionLink) -> Opened {
    match next(link).await {
        Inbound::Message(opened) => opened,
        Inbound::Rejected { sender, error } => {
            panic!("expected a message, got a rejection from {sender:?}: {error}")
        }
    }
}

/// The next inbound item, which must be a rejection.
pub async fn next_rejection(
    link: &mut SessionLink,
) -> (Option<NodeId>, tessera_security::EnvelopeError) {
    match next(link).await {
        Inbound::Rejected { sender, error } => (sender, error),
        Inbound::Message(opened) => panic!("expected a rejection, got {:?}", opened.header),
    }
}

/// Asserts nothing arrives for [`QUIET`].
pub async fn assert_quiet(link: &mut SessionLink) {
    if let Ok(item) = tokio::time::timeout(QUIET, link.recv()).await {
        panic!("expected nothing, got {item:?}");
    }
}

/// Polls `cond` every 20 ms until it holds, panicking after `within`.
pub async fn eventually(within: Duration, what: &str, cond: impl FnMut() -> bool) {
    assert!(
        tessera_testkit::wait::poll_until(within, Duration::from_millis(20), cond).await,
        "timed out: {what}"
    );
}

/// Returns once `to`'s control router has taken every control message `from`
/// sent it before this call: a marker sent after them on the same connection
/// and control subject, for a session both open, has arrived (the router
/// handles its subscription's messages in order).
pub async fn control_barrier(from: &Transport, to: &Transport, peers: &[PublicIdentity]) {
    let s = sid("barrier");
    let mut lf = open(from, &s, peers).await;
    let mut lt = open(to, &s, peers).await;
    lf.send_control(to.node_id(), 0, b"barrier").await.unwrap();
    assert_eq!(next_message(&mut lt).await.payload.as_slice(), b"barrier");
    lf.close().await;
    lt.close().await;
}

/// A raw NATS client, for publishing bytes no honest node would send.
pub async fn raw_client(nats: &Nats) -> async_nats::Client {
    tokio::time::timeout(WAIT, async_nats::connect(nats.url()))
        .await
        .expect("raw connect timed out")
        .expect("raw connect")
}

/// Subscribes a raw client and waits until the server routes `probe_subject`
/// to it (flush alone does not say the interest is registered). The probe
/// carries the probe header, so session links ignore it.
pub async fn raw_subscribe(
    raw: &async_nats::Client,
    pattern: String,
    probe_subject: String,
) -> async_nats::Subscriber {
    use futures::StreamExt;
    let mut sub = raw.subscribe(pattern).await.unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(tessera_transport::PROBE_HEADER, "test");
    raw.publish_with_headers(probe_subject, headers, bytes::Bytes::new())
        .await
        .unwrap();
    let probe = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("raw subscription not confirmed")
        .unwrap();
    assert!(probe.headers.is_some(), "expected the probe first");
    sub
}
