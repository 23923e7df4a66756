//! Session errors, in two groups:
//! - [`Rejection`]: one message is refused and dropped; the session goes on.
//!   The runner logs it with the sender.
//! - [`Abort`]: the session is over. Every abort that blames someone names them.
//!
//! `code()` maps each to the client-facing [`ErrorCode`] by an exhaustive match.

use tessera_types::{ErrorCode, NodeId, SessionId, Threshold};

use crate::repair_failure::RepairFailure;
use crate::replace_error::ReplaceError;
use crate::round::Fault;

/// A message the session refused; it changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("message from {from} is for session {got}, not this one")]
    WrongSession { from: NodeId, got: SessionId },
    #[error("message from {from}, who is not a player of this session")]
    UnknownSender { from: NodeId },
    #[error("message from {from} is addressed to {to}, not to this party")]
    NotForMe { from: NodeId, to: NodeId },
    #[error("message from {from} for round {round}, but this party is in round {current}")]
    WrongRound {
        from: NodeId,
        round: u16,
        current: u16,
    },
    #[error("duplicate round {round} message from {from}")]
    Duplicate { from: NodeId, round: u16 },
    #[error("round {round} does not carry this kind of message (from {from})")]
    WrongKind { from: NodeId, round: u16 },
    #[error("session already finished; message from {from} ignored")]
    Finished { from: NodeId },
}

impl Rejection {
    /// The party that sent the refused message.
    pub fn sender(&self) -> &NodeId {
        match self {
            Rejection::WrongSession { from, .. }
            | Rejection::UnknownSender { from }
            | Rejection::NotForMe { from, .. }
            | Rejection::WrongRound { from, .. }
            | Rejection::Duplicate { from, .. }
            | Rejection::WrongKind { from, .. }
            | Rejection::Finished { from } => from,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Rejection::WrongSession { .. } => ErrorCode::UnknownSession,
            Rejection::UnknownSender { .. } => ErrorCode::ParticipantNotFound,
            Rejection::NotForMe { .. } => ErrorCode::MessageRouting,
            Rejection::WrongRound { .. } => ErrorCode::MessageDelivery,
            Rejection::Duplicate { .. } => ErrorCode::MessageDelivery,
            Rejection::WrongKind { .. } => ErrorCode::MessageFormat,
            Rejection::Finished { .. } => ErrorCode::SessionStale,
        }
    }
}

/// Why a session ended without output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Abort {
    #[error("invalid session: {0}")]
    Config(String),
    #[error("signing needs exactly {expected} players for this key, got {got}")]
    SignerCount { expected: usize, got: usize },
    #[error("{0} is not a participant of this key")]
    NotAParticipant(NodeId),
    /// A refresh runs with every holder of the key and nobody else.
    #[error("a refresh needs every holder of the key as a player: missing {missing:?}, not holders {strangers:?}")]
    RefreshPlayers {
        missing: Vec<NodeId>,
        strangers: Vec<NodeId>,
    },
    /// Neither library can change a key's threshold (docs/protocols.md).
    #[error("threshold change not supported: the key's threshold is fixed at {key} for its lifetime, not {requested}")]
    ThresholdChange {
        key: Threshold,
        requested: Threshold,
    },
    /// A replace plan the libraries cannot run (see `replace_plan`).
    #[error("replace refused: {0}")]
    Replace(ReplaceError),
    /// A repair's messages did not give the target a share of the key.
    #[error("{0}")]
    Repair(RepairFailure),
    #[error("derivation path index {index} is hardened or out of range")]
    HardenedIndex { index: u32 },
    #[error("secp256k1 signing needs a 32-byte digest, got {len} bytes")]
    BadDigest { len: usize },
    #[error("malformed round {round} message from {from}: {detail}")]
    Malformed {
        from: NodeId,
        round: u16,
        detail: String,
    },
    /// `culprit == reported_by`: the reporter misreported our own broadcast.
    #[error("{culprit} sent different round {round} broadcasts (reported by {reported_by})")]
    Equivocation {
        culprit: NodeId,
        reported_by: NodeId,
        round: u16,
    },
    #[error("protocol check failed, culprits {culprits:?}: {detail}")]
    Cheating {
        culprits: Vec<NodeId>,
        ban: bool,
        detail: String,
    },
    #[error("the produced signature does not verify")]
    InvalidSignature,
    #[error("local failure: {0}")]
    Local(String),
    /// A peer aborted and told us; `blamed` is whom it named (its claim, not ours).
    #[error("peer {peer} aborted the session ({reason}), blaming {blamed:?}")]
    PeerAborted {
        peer: NodeId,
        blamed: Vec<NodeId>,
        reason: String,
    },
}

