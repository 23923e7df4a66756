//! One background task per result kind: it pulls results from the durable
//! consumer, checks each one's node signature (`trust`), acks it, and hands
//! it to whoever waits for its id if it was stored after their request
//! (`routing`). A result that fails either check is acked, logged (subject,
//! message id, claimed node, why), counted and dropped.
//!
//! The task owns the [`Routing`] state; callers reach it through a
//! [`ResultRouter`] handle and a bounded channel. When the last handle is
//! dropped (the [`Client`](crate::Client) and its clones are gone) the task
//! ends. A lost pull subscription or a deleted consumer is re-created with
//! backoff; waiters keep waiting meanwhile.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tessera_transport::async_nats::jetstream::consumer::pull::{
    MessagesError, MessagesErrorKind, Stream as Messages,
};
use tessera_transport::async_nats::jetstream::consumer::PullConsumer;
use tessera_transport::async_nats::jetstream::{self, Context};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use crate::consumer::{ResultConsumer, ResultEvent};
use crate::routing::{Delivery, Routing};
use crate::trust::{claimed, Counters, Rejection, ResultCheck};
use crate::ClientError;

/// Pending registrations a pump buffers before callers wait for room.
const COMMAND_BUFFER: usize = 256;
/// How often given-up waiters and expired results are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(15);

enum Command<E> {
    /// A request for `id` is about to be published; the result stream's last
    /// sequence is `after`.
    Expect { id: String, after: u64 },
    /// Someone waits for `id`, for a result stored after `after` (or after
    /// the mark `routing` knows).
    Wait {
        id: String,
        after: Option<u64>,
        reply: oneshot::Sender<E>,
    },
}

/// Handle to a pump: register waiters.
#[derive(Debug, Clone)]
pub(crate) struct ResultRouter<E> {
    commands: mpsc::Sender<Command<E>>,
}

impl<E> std::fmt::Debug for Command<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Expect { id, after } => f
                .debug_struct("Expect")
                .field("id", id)
                .field("after", after)
                .finish(),
            Command::Wait { id, after, .. } => f
                .debug_struct("Wait")
                .field("id", id)
                .field("after", after)
                .finish(),
        }
    }
}

/// A registered wait for one id.
#[derive(Debug)]
pub(crate) struct Waiter<E> {
    id: String,
    reply: oneshot::Receiver<E>,
}

impl<E: ResultEvent> ResultRouter<E> {
    /// Records that a request for `id` is about to be published while the
    /// result stream's last sequence is `after`: results for `id` at or
    /// before it are dropped from now on.
    pub async fn expect(&self, id: &str, after: u64) -> Result<(), ClientError> {
        self.commands
            .send(Command::Expect {
                id: id.to_string(),
                after,
            })
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// Registers interest in `id`, for results stored after `after` (or, if
    /// `None`, after this client's last request for `id`, or after it
    /// connected); an acceptable result already held is delivered at once.
    pub async fn register(&self, id: &str, after: Option<u64>) -> Result<Waiter<E>, ClientError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Wait {
                id: id.to_string(),
                after,
                reply,
            })
            .await
            .map_err(|_| ClientError::Closed)?;
        Ok(Waiter {
            id: id.to_string(),
            reply: rx,
        })
    }
}

impl<E: ResultEvent> Waiter<E> {
    /// The result, or [`ClientError::Timeout`] after `timeout`. A result that
    /// arrives later is kept for another `await_*` call.
    pub async fn wait(self, timeout: Duration) -> Result<E, ClientError> {
        match tokio::time::timeout(timeout, self.reply).await {
            Ok(Ok(event)) => Ok(event),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout {
                what: E::KIND,
                id: self.id,
            }),
        }
    }
}

/// Where a pump reads from and whose results it keeps.
#[derive(Debug, Clone)]
pub(crate) struct PumpSpec {
    pub consumer: ResultConsumer,
    pub client_id: Option<String>,
    pub unclaimed_capacity: usize,
    pub unclaimed_ttl: Duration,
    /// Which signatures are accepted.
    pub check: ResultCheck,
    /// Where rejections are counted (shared by all pumps).
    pub counters: Arc<Counters>,
    /// The result stream's last sequence when the client connected.
    pub floor: u64,
}

/// Starts a pump on an already created consumer.
pub(crate) fn spawn<E: ResultEvent>(
    js: Context,
    consumer: PullConsumer,
    spec: PumpSpec,
) -> ResultRouter<E> {
    let (commands, rx) = mpsc::channel(COMMAND_BUFFER);
    tokio::spawn(run::<E>(js, consumer, spec, rx));
    ResultRouter { commands }
}

