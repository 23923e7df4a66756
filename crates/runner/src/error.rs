//! Why a session failed. Every variant names the session; `code()` maps it to the
//! client-facing `ErrorCode` without a catch-all arm.

use tessera_security::EnvelopeError;
use tessera_session::Abort;
use tessera_storage::{BanError, StorageError};
use tessera_transport::TransportError;
use tessera_types::{ErrorCode, NodeId, SessionId};

use crate::meta::MetaField;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "session {session_id}: players [{}] never joined within the connection timeout",
        names(missing)
    )]
    JoinTimeout {
        session_id: SessionId,
        missing: Vec<NodeId>,
    },
    #[error("session {session_id}: peer {peer} is unavailable ({reason})")]
    PeerUnavailable {
        session_id: SessionId,
        peer: NodeId,
        reason: String,
    },
    #[error(
        "session {session_id}: peer {peer} aborted ({code}: {reason}), blaming [{}]",
        names(blamed)
    )]
    PeerAborted {
        session_id: SessionId,
        peer: NodeId,
        code: ErrorCode,
        blamed: Vec<NodeId>,
        reason: String,
    },
    #[error("session {session_id}: {abort}")]
    Protocol { session_id: SessionId, abort: Abort },
    #[error("session {session_id}: rejected a message claiming to be from {}: {error}", sender.as_ref().map(NodeId::as_str).unwrap_or("an unnamed sender"))]
    Rejected {
        session_id: SessionId,
        sender: Option<NodeId>,
        error: EnvelopeError,
    },
    /// Signed envelopes claiming to be from a player fail verification under the
    /// public key configured here for that player: its identity file changed (or
    /// someone forges messages in its name). Still rejected, like any bad signature.
    #[error("session {session_id}: {peer}'s signature does not verify under the public key configured for it; compare {peer}'s identity file with its public identity configured here")]
    PeerKeyMismatch { session_id: SessionId, peer: NodeId },
    /// A player's signed join shows a different view of the session.
    #[error("session {session_id}: players disagree on the {field}: {peer} has a different one")]
    MetadataMismatch {
        session_id: SessionId,
        peer: NodeId,
        field: MetaField,
    },
    /// Players hold shares of different epochs of the key: `stale` (the lower
    /// epoch) missed a refresh or was restored from an older backup. Staleness
    /// is not cheating: never a ban.
    #[error("session {session_id}: players hold different epochs of the key: {peer} holds epoch {theirs}, {me} holds epoch {ours}; {stale} is stale (it missed a refresh or was restored from an older backup)")]
    EpochMismatch {
        session_id: SessionId,
        me: NodeId,
        peer: NodeId,
        ours: u64,
        theirs: u64,
        stale: NodeId,
    },
    /// A player is in no configuration here and no key was given or registered for it.
    #[error("session {session_id}: no public key for player {player}: it is not configured here and no dynamic key was given with the session or registered for its session id")]
    DynamicKeyMissing {
        session_id: SessionId,
        player: NodeId,
    },
    #[error("session {session_id}: unreadable {what} from {sender}")]
    BadFrame {
        session_id: SessionId,
        sender: NodeId,
        what: String,
    },
    #[error("session {session_id}: {peer} finished keygen with a different public key")]
    KeygenMismatch { session_id: SessionId, peer: NodeId },
    #[error("session {session_id}: transport: {source}")]
    Transport {
        session_id: SessionId,
        source: TransportError,
    },
    #[error("session {session_id}: lost the connection to NATS")]
    ConnectionLost { session_id: SessionId },
    #[error("session {session_id}: dropped message from {sender}: {reason}")]
    ProtocolRejected {
        session_id: SessionId,
        sender: NodeId,
        reason: String,
        code: ErrorCode,
    },
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error(
        "session {session_id}: deadline passed, still waiting for [{}]",
        names(waiting_for)
    )]
    Deadline {
        session_id: SessionId,
        waiting_for: Vec<NodeId>,
    },
    #[error("session {session_id}: cancelled")]
    Cancelled { session_id: SessionId },
    #[error("session {session_id}: {detail}")]
    Config {
        session_id: SessionId,
        detail: String,
    },
    #[error("no public identity known for player {node}")]
    UnknownPeer { node: NodeId },
    #[error("player {node}'s public key differs from the one stored with the key")]
    PublicKeyMismatch { node: NodeId },
    #[error("wallet {wallet} already has a {key_type} key")]
    KeyExists { wallet: String, key_type: String },
    #[error("no {key_type} key for wallet {wallet}")]
    KeyNotFound { wallet: String, key_type: String },
    /// A player this node banned for cheating: no session runs with it.
    #[error(
        "party {party} is banned on this node ({reason}); `tessera bans clear {party}` lifts it"
    )]
    Banned { party: NodeId, reason: String },
    /// The ban list cannot be read: no session starts (fail closed).
    #[error(transparent)]
    BanList(BanError),
    #[error("internal: {0}")]
    Internal(String),
}

