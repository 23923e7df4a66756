//! One session's connection logic as a sans-IO state machine, in the manner of
//! raft-rs' `RawNode`: the I/O loop (`session_loop.rs`) feeds it inbound
//! envelopes (`step`), the passing of time (`tick`) and its own progress (joining,
//! starting the protocol, confirming a key, waiting for the peers' `Finished`),
//! and after each input takes what it must do (`take_ready`): frames to send,
//! protocol messages for the session, reports and phase events. It never reads
//! the clock, never touches the network and never computes protocol rounds.
//!
//! Phases: `Opened` → `Joining` → `Joined` → `Running` → then for signing
//! `Done` (`finish`), for keygen `Confirming` → `Confirmed` → `Storing` → `Done`.
//! Any error moves it to `Failed`; frames that arrive in `Done` or `Failed`
//! are ignored. `docs/runtime.md` has the table of inputs and outputs.
//!
//! Runs: this node's join carries its fresh run nonce; a peer's join counts
//! only once it echoes that nonce (`barrier`), and when every peer's has, the
//! run id over all players' nonces is handed to the link (`Ready::bind`), which
//! tags everything after with it. Frames of another run are reported, nobody
//! blamed, and count as signs of life; see `docs/protocols.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tessera_security::{RunId, RunNonce};
use tessera_transport::Inbound;
use tessera_types::{ErrorCode, NodeId, SessionId, TraceId};

use crate::error::SessionError;
use crate::frame::Frame;
use crate::meta::{MetaField, SessionMeta};
use crate::options::RunnerOptions;
use crate::peers::PeerBook;
use crate::ready::{Event, Outgoing, Ready};
use crate::rejections::RejectionLog;

/// Where the session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The link is open; nothing sent yet.
    Opened,
    /// Waiting for every peer's join until `until`; this node's join is sent
    /// again at `resend_at`.
    Joining { until: Instant, resend_at: Instant },
    /// Every peer joined; the protocol has not started.
    Joined,
    /// The protocol runs: heartbeats, silence checks, the registry's ready set
    /// (the peers ready at the start), the deadline. `waiting_for` is what the
    /// protocol waits for, named if the deadline passes.
    Running {
        heartbeat_at: Instant,
        ready_at_start: BTreeSet<NodeId>,
        waiting_for: Vec<NodeId>,
    },
    /// Keygen produced a key with `digest`; waiting for every peer's.
    Confirming {
        digest: [u8; 32],
        heartbeat_at: Instant,
    },
    /// Every peer confirmed the same key; this node stores its share.
    Confirmed,
    /// The share is stored; waiting (until `until`) for every peer's `Finished`.
    Storing { until: Instant },
    /// Over, successfully.
    Done,
    /// Over, with an error.
    Failed,
}

#[derive(Debug)]
pub(crate) struct Connection {
    session_id: SessionId,
    me: NodeId,
    /// This node's nonce for this run.
    nonce: RunNonce,
    /// Nonces seen in the peers' joins (a few per peer), echoed in this node's joins.
    seen: BTreeMap<NodeId, Vec<RunNonce>>,
    /// When each peer's join was last answered with this node's.
    answered: HashMap<NodeId, Instant>,
    /// The run id, once every peer's join of this run is in.
    run: Option<RunId>,
    /// Peers whose joins differ from this node's view but do not echo it (so
    /// may be recordings): the first difference, named if they never join.
    unproven: BTreeMap<NodeId, MetaField>,
    /// This node's view of the session, sent with its join and compared with each peer's.
    meta: SessionMeta,
    /// The request's trace id, sent with this node's joins (or learned from a
    /// peer's join when this node has none).
    trace: Option<TraceId>,
    options: RunnerOptions,
    /// Nothing in this session runs past this instant.
    deadline: Instant,
    phase: Phase,
    book: PeerBook,
    rejections: RejectionLog,
    ready: Ready,
}

impl Connection {
    /// `players` are all players, sorted, `me` among them.
    pub(crate) fn new(
        session_id: SessionId,
        me: &NodeId,
        players: &[NodeId],
        options: RunnerOptions,
        deadline: Instant,
        meta: SessionMeta,
        nonce: RunNonce,
    ) -> Self {
        let peers = players.iter().filter(|p| *p != me).cloned().collect();
        Self {
            session_id,
            me: me.clone(),
            nonce,
            seen: BTreeMap::new(),
            answered: HashMap::new(),
            run: None,
            unproven: BTreeMap::new(),
            meta,
            trace: None,
            options,
            deadline,
            phase: Phase::Opened,
            book: PeerBook::new(peers),
            rejections: RejectionLog::default(),
            ready: Ready::default(),
        }
    }

    pub(crate) fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// Sends `trace` with this node's joins.
    pub(crate) fn with_trace(mut self, trace: Option<TraceId>) -> Self {
        self.trace = trace;
        self
    }

    #[cfg(test)]
    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The other players.
    pub(crate) fn peers(&self) -> &[NodeId] {
        self.book.peers()
    }

