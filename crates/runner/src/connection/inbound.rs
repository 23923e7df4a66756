//! What one inbound envelope does to the connection: rejected envelopes,
//! and each frame a peer can send.

use std::time::Instant;

use tessera_security::{EnvelopeError, Opened, RunTag};
use tessera_session::ProtocolMessage;
use tessera_types::{ErrorCode, NodeId};

use super::Connection;
use crate::error::SessionError;
use crate::frame::Frame;
use crate::rejections::{judge, Verdict};

impl Connection {
    pub(super) fn on_rejected(
        &mut self,
        now: Instant,
        sender: Option<NodeId>,
        error: EnvelopeError,
    ) -> Result<(), SessionError> {
        let peer = sender.clone().filter(|s| self.book.is_peer(s));
        if let (EnvelopeError::DecryptionFailed { .. }, Some(peer)) = (&error, &peer) {
            // In the barrier, from a player whose join showed another view of the
            // keys: that difference is why (it encrypted to another key).
            let joining = matches!(self.phase, super::Phase::Joining { .. });
            if joining && self.book.nonce(peer).is_none() {
                if let Some(e) = self.unproven_difference(peer) {
                    return Err(e);
                }
            }
        }
        if let (EnvelopeError::OtherRun { .. }, Some(peer)) = (&error, &peer) {
            // Signed by the player, so it is alive: a player whose view of the
            // joins differs is not silent, and the session ends at its deadline
            // with nobody blamed rather than by blaming a silent peer.
            self.book.heard(peer, now);
        }
        let kind = std::mem::discriminant(&error);
        match judge(&self.session_id, sender.clone(), peer, error) {
            Verdict::Fatal(e) => Err(e),
            Verdict::Drop {
                error,
                key_mismatch,
            } => {
                if let Some(peer) = key_mismatch {
                    self.book.key_mismatch(peer);
                }
                if self.rejections.first(sender, kind) {
                    self.ready.reports.push(error);
                } else {
                    tracing::debug!(session_id = %self.session_id, code = %error.code(), "{error}");
                }
                Ok(())
            }
        }
    }

    pub(super) fn on_opened(&mut self, now: Instant, opened: Opened) -> Result<(), SessionError> {
        let sender = opened.header.sender.clone();
        if !self.book.is_peer(&sender) {
            // The transport opens only the players' envelopes; anything else
            // (this node's own echo included) is not the session's business.
            tracing::debug!(session_id = %self.session_id, %sender, "frame from a non-player, ignored");
            return Ok(());
        }
        self.book.heard(&sender, now);
        let frame = Frame::from_bytes(opened.payload.as_slice())
            .ok_or_else(|| self.bad_frame(&sender, "frame"))?;
        let run = opened.header.run;
        match (&frame, run) {
            (Frame::Join(_), RunTag::Joining(_)) | (Frame::Abort { .. }, RunTag::Joining(_)) => {}
            // The link opens bound envelopes of this run only.
            (Frame::Join(_), RunTag::Bound(_)) => return Ok(()),
            (_, RunTag::Bound(_)) => {}
            // Only joins and aborts in the join barrier go without the run id.
            (_, RunTag::Joining(_)) => {
                self.other_run(sender);
                return Ok(());
            }
        }
        self.on_frame(now, sender, opened.header.round, run, frame)
    }

    /// One authenticated frame from a peer; `round` and `run` are its envelope's.
    fn on_frame(
        &mut self,
        now: Instant,
        sender: NodeId,
        round: u16,
        run: RunTag,
        frame: Frame,
    ) -> Result<(), SessionError> {
        match frame {
            Frame::Join(join) => match run {
                RunTag::Joining(nonce) => self.on_join(now, sender, nonce, join),
                RunTag::Bound(_) => Ok(()),
            },
            Frame::Heartbeat => Ok(()),
            Frame::Finished => {
                self.book.left(sender);
                self.check_stored();
                Ok(())
            }
            Frame::Protocol(bytes) => {
                let m = ProtocolMessage::from_bytes(&bytes)
                    .ok_or_else(|| self.bad_frame(&sender, "protocol message"))?;
                // The envelope proves the sender; the message must not claim otherwise.
                if m.from != sender || m.session_id != self.session_id || m.round != round {
                    return Err(self.bad_frame(&sender, "protocol message (header mismatch)"));
                }
                self.ready.messages.push(m);
                Ok(())
            }
            Frame::KeygenDone { digest } => {
                self.book.confirmed(sender, digest);
                self.check_confirmed()
            }
            Frame::Abort {
                code,
                blamed,
                reason,
            } => {
                // Sent in the sender's join barrier: of this run only if the
                // sender's counted join (which echoed our nonce) has the same nonce.
                if let RunTag::Joining(nonce) = run {
                    match self.book.nonce(&sender) {
                        Some(n) if *n == nonce => {}
                        Some(_) => {
                            self.other_run(sender);
                            return Ok(());
                        }
                        None => {
                            tracing::debug!(session_id = %self.session_id, %sender, "abort from a player not joined in this run, ignored");
                            return Ok(());
                        }
                    }
                }
                Err(self.corroborate(now, &sender, code, &blamed).unwrap_or(
                    SessionError::PeerAborted {
                        session_id: self.session_id.clone(),
                        peer: sender,
                        code,
                        blamed,
                        reason,
                    },
                ))
            }
        }
    }

    fn bad_frame(&self, sender: &NodeId, what: &str) -> SessionError {
        SessionError::BadFrame {
            session_id: self.session_id.clone(),
            sender: sender.clone(),
            what: what.to_string(),
        }
    }

    /// A peer aborted because a third player went silent. Its word alone is only a
    /// claim; if that player has been silent here too (two heartbeats or more), it
    /// is this node's own finding and reported as such.
    fn corroborate(
        &self,
        now: Instant,
        reporter: &NodeId,
        code: ErrorCode,
        blamed: &[NodeId],
    ) -> Option<SessionError> {
        let [peer] = blamed else { return None };
        if code != ErrorCode::PeerUnavailable {
            return None;
        }
        let silent = self.book.silent_for(peer, now)?;
        (silent >= self.options.heartbeat * 2).then(|| SessionError::PeerUnavailable {
            session_id: self.session_id.clone(),
            peer: peer.clone(),
            reason: format!(
                "silent for {} ms here, and {reporter} lost it too",
                silent.as_millis()
            ),
        })
    }
}