/// Whom an abort names, split by the evidence behind it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AbortBlame {
    /// This party's own checks failed on their authenticated messages (or a
    /// message of theirs contradicts what this party itself sent).
    pub proven: Vec<NodeId>,
    /// Among `proven`: parties to exclude for good. DKLs23 says so
    /// (`BanCounterparty`: sessions with them leak the reusable OT state), or
    /// the party signed a statement contradicting our own message.
    pub ban: Vec<NodeId>,
    /// Named on another party's word only (its report may be the lie).
    pub claimed: Vec<NodeId>,
}

impl Abort {
    /// The parties this abort blames by evidence; see [`AbortBlame`].
    pub fn blame(&self) -> AbortBlame {
        let proven = |p: Vec<NodeId>| AbortBlame {
            proven: p,
            ..AbortBlame::default()
        };
        match self {
            // Its own signed message does not parse: its word, not a claim.
            Abort::Malformed { from, .. } => proven(vec![from.clone()]),
            // The reporter's signed echo contradicts the broadcast we sent it
            // ourselves: proven, and banned (it lies to split the parties).
            Abort::Equivocation {
                culprit,
                reported_by,
                ..
            } if culprit == reported_by => AbortBlame {
                proven: vec![culprit.clone()],
                ban: vec![culprit.clone()],
                claimed: Vec::new(),
            },
            // A third party says the sender gave it another broadcast than
            // ours. We hold only one of the two messages: either the sender
            // equivocated or the reporter lies. A claim, not a proof.
            Abort::Equivocation { culprit, .. } => AbortBlame {
                claimed: vec![culprit.clone()],
                ..AbortBlame::default()
            },
            // The library verified the culprit's authenticated messages.
            Abort::Cheating { culprits, ban, .. } => AbortBlame {
                proven: culprits.clone(),
                ban: if *ban { culprits.clone() } else { Vec::new() },
                claimed: Vec::new(),
            },
            Abort::PeerAborted { blamed, .. } => AbortBlame {
                claimed: blamed.clone(),
                ..AbortBlame::default()
            },
            Abort::Config(_)
            | Abort::SignerCount { .. }
            | Abort::NotAParticipant(_)
            | Abort::RefreshPlayers { .. }
            | Abort::ThresholdChange { .. }
            | Abort::Replace(_)
            | Abort::Repair(_)
            | Abort::HardenedIndex { .. }
            | Abort::BadDigest { .. }
            | Abort::InvalidSignature
            | Abort::Local(_) => AbortBlame::default(),
        }
    }