    /// Everything pending for the I/O loop.
    pub(crate) fn take_ready(&mut self) -> Ready {
        std::mem::take(&mut self.ready)
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// When `tick` has something to do next (a timeout, a resend, a heartbeat).
    pub(crate) fn next_tick(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Joining { until, resend_at } => Some((*until).min(*resend_at)),
            Phase::Running { heartbeat_at, .. } | Phase::Confirming { heartbeat_at, .. } => {
                Some(self.deadline.min(*heartbeat_at))
            }
            Phase::Storing { until } => Some(*until),
            Phase::Opened | Phase::Joined | Phase::Confirmed | Phase::Done | Phase::Failed => None,
        }
    }

    /// Whether cancelling the session ends it now. Not once the share is stored:
    /// the wait for the peers' `Finished` only ends early on its own.
    pub(crate) fn cancellable(&self) -> bool {
        match self.phase {
            Phase::Opened
            | Phase::Joining { .. }
            | Phase::Joined
            | Phase::Running { .. }
            | Phase::Confirming { .. }
            | Phase::Confirmed => true,
            Phase::Storing { .. } | Phase::Done | Phase::Failed => false,
        }
    }

    /// Whether the registry's ready set matters now (while the protocol runs).
    pub(crate) fn watches_registry(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
    }

    // ---- this node's progress ----

    /// Starts the join barrier: sends this node's join at once (a peer's join
    /// may already be waiting for us) and then every `join_resend` until every
    /// peer's join arrived, for at most `connect_timeout`.
    pub(crate) fn join(&mut self, now: Instant) {
        let until = (now + self.options.connect_timeout).min(self.deadline);
        self.send_join();
        self.phase = Phase::Joining {
            until,
            resend_at: now + self.options.join_resend,
        };
        self.check_joined();
    }

    /// The protocol starts: every peer counts as just heard, heartbeats begin.
    /// `ready_at_start` are the peers the registry reports ready now.
    pub(crate) fn start_protocol(&mut self, now: Instant, ready_at_start: BTreeSet<NodeId>) {
        self.book.reset_heard(now);
        self.phase = Phase::Running {
            heartbeat_at: now + self.options.heartbeat,
            ready_at_start,
            waiting_for: Vec::new(),
        };
    }

    /// Whom the protocol waits for (empty while a round is computed).
    pub(crate) fn protocol_waiting_for(&mut self, who: Vec<NodeId>) {
        if let Phase::Running { waiting_for, .. } = &mut self.phase {
            *waiting_for = who;
        }
    }

    /// Keygen's last step: says which key this node got and waits until every
    /// peer said the same.
    pub(crate) fn confirm(&mut self, now: Instant, digest: [u8; 32]) -> Result<(), SessionError> {
        self.broadcast(Frame::KeygenDone { digest });
        self.book.reset_heard(now);
        self.phase = Phase::Confirming {
            digest,
            heartbeat_at: now + self.options.heartbeat,
        };
        let checked = self.check_confirmed();
        self.failed_on(checked)
    }

    /// The share is stored: says so (`Finished`) and waits, at most `wait`, for
    /// every peer to say the same.
    pub(crate) fn await_stored(&mut self, now: Instant, wait: Duration) {
        self.broadcast(Frame::Finished);
        self.phase = Phase::Storing {
            until: (now + wait).min(self.deadline),
        };
        self.check_stored();
    }

    /// Signing is over here: says so, so that peers still finishing do not take
    /// this node's silence for a crash.
    pub(crate) fn finish(&mut self) {
        self.broadcast(Frame::Finished);
        self.phase = Phase::Done;
    }

    /// The session failed with `err` (found here or anywhere else): tells the
    /// peers, unless it is a peer's own abort (that reached everyone it concerns).
    pub(crate) fn abort(&mut self, err: &SessionError) {
        self.phase = Phase::Failed;
        if !matches!(err, SessionError::PeerAborted { .. }) {
            self.ready.send.push(Outgoing::ControlAll(Frame::Abort {
                code: err.code(),
                blamed: err.culprits().found(),
                reason: err.to_string(),
            }));
        }
    }

    /// The session's caller gave it up.
    pub(crate) fn cancelled(&mut self) -> SessionError {
        self.phase = Phase::Failed;
        SessionError::Cancelled {
            session_id: self.session_id.clone(),
        }
    }

    /// The link ended (the connection to NATS is gone).
    pub(crate) fn closed(&mut self) -> SessionError {
        self.phase = Phase::Failed;
        SessionError::ConnectionLost {
            session_id: self.session_id.clone(),
        }
    }

    // ---- inputs from outside ----

