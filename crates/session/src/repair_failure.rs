//! Why a repair failed once its messages arrived. The libraries cannot say
//! which helper sent a wrong value (dkls23: "without naming the helper"; frost
//! does not check at all), so nobody is named: retry with another helper set.

use tessera_types::ErrorCode;

/// A repair that produced no share.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RepairFailure {
    /// dkls23's `repair_term` or `repair_assemble` refused; `ShareMismatch`
    /// means the terms do not add up to the target's verifying share.
    #[error("DKLs23 repair failed: {0}")]
    Ecdsa(dkls23::protocols::repair::RepairError),
    /// frost's `repair_share_part3` gave a share whose verifying share is not
    /// the one the key's package holds for that identifier.
    #[error("repaired share does not match the key's verifying share for index {index}: a helper sent a wrong value (nobody can tell which; retry with another helper set)")]
    ShareMismatch { index: u8 },
    /// frost's repair functions refused.
    #[error("FROST repair failed: {0}")]
    Frost(String),
    /// Not every helper sent the same public key package.
    #[error("the helpers sent different public key packages")]
    PackagesDiffer,
    /// The helpers' package is for another key, threshold or share count.
    #[error("the helpers' public key package does not describe this key: {0}")]
    WrongPackage(String),
}

impl RepairFailure {
    pub fn code(&self) -> ErrorCode {
        use dkls23::protocols::repair::RepairError;
        match self {
            RepairFailure::Ecdsa(e) => match e {
                RepairError::ShareMismatch | RepairError::InconsistentTerms => {
                    ErrorCode::ProtocolCheating
                }
                _ => ErrorCode::ReshareFailure,
            },
            RepairFailure::ShareMismatch { .. }
            | RepairFailure::PackagesDiffer
            | RepairFailure::WrongPackage(_) => ErrorCode::ProtocolCheating,
            RepairFailure::Frost(_) => ErrorCode::ReshareFailure,
        }
    }
}
