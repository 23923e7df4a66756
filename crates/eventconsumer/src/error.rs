//! Why a request was not served, grouped by who is at fault:
//! - [`RequestError`]: the consumer's own setup and its JetStream I/O;
//! - [`ServeError`]: one request's failure, born in one of the stages of the
//!   request path and turned into the client's code by [`ServeError::code`].
//!
//! Every `code()` is an exhaustive match: a new variant must choose its code.

use tessera_runner::SessionError;
use tessera_storage::StorageError;
use tessera_types::{ErrorCode, NodeId, SessionId};

use crate::proposal::ProposalError;
use crate::refused::Refused;
use crate::reply::RemoteError;
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

/// Whom a failure names, by the evidence this node has (see
/// `tessera_runner::Culprits`): a retry leaves out only the proven ones and
/// those seen silent here; claimed ones are logged, never acted on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blame {
    /// This node's own checks failed on their signed messages.
    pub proven: Vec<NodeId>,
    /// Seen here not to join, to go silent or to leave the session.
    pub observed_silent: Vec<NodeId>,
    /// Another party's word only.
    pub claimed: Vec<NodeId>,
}

impl Blame {
    /// Whom a retry leaves out: proven, then observed silent, once each.
    pub fn excluded(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        for p in self.proven.iter().chain(&self.observed_silent) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
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

    /// Whom this failure names, by evidence (a retry leaves out the proven
    /// and the observed silent ones).
    pub fn blame(&self) -> Blame {
        match self {
            ServeError::Aborted(e) => {
                let c = e.culprits();
                Blame {
                    proven: c.proven,
                    observed_silent: c.observed_silent,
                    claimed: c.claimed,
                }
            }
            // It did not join: seen here (its refusal, or no answer).
            ServeError::NotJoined { answer, .. } => Blame {
                observed_silent: vec![answer.player().clone()],
                ..Blame::default()
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