    /// Every party this abort names, proven or claimed (empty when nobody can
    /// be named). For logs and simulators; act on [`Abort::blame`].
    pub fn culprits(&self) -> Vec<NodeId> {
        match self {
            Abort::Malformed { from, .. } => vec![from.clone()],
            Abort::Equivocation { culprit, .. } => vec![culprit.clone()],
            Abort::Cheating { culprits, .. } => culprits.clone(),
            Abort::PeerAborted { blamed, .. } => blamed.clone(),
            Abort::Config(_)
            | Abort::SignerCount { .. }
            | Abort::NotAParticipant(_)
            | Abort::RefreshPlayers { .. }
            | Abort::ThresholdChange { .. }
            | Abort::Replace(_)
            | Abort::Repair(_)
            | Abort::HardenedIndex { .. }
            | Abort::BadDigest { .. }
            | Abort::InvalidSignature
            | Abort::Local(_) => Vec::new(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Abort::Config(_) => ErrorCode::InvalidConfiguration,
            Abort::SignerCount { .. } => ErrorCode::InsufficientParticipants,
            Abort::NotAParticipant(_) => ErrorCode::ParticipantNotFound,
            Abort::RefreshPlayers { .. } => ErrorCode::IncompatiblePeerIds,
            Abort::ThresholdChange { .. } => ErrorCode::InvalidThreshold,
            Abort::Replace(e) => e.code(),
            Abort::Repair(e) => e.code(),
            Abort::HardenedIndex { .. } => ErrorCode::InvalidDerivationPath,
            Abort::BadDigest { .. } => ErrorCode::MsgValidation,
            Abort::Malformed { .. } => ErrorCode::MessageFormat,
            Abort::Equivocation { .. } => ErrorCode::Equivocation,
            Abort::Cheating { .. } => ErrorCode::ProtocolCheating,
            Abort::InvalidSignature => ErrorCode::SignatureVerification,
            Abort::Local(_) => ErrorCode::Internal,
            Abort::PeerAborted { .. } => ErrorCode::PeerAborted,
        }
    }

    pub(crate) fn from_fault(fault: Fault, round: u16) -> Self {
        match fault {
            Fault::Malformed { from, detail } => Abort::Malformed {
                from,
                round,
                detail,
            },
            Fault::Cheating {
                culprits,
                ban,
                detail,
            } => Abort::Cheating {
                culprits,
                ban,
                detail,
            },
            Fault::InvalidSignature => Abort::InvalidSignature,
            Fault::Local(detail) => Abort::Local(detail),
            Fault::Repair(e) => Abort::Repair(e),
        }
    }
}

/// What [`crate::Session::handle`] can return.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
    #[error("aborted: {0}")]
    Aborted(#[from] Abort),
}

impl HandleError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HandleError::Rejected(r) => r.code(),
            HandleError::Aborted(a) => a.code(),
        }
    }

    /// The abort, for errors known to be aborts.
    pub(crate) fn into_abort(self) -> Abort {
        match self {
            HandleError::Aborted(a) => a,
            HandleError::Rejected(r) => Abort::Local(r.to_string()),
        }
    }

    /// `true` when the session is over.
    pub fn is_fatal(&self) -> bool {
        matches!(self, HandleError::Aborted(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn library_findings_are_proven_and_a_peers_word_is_a_claim() {
        let ban = Abort::Cheating {
            culprits: vec![id("c")],
            ban: true,
            detail: "ot consistency".into(),
        };
        let b = ban.blame();
        assert_eq!((b.proven, b.ban), (vec![id("c")], vec![id("c")]));
        assert!(b.claimed.is_empty());
        let recoverable = Abort::Cheating {
            culprits: vec![id("c")],
            ban: false,
            detail: "commitment".into(),
        };
        assert!(recoverable.blame().ban.is_empty());
        let malformed = Abort::Malformed {
            from: id("m"),
            round: 1,
            detail: "eof".into(),
        };
        assert_eq!(malformed.blame().proven, vec![id("m")]);
        let peer = Abort::PeerAborted {
            peer: id("p"),
            blamed: vec![id("x")],
            reason: "says x cheated".into(),
        };
        let b = peer.blame();
        assert_eq!(b.claimed, vec![id("x")]);
        assert!(b.proven.is_empty() && b.ban.is_empty());
        assert_eq!(Abort::InvalidSignature.blame(), AbortBlame::default());
    }
}
