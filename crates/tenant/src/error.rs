//! `TenantError`: why starting a tenant or one of its sessions failed, and the
//! `ErrorCode` for it (the same codes server nodes put in results).
//!
//! Grouped like the rest of Tessera: a bad configuration or request, the store or NATS
//! failing at start-up, a session that failed (with the players it blames),
//! a key the runner returned in an unexpected form, and bugs. Texts are
//! short and never carry key material.

use tessera_runner::SessionError;
use tessera_storage::StorageError;
use tessera_transport::TransportError;
use tessera_types::{ErrorCode, KeyType, NodeId, WalletId};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("invalid tenant configuration: {detail}")]
    Config { detail: String },
    #[error("invalid request: {detail}")]
    InvalidRequest { detail: String },
    #[error("share store: {0}")]
    Storage(#[source] StorageError),
    #[error("nats: {0}")]
    Transport(#[source] TransportError),
    /// A keygen or signing session failed; the session id and the players to
    /// blame are in the error (see [`TenantError::blamed`]).
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("{key_type} key of wallet {wallet_id}: {detail}")]
    BadKey {
        wallet_id: WalletId,
        key_type: KeyType,
        detail: &'static str,
    },
    #[error("internal: {0}")]
    Internal(String),
}

impl TenantError {
    pub fn code(&self) -> ErrorCode {
        match self {
            TenantError::Config { .. } => ErrorCode::InvalidConfiguration,
            TenantError::InvalidRequest { .. } => ErrorCode::MsgValidation,
            TenantError::Storage(e) => e.code(),
            TenantError::Transport(e) => e.code(),
            TenantError::Session(e) => e.code(),
            TenantError::BadKey { .. } => ErrorCode::KeyEncoding,
            TenantError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The players this error blames by this device's own findings: the ones
    /// that never joined, went silent, aborted, cheated or sent bad messages
    /// (another party's claims are left out; see `SessionError::culprits`).
    /// Empty when no player is to blame.
    pub fn blamed(&self) -> Vec<NodeId> {
        match self {
            TenantError::Session(e) => e.culprits().found(),
            TenantError::Config { .. }
            | TenantError::InvalidRequest { .. }
            | TenantError::Storage(_)
            | TenantError::Transport(_)
            | TenantError::BadKey { .. }
            | TenantError::Internal(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_types::SessionId;

    #[test]
    fn codes_and_blame_come_from_the_session_error() {
        let e = TenantError::from(SessionError::JoinTimeout {
            session_id: SessionId::new("s-1").unwrap(),
            missing: vec![NodeId::new("node0").unwrap()],
        });
        assert_eq!(e.code(), ErrorCode::SessionJoinTimeout);
        assert_eq!(e.blamed(), vec![NodeId::new("node0").unwrap()]);
        assert!(e.to_string().contains("node0"), "{e}");
        let e = TenantError::Storage(StorageError::WrongKey);
        assert_eq!(e.code(), ErrorCode::KeyLoad);
        assert!(e.blamed().is_empty());
        let e = TenantError::Config { detail: "x".into() };
        assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
    }
}
