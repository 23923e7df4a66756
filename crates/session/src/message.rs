//! The unit a session consumes and produces: one protocol message of one round,
//! either a broadcast (`to == None`) or addressed to one party.
//!
//! Authenticity is not this crate's job: the runner opens sealed envelopes
//! (`tessera-security`) and hands the session only messages whose sender is proven.
//! The session then checks everything protocol-level: membership, session id,
//! round, duplicates, broadcast consistency.

use serde::{Deserialize, Serialize};
use tessera_types::{NodeId, SessionId};

/// SHA-256 digest of one broadcast as one party received it (see `echo`).
pub type Digest = [u8; 32];

/// One protocol message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolMessage {
    pub session_id: SessionId,
    pub from: NodeId,
    /// `None` for a broadcast to every other player.
    pub to: Option<NodeId>,
    pub round: u16,
    /// Protocol bytes; empty for the echo-only round.
    pub payload: Vec<u8>,
    /// Digests of the previous round's broadcasts as the sender received them,
    /// one per player in player order. Present exactly when that round had broadcasts.
    pub echo: Option<Vec<Digest>>,
}

impl ProtocolMessage {
    /// Compact binary form, for the transport's envelope payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Parses [`ProtocolMessage::to_bytes`] output; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }

    pub fn is_broadcast(&self) -> bool {
        self.to.is_none()
    }
}

impl std::fmt::Debug for ProtocolMessage {
    // Payloads can be large and p2p payloads carry secret shares: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtocolMessage")
            .field("session_id", &self.session_id)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("round", &self.round)
            .field("payload_len", &self.payload.len())
            .field("echo", &self.echo.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_debug_hides_payload() {
        let m = ProtocolMessage {
            session_id: SessionId::new("s").unwrap(),
            from: NodeId::new("a").unwrap(),
            to: Some(NodeId::new("b").unwrap()),
            round: 2,
            payload: vec![0xde, 0xad],
            echo: Some(vec![[7; 32]]),
        };
        assert_eq!(ProtocolMessage::from_bytes(&m.to_bytes()), Some(m.clone()));
        assert!(ProtocolMessage::from_bytes(&[0xff; 3]).is_none());
        assert!(!format!("{m:?}").contains("222"));
    }
}
