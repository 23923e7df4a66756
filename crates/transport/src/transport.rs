//! `Transport`: this node's NATS connection, its control inbox, and opening sessions.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_nats::{Client, ConnectOptions, Event, Subscriber};
use tessera_security::{NodeIdentity, Opener};
use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::access::NatsAccess;
use crate::error::TransportError;
use crate::link::{LinkParts, SessionLink};
use crate::options::TransportOptions;
use crate::probe::{self, Target};
use crate::router::{self, RouterConfig, RouterHandle, Stats};
use crate::subjects;

/// A node's connection to NATS. Cheap to clone; every clone shares one
/// connection and one control router.
///
/// The connection reconnects by itself, forever; subscriptions are restored
/// by async-nats after a reconnect.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    identity: Arc<NodeIdentity>,
    options: TransportOptions,
    router: RouterHandle,
    stats: Arc<Stats>,
}

impl Transport {
    /// Connects (one attempt: a wrong address fails fast), subscribes to this
    /// node's control inbox, confirms it with the server, and starts the control router.
    ///
    /// `url` is one server URL or several separated by commas (a cluster's seeds).
    /// After a disconnection it retries quickly (see [`reconnect_delay`]).
    /// Without credential or TLS settings: see [`Transport::connect_with`].
    pub async fn connect(
        url: &str,
        identity: Arc<NodeIdentity>,
        options: TransportOptions,
    ) -> Result<Transport, TransportError> {
        Self::connect_with(&NatsAccess::new(url), identity, options).await
    }

    /// [`Transport::connect`] with the credential and TLS settings of `access`.
    pub async fn connect_with(
        access: &NatsAccess,
        identity: Arc<NodeIdentity>,
        options: TransportOptions,
    ) -> Result<Transport, TransportError> {
        let node_id = identity.node_id().clone();
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| format!("tessera-{node_id}"));
        let events_node = node_id.clone();
        let addrs = access.addrs()?;
        let mut connect = access
            .apply(ConnectOptions::new())?
            .name(name)
            .connection_timeout(options.connection_timeout)
            .max_reconnects(None)
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(move |event| {
                let node_id = events_node.clone();
                async move { log_event(&node_id, event) }
            });
        if let Some(capacity) = options.subscription_capacity {
            connect = connect.subscription_capacity(capacity);
        }
        let client = connect
            .connect(addrs)
            .await
            .map_err(|source| TransportError::Connect { source })?;

