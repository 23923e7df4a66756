//! The event consumer's lifecycle: streams and shared durable consumers, one
//! pull loop per request kind, the proposal listener, and shutdown.

use std::sync::Arc;
use std::time::Duration;

use tessera_runner::Node;
use tessera_transport::async_nats::jetstream;
use tessera_transport::{mpc, subjects};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ConsumerConfig;
use crate::error::RequestError;
use crate::intake;
use crate::ledger::Ledger;
use crate::player;
use crate::request::Kind;
use crate::shared::Shared;
use crate::streams::StreamHealth;
use crate::tenants;

/// Pulls requests and serves them until shut down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventConsumer {
    shared: Arc<Shared>,
    streams: StreamHealth,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl EventConsumer {
    /// Creates the streams if missing, binds the shared durable consumers, starts
    /// answering proposals and pulling requests.
    pub async fn start(node: Node, mut config: ConsumerConfig) -> Result<Self, RequestError> {
        if let Some(policy) = &config.authorizers {
            if policy.required.is_empty() {
                return Err(RequestError::Config(
                    "authorizers are enabled but none is listed".into(),
                ));
            }
        }
        config.participants.sort();
        config.participants.dedup();
        if !config.participants.contains(node.node_id()) {
            return Err(RequestError::Config(format!(
                "{} is not among the configured participants",
                node.node_id()
            )));
        }
        // One server node alone is allowed: its keys all have tenant players.
        if config.participants.len() > 1 || config.threshold.0 == 0 {
            config
                .threshold
                .check(config.participants.len())
                .map_err(|e| RequestError::Config(e.to_string()))?;
        }
        let client = node.transport().client().clone();
        let js = jetstream::new(client.clone());
        config
            .streams
            .validate()
            .map_err(|e| RequestError::Config(format!("streams: {e}")))?;
        mpc::ensure_streams(&js, &config.streams)
            .await
            .map_err(|e| RequestError::JetStream(e.to_string()))?;
        let stale = node_stale_after(&config);
        let ledger = Ledger::open(&js, &node, stale, &config.streams).await?;
        let tenant_keys = mpc::tenant_keys(&js, &config.streams)
            .await
            .map_err(|e| RequestError::JetStream(e.to_string()))?;
        let shared = Arc::new(Shared {
            keygen_permits: Arc::new(Semaphore::new(config.keygen_concurrency.max(1))),
            signing_permits: Arc::new(Semaphore::new(config.signing_concurrency.max(1))),
            keygen_join_permits: Arc::new(Semaphore::new(config.keygen_concurrency.max(1))),
            signing_join_permits: Arc::new(Semaphore::new(config.signing_concurrency.max(1))),
            node,
            config,
            client,
            js,
            ledger,
            tenant_keys,
            seen: std::sync::Mutex::new(crate::seen::SeenProposals::new(SEEN_CAPACITY)),
            tracker: TaskTracker::new(),
            leaving: std::sync::Mutex::default(),
        });
        let consumer = Self {
            tracker: shared.tracker.clone(),
            shared,
            streams: StreamHealth::default(),
            cancel: CancellationToken::new(),
        };
        let proposals = consumer
            .shared
            .client
            .subscribe(subjects::node_proposal(consumer.shared.me()))
            .await
            .map_err(|e| RequestError::JetStream(format!("proposal inbox: {e}")))?;
        consumer
            .shared
            .client
            .flush()
            .await
            .map_err(|e| RequestError::JetStream(format!("proposal inbox: {e}")))?;
        let cancel = consumer.cancel.clone();
        let shared = consumer.shared.clone();
        consumer.tracker.spawn(async move {
            tokio::select! {
                _ = player::serve(shared, proposals) => {}
                _ = cancel.cancelled() => {}
            }
        });
        let (cancel, shared) = (consumer.cancel.clone(), consumer.shared.clone());
        consumer.tracker.spawn(async move {
            let watch = tenants::log_registrations(
                shared.tenant_keys.clone(),
                shared.config.initiator.clone(),
                shared.me().clone(),
            );
            tokio::select! {
                _ = watch => {}
                _ = cancel.cancelled() => {}
            }
        });
        let (cancel, js) = (consumer.cancel.clone(), consumer.shared.js.clone());
        let health = consumer.streams.clone();
        consumer
            .tracker
            .spawn(health.watch(js, STREAM_CHECK_INTERVAL, cancel));
        for kind in [Kind::Keygen, Kind::Sign] {
            let messages = intake::messages(&consumer.shared, kind).await?;
            let (shared, cancel) = (consumer.shared.clone(), consumer.cancel.clone());
            consumer
                .tracker
                .spawn(intake::pull_loop(shared, kind, messages, cancel));
        }
        let messages = crate::reshare_intake::messages(&consumer.shared).await?;
        let reshares = crate::reshare_intake::subscribe(&consumer.shared).await?;
        let (shared, cancel) = (consumer.shared.clone(), consumer.cancel.clone());
        consumer
            .tracker
            .spawn(crate::reshare_intake::pull_loop(shared, messages, cancel));
        let (shared, cancel) = (consumer.shared.clone(), consumer.cancel.clone());
        consumer.tracker.spawn(async move {
            tokio::select! {
                _ = crate::reshare_intake::bridge(shared, reshares) => {}
                _ = cancel.cancelled() => {}
            }
        });
        // Lifecycle attempts this node left undecided or unerased (it stopped
        // in the middle) are finished in the background.
        let (shared, cancel) = (consumer.shared.clone(), consumer.cancel.clone());
        let undecided_after = shared.node.options().keygen_deadline;
        let grace = crate::reshare_run::grace(&shared);
        consumer.tracker.spawn(async move {
            let reconcile = crate::decision::reconcile(
                shared.node.clone(),
                shared.ledger.clone(),
                undecided_after,
                grace,
            );
            tokio::select! {
                _ = reconcile => {}
                _ = cancel.cancelled() => {}
            }
        });
        tracing::info!(node_id = %consumer.shared.me(), "event consumer started");
        Ok(consumer)
    }

    pub fn node(&self) -> &Node {
        &self.shared.node
    }

    /// Whether the request streams answered their last check.
    pub fn stream_health(&self) -> &StreamHealth {
        &self.streams
    }

    /// Stops taking requests, then waits for those in flight.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// How often the request streams are checked for `/readyz`.
/// Proposals a player remembers at most (each for about two minutes).
const SEEN_CAPACITY: usize = 65_536;

const STREAM_CHECK_INTERVAL: Duration = Duration::from_secs(2);

fn node_stale_after(config: &ConsumerConfig) -> Duration {
    config.ack_wait.max(Duration::from_secs(120))
}
