//! `ConfigError`: why the configuration cannot be used. Its own module so that
//! both the configuration and the environment overrides (`env`) can name it
//! without importing each other.

use std::path::PathBuf;

/// Why the configuration cannot be used. Texts name the key or variable and
/// never quote a secret (the configuration holds none).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var} (config key `{key}`): {reason}")]
    Env {
        var: String,
        key: &'static str,
        reason: String,
    },
    #[error("config key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub fn code(&self) -> tessera_types::ErrorCode {
        use tessera_types::ErrorCode;
        match self {
            ConfigError::Read { .. }
            | ConfigError::Parse { .. }
            | ConfigError::Env { .. }
            | ConfigError::Invalid { .. } => ErrorCode::InvalidConfiguration,
        }
    }
}

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}
