//! `SessionLink`: one node's end of one session on NATS.
//!
//! Sends seal every message (one seq counter for all of them) and publish the
//! envelope's bytes as the NATS payload, nothing else. Receiving merges the
//! session's broadcast and p2p subscriptions with the session's control route,
//! drops probes and this node's own broadcast echoes, and opens the rest.
//!
//! Each link is one run of its session: it draws a fresh run nonce, tags what it
//! sends with it until the session's run id is known ([`SessionLink::bind_run`])
//! and with the run id after. Envelopes bound to a run that arrive before that
//! are held (bounded) and opened once the run is bound.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, PublishErrorKind, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use tessera_security::{
    seal, Envelope, EnvelopeError, EnvelopeHeader, NodeIdentity, Opener, RunId, RunNonce, RunTag,
    SealError, MAX_ENVELOPE_LEN,
};
use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::error::TransportError;
use crate::inbound::Inbound;
use crate::probe::is_probe;
use crate::router::Route;
use crate::subjects;

/// Bound on each NATS step of `close`: a dead connection must not hold it up
/// (a dropped `Subscriber` still unsubscribes on a best-effort basis).
const CLOSE_STEP_TIMEOUT: Duration = Duration::from_millis(500);
/// Envelopes bound to a run held until this link binds its run: a round or two
/// of the players' messages; beyond this they are rejected.
const HELD_MAX: usize = 1024;
const HELD_MAX_BYTES: usize = 32 * 1024 * 1024;

/// The parts `Transport::open` assembles a link from.
pub(crate) struct LinkParts {
    pub client: Client,
    pub identity: Arc<NodeIdentity>,
    pub session_id: SessionId,
    pub peers: Vec<PublicIdentity>,
    pub opener: Opener,
    pub broadcast: Subscriber,
    pub p2p: Subscriber,
    pub route: Route,
    pub early: Vec<Bytes>,
}

/// One open session: send to and receive from its players.
///
/// Dropping a link unsubscribes and deregisters it on a best-effort basis;
/// [`SessionLink::close`] does the same and waits for it.
pub struct SessionLink {
    client: Client,
    identity: Arc<NodeIdentity>,
    session_id: SessionId,
    peers: Vec<PublicIdentity>,
    by_id: HashMap<NodeId, usize>,
    opener: Opener,
    next_seq: u64,
    broadcast: Subscriber,
    p2p: Subscriber,
    route: Route,
    /// Messages that arrived while `open` confirmed the subscriptions, and
    /// held ones once the run is bound.
    pending: VecDeque<Bytes>,
    /// This run's nonce, drawn at open.
    nonce: RunNonce,
    /// What sent envelopes carry: the nonce, then the run id.
    run: RunTag,
    /// Players' envelopes bound to a run, received before this link's run was bound.
    held: Vec<Bytes>,
    held_bytes: usize,
}

