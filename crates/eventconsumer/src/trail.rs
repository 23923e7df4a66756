//! What one request went through on the node serving it: its trace id, and
//! the session and players of its last attempt (for the audit log).

use std::sync::Mutex;

use tessera_types::{NodeId, SessionId, TraceId};

#[derive(Debug)]
pub(crate) struct Trail {
    pub(crate) trace: TraceId,
    session: Mutex<Option<(SessionId, Vec<NodeId>)>>,
}

impl Trail {
    pub(crate) fn new(trace: TraceId) -> Self {
        Trail {
            trace,
            session: Mutex::new(None),
        }
    }

    /// Notes the session an attempt runs (a retry replaces the first).
    pub(crate) fn attempt(&self, session_id: &SessionId, players: &[NodeId]) {
        let mut s = self.session.lock().unwrap_or_else(|e| e.into_inner());
        *s = Some((session_id.clone(), players.to_vec()));
    }

    /// The last attempt's session and players, if a session was started.
    pub(crate) fn session(&self) -> Option<(SessionId, Vec<NodeId>)> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
