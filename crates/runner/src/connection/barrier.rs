//! The join barrier with run nonces: which join counts, and answering joins.
//!
//! A join is signed, but a join recorded in an earlier run under the same
//! session id is signed too. What a recording cannot do is echo this node's
//! nonce, drawn fresh when this run opened: so a join counts only once it echoes
//! it, and its metadata is only judged then (a recorded join with another view
//! must not get its sender blamed). A join that brings a nonce not seen before
//! is answered at once with this node's join (which echoes it), and one that
//! does not echo ours at most once per peer per `join_resend`, so honest peers
//! echo each other within a round trip even after they stopped resending.
//!
//! A join with another view that does not echo us is kept as unproven: if its
//! sender never joins this run, the barrier fails naming that difference (at
//! the join timeout, or when the sender's abort cannot be decrypted here because
//! the difference is this node's own key). A player holding another key for this
//! node can never echo it (it cannot verify this node's joins), so that case is
//! only ever found this way.

use std::time::Instant;

use tessera_security::{EnvelopeError, RunId, RunNonce};
use tessera_types::NodeId;

use super::{Connection, Phase};
use crate::error::SessionError;
use crate::frame::Join;
use crate::meta::MetaField;
use crate::ready::{Event, Outgoing};
use crate::rejections::{judge, Verdict};

/// Nonces remembered (and echoed) per peer: this run's and a few recorded ones.
const SEEN_PER_PEER: usize = 4;

impl Connection {
    /// A join from `sender`, whose envelope carried `nonce`.
    pub(super) fn on_join(
        &mut self,
        now: Instant,
        sender: NodeId,
        nonce: RunNonce,
        join: Join,
    ) -> Result<(), SessionError> {
        let new = self.note_seen(&sender, nonce);
        if self.trace.is_none() {
            if let Some(trace) = &join.trace {
                // A node that learned of the session without its request (a
                // tenant's device) ties the session to the request's trace once.
                tracing::info!(session_id = %self.session_id, trace_id = %trace, from = %sender, "session serves request trace {trace}");
                self.trace = Some(trace.clone());
            }
        }
        let echoes_me = join
            .echo
            .iter()
            .any(|(p, n)| *p == self.me && *n == self.nonce);
        if new || !echoes_me {
            self.answer(now, &sender, new);
        }
        let counted = self.book.nonce(&sender).copied();
        if counted.is_some_and(|c| c != nonce) {
            // This run's join of the sender is in: this one is another run's.
            self.other_run(sender);
            return Ok(());
        }
        let joining = matches!(self.phase, Phase::Opened | Phase::Joining { .. });
        if !joining || counted.is_some() {
            return Ok(());
        }
        if !echoes_me {
            // Not provably of this run (yet): a difference is only noted.
            if let Some(field) = self.meta.first_difference(&join.meta) {
                self.unproven.entry(sender).or_insert(field);
            }
            return Ok(());
        }
        // The sender signed this view after seeing this run's join: its own word.
        if let Some(field) = self.meta.first_difference(&join.meta) {
            return Err(self.difference(sender, &join, field));
        }
        self.book.joined(sender, nonce);
        self.check_joined();
        Ok(())
    }

    /// The error for a joined peer whose view differs in `field`: for the key
    /// epoch, who holds which epoch and who is stale.
    fn difference(&self, peer: NodeId, join: &Join, field: MetaField) -> SessionError {
        let session_id = self.session_id.clone();
        let (ours, theirs) = (self.meta.epoch(), join.meta.epoch());
        match field {
            MetaField::Epoch => SessionError::EpochMismatch {
                session_id,
                stale: if theirs < ours {
                    peer.clone()
                } else {
                    self.me.clone()
                },
                me: self.me.clone(),
                peer,
                ours,
                theirs,
            },
            _ => SessionError::MetadataMismatch {
                session_id,
                peer,
                field,
            },
        }
    }

    pub(super) fn send_join(&mut self) {
        let echo = self
            .seen
            .iter()
            .flat_map(|(p, nonces)| nonces.iter().map(move |n| (p.clone(), *n)))
            .collect();
        self.ready.send.push(Outgoing::Join(Join {
            meta: self.meta.clone(),
            echo,
            trace: self.trace.clone(),
        }));
    }

    /// Why the join barrier failed: the players still missing. A single missing
    /// player whose messages failed under its configured key is named as such.
    pub(super) fn join_failure(&self) -> SessionError {
        let session_id = self.session_id.clone();
        let missing = self.book.not_joined();
        if let Some(e) = missing.iter().find_map(|p| self.unproven_difference(p)) {
            return e;
        }
        if let [peer] = missing.as_slice() {
            if self.book.has_key_mismatch(peer) {
                return SessionError::PeerKeyMismatch {
                    session_id,
                    peer: peer.clone(),
                };
            }
        }
        SessionError::JoinTimeout {
            session_id,
            missing,
        }
    }

    pub(super) fn check_joined(&mut self) {
        if matches!(self.phase, Phase::Joining { .. }) && self.book.not_joined().is_empty() {
            let mine = [(&self.me, &self.nonce)];
            let run = RunId::derive(
                &self.session_id,
                self.book.nonces().chain(mine.iter().copied()),
            );
            self.run = Some(run);
            self.ready.bind = Some(run);
            self.phase = Phase::Joined;
            self.ready.events.push(Event::Joined);
        }
    }

    /// Why the barrier failed for a missing `peer` whose only joins had another
    /// view, if it has one.
    pub(super) fn unproven_difference(&self, peer: &NodeId) -> Option<SessionError> {
        self.unproven
            .get(peer)
            .map(|field| SessionError::MetadataMismatch {
                session_id: self.session_id.clone(),
                peer: peer.clone(),
                field: field.clone(),
            })
    }

    /// Remembers `nonce` of `peer`; true if it is new.
    fn note_seen(&mut self, peer: &NodeId, nonce: RunNonce) -> bool {
        let nonces = self.seen.entry(peer.clone()).or_default();
        if nonces.contains(&nonce) {
            return false;
        }
        if nonces.len() >= SEEN_PER_PEER {
            // Keep the first (usually this run's) and the newest.
            nonces.remove(1);
        }
        nonces.push(nonce);
        true
    }

    /// Sends this node's join again: at once for a nonce it has not echoed yet
    /// (`new`), otherwise unless `peer` was answered lately.
    fn answer(&mut self, now: Instant, peer: &NodeId, new: bool) {
        if matches!(self.phase, Phase::Opened) {
            return;
        }
        let due = new
            || self
                .answered
                .get(peer)
                .is_none_or(|at| now >= *at + self.options.join_resend);
        if due {
            self.answered.insert(peer.clone(), now);
            self.send_join();
        }
    }

    /// A player's envelope of another run of this session: reported once,
    /// nobody blamed, nothing else happens.
    pub(super) fn other_run(&mut self, sender: NodeId) {
        let error = EnvelopeError::OtherRun {
            sender: sender.clone(),
        };
        let kind = std::mem::discriminant(&error);
        if let Verdict::Drop { error, .. } = judge(
            &self.session_id,
            Some(sender.clone()),
            Some(sender.clone()),
            error,
        ) {
            if self.rejections.first(Some(sender), kind) {
                self.ready.reports.push(error);
            }
        }
    }
}
