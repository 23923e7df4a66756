//! A session's error channel. Everything that goes wrong in a session (rejected
//! envelopes, transport and storage failures, protocol aborts) is pushed here as a
//! report, so whoever runs the session (the event consumer, a test) sees every
//! problem, not only the one that ended it. The fatal one comes last.

use tessera_types::{ErrorCode, NodeId, SessionId};
use tokio::sync::mpsc;

use crate::error::{Culprits, SessionError};

/// One problem a session met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionReport {
    pub session_id: SessionId,
    pub code: ErrorCode,
    /// The error's text (never secret material).
    pub message: String,
    /// Whom it names, split by evidence (proven, observed silent, claimed).
    pub culprits: Culprits,
    /// For a rejected message: the sender it claimed (authenticated only for
    /// errors after the signature check, see `tessera_security::opener`).
    pub sender: Option<NodeId>,
    /// `true` for the error that ended the session.
    pub fatal: bool,
}

/// The sending side, held by the session's tasks.
#[derive(Clone, Debug)]
pub struct Reporter {
    node_id: NodeId,
    session_id: SessionId,
    tx: mpsc::Sender<SessionReport>,
}

/// How many reports a session keeps before dropping further non-fatal ones.
pub const REPORT_CAPACITY: usize = 64;

impl Reporter {
    /// `node_id` is this node's, for the log lines.
    pub fn channel(
        node_id: NodeId,
        session_id: SessionId,
    ) -> (Self, mpsc::Receiver<SessionReport>) {
        let (tx, rx) = mpsc::channel(REPORT_CAPACITY);
        (
            Self {
                node_id,
                session_id,
                tx,
            },
            rx,
        )
    }

    /// Reports `error`; never blocks (a full channel drops non-fatal reports, they are logged anyway).
    pub fn report(&self, error: &SessionError, fatal: bool) {
        let report = SessionReport {
            session_id: self.session_id.clone(),
            code: error.code(),
            message: error.to_string(),
            culprits: error.culprits(),
            sender: error.sender(),
            fatal,
        };
        log(&self.node_id, &self.session_id, error, fatal);
        let _ = self.tx.try_send(report);
    }
}

/// The one warn line per report: the error's text (prefixed with "session
/// failed: " for the fatal one), its session id and code, and whom it names.
/// docs/troubleshooting.md quotes these lines.
fn log(node_id: &NodeId, session_id: &SessionId, error: &SessionError, fatal: bool) {
    let prefix = if fatal { "session failed: " } else { "" };
    let code = error.code();
    match error {
        SessionError::JoinTimeout { missing, .. } => tracing::warn!(
            %node_id, %session_id, %code, missing = %names(missing), "{prefix}{error}"
        ),
        SessionError::PeerAborted {
            peer,
            code: peer_code,
            blamed,
            reason,
            ..
        } => tracing::warn!(
            %node_id, %session_id, %code, %peer, %peer_code, blamed = %names(blamed), %reason,
            "{prefix}{error}"
        ),
        SessionError::PeerUnavailable { peer, reason, .. } => tracing::warn!(
            %node_id, %session_id, %code, %peer, %reason, "{prefix}{error}"
        ),
        SessionError::PeerKeyMismatch { peer, .. } => tracing::warn!(
            %node_id, %session_id, %code, %peer, "{prefix}{error}"
        ),
        SessionError::PublicKeyMismatch { node } => tracing::warn!(
            %node_id, %session_id, %code, player = %node, "{prefix}{error}"
        ),
        _ => match error.sender() {
            Some(sender) => {
                tracing::warn!(%node_id, %session_id, %code, %sender, "{prefix}{error}")
            }
            None => tracing::warn!(%node_id, %session_id, %code, "{prefix}{error}"),
        },
    }
}

/// Node ids as one comma-separated field value.
fn names(ids: &[NodeId]) -> String {
    ids.iter().map(NodeId::as_str).collect::<Vec<_>>().join(",")
}
