//! `TransportError`: everything the transport can fail with, and its `ErrorCode`.
//!
//! Grouped like the rest of Tessera: connection and subscription trouble
//! (transient, NATS-side), messages this node cannot send (too large, unknown
//! peer, a bad peer key), and misuse (a session opened twice). Texts are short,
//! lowercase, and never carry payload bytes or key material; the server URL is
//! left out because it may hold credentials.

use std::time::Duration;

use tessera_security::{PeerKeyError, SealError};
use tessera_types::{ErrorCode, NodeId, SessionId};

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL itself is not quoted: it may carry credentials.
    #[error("nats url number {position} is not a valid server address")]
    InvalidUrl { position: usize },
    #[error("cannot connect to nats: {source}")]
    Connect {
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("cannot subscribe to {subject}: {source}")]
    Subscribe {
        subject: String,
        #[source]
        source: async_nats::SubscribeError,
    },
    #[error("subscription to {subject} not confirmed by the nats server within {waited:?}")]
    SubscriptionNotConfirmed { subject: String, waited: Duration },
    #[error("cannot publish to {subject}: {source}")]
    Publish {
        subject: String,
        #[source]
        source: async_nats::PublishError,
    },
    #[error(
        "message of {len} bytes in session {session_id} does not fit the nats server's \
         max_payload of {max} bytes; raise max_payload in the nats-server configuration"
    )]
    TooLarge {
        session_id: SessionId,
        len: usize,
        max: usize,
    },
    #[error("{node_id} is not a peer of session {session_id}")]
    UnknownPeer {
        session_id: SessionId,
        node_id: NodeId,
    },
    #[error("session {session_id} is already open on this node")]
    AlreadyOpen { session_id: SessionId },
    #[error("session {session_id}: {source}")]
    PeerKey {
        session_id: SessionId,
        #[source]
        source: PeerKeyError,
    },
    #[error("session {session_id}: cannot seal message: {source}")]
    Seal {
        session_id: SessionId,
        #[source]
        source: SealError,
    },
    #[error("jetstream stream {name} could not be created or found: {reason}")]
    Stream { name: String, reason: String },
    #[error("transport is shut down")]
    Closed,
}

impl TransportError {
    pub fn code(&self) -> ErrorCode {
        match self {
            TransportError::InvalidUrl { .. } => ErrorCode::InvalidConfiguration,
            TransportError::Connect { .. } => ErrorCode::NetworkConnection,
            TransportError::Subscribe { .. } => ErrorCode::NetworkSubscription,
            TransportError::SubscriptionNotConfirmed { .. } => ErrorCode::NetworkSubscription,
            TransportError::Publish { .. } => ErrorCode::NetworkConnection,
            TransportError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            TransportError::UnknownPeer { .. } => ErrorCode::ParticipantNotFound,
            TransportError::AlreadyOpen { .. } => ErrorCode::SessionDuplicate,
            TransportError::PeerKey { source, .. } => source.code(),
            TransportError::Seal { source, .. } => source.code(),
            TransportError::Closed => ErrorCode::NetworkConnection,
            TransportError::Stream { .. } => ErrorCode::NetworkSubscription,
        }
    }

    /// The session the error belongs to, when it belongs to one.
    pub fn session_id(&self) -> Option<&SessionId> {
        match self {
            TransportError::TooLarge { session_id, .. }
            | TransportError::UnknownPeer { session_id, .. }
            | TransportError::AlreadyOpen { session_id }
            | TransportError::PeerKey { session_id, .. }
            | TransportError::Seal { session_id, .. } => Some(session_id),
            TransportError::InvalidUrl { .. }
            | TransportError::Connect { .. }
            | TransportError::Subscribe { .. }
            | TransportError::SubscriptionNotConfirmed { .. }
            | TransportError::Publish { .. }
            | TransportError::Stream { .. }
            | TransportError::Closed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_says_what_to_do() {
        let e = TransportError::TooLarge {
            session_id: SessionId::new("s1").unwrap(),
            len: 100_000,
            max: 65_536,
        };
        let text = e.to_string();
        assert!(
            text.contains("max_payload") && text.contains("raise"),
            "{text}"
        );
        assert!(text.contains("100000") && text.contains("65536"), "{text}");
        assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
        assert_eq!(e.session_id().map(SessionId::as_str), Some("s1"));
    }

    #[test]
    fn codes_delegate_to_the_security_errors() {
        let sid = SessionId::new("s1").unwrap();
        let e = TransportError::Seal {
            session_id: sid.clone(),
            source: SealError::TooLarge { len: 2, max: 1 },
        };
        assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
        let e = TransportError::PeerKey {
            session_id: sid,
            source: PeerKeyError::DuplicatePeer {
                node_id: NodeId::new("n").unwrap(),
            },
        };
        assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
        assert_eq!(TransportError::Closed.code(), ErrorCode::NetworkConnection);
    }
}