/// Whom a failed session names, by the evidence this node has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Culprits {
    /// This node's own verification failed on their signed messages (a
    /// library abort with evidence, a contradiction of our own message).
    pub proven: Vec<NodeId>,
    /// Among `proven`: to be banned for good (a DKLs23 `BanCounterparty`
    /// abort, proven equivocation).
    pub ban: Vec<NodeId>,
    /// Players this node itself saw go silent, never join, or leave the
    /// session (their own signed abort). A retry may leave them out; never
    /// grounds for a ban.
    pub observed_silent: Vec<NodeId>,
    /// Named by another party only: its claim, logged, never acted on alone.
    pub claimed: Vec<NodeId>,
}

impl Culprits {
    fn proven(p: Vec<NodeId>) -> Self {
        Self {
            proven: p,
            ..Self::default()
        }
    }

    fn silent(p: Vec<NodeId>) -> Self {
        Self {
            observed_silent: p,
            ..Self::default()
        }
    }

    /// What this node found itself (proven, then observed), without
    /// duplicates: what its abort frame tells the peers, and whom a retry
    /// leaves out.
    pub fn found(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        for p in self.proven.iter().chain(&self.observed_silent) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.proven.is_empty() && self.observed_silent.is_empty() && self.claimed.is_empty()
    }
}

