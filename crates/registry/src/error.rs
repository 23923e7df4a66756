//! `RegistryError`: what talking to Consul or checking the ready set can fail
//! at, and the client code each failure maps to.
//!
//! Grouped like the rest of Tessera: bad configuration, transient I/O with
//! Consul (unreachable, timed out, an HTTP error status, an answer we cannot
//! read) and refusals of the quorum check. Messages name the Consul endpoint
//! and HTTP status; they never carry the ACL token or KV values.

use std::time::Duration;

use tessera_types::{ErrorCode, NodeId};

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid registry config: {reason}")]
    InvalidConfig { reason: String },
    #[error("invalid consul key {key:?}")]
    InvalidKey { key: String },
    #[error("consul {endpoint}: unreachable: {source}")]
    Unreachable {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("consul {endpoint}: timed out")]
    Timeout { endpoint: &'static str },
    #[error("consul {endpoint}: http {status}: {message}")]
    Status {
        endpoint: &'static str,
        status: u16,
        /// The start of Consul's error text.
        message: String,
    },
    #[error("consul {endpoint}: malformed answer: {reason}")]
    Malformed {
        endpoint: &'static str,
        reason: String,
    },
    #[error("ready key {key} is held by another consul session; is another process running as {node_id}?")]
    NodeIdInUse { node_id: NodeId, key: String },
    #[error("only {ready} nodes are ready, {needed} are needed")]
    NotEnoughReady { ready: usize, needed: usize },
    #[error("the ready view is stale (last consul answer {age:?} ago)")]
    StaleView {
        /// `None` when Consul has never answered.
        age: Option<Duration>,
    },
}

impl RegistryError {
    /// The code a result event carries for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistryError::InvalidConfig { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::InvalidKey { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::Unreachable { .. } => ErrorCode::NetworkConnection,
            RegistryError::Timeout { .. } => ErrorCode::NetworkTimeout,
            // A refused ACL token is the operator's configuration, not an outage.
            RegistryError::Status {
                status: 401 | 403, ..
            } => ErrorCode::InvalidConfiguration,
            RegistryError::Status { .. } => ErrorCode::ClusterNotReady,
            RegistryError::Malformed { .. } => ErrorCode::ClusterNotReady,
            RegistryError::NodeIdInUse { .. } => ErrorCode::InvalidConfiguration,
            // mpcium answers a failed `AreMajorityReady` with ERROR_PEER_UNAVAILABLE.
            RegistryError::NotEnoughReady { .. } => ErrorCode::PeerUnavailable,
            RegistryError::StaleView { .. } => ErrorCode::ClusterNotReady,
        }
    }

    /// True for failures that may go away by themselves (Consul down or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::StaleView { .. }
            | RegistryError::NotEnoughReady { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            RegistryError::InvalidConfig { .. }
            | RegistryError::InvalidKey { .. }
            | RegistryError::Malformed { .. }
            | RegistryError::NodeIdInUse { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let status = |status| RegistryError::Status {
            endpoint: "kv get",
            status,
            message: String::new(),
        };
        assert_eq!(status(403).code(), ErrorCode::InvalidConfiguration);
        assert_eq!(status(500).code(), ErrorCode::ClusterNotReady);
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        let e = RegistryError::NotEnoughReady {
            ready: 1,
            needed: 2,
        };
        assert_eq!(e.code(), ErrorCode::PeerUnavailable);
        assert_eq!(e.to_string(), "only 1 nodes are ready, 2 are needed");
    }
}
