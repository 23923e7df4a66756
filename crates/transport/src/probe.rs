//! Confirming that subscriptions are live on the server.
//!
//! `flush` only says the server has read our commands; it does not say that the
//! interest is registered where peers publish. A probe does: a message with a
//! `Tessera-Probe: <nonce>` header published to a subject each subscription
//! covers. When every probe has come back through its subscription, the server
//! routes that subject to us. Probes are re-published while waiting (one lost
//! during a reconnect must not cost the whole timeout), and receivers drop
//! every message that carries the header.

use std::task::Poll;
use std::time::Duration;

use async_nats::{Client, HeaderMap, Message, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use rand_core::{OsRng, RngCore};
use tokio::time::Instant;

use crate::error::TransportError;

/// The header that marks a probe; its value is the prober's nonce.
pub const PROBE_HEADER: &str = "Tessera-Probe";

const REPUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Whether a received message is a probe (anyone's) rather than an envelope.
pub(crate) fn is_probe(msg: &Message) -> bool {
    msg.headers
        .as_ref()
        .is_some_and(|h| h.get(PROBE_HEADER).is_some())
}

/// A subscription to confirm and a subject it covers.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub sub: &'a mut Subscriber,
    pub subject: String,
}

/// Waits until a probe published to each target's subject came back through
/// that target's subscription. Returns, per target, the other messages that
/// arrived before its probe, in order, for the caller to process first.
pub(crate) async fn confirm(
    client: &Client,
    targets: &mut [Target<'_>],
    timeout: Duration,
) -> Result<Vec<Vec<Message>>, TransportError> {
    let nonce = new_nonce();
    let mut early: Vec<Vec<Message>> = targets.iter().map(|_| Vec::new()).collect();
    let mut seen = vec![false; targets.len()];
    let deadline = Instant::now() + timeout;
    let mut republish_at = Instant::now();
    while let Some(i) = seen.iter().position(|s| !s) {
        let now = Instant::now();
        if now >= deadline {
            return Err(TransportError::SubscriptionNotConfirmed {
                subject: targets[i].subject.clone(),
                waited: timeout,
            });
        }
        if now >= republish_at {
            for (target, _) in targets.iter().zip(&seen).filter(|(_, s)| !**s) {
                publish_probe(client, &target.subject, &nonce).await?;
            }
            republish_at = now + REPUBLISH_EVERY;
        }
        // Read only the unconfirmed subscriptions: what follows a probe stays
        // queued in its subscription, in order, for the caller.
        let next = futures::future::poll_fn(|cx| {
            for (i, target) in targets.iter_mut().enumerate() {
                if seen[i] {
                    continue;
                }
                if let Poll::Ready(msg) = target.sub.poll_next_unpin(cx) {
                    return Poll::Ready((i, msg));
                }
            }
            Poll::Pending
        });
        match tokio::time::timeout_at(republish_at.min(deadline), next).await {
            Err(_elapsed) => {}
            Ok((_, None)) => return Err(TransportError::Closed),
            Ok((i, Some(msg))) => {
                if is_probe(&msg) {
                    let value = msg.headers.as_ref().and_then(|h| h.get(PROBE_HEADER));
                    if value.is_some_and(|v| v.as_str() == nonce) {
                        seen[i] = true;
                    }
                } else {
                    early[i].push(msg);
                }
            }
        }
    }
    Ok(early)
}

async fn publish_probe(client: &Client, subject: &str, nonce: &str) -> Result<(), TransportError> {
    let mut headers = HeaderMap::new();
    headers.insert(PROBE_HEADER, nonce);
    client
        .publish_with_headers(subject.to_string(), headers, Bytes::new())
        .await
        .map_err(|source| TransportError::Publish {
            subject: subject.to_string(),
            source,
        })
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn confirms_and_keeps_what_arrived_first() {
        let nats = tessera_testkit::Nats::start().await.unwrap();
        let client = async_nats::connect(nats.url()).await.unwrap();
        let mut a = client.subscribe("probe.a").await.unwrap();
        let mut b = client.subscribe("probe.b.*").await.unwrap();
        // Same connection, after the SUBs: the server delivers these first.
        client.publish("probe.a", "m1".into()).await.unwrap();
        client.publish("probe.a", "m2".into()).await.unwrap();
        client.publish("probe.b.x", "m3".into()).await.unwrap();
        let early = confirm(
            &client,
            &mut [
                Target {
                    sub: &mut a,
                    subject: "probe.a".into(),
                },
                Target {
                    sub: &mut b,
                    subject: "probe.b.me".into(),
                },
            ],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let payloads: Vec<Vec<&[u8]>> = early
            .iter()
            .map(|msgs| msgs.iter().map(|m| &m.payload[..]).collect())
            .collect();
        assert_eq!(payloads, vec![vec![&b"m1"[..], b"m2"], vec![&b"m3"[..]]]);
        // What follows the probe is left in the subscription, in order.
        client.publish("probe.a", "m4".into()).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), a.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&next.payload[..], b"m4");
    }

    #[tokio::test]
    async fn times_out_when_the_server_is_gone() {
        let mut nats = tessera_testkit::Nats::start().await.unwrap();
        let client = async_nats::connect(nats.url()).await.unwrap();
        nats.kill();
        let mut a = client.subscribe("probe.a").await.unwrap();
        let err = confirm(
            &client,
            &mut [Target {
                sub: &mut a,
                subject: "probe.a".into(),
            }],
            Duration::from_millis(400),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, TransportError::SubscriptionNotConfirmed { subject, .. } if subject == "probe.a"),
            "{err}"
        );
    }
}
