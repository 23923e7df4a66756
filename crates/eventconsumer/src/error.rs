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
}