async fn run<E: ResultEvent>(
    js: Context,
    mut consumer: PullConsumer,
    spec: PumpSpec,
    mut commands: mpsc::Receiver<Command<E>>,
) {
    let mut routing = Routing::<E>::new(spec.unclaimed_capacity, spec.unclaimed_ttl, spec.floor);
    let mut messages: Option<Messages> = None;
    let mut recreate = false;
    let mut backoff = RETRY_MIN;
    let retry = sleep_until(Instant::now());
    tokio::pin!(retry);
    let mut prune = tokio::time::interval(PRUNE_EVERY);

    loop {
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(Command::Expect { id, after }) => {
                    if routing.expect(id.clone(), after, std::time::Instant::now()) {
                        dropped_held::<E>(&spec, &id);
                    }
                }
                Some(Command::Wait { id, after, reply }) => {
                    if routing.wait(id.clone(), after, reply, std::time::Instant::now()) {
                        dropped_held::<E>(&spec, &id);
                    }
                }
                None => break,
            },
            () = &mut retry, if messages.is_none() => {
                match open(&js, &mut consumer, &spec.consumer, recreate).await {
                    Ok(stream) => {
                        messages = Some(stream);
                        recreate = false;
                        backoff = RETRY_MIN;
                    }
                    Err(reason) => {
                        tracing::warn!(consumer = %spec.consumer.name, %reason, "result consumer unavailable; retrying");
                        recreate = true;
                        retry.as_mut().reset(Instant::now() + backoff);
                        backoff = (backoff * 2).min(RETRY_MAX);
                    }
                }
            }
            item = next(&mut messages) => match item {
                Some(Ok(msg)) => handle(&mut routing, msg, &spec).await,
                Some(Err(e)) => {
                    let fatal = matches!(
                        e.kind(),
                        MessagesErrorKind::ConsumerDeleted
                            | MessagesErrorKind::NoResponders
                            | MessagesErrorKind::PushBasedConsumer
                            | MessagesErrorKind::RequestLimitExceeded
                    );
                    tracing::warn!(consumer = %spec.consumer.name, error = %e, fatal, "result consumer error");
                    if fatal {
                        messages = None;
                        recreate = true;
                        retry.as_mut().reset(Instant::now() + backoff);
                    }
                }
                None => {
                    messages = None;
                    recreate = true;
                    retry.as_mut().reset(Instant::now() + backoff);
                }
            },
            _ = prune.tick() => routing.prune(std::time::Instant::now()),
        }
    }
    tracing::debug!(consumer = %spec.consumer.name, "result pump stopped");
}

/// A result held for `id` turned out to be older than the request for it.
fn dropped_held<E: ResultEvent>(spec: &PumpSpec, id: &str) {
    spec.counters.count(&Rejection::BeforeRequest);
    tracing::warn!(
        kind = E::KIND,
        %id,
        reason = Rejection::BeforeRequest.reason(),
        "dropping a held result"
    );
}

/// Opens the message stream, re-creating the consumer first when it was lost.
async fn open(
    js: &Context,
    consumer: &mut PullConsumer,
    spec: &ResultConsumer,
    recreate: bool,
) -> Result<Messages, String> {
    if recreate {
        *consumer = spec.ensure(js).await.map_err(|e| e.to_string())?;
    }
    consumer.messages().await.map_err(|e| e.to_string())
}

/// The next message, or never when there is no stream.
async fn next(
    messages: &mut Option<Messages>,
) -> Option<Result<jetstream::Message, MessagesError>> {
    match messages {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Checks, routes and acks one result. Results that cannot be read, are not
/// this client's, or fail a check are acked too: redelivering them would not
/// make them acceptable.
async fn handle<E: ResultEvent>(
    routing: &mut Routing<E>,
    msg: jetstream::Message,
    spec: &PumpSpec,
) {
    route(routing, &msg, spec);
    if let Err(e) = msg.ack().await {
        tracing::warn!(kind = E::KIND, error = %e, "cannot ack result; it may be delivered again");
    }
}

fn route<E: ResultEvent>(routing: &mut Routing<E>, msg: &jetstream::Message, spec: &PumpSpec) {
    let subject = msg.subject.as_str();
    let headers = msg.headers.as_ref();
    let msg_id = || claimed(headers, tessera_transport::mpc::MSG_ID_HEADER);
    let node = || claimed(headers, tessera_transport::mpc::RESULT_NODE_HEADER);
    let reject = |why: Rejection| {
        spec.counters.count(&why);
        tracing::warn!(
            kind = E::KIND,
            %subject,
            msg_id = %msg_id(),
            claimed_node = %node(),
            reason = why.reason(),
            "dropping a result"
        );
    };
    let signer = match spec.check.check(subject, headers, &msg.payload) {
        Ok(accepted) => accepted.signer,
        Err(why) => return reject(why),
    };
    let seq = match msg.info() {
        Ok(info) => info.stream_sequence,
        Err(e) => {
            tracing::warn!(kind = E::KIND, %subject, error = %e, "dropping a result without stream metadata");
            return;
        }
    };
    let event = match E::decode(&msg.payload) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(kind = E::KIND, %subject, error = %e, "dropping an unreadable result");
            return;
        }
    };
    let Some(id) = event.route(subject, spec.client_id.as_deref()) else {
        tracing::warn!(kind = E::KIND, %subject, "dropping a result that is not this client's");
        return;
    };
    let signer = signer.as_ref().map_or("unsigned", |n| n.as_str());
    match routing.deliver(id.clone(), seq, event, std::time::Instant::now()) {
        Delivery::Delivered | Delivery::Kept => {
            tracing::debug!(kind = E::KIND, %id, seq, %signer, "result received");
        }
        Delivery::BeforeRequest => reject(Rejection::BeforeRequest),
    }
}
