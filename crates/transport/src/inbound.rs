//! What a [`crate::SessionLink`] hands to its session.

use tessera_security::{EnvelopeError, Opened};
use tessera_types::NodeId;

/// One received message, after every check of the session's `Opener`.
#[derive(Debug)]
pub enum Inbound {
    /// Authenticated (and for p2p, decrypted): the header and the payload.
    Message(Opened),
    /// Failed a check. The payload is never handed out; `sender` is the sender
    /// the envelope claims, when it got far enough to name one (authenticated
    /// only from `BadSignature` on, see `tessera_security::opener`).
    Rejected {
        sender: Option<NodeId>,
        error: EnvelopeError,
    },
}

impl Inbound {
    /// The opened message, if this is one.
    pub fn message(self) -> Option<Opened> {
        match self {
            Inbound::Message(opened) => Some(opened),
            Inbound::Rejected { .. } => None,
        }
    }
}
