//! Requests refused by policy or quorum, before any session ran. Born in
//! `plan` (who plays), `tenants` (whose keys), `intake` (ledger, age) and the
//! player's checks; each has the code the client sees.

use tessera_types::{ErrorCode, NodeId, SessionConfigError, SessionId};

use crate::stale::Stale;

/// Node ids as `a, b`.
pub(crate) fn names(ids: &[NodeId]) -> String {
    ids.iter()
        .map(NodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn besides(excluded: &[NodeId]) -> String {
    if excluded.is_empty() {
        String::new()
    } else {
        format!(" besides {excluded:?}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{ready} of {total} participants ready{}, {needed} needed", besides(.excluded))]
    NotMajority {
        ready: usize,
        total: usize,
        needed: usize,
        excluded: Vec<NodeId>,
    },
    #[error("player {0} named by the request is not ready")]
    PlayerNotReady(NodeId),
    #[error("none of the request's server players is ready")]
    NoPlayerReady,
    #[error("keygen needs every server player; not ready: {}", names(.0))]
    KeygenPlayersNotReady(Vec<NodeId>),
    #[error("readiness view is stale ({age}, TTL {ttl_ms} ms): Consul unreachable?")]
    StaleView { age: String, ttl_ms: u128 },
    #[error("{ready} server participants ready, {needed} signers needed: this key needs its tenant {}; name it in tessera_session.players with a session_id and run its side", names(.tenants))]
    TenantRequired {
        tenants: Vec<NodeId>,
        ready: usize,
        needed: usize,
    },
    #[error("wallet {0} already has keys")]
    KeyExists(String),
    #[error("no {key_type} key for wallet {wallet}")]
    KeyNotFound { wallet: String, key_type: String },
    #[error("tx_id was already used for a different request")]
    Conflict,
    #[error("{}", .0.reason())]
    Stale(Stale),
    #[error("{0} is not a participant of this key")]
    NotAParticipant(NodeId),
    #[error("{named} players named; ECDSA signs with exactly t+1 = {signers}")]
    TooManySigners { named: usize, signers: usize },
    #[error("{named} players named, the key needs {needed}")]
    TooFewSigners { named: usize, needed: usize },
    #[error(transparent)]
    Threshold(SessionConfigError),
    #[error("players {} include no node of this cluster", names(.0))]
    NoServerPlayer(Vec<NodeId>),
    #[error("players include {}, which are not nodes of this cluster: such a player joins by session id, so tessera_session.session_id is required", names(.0))]
    SessionIdRequired(Vec<NodeId>),
    #[error("no public key for player {player}: it is not configured here, the request gives none and {why}")]
    DynamicKeyMissing { player: NodeId, why: String },
    #[error("{0}")]
    ConcurrencyLimit(&'static str),
    #[error("proposed players differ from the request's")]
    ProposedPlayersDiffer,
    #[error("proposed session id differs from the request's")]
    ProposedSessionDiffers,
    #[error("proposal for session {0} was already answered (a replay)")]
    ProposalReplayed(SessionId),
    #[error("the request of proposed session {0} was already served (per the request ledger)")]
    AlreadyServed(SessionId),
    #[error("{0}")]
    WrongOperation(&'static str),
    #[error("player {0} is banned on this node for cheating (see `tessera bans list`); the request cannot be served without it")]
    PartyBanned(NodeId),
}

impl Refused {
    pub fn code(&self) -> ErrorCode {
        match self {
            Refused::NotMajority { .. } => ErrorCode::NotMajority,
            Refused::PlayerNotReady(_) | Refused::NoPlayerReady => ErrorCode::PeerNotReady,
            Refused::KeygenPlayersNotReady(_) | Refused::StaleView { .. } => {
                ErrorCode::ClusterNotReady
            }
            Refused::TenantRequired { .. } => ErrorCode::TenantRequired,
            Refused::KeyExists(_) => ErrorCode::KeyAlreadyExists,
            Refused::KeyNotFound { .. } => ErrorCode::KeyNotFound,
            Refused::Conflict => ErrorCode::RequestConflict,
            Refused::Stale(_) => ErrorCode::SessionStale,
            Refused::NotAParticipant(_) | Refused::NoServerPlayer(_) => {
                ErrorCode::ParticipantNotFound
            }
            Refused::TooManySigners { .. } | Refused::Threshold(_) => ErrorCode::InvalidThreshold,
            Refused::TooFewSigners { .. } => ErrorCode::InsufficientParticipants,
            Refused::SessionIdRequired(_) => ErrorCode::MsgValidation,
            Refused::DynamicKeyMissing { .. } => ErrorCode::DynamicKeyMissing,
            Refused::ConcurrencyLimit(_) => ErrorCode::ConcurrencyLimit,
            Refused::ProposedPlayersDiffer => ErrorCode::IncompatiblePeerIds,
            Refused::ProposedSessionDiffers => ErrorCode::SessionMismatch,
            Refused::ProposalReplayed(_) | Refused::AlreadyServed(_) => ErrorCode::SessionDuplicate,
            Refused::WrongOperation(_) => ErrorCode::InvalidSessionType,
            Refused::PartyBanned(_) => ErrorCode::PartyBanned,
        }
    }
}
