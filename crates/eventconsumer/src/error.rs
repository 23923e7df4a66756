//! Why a request was not served, grouped by who is at fault:
//! - [`RequestError`]: the consumer's own setup and its JetStream I/O;
//! - [`ServeError`]: one request's failure, born in one of the stages of the
//!   request path and turned into the client's code by [`ServeError::code`].
//!
//! Every `code()` is an exhaustive match: a new variant must choose its code.

use tessera_runner::SessionError;
use tessera_storage::StorageError;
use tessera_types::{ErrorCode, NodeId, SessionId};

use crate::proposal::{ProposalError, RemoteError};
use crate::refused::Refused;
use crate::request::InvalidRequest;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("jetstream: {0}")]
    JetStream(String),
}

impl RequestError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Config(_) => ErrorCode::InvalidConfiguration,
            RequestError::JetStream(_) => ErrorCode::NetworkSubscription,
        }
    }

    /// JetStream trouble may pass (a NATS cluster electing a leader); a bad
    /// configuration does not.
    pub fn is_transient(&self) -> bool {
        match self {
            RequestError::Config(_) => false,
            RequestError::JetStream(_) => true,
        }
    }
}

/// Why serving one request (or answering one proposal) ended without its result.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The client's request is invalid; every node finds the same.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// Another node's proposal is invalid (signature, age, players, ids).
    #[error(transparent)]
    BadProposal(#[from] ProposalError),
    /// Refused by policy or quorum before any session ran.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// A session ran and was aborted: see [`ServeError::blame`] for culprits.
    #[error(transparent)]
    Aborted(#[from] SessionError),
    /// A player did not join the proposed session.
    #[error("session {session_id}: {answer}")]
    NotJoined {
        session_id: SessionId,
        answer: NotJoined,
    },
    /// The node a request was delegated to answered with an error, or not at all.
    #[error("{peer} refused to serve the request: {}", .error.reason)]
    Delegate { peer: NodeId, error: RemoteError },
    #[error("{peer} did not serve the delegated request")]
    DelegateSilent { peer: NodeId },
    /// I/O that may pass: the key store, the tenant key bucket.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// A key the runner returned cannot be encoded for mpcium's result.
    #[error("{0}")]
    KeyEncoding(&'static str),
    /// Cannot happen unless this node has a bug.
    #[error("internal: {0}")]
    Bug(String),
}

/// How a player answered a proposal it did not join.
#[derive(Debug, thiserror::Error)]
pub enum NotJoined {
    #[error("{player} refused: {reason}")]
    Refused {
        player: NodeId,
        code: ErrorCode,
        reason: String,
    },
    #[error("{player} did not answer the session proposal")]
    Silent { player: NodeId },
}

impl NotJoined {
    pub fn player(&self) -> &NodeId {
        match self {
            NotJoined::Refused { player, .. } | NotJoined::Silent { player } => player,
        }
    }
}

/// Transient I/O while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Store(#[from] StorageError),
    /// The request ledger (JetStream KV) could not be asked.
    #[error(transparent)]
    Ledger(#[from] RequestError),
    #[error("cannot read the tenant key of {player} for session {session_id}: {reason}")]
    TenantKeys {
        player: NodeId,
        session_id: SessionId,
        reason: String,
    },
}

/// Whom a failure blames, and whether this node's own checks prove it or a
/// peer only claims it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blame {
    pub players: Vec<NodeId>,
    pub proven: bool,
}

impl ServeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServeError::Invalid(e) => e.code(),
            ServeError::BadProposal(e) => e.code(),
            ServeError::Refused(e) => e.code(),
            ServeError::Aborted(e) => e.code(),
            ServeError::NotJoined { answer, .. } => match answer {
                NotJoined::Refused { code, .. } => *code,
                NotJoined::Silent { .. } => ErrorCode::PeerUnavailable,
            },
            ServeError::Delegate { error, .. } => error.code,
            ServeError::DelegateSilent { .. } => ErrorCode::PeerUnavailable,
            ServeError::Unavailable(e) => match e {
                Unavailable::Store(e) => e.code(),
                Unavailable::Ledger(e) => e.code(),
                Unavailable::TenantKeys { .. } => ErrorCode::NetworkConnection,
            },
            ServeError::KeyEncoding(_) => ErrorCode::KeyEncoding,
            ServeError::Bug(_) => ErrorCode::Internal,
        }
    }

    /// The players this failure blames (a retry leaves them out).
    pub fn blame(&self) -> Blame {
        match self {
            ServeError::Aborted(e) => Blame {
                players: e.blamed(),
                // A peer's abort is its word; everything else the runner
                // reports is this node's own finding.
                proven: !matches!(e, SessionError::PeerAborted { .. }),
            },
            ServeError::NotJoined { answer, .. } => Blame {
                players: vec![answer.player().clone()],
                proven: true,
            },
            ServeError::Invalid(_)
            | ServeError::BadProposal(_)
            | ServeError::Refused(_)
            | ServeError::Delegate { .. }
            | ServeError::DelegateSilent { .. }
            | ServeError::Unavailable(_)
            | ServeError::KeyEncoding(_)
            | ServeError::Bug(_) => Blame::default(),
        }
    }

    /// The error as a delegated request's answer travels between nodes.
    pub fn to_remote(&self) -> RemoteError {
        RemoteError {
            code: self.code(),
            reason: self.to_string(),
        }
    }
}
