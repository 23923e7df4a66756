//! The control router: one task that owns this node's control subscription and
//! hands each control message to the session it names.
//!
//! The session id is read from the envelope header without checking anything
//! else: routing is all it is used for, and the session's `Opener` checks the
//! message like any other. Messages for sessions not open yet wait in the
//! [`HoldQueue`]; messages for a session closed a moment ago (a late abort, say)
//! are dropped quietly.
//!
//! State lives in the task; [`RouterHandle`] and [`Route`] talk to it over a
//! bounded channel, like async-nats's `Client` and `ConnectionHandler`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Message, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use tessera_security::Envelope;
use tessera_types::{ErrorCode, NodeId, SessionId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::TransportError;
use crate::hold::{Expired, HoldQueue, Push};
use crate::options::HoldLimits;
use crate::probe::is_probe;

const COMMAND_CAPACITY: usize = 256;
/// Closed sessions remembered, so late messages for them are not held.
const RECENTLY_CLOSED: usize = 1024;

/// Counters the router keeps for `Transport`'s getters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub open_sessions: AtomicUsize,
    pub dropped_unopened: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RouterConfig {
    pub hold: Duration,
    pub limits: HoldLimits,
    /// Per-session control queue.
    pub capacity: usize,
}

enum Command {
    Open {
        session_id: SessionId,
        reply: oneshot::Sender<Option<(u64, mpsc::Receiver<Bytes>)>>,
    },
    Close {
        session_id: SessionId,
        route_id: u64,
        done: Option<oneshot::Sender<()>>,
    },
}

/// Talks to the router task.
#[derive(Debug, Clone)]
pub(crate) struct RouterHandle {
    commands: mpsc::Sender<Command>,
}

impl RouterHandle {
    /// Registers an open session; fails if it is open already.
    pub(crate) async fn open(&self, session_id: &SessionId) -> Result<Route, TransportError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Open {
                session_id: session_id.clone(),
                reply,
            })
            .await
            .map_err(|_| TransportError::Closed)?;
        match answer.await.map_err(|_| TransportError::Closed)? {
            Some((id, rx)) => Ok(Route {
                commands: self.commands.clone(),
                session_id: session_id.clone(),
                id,
                rx,
                closed: false,
            }),
            None => Err(TransportError::AlreadyOpen {
                session_id: session_id.clone(),
            }),
        }
    }
}

/// One open session's registration: its control messages arrive on `rx`.
/// Dropping it deregisters the session (best effort); `close` waits for it.
#[derive(Debug)]
pub(crate) struct Route {
    commands: mpsc::Sender<Command>,
    session_id: SessionId,
    id: u64,
    pub rx: mpsc::Receiver<Bytes>,
    closed: bool,
}

impl Route {
    pub(crate) async fn close(mut self) {
        self.closed = true;
        let (done, wait) = oneshot::channel();
        let cmd = Command::Close {
            session_id: self.session_id.clone(),
            route_id: self.id,
            done: Some(done),
        };
        if self.commands.send(cmd).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let cmd = Command::Close {
            session_id: self.session_id.clone(),
            route_id: self.id,
            done: None,
        };
        // If the queue is full, the router still notices the dropped receiver
        // the next time it routes to this session or another session opens.
        if let Err(mpsc::error::TrySendError::Full(cmd)) = self.commands.try_send(cmd) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let commands = self.commands.clone();
                rt.spawn(async move {
                    let _ = commands.send(cmd).await;
                });
            }
        }
    }
}

struct RouteEntry {
    id: u64,
    tx: mpsc::Sender<Bytes>,
}

struct Router {
    node_id: NodeId,
    config: RouterConfig,
    routes: HashMap<SessionId, RouteEntry>,
    held: HoldQueue,
    closed: HashSet<SessionId>,
    closed_order: VecDeque<SessionId>,
    next_id: u64,
    stats: Arc<Stats>,
}

/// Starts the router on `sub` (the node's confirmed control subscription);
/// `early` are control messages that arrived while it was being confirmed.
pub(crate) fn spawn(
    sub: Subscriber,
    early: Vec<Message>,
    config: RouterConfig,
    stats: Arc<Stats>,
    node_id: NodeId,
) -> RouterHandle {
    let (commands, rx) = mpsc::channel(COMMAND_CAPACITY);
    let router = Router {
        node_id,
        config,
        routes: HashMap::new(),
        held: HoldQueue::new(config.hold, config.limits),
        closed: HashSet::new(),
        closed_order: VecDeque::new(),
        next_id: 0,
        stats,
    };
    tokio::spawn(router.run(sub, early, rx));
    RouterHandle { commands }
}

