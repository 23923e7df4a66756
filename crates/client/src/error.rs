//! `ClientError`: everything the SDK can fail with, and its `ErrorCode`.
//!
//! Grouped like the rest of Tessera: bad configuration or a request the SDK
//! refuses to send (invalid), NATS trouble (transient), no answer in time, and
//! an error the cluster answered with (remote). Texts are short and lowercase;
//! they never carry key material, request payloads or the server URL (it may
//! hold credentials).

use tessera_session::derive::DeriveError;
use tessera_transport::async_nats;
use tessera_transport::TransportError;
use tessera_types::{ErrorCode, IdError, WireError};

/// Why an SDK call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The configured `client_id` is not one subject token.
    #[error("client id must be one nats subject token (no whitespace, '.', '*' or '>')")]
    InvalidClientId,
    /// A configuration value is unusable.
    #[error("invalid client configuration: {reason}")]
    InvalidConfig { reason: &'static str },
    /// The configuration lists no cluster node identity, so no result could
    /// be checked, and unsigned results are not accepted either (the default).
    #[error(
        "no cluster node identities configured: results cannot be verified \
         (give the nodes' *.pub.json documents, or set accept_unsigned_results for a migration)"
    )]
    NoClusterIdentities,
    /// A cluster identity document cannot be read.
    #[error("cannot read cluster identity {}: {reason}", path.display())]
    ClusterIdentity {
        path: std::path::PathBuf,
        reason: String,
    },
    /// A NATS URL, credential or TLS setting cannot be used (URLs and
    /// secrets are never quoted).
    #[error(transparent)]
    Nats(TransportError),
    #[error(
        "cannot connect to nats: {}",
        tessera_transport::error::connect_reason(source)
    )]
    Connect {
        #[source]
        source: async_nats::ConnectError,
    },
    /// The JetStream streams could not be found or created.
    #[error(transparent)]
    Streams(TransportError),
    /// A result consumer could not be created (for example, one with the same
    /// name exists with settings that cannot be updated).
    #[error("cannot set up result consumer {name}: {reason}")]
    Consumer { name: String, reason: String },
    /// An id that must become a subject token cannot be one.
    #[error("{field} must be one nats subject token (no whitespace, '.', '*' or '>')")]
    SubjectToken { field: &'static str },
    /// The request does not pass the checks a node would apply to it.
    #[error("invalid request: {0}")]
    Wire(#[from] WireError),
    /// A session id the client chose is not one nodes accept (a subject token
    /// of at most `MAX_CLIENT_SESSION_ID_LEN` bytes).
    #[error("invalid session id: {0}")]
    InvalidSessionId(#[source] IdError),
    /// A tenant key registration was not stored in the tenant key bucket.
    #[error("cannot register tenant key {entry}: {reason}")]
    TenantKey { entry: String, reason: String },
    /// The result stream's position could not be read before publishing a
    /// request (the request was not published).
    #[error("cannot read the result stream's position: {reason}")]
    ResultStream { reason: String },
    /// JetStream did not store the request (no stream, no ack in time, ...).
    #[error("cannot publish to {subject}: {reason}")]
    Publish { subject: String, reason: String },
    /// No result arrived in time. The request may still complete: its result
    /// is kept for a while and a later `await_*` call can still pick it up.
    #[error("no {what} result for {id} within the timeout")]
    Timeout { what: &'static str, id: String },
    /// The cluster answered with an error result.
    #[error("{what} failed on the cluster ({code}): {reason}")]
    Remote {
        what: &'static str,
        code: ErrorCode,
        reason: String,
    },
    /// A result event is unusable (for example, a key of the wrong length).
    #[error("malformed {what} result: {reason}")]
    MalformedResult {
        what: &'static str,
        reason: &'static str,
    },
    /// A child key cannot be derived.
    #[error("cannot derive child key: {0}")]
    Derive(#[from] DeriveError),
    /// The client's background tasks have stopped.
    #[error("client is shut down")]
    Closed,
}

impl ClientError {
    /// The code a caller can match on, as in result events.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientError::InvalidClientId => ErrorCode::InvalidConfiguration,
            ClientError::InvalidConfig { .. } => ErrorCode::InvalidConfiguration,
            ClientError::NoClusterIdentities => ErrorCode::InvalidConfiguration,
            ClientError::ClusterIdentity { .. } => ErrorCode::KeyLoad,
            ClientError::Nats(e) => e.code(),
            ClientError::Connect { .. } => ErrorCode::NetworkConnection,
            ClientError::Streams(e) => e.code(),
            ClientError::Consumer { .. } => ErrorCode::NetworkSubscription,
            ClientError::SubjectToken { .. } => ErrorCode::MsgValidation,
            ClientError::Wire(e) => e.code(),
            ClientError::InvalidSessionId(_) => ErrorCode::MsgValidation,
            ClientError::TenantKey { .. } => ErrorCode::MessageDelivery,
            ClientError::Publish { .. } => ErrorCode::MessageDelivery,
            ClientError::ResultStream { .. } => ErrorCode::NetworkSubscription,
            ClientError::Timeout { .. } => ErrorCode::NetworkTimeout,
            ClientError::Remote { code, .. } => *code,
            ClientError::MalformedResult { .. } => ErrorCode::MessageFormat,
            ClientError::Derive(e) => match e {
                DeriveError::Hardened(_) | DeriveError::InvalidChild(_) => {
                    ErrorCode::InvalidDerivationPath
                }
                DeriveError::InvalidPublicKey => ErrorCode::KeyDecoding,
            },
            ClientError::Closed => ErrorCode::OperationAborted,
        }
    }

    /// `true` for a failure that may go away if the call is repeated.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::Streams(_)
            | ClientError::Consumer { .. }
            | ClientError::Publish { .. }
            | ClientError::ResultStream { .. }
            | ClientError::TenantKey { .. }
            | ClientError::Timeout { .. } => true,
            ClientError::InvalidClientId
            | ClientError::InvalidConfig { .. }
            | ClientError::NoClusterIdentities
            | ClientError::ClusterIdentity { .. }
            | ClientError::Nats(_)
            | ClientError::SubjectToken { .. }
            | ClientError::InvalidSessionId(_)
            | ClientError::Wire(_)
            | ClientError::Remote { .. }
            | ClientError::MalformedResult { .. }
            | ClientError::Derive(_)
            | ClientError::Closed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_carry_the_network_timeout_code() {
        let e = ClientError::Timeout {
            what: "signing",
            id: "tx1".into(),
        };
        assert_eq!(e.code(), ErrorCode::NetworkTimeout);
        assert_eq!(
            e.to_string(),
            "no signing result for tx1 within the timeout"
        );
        assert!(e.is_transient());
    }

    #[test]
    fn remote_errors_keep_the_node_code() {
        let e = ClientError::Remote {
            what: "keygen",
            code: ErrorCode::KeyAlreadyExists,
            reason: "key exists".into(),
        };
        assert_eq!(e.code(), ErrorCode::KeyAlreadyExists);
        assert!(!e.is_transient());
        assert_eq!(
            ClientError::Derive(DeriveError::Hardened(1 << 31)).code(),
            ErrorCode::InvalidDerivationPath
        );
    }
}
