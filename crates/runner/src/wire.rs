//! One session's connection to its peers: the transport link plus what has been
//! heard from whom. It turns inbound envelopes into session state (joins, queued
//! protocol messages, keygen confirmations, liveness) or into the error that
//! ends the session.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::Discriminant;

use tessera_security::EnvelopeError;
use tessera_session::ProtocolMessage;
use tessera_transport::{Inbound, SessionLink};
use tessera_types::{ErrorCode, NodeId};
use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::error::SessionError;
use crate::frame::{Frame, CONTROL_ROUND};

pub(crate) struct Wire {
    pub(crate) link: SessionLink,
    pub(crate) ctx: Ctx,
    /// Peers whose join we have seen.
    pub(crate) joined: BTreeSet<NodeId>,
    /// Protocol messages not yet handed to the session.
    pub(crate) queue: VecDeque<ProtocolMessage>,
    /// Keygen confirmations received.
    pub(crate) done: BTreeMap<NodeId, [u8; 32]>,
    /// Peers that said they finished: their silence is expected.
    pub(crate) finished: BTreeSet<NodeId>,
    /// Peers that sent `Finished` (in keygen: after storing their share).
    pub(crate) left: BTreeSet<NodeId>,
    /// When each peer was last heard from (any authenticated frame).
    pub(crate) last_heard: HashMap<NodeId, Instant>,
    /// Players whose signed envelopes failed under their configured public key.
    pub(crate) key_mismatch: BTreeSet<NodeId>,
    /// Kinds of rejection already reported, per claimed sender: each is reported
    /// (and logged) once per session, so a stranger cannot flood the log.
    rejections_seen: HashSet<(Option<NodeId>, Discriminant<EnvelopeError>)>,
}

/// Distinct (sender, kind) rejections reported per session; further ones are
/// only traced at debug level.
const MAX_REJECTIONS_REPORTED: usize = 16;

impl Wire {
    pub(crate) fn new(link: SessionLink, ctx: Ctx) -> Self {
        Self {
            link,
            ctx,
            joined: BTreeSet::new(),
            queue: VecDeque::new(),
            done: BTreeMap::new(),
            finished: BTreeSet::new(),
            left: BTreeSet::new(),
            last_heard: HashMap::new(),
            key_mismatch: BTreeSet::new(),
            rejections_seen: HashSet::new(),
        }
    }

    /// Why the join barrier failed: the players still `missing`. A single missing
    /// player whose messages failed under its configured key is named as such.
    pub(crate) fn join_failure(&self, missing: Vec<NodeId>) -> SessionError {
        let session_id = self.ctx.session_id.clone();
        match missing.as_slice() {
            [peer] if self.key_mismatch.contains(peer) => SessionError::PeerKeyMismatch {
                session_id,
                peer: peer.clone(),
            },
            _ => SessionError::JoinTimeout {
                session_id,
                missing,
            },
        }
    }

    /// The other players.
    pub(crate) fn peers(&self) -> Vec<NodeId> {
        self.ctx.peers()
    }

    fn transport_err(&self, source: tessera_transport::TransportError) -> SessionError {
        SessionError::Transport {
            session_id: self.ctx.session_id.clone(),
            source,
        }
    }

    /// Sends one frame to every peer's control subject (reaches peers that have
    /// not opened the session yet).
    pub(crate) async fn send_control_all(&mut self, frame: &Frame) -> Result<(), SessionError> {
        let bytes = frame.to_bytes();
        for peer in self.peers() {
            if let Err(e) = self.link.send_control(&peer, CONTROL_ROUND, &bytes).await {
                return Err(self.transport_err(e));
            }
        }
        Ok(())
    }

    /// Sends this node's join, with its view of the session, to every peer's
    /// control subject, signed but not encrypted (see [`Frame::Join`]).
    pub(crate) async fn send_join_all(&mut self) -> Result<(), SessionError> {
        let bytes = Frame::Join(self.ctx.meta.clone()).to_bytes();
        for peer in self.peers() {
            if let Err(e) = self
                .link
                .send_control_signed(&peer, CONTROL_ROUND, &bytes)
                .await
            {
                return Err(self.transport_err(e));
            }
        }
        Ok(())
    }

