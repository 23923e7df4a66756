//! A session's error channel. Everything that goes wrong in a session (rejected
//! envelopes, transport and storage failures, protocol aborts) is pushed here as a
//! report, so whoever runs the session (the event consumer, a test) sees every
//! problem, not only the one that ended it. The fatal one comes last.

use tessera_types::{ErrorCode, NodeId, SessionId};
use tokio::sync::mpsc;

use crate::error::SessionError;

/// One problem a session met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionReport {
    pub session_id: SessionId,
    pub code: ErrorCode,
    /// The error's text (never secret material).
    pub message: String,
    /// The players it blames, if any.
    pub blamed: Vec<NodeId>,
    /// For a rejected message: the sender it claimed (authenticated only for
    /// errors after the signature check, see `tessera_security::opener`).
    pub sender: Option<NodeId>,
    /// `true` for the error that ended the session.
    pub fatal: bool,
}

/// The sending side, held by the session's tasks.
#[derive(Clone, Debug)]
pub struct Reporter {
    session_id: SessionId,
    tx: mpsc::Sender<SessionReport>,
}

/// How many reports a session keeps before dropping further non-fatal ones.
pub const REPORT_CAPACITY: usize = 64;

impl Reporter {
    pub fn channel(session_id: SessionId) -> (Self, mpsc::Receiver<SessionReport>) {
        let (tx, rx) = mpsc::channel(REPORT_CAPACITY);
        (Self { session_id, tx }, rx)
    }

    /// Reports `error`; never blocks (a full channel drops non-fatal reports, they are logged anyway).
    pub fn report(&self, error: &SessionError, fatal: bool) {
        let report = SessionReport {
            session_id: self.session_id.clone(),
            code: error.code(),
            message: error.to_string(),
            blamed: error.blamed(),
            sender: error.sender(),
            fatal,
        };
        if fatal {
            tracing::warn!(session_id = %self.session_id, code = %report.code, "session failed: {error}");
        } else {
            tracing::warn!(session_id = %self.session_id, code = %report.code, "{error}");
        }
        let _ = self.tx.try_send(report);
    }
}