    /// The registry's ready set changed: a peer that was ready when the
    /// protocol started and is no longer is unavailable.
    pub(crate) fn registry_changed(
        &mut self,
        ready: &BTreeSet<NodeId>,
    ) -> Result<(), SessionError> {
        let Phase::Running { ready_at_start, .. } = &self.phase else {
            return Ok(());
        };
        let gone = ready_at_start.iter().find(|p| !ready.contains(*p));
        let result = match gone {
            Some(peer) => Err(SessionError::PeerUnavailable {
                session_id: self.session_id.clone(),
                peer: peer.clone(),
                reason: "its readiness key left the registry".into(),
            }),
            None => Ok(()),
        };
        self.failed_on(result)
    }

    /// Time passed: join timeout and resend, heartbeat and silence, the deadline,
    /// the end of the wait for the peers' `Finished`.
    pub(crate) fn tick(&mut self, now: Instant) -> Result<(), SessionError> {
        let result = self.on_tick(now);
        self.failed_on(result)
    }

    /// Applies one inbound envelope. Rejected ones are reported (once per claimed
    /// sender and kind) and dropped, except a payload a player signed that does
    /// not decrypt. Frames after the session ended are ignored.
    pub(crate) fn step(&mut self, now: Instant, inbound: Inbound) -> Result<(), SessionError> {
        if matches!(self.phase, Phase::Done | Phase::Failed) {
            tracing::debug!(session_id = %self.session_id, "frame after the session ended, ignored");
            return Ok(());
        }
        let result = match inbound {
            Inbound::Rejected { sender, error } => self.on_rejected(now, sender, error),
            Inbound::Message(opened) => self.on_opened(now, opened),
        };
        // A peer that timed out on the same barrier: this node is missing
        // players too, so it reports its own finding rather than the peer's abort.
        let result = match result {
            Err(SessionError::PeerAborted {
                code: ErrorCode::SessionJoinTimeout,
                ..
            }) if matches!(self.phase, Phase::Joining { .. }) => Err(self.join_failure()),
            other => other,
        };
        self.failed_on(result)
    }

    // ---- internals ----

    fn failed_on(&mut self, result: Result<(), SessionError>) -> Result<(), SessionError> {
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    fn broadcast(&mut self, frame: Frame) {
        self.ready.send.push(Outgoing::Broadcast(frame));
    }

    fn on_tick(&mut self, now: Instant) -> Result<(), SessionError> {
        match &mut self.phase {
            Phase::Joining { until, resend_at } => {
                if now >= *until {
                    return Err(self.join_failure());
                }
                if now >= *resend_at {
                    *resend_at = now + self.options.join_resend;
                    self.send_join();
                }
                Ok(())
            }
            Phase::Running {
                heartbeat_at,
                waiting_for,
                ..
            } => {
                if now >= self.deadline {
                    return Err(SessionError::Deadline {
                        session_id: self.session_id.clone(),
                        waiting_for: waiting_for.clone(),
                    });
                }
                if now >= *heartbeat_at {
                    *heartbeat_at = now + self.options.heartbeat;
                    return self.heartbeat(now);
                }
                Ok(())
            }
            Phase::Confirming { heartbeat_at, .. } => {
                if now >= self.deadline {
                    return Err(SessionError::Deadline {
                        session_id: self.session_id.clone(),
                        waiting_for: self.book.not_confirmed(),
                    });
                }
                if now >= *heartbeat_at {
                    *heartbeat_at = now + self.options.heartbeat;
                    return self.heartbeat(now);
                }
                Ok(())
            }
            Phase::Storing { until } => {
                if now >= *until {
                    let missing = self.book.not_left();
                    self.phase = Phase::Done;
                    self.ready.events.push(Event::PeersStored { missing });
                }
                Ok(())
            }
            Phase::Opened | Phase::Joined | Phase::Confirmed | Phase::Done | Phase::Failed => {
                Ok(())
            }
        }
    }

    /// Sends a heartbeat and checks that no peer we wait for went silent.
    fn heartbeat(&mut self, now: Instant) -> Result<(), SessionError> {
        self.broadcast(Frame::Heartbeat);
        match self.book.silent_longer_than(self.options.peer_silence, now) {
            Some((peer, silent)) => Err(SessionError::PeerUnavailable {
                session_id: self.session_id.clone(),
                peer,
                reason: format!("silent for {} ms", silent.as_millis()),
            }),
            None => Ok(()),
        }
    }

    fn check_confirmed(&mut self) -> Result<(), SessionError> {
        let Phase::Confirming { digest, .. } = &self.phase else {
            return Ok(());
        };
        if let Some(peer) = self.book.confirmed_otherwise(digest) {
            return Err(SessionError::KeygenMismatch {
                session_id: self.session_id.clone(),
                peer,
            });
        }
        if self.book.not_confirmed().is_empty() {
            self.phase = Phase::Confirmed;
            self.ready.events.push(Event::Confirmed);
        }
        Ok(())
    }

    fn check_stored(&mut self) {
        if matches!(self.phase, Phase::Storing { .. }) && self.book.not_left().is_empty() {
            self.phase = Phase::Done;
            self.ready.events.push(Event::PeersStored {
                missing: Vec::new(),
            });
        }
    }
}

mod barrier;
mod inbound;
#[cfg(test)]
mod tests;