        let subject = subjects::node_control(&node_id);
        let mut sub = subscribe(&client, &subject).await?;
        let early = probe::confirm(
            &client,
            &mut [Target {
                sub: &mut sub,
                subject,
            }],
            options.probe_timeout,
        )
        .await?;
        let stats = Arc::new(Stats::default());
        let config = RouterConfig {
            hold: options.hold_unopened,
            limits: options.hold_limits,
            capacity: options.session_control_capacity.max(1),
        };
        let router = router::spawn(
            sub,
            early.into_iter().flatten().collect(),
            config,
            stats.clone(),
            node_id.clone(),
        );
        tracing::info!(node_id = %node_id, max_payload = client.max_payload(), "transport connected");
        Ok(Transport {
            inner: Arc::new(Inner {
                client,
                identity,
                options,
                router,
                stats,
            }),
        })
    }

    /// Opens a session with `peers` (this node's own entry may be among them).
    ///
    /// Returns only once the server has confirmed both session subscriptions
    /// (broadcast and this node's p2p inbox), so a peer that hears this node
    /// joined can send at once. Control messages held for the session are
    /// delivered first. Fails if the session is open on this node already.
    pub async fn open(
        &self,
        session_id: SessionId,
        peers: Vec<PublicIdentity>,
    ) -> Result<SessionLink, TransportError> {
        let inner = &self.inner;
        let me = inner.identity.node_id();
        let opener = Opener::new(&inner.identity, session_id.clone(), peers.iter().cloned())
            .map_err(|source| TransportError::PeerKey {
                session_id: session_id.clone(),
                source,
            })?;
        // Registering first makes a duplicate open fail before any subscription.
        // On any error below, dropping `route` and the subscribers undoes it all.
        let route = inner.router.open(&session_id).await?;
        let broadcast_subject = subjects::session_broadcast(&session_id);
        let timeout = inner.options.probe_timeout;
        // Subscribing can wait too (a full command queue while disconnected),
        // so the whole sequence shares the probe timeout.
        let subscribed = tokio::time::timeout(timeout, async {
            let mut broadcast = subscribe(&inner.client, &broadcast_subject).await?;
            let mut p2p =
                subscribe(&inner.client, &subjects::session_p2p_inbox(&session_id, me)).await?;
            let early = probe::confirm(
                &inner.client,
                &mut [
                    Target {
                        sub: &mut broadcast,
                        subject: broadcast_subject.clone(),
                    },
                    Target {
                        sub: &mut p2p,
                        subject: subjects::session_p2p(&session_id, me, me),
                    },
                ],
                timeout,
            )
            .await?;
            Ok::<_, TransportError>((broadcast, p2p, early))
        })
        .await;
        let (broadcast, p2p, early) =
            subscribed.map_err(|_elapsed| TransportError::SubscriptionNotConfirmed {
                subject: broadcast_subject.clone(),
                waited: timeout,
            })??;
        Ok(SessionLink::new(LinkParts {
            client: inner.client.clone(),
            identity: inner.identity.clone(),
            session_id,
            peers,
            opener,
            broadcast,
            p2p,
            route,
            early: early.into_iter().flatten().map(|m| m.payload).collect(),
        }))
    }

    pub fn node_id(&self) -> &NodeId {
        self.inner.identity.node_id()
    }

    /// The underlying connection, for JetStream and other users of the same connection.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The largest message the server accepts, from its latest `INFO`.
    pub fn max_payload(&self) -> usize {
        self.inner.client.max_payload()
    }

    /// Sessions registered with the control router (open links).
    pub fn open_sessions(&self) -> usize {
        self.inner.stats.open_sessions.load(Ordering::Relaxed)
    }

    /// Control messages dropped because their session was not opened in time
    /// or they exceeded the hold limits; a running total.
    pub fn dropped_unopened(&self) -> u64 {
        self.inner.stats.dropped_unopened.load(Ordering::Relaxed)
    }

    pub fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("node_id", self.node_id())
            .field("connected", &self.is_connected())
            .field("open_sessions", &self.open_sessions())
            .finish_non_exhaustive()
    }
}

async fn subscribe(client: &Client, subject: &str) -> Result<Subscriber, TransportError> {
    client
        .subscribe(subject.to_string())
        .await
        .map_err(|source| TransportError::Subscribe {
            subject: subject.to_string(),
            source,
        })
}

fn log_event(node_id: &NodeId, event: Event) {
    match event {
        Event::Connected => tracing::info!(node_id = %node_id, "connected to nats"),
        Event::Disconnected => {
            tracing::warn!(node_id = %node_id, "disconnected from nats; reconnecting")
        }
        Event::LameDuckMode => {
            tracing::warn!(node_id = %node_id, "nats server is entering lame duck mode")
        }
        Event::Draining => tracing::info!(node_id = %node_id, "nats connection draining"),
        Event::Closed => tracing::info!(node_id = %node_id, "nats connection closed"),
        Event::SlowConsumer(sid) => tracing::warn!(
            node_id = %node_id,
            subscription = sid,
            "nats dropped messages for a slow subscription"
        ),
        Event::ServerError(error) => {
            tracing::warn!(node_id = %node_id, %error, "nats server error")
        }
        Event::ClientError(error) => {
            tracing::warn!(node_id = %node_id, %error, "nats client error")
        }
    }
}

/// Pause before reconnect attempt `attempt`: 0, 10, 20, 40 ... ms, at most
/// 500 ms. A node is useless while disconnected and its peers' sessions wait
/// for it, so it keeps trying at a brisk pace (async-nats' default grows to 4 s).
pub fn reconnect_delay(attempt: usize) -> std::time::Duration {
    let exp = attempt.saturating_sub(1).min(16) as u32;
    let ms = if attempt <= 1 {
        0
    } else {
        10u64 << (exp - 1).min(6)
    };
    std::time::Duration::from_millis(ms.min(500))
}

#[cfg(test)]
mod tests {
    use super::reconnect_delay;
    use std::time::Duration;

    #[test]
    fn reconnects_start_at_once_and_never_wait_more_than_half_a_second() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(2), Duration::from_millis(10));
        assert_eq!(reconnect_delay(3), Duration::from_millis(20));
        assert!((4..10_000).all(|a| reconnect_delay(a) <= Duration::from_millis(500)));
        assert_eq!(reconnect_delay(usize::MAX), Duration::from_millis(500));
    }
}
