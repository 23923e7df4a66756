//! One background task per result kind: it pulls results from the durable
//! consumer, acks them, and hands each to whoever waits for its id.
//!
//! The task owns the [`Routing`] state; callers reach it through a
//! [`ResultRouter`] handle and a bounded channel. When the last handle is
//! dropped (the [`Client`](crate::Client) and its clones are gone) the task
//! ends. A lost pull subscription or a deleted consumer is re-created with
//! backoff; waiters keep waiting meanwhile.

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
use crate::routing::Routing;
use crate::ClientError;

/// Pending registrations a pump buffers before callers wait for room.
const COMMAND_BUFFER: usize = 256;
/// How often given-up waiters and expired results are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(15);

struct Wait<E> {
    id: String,
    reply: oneshot::Sender<E>,
}

/// Handle to a pump: register waiters.
#[derive(Debug, Clone)]
pub(crate) struct ResultRouter<E> {
    commands: mpsc::Sender<Wait<E>>,
}

impl<E> std::fmt::Debug for Wait<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait").field("id", &self.id).finish()
    }
}

/// A registered wait for one id.
#[derive(Debug)]
pub(crate) struct Waiter<E> {
    id: String,
    reply: oneshot::Receiver<E>,
}

impl<E: ResultEvent> ResultRouter<E> {
    /// Registers interest in `id`; a result already held is delivered at once.
    pub async fn register(&self, id: &str) -> Result<Waiter<E>, ClientError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Wait {
                id: id.to_string(),
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
    mut commands: mpsc::Receiver<Wait<E>>,
) {
    let mut routing = Routing::<E>::new(spec.unclaimed_capacity, spec.unclaimed_ttl);
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
                Some(Wait { id, reply }) => routing.wait(id, reply, std::time::Instant::now()),
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
                Some(Ok(msg)) => handle(&mut routing, msg, spec.client_id.as_deref()).await,
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

/// Routes one result and acks it. Results that cannot be read or are not this
/// client's are acked too: redelivering them would not make them readable.
async fn handle<E: ResultEvent>(
    routing: &mut Routing<E>,
    msg: jetstream::Message,
    client_id: Option<&str>,
) {
    let subject = msg.subject.as_str();
    match E::decode(&msg.payload) {
        Ok(event) => match event.route(subject, client_id) {
            Some(id) => {
                tracing::debug!(kind = E::KIND, %id, "result received");
                routing.deliver(id, event, std::time::Instant::now());
            }
            None => {
                tracing::warn!(kind = E::KIND, %subject, "dropping a result that is not this client's")
            }
        },
        Err(e) => {
            tracing::warn!(kind = E::KIND, %subject, error = %e, "dropping an unreadable result")
        }
    }
    if let Err(e) = msg.ack().await {
        tracing::warn!(kind = E::KIND, error = %e, "cannot ack result; it may be delivered again");
    }
}