impl SessionLink {
    pub(crate) fn new(parts: LinkParts) -> Self {
        let nonce = RunNonce::generate();
        let by_id = parts
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.node_id.clone(), i))
            .collect();
        Self {
            client: parts.client,
            identity: parts.identity,
            session_id: parts.session_id,
            peers: parts.peers,
            by_id,
            opener: parts.opener,
            next_seq: 0,
            broadcast: parts.broadcast,
            p2p: parts.p2p,
            route: parts.route,
            pending: parts.early.into(),
            nonce,
            run: RunTag::Joining(nonce),
            held: Vec::new(),
            held_bytes: 0,
        }
    }

    /// This run's nonce, fresh for every link.
    pub fn run_nonce(&self) -> &RunNonce {
        &self.nonce
    }

    /// Fixes the run: from now on sends carry `run` and only envelopes bound to
    /// it (or join-barrier ones) open; held envelopes are opened next.
    pub fn bind_run(&mut self, run: RunId) -> Result<(), TransportError> {
        self.opener
            .bind_run(run)
            .map_err(|source| TransportError::PeerKey {
                session_id: self.session_id.clone(),
                source,
            })?;
        self.run = RunTag::Bound(run);
        self.pending.extend(self.held.drain(..));
        self.held_bytes = 0;
        Ok(())
    }

    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// The session's players, as given to `open`.
    pub fn peers(&self) -> &[PublicIdentity] {
        &self.peers
    }

    /// Sends a broadcast (`to == None`) on the session's broadcast subject, or a
    /// p2p message encrypted to `to` on the `p2p.<me>.<to>` subject.
    ///
    /// Returns once the message is queued on the connection, not when it is
    /// delivered. While the connection is down and the client's queue is full
    /// this waits; callers bound it with their session timeout.
    pub async fn send(
        &mut self,
        to: Option<&NodeId>,
        round: u16,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        match to {
            None => {
                let subject = subjects::session_broadcast(&self.session_id);
                self.seal_and_publish(subject, None, round, payload).await
            }
            Some(to) => {
                let peer = self.peer(to)?.clone();
                let subject = subjects::session_p2p(&self.session_id, self.me(), to);
                self.seal_and_publish(subject, Some(&peer), round, payload)
                    .await
            }
        }
    }

    /// Sends a p2p message to `to`'s node control inbox, which reaches it even
    /// before it opened this session (held there for a short while).
    pub async fn send_control(
        &mut self,
        to: &NodeId,
        round: u16,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        let peer = self.peer(to)?.clone();
        let subject = subjects::node_control(to);
        self.seal_and_publish(subject, Some(&peer), round, payload)
            .await
    }

    /// Sends a signed but unencrypted message to `to`'s node control inbox: for
    /// frames with nothing secret in them that `to` must be able to read even
    /// when it holds a different agreement key for this node (the session's
    /// join, which carries the sender's view of every player's keys). Always
    /// tagged with this run's nonce, also after the run is bound: a join
    /// answers a slower peer that cannot know the run id yet.
    pub async fn send_control_signed(
        &mut self,
        to: &NodeId,
        round: u16,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        self.peer(to)?;
        let subject = subjects::node_control(to);
        let run = self.run;
        self.run = RunTag::Joining(self.nonce);
        let sent = self.seal_and_publish(subject, None, round, payload).await;
        self.run = run;
        sent
    }

    /// The next message for this session, opened or rejected. `None` once the
    /// NATS connection is closed for good.
    ///
    /// Cancel-safe: a message is taken from its source and processed without
    /// another await, so dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<Inbound> {
        loop {
            let bytes = match self.pending.pop_front() {
                Some(bytes) => bytes,
                None => tokio::select! {
                    msg = self.broadcast.next() => {
                        let msg = msg?;
                        if is_probe(&msg) { continue; }
                        msg.payload
                    }
                    msg = self.p2p.next() => {
                        let msg = msg?;
                        if is_probe(&msg) { continue; }
                        msg.payload
                    }
                    bytes = self.route.rx.recv() => bytes?,
                },
            };
            if let Some(inbound) = self.accept(&bytes) {
                return Some(inbound);
            }
        }
    }

    /// Unsubscribes from the session's subjects and deregisters its control
    /// route; afterwards `Transport::open_sessions` no longer counts it.
    pub async fn close(self) {
        let SessionLink {
            client,
            mut broadcast,
            mut p2p,
            route,
            ..
        } = self;
        // Errors mean the connection is gone, and its subscriptions with it.
        let unsubscribe = async {
            let _ = broadcast.unsubscribe().await;
            let _ = p2p.unsubscribe().await;
        };
        let _ = tokio::time::timeout(CLOSE_STEP_TIMEOUT, unsubscribe).await;
        route.close().await;
        let _ = tokio::time::timeout(CLOSE_STEP_TIMEOUT, client.flush()).await;
    }

    fn me(&self) -> &NodeId {
        self.identity.node_id()
    }

    fn peer(&self, node_id: &NodeId) -> Result<&PublicIdentity, TransportError> {
        self.by_id
            .get(node_id)
            .map(|&i| &self.peers[i])
            .ok_or_else(|| TransportError::UnknownPeer {
                session_id: self.session_id.clone(),
                node_id: node_id.clone(),
            })
    }

    /// Drops own echoes, opens everything else and traces rejections.
    fn accept(&mut self, bytes: &[u8]) -> Option<Inbound> {
        // The Opener knows no key for this node, so echoes are filtered first.
        if let Ok(envelope) = Envelope::from_bytes(bytes) {
            if envelope.header().sender == *self.me() {
                return None;
            }
        }
        match self.opener.open(bytes) {
            Ok(opened) => Some(Inbound::Message(opened)),
            Err(EnvelopeError::RunNotBound { .. })
                if self.held.len() < HELD_MAX
                    && self.held_bytes + bytes.len() <= HELD_MAX_BYTES =>
            {
                self.held_bytes += bytes.len();
                self.held.push(Bytes::copy_from_slice(bytes));
                None
            }
            Err(error) => {
                let sender = error.sender().cloned();
                // The session's owner reports it (once per sender and kind, at
                // warn); here it is only a trace, so a stranger cannot flood the log.
                tracing::debug!(
                    node_id = %self.me(),
                    session_id = %self.session_id,
                    sender = sender.as_ref().map_or("unknown", NodeId::as_str),
                    code = %error.code(),
                    %error,
                    "rejected a session message"
                );
                Some(Inbound::Rejected { sender, error })
            }
        }
    }

    async fn seal_and_publish(
        &mut self,
        subject: String,
        receiver: Option<&PublicIdentity>,
        round: u16,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        let header = EnvelopeHeader {
            session_id: self.session_id.clone(),
            run: self.run,
            sender: self.me().clone(),
            receiver: receiver.map(|r| r.node_id.clone()),
            round,
            seq: self.next_seq,
        };
        // Never reuse a seq, even after a failure.
        self.next_seq += 1;
        let max = self.client.max_payload();
        let too_large = |len| TransportError::TooLarge {
            session_id: self.session_id.clone(),
            len,
            max,
        };
        let envelope = match seal(&self.identity, header, payload, receiver) {
            Ok(envelope) => envelope,
            // Report the server's limit when it is the one that binds.
            Err(SealError::TooLarge { len, .. }) if max <= MAX_ENVELOPE_LEN => {
                return Err(too_large(len))
            }
            Err(source) => {
                return Err(TransportError::Seal {
                    session_id: self.session_id.clone(),
                    source,
                })
            }
        };
        let len = envelope.as_bytes().len();
        if len > max {
            return Err(too_large(len));
        }
        let result = self
            .client
            .publish(subject.clone(), Bytes::from(envelope.into_bytes()))
            .await;
        result.map_err(|source| match source.kind() {
            // The server's limit changed under us (a reconnect to another server).
            PublishErrorKind::MaxPayloadExceeded => TransportError::TooLarge {
                session_id: self.session_id.clone(),
                len,
                max: self.client.max_payload(),
            },
            PublishErrorKind::InvalidSubject | PublishErrorKind::Send => {
                TransportError::Publish { subject, source }
            }
        })
    }
}

impl fmt::Debug for SessionLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peers: Vec<&NodeId> = self.peers.iter().map(|p| &p.node_id).collect();
        f.debug_struct("SessionLink")
            .field("node_id", self.me())
            .field("session_id", &self.session_id)
            .field("peers", &peers)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}