/// Node ids as `a, b` for error texts (their `Debug` form is `NodeId("a")`).
pub(crate) fn names(ids: &[NodeId]) -> String {
    ids.iter()
        .map(NodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Codes a peer's abort passes on as they are: the peer found the session
/// misconfigured, and every party reports the same finding.
fn passes_through(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::SessionMismatch
            | ErrorCode::PublicKeyMismatch
            | ErrorCode::DynamicKeyMissing
            | ErrorCode::EpochMismatch
    )
}

impl SessionError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SessionError::JoinTimeout { .. } => ErrorCode::SessionJoinTimeout,
            SessionError::PeerUnavailable { .. } => ErrorCode::PeerUnavailable,
            // A peer that found the session misconfigured passes its finding on:
            // every party reports the same code.
            SessionError::PeerAborted { code, .. } => {
                if passes_through(*code) {
                    *code
                } else {
                    ErrorCode::PeerAborted
                }
            }
            SessionError::MetadataMismatch { field, .. } => match field {
                MetaField::PlayerKey(_) => ErrorCode::PublicKeyMismatch,
                MetaField::Operation
                | MetaField::KeyType
                | MetaField::Threshold
                | MetaField::Wallet
                | MetaField::Players
                | MetaField::Epoch
                | MetaField::Message
                | MetaField::DerivationPath
                | MetaField::Other(_) => ErrorCode::SessionMismatch,
            },
            SessionError::EpochMismatch { .. } => ErrorCode::EpochMismatch,
            SessionError::DynamicKeyMissing { .. } => ErrorCode::DynamicKeyMissing,
            SessionError::Protocol { abort, .. } => abort.code(),
            SessionError::Rejected { error, .. } => error.code(),
            SessionError::PeerKeyMismatch { .. } => ErrorCode::PublicKeyMismatch,
            SessionError::BadFrame { .. } => ErrorCode::MessageFormat,
            SessionError::KeygenMismatch { .. } => ErrorCode::ProtocolCheating,
            SessionError::Transport { source, .. } => source.code(),
            SessionError::ConnectionLost { .. } => ErrorCode::NetworkConnection,
            SessionError::ProtocolRejected { code, .. } => *code,
            SessionError::Storage(e) => e.code(),
            SessionError::Deadline { .. } => ErrorCode::SessionTimeout,
            SessionError::Cancelled { .. } => ErrorCode::ContextCancelled,
            SessionError::Config { .. } => ErrorCode::InvalidConfiguration,
            SessionError::UnknownPeer { .. } => ErrorCode::ParticipantNotFound,
            SessionError::PublicKeyMismatch { .. } => ErrorCode::PublicKeyMismatch,
            SessionError::KeyExists { .. } => ErrorCode::KeyAlreadyExists,
            SessionError::KeyNotFound { .. } => ErrorCode::KeyNotFound,
            SessionError::Banned { .. } => ErrorCode::PartyBanned,
            SessionError::BanList(e) => e.code(),
            SessionError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The sender of the message this error is about, when there is one.
    pub fn sender(&self) -> Option<NodeId> {
        match self {
            SessionError::Rejected { sender, .. } => sender.clone(),
            SessionError::BadFrame { sender, .. }
            | SessionError::ProtocolRejected { sender, .. } => Some(sender.clone()),
            SessionError::PeerAborted { peer, .. }
            | SessionError::PeerKeyMismatch { peer, .. }
            | SessionError::EpochMismatch { peer, .. }
            | SessionError::MetadataMismatch { peer, .. } => Some(peer.clone()),
            SessionError::JoinTimeout { .. }
            | SessionError::PeerUnavailable { .. }
            | SessionError::Protocol { .. }
            | SessionError::DynamicKeyMissing { .. }
            | SessionError::KeygenMismatch { .. }
            | SessionError::Transport { .. }
            | SessionError::ConnectionLost { .. }
            | SessionError::Storage(_)
            | SessionError::Deadline { .. }
            | SessionError::Cancelled { .. }
            | SessionError::Config { .. }
            | SessionError::UnknownPeer { .. }
            | SessionError::PublicKeyMismatch { .. }
            | SessionError::KeyExists { .. }
            | SessionError::KeyNotFound { .. }
            | SessionError::Banned { .. }
            | SessionError::BanList(_)
            | SessionError::Internal(_) => None,
        }
    }

    /// Whom this error names, split by evidence: see [`Culprits`].
    pub fn culprits(&self) -> Culprits {
        match self {
            SessionError::JoinTimeout { missing, .. } => Culprits::silent(missing.clone()),
            // Silence seen here (or a peer's report corroborated by our own
            // view of that player, see `connection::inbound`).
            SessionError::PeerUnavailable { peer, .. } => Culprits::silent(vec![peer.clone()]),
            // Its signatures fail under the key configured here: nothing it
            // sends can be authenticated, so it is unavailable to us, but a
            // forger may be behind it: never proof against it.
            SessionError::PeerKeyMismatch { peer, .. } => Culprits::silent(vec![peer.clone()]),
            // The peer left the session (its own signed abort): seen here.
            // Whom it blames is its word.
            SessionError::PeerAborted { peer, blamed, .. } => Culprits {
                observed_silent: vec![peer.clone()],
                claimed: blamed.clone(),
                ..Culprits::default()
            },
            SessionError::Protocol { abort, .. } => {
                let b = abort.blame();
                Culprits {
                    proven: b.proven,
                    ban: b.ban,
                    observed_silent: Vec::new(),
                    claimed: b.claimed,
                }
            }
            // Signed by the sender and unreadable or contradicting ours.
            SessionError::BadFrame { sender, .. } => Culprits::proven(vec![sender.clone()]),
            SessionError::KeygenMismatch { peer, .. }
            | SessionError::MetadataMismatch { peer, .. } => Culprits::proven(vec![peer.clone()]),
            // Both epochs are signed (the joins): the stale player is known.
            SessionError::EpochMismatch { stale, .. } => Culprits::proven(vec![stale.clone()]),
            SessionError::Rejected { .. }
            | SessionError::Transport { .. }
            | SessionError::ConnectionLost { .. }
            | SessionError::ProtocolRejected { .. }
            | SessionError::Storage(_)
            | SessionError::Deadline { .. }
            | SessionError::Cancelled { .. }
            | SessionError::Config { .. }
            | SessionError::UnknownPeer { .. }
            | SessionError::DynamicKeyMissing { .. }
            | SessionError::PublicKeyMismatch { .. }
            | SessionError::KeyExists { .. }
            | SessionError::KeyNotFound { .. }
            | SessionError::Banned { .. }
            | SessionError::BanList(_)
            | SessionError::Internal(_) => Culprits::default(),
        }
    }
}
#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