impl Router {
    async fn run(
        mut self,
        mut sub: Subscriber,
        early: Vec<Message>,
        mut commands: mpsc::Receiver<Command>,
    ) {
        for msg in early {
            self.route(msg);
        }
        loop {
            let deadline = self.held.next_deadline();
            let expiry = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    // Every handle and link is gone.
                    None => break,
                },
                msg = sub.next() => match msg {
                    Some(msg) => self.route(msg),
                    None => {
                        tracing::warn!(
                            node_id = %self.node_id,
                            "control subscription ended; the nats connection is closed"
                        );
                        break;
                    }
                },
                () = expiry => self.expire(),
            }
        }
        // Dropping the routes ends every open session's control stream.
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Open { session_id, reply } => self.open(session_id, reply),
            Command::Close {
                session_id,
                route_id,
                done,
            } => {
                if self
                    .routes
                    .get(&session_id)
                    .is_some_and(|r| r.id == route_id)
                {
                    self.remove(&session_id);
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
        }
    }

    fn open(
        &mut self,
        session_id: SessionId,
        reply: oneshot::Sender<Option<(u64, mpsc::Receiver<Bytes>)>>,
    ) {
        // A route whose link was dropped without deregistering is stale, not open.
        if self
            .routes
            .get(&session_id)
            .is_some_and(|r| !r.tx.is_closed())
        {
            let _ = reply.send(None);
            return;
        }
        let (tx, rx) = mpsc::channel(self.config.capacity);
        let id = self.next_id;
        self.next_id += 1;
        if let Some(released) = self.held.release(&session_id) {
            let mut dropped = released.over_limit;
            for msg in released.messages {
                if tx.try_send(msg).is_err() {
                    dropped += 1;
                    self.stats.dropped_unopened.fetch_add(1, Ordering::Relaxed);
                }
            }
            if dropped > 0 {
                tracing::warn!(
                    node_id = %self.node_id,
                    session_id = %session_id,
                    dropped,
                    "dropped control messages that arrived before the session opened: over the hold limits"
                );
            }
        }
        if reply.send(Some((id, rx))).is_err() {
            // The opener gave up; the held messages went with the receiver.
            return;
        }
        self.closed.remove(&session_id);
        self.routes.insert(session_id, RouteEntry { id, tx });
        self.update_open();
    }

    fn remove(&mut self, session_id: &SessionId) {
        if self.routes.remove(session_id).is_none() {
            return;
        }
        self.update_open();
        if self.closed.insert(session_id.clone()) {
            self.closed_order.push_back(session_id.clone());
        }
        while self.closed_order.len() > RECENTLY_CLOSED {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
    }

    fn update_open(&self) {
        self.stats
            .open_sessions
            .store(self.routes.len(), Ordering::Relaxed);
    }

    fn route(&mut self, msg: Message) {
        if is_probe(&msg) {
            return;
        }
        let header = match Envelope::from_bytes(&msg.payload) {
            Ok(envelope) => envelope.header().clone(),
            Err(error) => {
                tracing::warn!(
                    node_id = %self.node_id,
                    %error,
                    "dropped a control message that is not an envelope"
                );
                return;
            }
        };
        let session_id = header.session_id;
        if let Some(route) = self.routes.get(&session_id) {
            match route.tx.try_send(msg.payload) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => tracing::warn!(
                    node_id = %self.node_id,
                    session_id = %session_id,
                    sender = %header.sender,
                    "dropped a control message: the session's control queue is full"
                ),
                Err(mpsc::error::TrySendError::Closed(_)) => self.remove(&session_id),
            }
            return;
        }
        if self.closed.contains(&session_id) {
            tracing::debug!(
                node_id = %self.node_id,
                session_id = %session_id,
                sender = %header.sender,
                "dropped a control message for a closed session"
            );
            return;
        }
        if self
            .held
            .push(&session_id, &header.sender, msg.payload, Instant::now())
            == Push::Dropped
        {
            self.stats.dropped_unopened.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn expire(&mut self) {
        for expired in self.held.expire(Instant::now()) {
            match expired {
                Expired::Session {
                    session_id,
                    held,
                    over_limit,
                    senders,
                } => {
                    self.stats
                        .dropped_unopened
                        .fetch_add(held as u64, Ordering::Relaxed);
                    let senders: Vec<&str> = senders.iter().map(NodeId::as_str).collect();
                    tracing::warn!(
                        node_id = %self.node_id,
                        session_id = %session_id,
                        code = %ErrorCode::UnknownSession,
                        senders = %senders.join(","),
                        dropped = held as u64 + over_limit,
                        hold_ms = self.config.hold.as_millis() as u64,
                        // Quoted in docs/troubleshooting.md.
                        "dropped messages for a session this node never opened \
                         (mismatched session ids, or players started at different times)"
                    );
                }
                Expired::Overflow { dropped } => tracing::warn!(
                    node_id = %self.node_id,
                    dropped,
                    max_sessions = self.config.limits.sessions,
                    "dropped control messages: too many unopened sessions held"
                ),
            }
        }
    }
}