    /// Broadcasts one non-protocol frame on the session subject.
    pub(crate) async fn broadcast(&mut self, frame: &Frame) -> Result<(), SessionError> {
        match self.link.send(None, CONTROL_ROUND, &frame.to_bytes()).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.transport_err(e)),
        }
    }

    /// Sends protocol messages the session produced.
    pub(crate) async fn send_protocol(
        &mut self,
        messages: Vec<ProtocolMessage>,
    ) -> Result<(), SessionError> {
        for m in messages {
            let frame = Frame::Protocol(m.to_bytes());
            if let Err(e) = self
                .link
                .send(m.to.as_ref(), m.round, &frame.to_bytes())
                .await
            {
                return Err(self.transport_err(e));
            }
        }
        Ok(())
    }

    /// Applies one inbound item. Rejected envelopes are reported and dropped (a
    /// stranger must not be able to end a session by spraying its subjects), except
    /// a payload a player signed but that does not decrypt: that player is at fault.
    pub(crate) fn accept(&mut self, inbound: Option<Inbound>) -> Result<(), SessionError> {
        let sid = self.ctx.session_id.clone();
        let opened = match inbound {
            None => return Err(SessionError::ConnectionLost { session_id: sid }),
            Some(Inbound::Rejected { sender, error }) => {
                let peer = sender.clone().filter(|s| self.ctx.is_peer(s));
                let kind = std::mem::discriminant(&error);
                let err = match (&error, peer) {
                    (EnvelopeError::DecryptionFailed { .. }, Some(_)) => {
                        return Err(SessionError::Rejected {
                            session_id: sid,
                            sender,
                            error,
                        });
                    }
                    // Sender ids are checked first, so this is a player's id
                    // with a signature its configured key does not verify.
                    (EnvelopeError::BadSignature { .. }, Some(peer)) => {
                        self.key_mismatch.insert(peer.clone());
                        SessionError::PeerKeyMismatch {
                            session_id: sid,
                            peer,
                        }
                    }
                    _ => SessionError::Rejected {
                        session_id: sid,
                        sender: sender.clone(),
                        error,
                    },
                };
                self.report_rejection(sender, kind, &err);
                return Ok(());
            }
            Some(Inbound::Message(opened)) => opened,
        };
        let sender = opened.header.sender.clone();
        self.last_heard.insert(sender.clone(), Instant::now());
        let bad = |what: &str| SessionError::BadFrame {
            session_id: sid.clone(),
            sender: sender.clone(),
            what: what.to_string(),
        };
        let frame = Frame::from_bytes(opened.payload.as_slice()).ok_or_else(|| bad("frame"))?;
        match frame {
            Frame::Join(meta) => {
                // The sender signed this view itself: a difference is its own word,
                // so it ends the session before any protocol message.
                if let Some(field) = self.ctx.meta.first_difference(&meta) {
                    return Err(SessionError::MetadataMismatch {
                        session_id: sid,
                        peer: sender,
                        field,
                    });
                }
                self.joined.insert(sender);
            }
            Frame::Heartbeat => {}
            Frame::Finished => {
                self.finished.insert(sender.clone());
                self.left.insert(sender);
            }
            Frame::Protocol(bytes) => {
                let m =
                    ProtocolMessage::from_bytes(&bytes).ok_or_else(|| bad("protocol message"))?;
                // The envelope proves the sender; the message must not claim otherwise.
                if m.from != sender || m.session_id != sid || m.round != opened.header.round {
                    return Err(bad("protocol message (header mismatch)"));
                }
                self.queue.push_back(m);
            }
            Frame::KeygenDone { digest } => {
                self.finished.insert(sender.clone());
                self.done.insert(sender, digest);
            }
            Frame::Abort {
                code,
                blamed,
                reason,
            } => {
                if let Some(e) = self.corroborate(&sender, code, &blamed) {
                    return Err(e);
                }
                return Err(SessionError::PeerAborted {
                    session_id: sid,
                    peer: sender,
                    code,
                    blamed,
                    reason,
                });
            }
        }
        Ok(())
    }

    /// Reports a rejected envelope the first time its (claimed sender, kind)
    /// occurs in this session; repeats only go to the debug trace.
    fn report_rejection(
        &mut self,
        sender: Option<NodeId>,
        kind: Discriminant<EnvelopeError>,
        err: &SessionError,
    ) {
        let key = (sender, kind);
        if self.rejections_seen.contains(&key)
            || self.rejections_seen.len() >= MAX_REJECTIONS_REPORTED
        {
            tracing::debug!(session_id = %self.ctx.session_id, code = %err.code(), "{err}");
            return;
        }
        self.rejections_seen.insert(key);
        self.ctx.reporter.report(err, false);
    }

    /// The first peer that has not finished and has been silent (not even a
    /// heartbeat) for longer than the configured limit. Peers heartbeat until they
    /// finish, so this holds whether or not this node is busy computing a round.
    pub(crate) fn check_silence(&self) -> Result<(), SessionError> {
        let limit = self.ctx.options.peer_silence;
        let now = Instant::now();
        for peer in self.peers().iter().filter(|p| !self.finished.contains(*p)) {
            let heard = self.last_heard.get(peer).copied().unwrap_or(now);
            let silent = now.saturating_duration_since(heard);
            if silent > limit {
                return Err(SessionError::PeerUnavailable {
                    session_id: self.ctx.session_id.clone(),
                    peer: peer.clone(),
                    reason: format!("silent for {} ms", silent.as_millis()),
                });
            }
        }
        Ok(())
    }

    /// A peer aborted because a third player went silent. Its word alone is only a
    /// claim; if that player has been silent here too (two heartbeats or more), it
    /// is this node's own finding and reported as such.
    fn corroborate(
        &self,
        reporter: &NodeId,
        code: ErrorCode,
        blamed: &[NodeId],
    ) -> Option<SessionError> {
        let [peer] = blamed else { return None };
        if code != ErrorCode::PeerUnavailable
            || !self.ctx.is_peer(peer)
            || self.finished.contains(peer)
        {
            return None;
        }
        let heard = self.last_heard.get(peer).copied()?;
        let silent = Instant::now().saturating_duration_since(heard);
        (silent >= self.ctx.options.heartbeat * 2).then(|| SessionError::PeerUnavailable {
            session_id: self.ctx.session_id.clone(),
            peer: peer.clone(),
            reason: format!(
                "silent for {} ms here, and {reporter} lost it too",
                silent.as_millis()
            ),
        })
    }

    /// Marks every peer as just heard (at the start of a phase with liveness checks).
    pub(crate) fn reset_liveness(&mut self) {
        let now = Instant::now();
        for p in self.peers() {
            self.last_heard.insert(p, now);
        }
    }

    /// Tells the peers the session is over (best effort, bounded), then closes the
    /// link so the session's subscriptions are gone.
    pub(crate) async fn abort(mut self, err: &SessionError) {
        // A peer's abort already reached everyone it concerns; don't echo it around.
        if !matches!(err, SessionError::PeerAborted { .. }) {
            let frame = Frame::Abort {
                code: err.code(),
                blamed: err.blamed(),
                reason: err.to_string(),
            };
            let send = self.send_control_all(&frame);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), send).await;
        }
        self.link.close().await;
    }

    pub(crate) async fn close(self) {
        self.link.close().await;
    }
}
