//! `TransportError`: everything the transport can fail with, and its `ErrorCode`.
//!
//! Grouped like the rest of Tessera: connection and subscription trouble
//! (transient, NATS-side), messages this node cannot send (too large, unknown
//! peer, a bad peer key), and misuse (a session opened twice). Texts are short,
//! lowercase, and never carry payload bytes or key material; the server URL is
//! left out because it may hold credentials.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectErrorKind;

use tessera_security::{PeerKeyError, SealError};
use tessera_types::{ErrorCode, NodeId, SessionId};

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL itself is not quoted: it may carry credentials.
    #[error("nats url number {position} is not a valid server address")]
    InvalidUrl { position: usize },
    #[error(
        "nats url number {position} holds a user or password; use the nats credential settings"
    )]
    CredentialInUrl { position: usize },
    /// A credential or TLS file cannot be used. The file's content is never quoted.
    #[error("{setting} {}: {reason}", path.display())]
    Credential {
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{setting}: {reason}")]
    InvalidSetting {
        setting: &'static str,
        reason: String,
    },
    #[error("cannot connect to nats: {}", connect_reason(source))]
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
            TransportError::CredentialInUrl { .. } => ErrorCode::InvalidConfiguration,
            TransportError::Credential { .. } => ErrorCode::InvalidConfiguration,
            TransportError::InvalidSetting { .. } => ErrorCode::InvalidConfiguration,
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
            | TransportError::CredentialInUrl { .. }
            | TransportError::Credential { .. }
            | TransportError::InvalidSetting { .. }
            | TransportError::Connect { .. }
            | TransportError::Subscribe { .. }
            | TransportError::SubscriptionNotConfirmed { .. }
            | TransportError::Publish { .. }
            | TransportError::Stream { .. }
            | TransportError::Closed => None,
        }
    }

    /// Whether trying again later may succeed: the server is unreachable or
    /// timed out. A refused credential, a TLS failure or a bad setting is final.
    pub fn is_transient(&self) -> bool {
        match self {
            TransportError::Connect { source } => {
                matches!(
                    source.kind(),
                    ConnectErrorKind::Io
                        | ConnectErrorKind::TimedOut
                        | ConnectErrorKind::Dns
                        | ConnectErrorKind::MaxReconnects
                ) && tls_failure(source).is_none()
            }
            TransportError::Subscribe { .. }
            | TransportError::SubscriptionNotConfirmed { .. }
            | TransportError::Publish { .. }
            | TransportError::Stream { .. } => true,
            TransportError::InvalidUrl { .. }
            | TransportError::CredentialInUrl { .. }
            | TransportError::Credential { .. }
            | TransportError::InvalidSetting { .. }
            | TransportError::TooLarge { .. }
            | TransportError::UnknownPeer { .. }
            | TransportError::AlreadyOpen { .. }
            | TransportError::PeerKey { .. }
            | TransportError::Seal { .. }
            | TransportError::Closed => false,
        }
    }
}

/// What went wrong connecting, with what to check. async-nats' own text
/// never holds the credential; the URL is left out (it may hold one).
pub fn connect_reason(e: &async_nats::ConnectError) -> String {
    if let Some(tls) = tls_failure(e) {
        return format!(
            "tls failed: {tls} (is the server's certificate signed by the CA in tls.ca_file?)"
        );
    }
    let hint = match e.kind() {
        ConnectErrorKind::AuthorizationViolation => {
            "the server refused the credential (authorization violation): check the nats credential settings"
        }
        ConnectErrorKind::Authentication => "the credential could not sign the server's challenge",
        ConnectErrorKind::Tls => "tls failed (is the server's certificate signed by tls.ca_file, and is tls on both sides?)",
        ConnectErrorKind::TimedOut => "timed out",
        ConnectErrorKind::Dns => "the server name does not resolve",
        ConnectErrorKind::Io => "the server is unreachable",
        ConnectErrorKind::ServerParse => "bad server address",
        ConnectErrorKind::MaxReconnects => "gave up reconnecting",
    };
    let root = root_cause(e);
    if root.is_empty() {
        hint.to_string()
    } else {
        format!("{hint}: {root}")
    }
}

/// A TLS failure (an untrusted or invalid certificate) reported inside an I/O
/// error: waiting does not fix it.
fn tls_failure(e: &async_nats::ConnectError) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<async_nats::rustls::Error>())
            {
                return Some(format!("certificate or handshake refused: {tls}"));
            }
        }
        if let Some(tls) = err.downcast_ref::<async_nats::rustls::Error>() {
            return Some(format!("certificate or handshake refused: {tls}"));
        }
        cur = err.source();
    }
    None
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    if std::ptr::eq(cur as *const _ as *const u8, e as *const _ as *const u8) {
        String::new()
    } else {
        text
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
