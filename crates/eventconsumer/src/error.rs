//! Why a request could not be served. Each variant maps to the code the client sees.

use tessera_types::ErrorCode;

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
