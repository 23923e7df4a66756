//! The event consumer's lifecycle: streams and shared durable consumers, one
//! pull loop per request kind, the proposal listener, and shutdown.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tessera_runner::Node;
use tessera_transport::async_nats::jetstream::{self, consumer::pull, AckKind};
use tessera_transport::{mpc, subjects};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ConsumerConfig;
use crate::coordinator::{self, Served};
use crate::error::RequestError;
use crate::ledger::Ledger;
use crate::player;
use crate::results;
use crate::shared::Shared;
use crate::stale::{age_of, Stale};
use crate::streams::StreamHealth;
use crate::tenants;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Keygen,
    Sign,
}

/// Pulls requests and serves them until shut down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventConsumer {
    shared: Arc<Shared>,
    streams: StreamHealth,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

fn js_err(what: &str) -> impl Fn(String) -> RequestError + '_ {
    move |e| RequestError::JetStream(format!("{what}: {e}"))
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
        let ledger = Ledger::open(&js, node.node_id().as_str(), stale, &config.streams).await?;
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
            delegations: Default::default(),
            tracker: TaskTracker::new(),
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
            let messages = consumer.messages(kind).await?;
            let this = consumer.clone();
            consumer
                .tracker
                .spawn(async move { this.pull_loop(kind, messages).await });
        }
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

    async fn messages(&self, kind: Kind) -> Result<pull::Stream, RequestError> {
        let (stream, name, concurrency) = match kind {
            Kind::Keygen => (
                mpc::KEYGEN_STREAM,
                mpc::KEYGEN_CONSUMER,
                self.shared.config.keygen_concurrency,
            ),
            Kind::Sign => (
                mpc::SIGNING_STREAM,
                mpc::SIGNING_CONSUMER,
                self.shared.config.signing_concurrency,
            ),
        };
        let stream = self
            .shared
            .js
            .get_stream(stream)
            .await
            .map_err(|e| RequestError::JetStream(format!("stream {stream}: {e}")))?;
        let consumer = stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_string()),
                    ack_wait: self.shared.config.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| js_err("consumer")(e.to_string()))?;
        consumer
            .stream()
            .max_messages_per_batch(concurrency.clamp(1, 256))
            .messages()
            .await
            .map_err(|e| js_err("pull")(e.to_string()))
    }

    async fn pull_loop(self, kind: Kind, mut messages: pull::Stream) {
        let permits = match kind {
            Kind::Keygen => self.shared.keygen_permits.clone(),
            Kind::Sign => self.shared.signing_permits.clone(),
        };
        loop {
            let permit = tokio::select! {
                _ = self.cancel.cancelled() => return,
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            };
            let next = tokio::select! {
                _ = self.cancel.cancelled() => return,
                m = messages.next() => m,
            };
            let msg = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(?kind, "pulling requests failed: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                None => return,
            };
            let shared = self.shared.clone();
            self.tracker.spawn(async move {
                handle(&shared, kind, msg).await;
                drop(permit);
            });
        }
    }

    /// Stops taking requests, then waits for those in flight.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// How often the request streams are checked for `/readyz`.
const STREAM_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// How soon a copy of a request that is being served elsewhere comes back.
const IN_PROGRESS_RETRY: Duration = Duration::from_secs(1);

fn node_stale_after(config: &ConsumerConfig) -> Duration {
    config.ack_wait.max(Duration::from_secs(120))
}

/// Serves one request message: result published once, then acked.
async fn handle(shared: &Shared, kind: Kind, msg: jetstream::Message) {
    let client_id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::CLIENT_ID_HEADER))
        .map(|v| v.as_str().to_string())
        .filter(|c| mpc::valid_client_id(c));
    let info = msg.info().ok();
    let seq = info.as_ref().map(|i| i.stream_sequence);
    let age = info.as_ref().map(|i| age_of(i.published));
    let stale = age
        .filter(|a| *a > shared.config.max_request_age)
        .map(|age| Stale {
            age,
            limit: shared.config.max_request_age,
        });
    let subject = msg.subject.to_string();
    let serve = async {
        match kind {
            Kind::Keygen => {
                crate::keygen::serve_keygen(
                    shared,
                    &msg.payload,
                    &subject,
                    client_id.as_deref(),
                    stale,
                )
                .await
            }
            Kind::Sign => {
                coordinator::serve_sign(shared, &msg.payload, &subject, client_id.as_deref(), stale)
                    .await
            }
        }
    };
    tokio::pin!(serve);
    // First tick one period from now: an immediate first tick would still wait
    // for the timer wheel's next millisecond before serving starts.
    let period = shared.config.progress_interval;
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let served = loop {
        tokio::select! {
            o = &mut serve => break o,
            _ = progress.tick() => { let _ = msg.ack_with(AckKind::Progress).await; }
        }
    };
    let Some(Served { outcome, claim }) = served else {
        // The same request is being served by a live node (or by this one),
        // or the ledger cannot be asked right now: keep this copy until that
        // one is done (then it is answered from the ledger) or the ledger is
        // back. Acking it now would lose it if that node died.
        let _ = msg.ack_with(AckKind::Nak(Some(IN_PROGRESS_RETRY))).await;
        return;
    };
    let kind_name = if kind == Kind::Keygen {
        "keygen"
    } else {
        "sign"
    };
    // The request's stream sequence names the result once. Without it (never
    // for a pull consumer's message) the request's own bytes do: a fixed
    // fallback would make JetStream drop other results as duplicates.
    let msg_id = match seq {
        Some(seq) => format!("{kind_name}:{seq}"),
        None => format!(
            "{kind_name}:sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&msg.payload))
        ),
    };
    // Recording the result in the ledger and publishing it are independent
    // (a repeat finds either the record or, until it lands, a claim in
    // progress), so they go out together; the ack waits for both.
    let record = async {
        let Some(c) = &claim else { return true };
        match shared
            .ledger
            .finish(&c.key, &c.digest, c.revision, &outcome.json)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(subject = %outcome.subject, "could not record the result, request will come back to record it: {e}");
                false
            }
        }
    };
    let (recorded, published) =
        tokio::join!(record, results::publish(&shared.js, &outcome, &msg_id));
    if published.is_ok() && !recorded {
        // The ledger keeps the result in memory; the copy that comes back
        // records it and is answered with it (deduplicated by `msg_id`).
        let _ = msg.ack_with(AckKind::Nak(Some(IN_PROGRESS_RETRY))).await;
        return;
    }
    if let Err(e) = published {
        tracing::warn!(subject = %outcome.subject, "result not published, request will be redelivered: {e}");
        let _ = msg
            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
            .await;
        return;
    }
    if let Err(e) = msg.ack().await {
        tracing::warn!("ack failed: {e}");
    }
}
