//! What a rejected envelope means for a session, and reporting each kind once.
//!
//! Rejected envelopes are reported and dropped: a stranger must not be able to
//! end a session by spraying its subjects. The exception is a payload a player
//! signed but that does not decrypt: that player is at fault.

use std::collections::HashSet;
use std::mem::Discriminant;

use tessera_security::EnvelopeError;
use tessera_types::{NodeId, SessionId};

use crate::error::SessionError;

/// Distinct (sender, kind) rejections reported per session; further ones are
/// only traced at debug level.
const MAX_REJECTIONS_REPORTED: usize = 16;

/// What to do with one rejected envelope.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The session ends with this error.
    Fatal(SessionError),
    /// Report (the first time) and drop. `key_mismatch` names a player whose
    /// signature failed under the key configured for it.
    Drop {
        error: SessionError,
        key_mismatch: Option<NodeId>,
    },
}

/// Judges a rejected envelope. `peer` is the claimed sender when it is one of
/// the session's other players.
pub(crate) fn judge(
    session_id: &SessionId,
    sender: Option<NodeId>,
    peer: Option<NodeId>,
    error: EnvelopeError,
) -> Verdict {
    let session_id = session_id.clone();
    match (&error, peer) {
        (EnvelopeError::DecryptionFailed { .. }, Some(_)) => {
            Verdict::Fatal(SessionError::Rejected {
                session_id,
                sender,
                error,
            })
        }
        // Sender ids are checked first, so this is a player's id with a
        // signature its configured key does not verify.
        (EnvelopeError::BadSignature { .. }, Some(peer)) => Verdict::Drop {
            error: SessionError::PeerKeyMismatch {
                session_id,
                peer: peer.clone(),
            },
            key_mismatch: Some(peer),
        },
        (_, _) => Verdict::Drop {
            error: SessionError::Rejected {
                session_id,
                sender,
                error,
            },
            key_mismatch: None,
        },
    }
}

/// Kinds of rejection already reported, per claimed sender: each is reported
/// (and logged) once per session, so a stranger cannot flood the log.
#[derive(Debug, Default)]
pub(crate) struct RejectionLog {
    seen: HashSet<(Option<NodeId>, Discriminant<EnvelopeError>)>,
}

impl RejectionLog {
    /// Whether this (claimed sender, kind) is to be reported: the first time,
    /// while fewer than the cap were.
    pub(crate) fn first(
        &mut self,
        sender: Option<NodeId>,
        kind: Discriminant<EnvelopeError>,
    ) -> bool {
        let key = (sender, kind);
        if self.seen.contains(&key) || self.seen.len() >= MAX_REJECTIONS_REPORTED {
            return false;
        }
        self.seen.insert(key)
    }
}
