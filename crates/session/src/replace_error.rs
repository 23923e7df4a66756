//! Why a replace was refused before any message was sent (a leaf module:
//! `error` wraps it, `replace_plan` produces it).

use tessera_types::{ErrorCode, NodeId};

/// Why a replace was refused before any message was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error("{0} is listed both as a repair target and as a helper; a target cannot help repair its own index")]
    TargetIsHelper(NodeId),
    #[error("a repair needs at least t + 1 = {needed} helpers, got {got}")]
    TooFewHelpers { needed: usize, got: usize },
    #[error("{0} is in the new committee but neither a helper nor a target")]
    Unassigned(NodeId),
    #[error("{0} is a helper or target but not in the new committee")]
    NotInCommittee(NodeId),
    #[error("{0} is listed twice among helpers and targets")]
    Duplicate(NodeId),
    #[error("the players of the session are not the new committee")]
    PlayersNotCommittee,
    #[error("{node} plays the wrong role: the plan makes it a {planned}")]
    WrongRole { node: NodeId, planned: &'static str },
    #[error("helper {node} holds index {held}, but the plan gives it index {planned}")]
    IndexMoved { node: NodeId, held: u8, planned: u8 },
    #[error("DKLs23 fixes the number of shares at keygen: the committee must hold exactly indices 1..={n}, got {got:?}")]
    EcdsaIndices { n: usize, got: Vec<u8> },
    #[error("helper {0}'s share has no public key package (written before keygen kept it); refresh the key first")]
    MissingPackage(NodeId),
}

impl ReplaceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ReplaceError::TooFewHelpers { .. } => ErrorCode::InsufficientParticipants,
            ReplaceError::TargetIsHelper(_)
            | ReplaceError::Unassigned(_)
            | ReplaceError::NotInCommittee(_)
            | ReplaceError::Duplicate(_)
            | ReplaceError::PlayersNotCommittee
            | ReplaceError::WrongRole { .. }
            | ReplaceError::IndexMoved { .. }
            | ReplaceError::EcdsaIndices { .. } => ErrorCode::IncompatiblePeerIds,
            ReplaceError::MissingPackage(_) => ErrorCode::ReshareFailure,
        }
    }
}
