//! The error that ends the process, reported in the configured log format:
//! a JSON log line (with its `code`) once `log.format: json` is in force, else
//! `error: <message>` on stderr as before the logger exists.

use tessera_types::ErrorCode;

use crate::commands::config_check::CheckError;
use crate::config::ConfigError;
use crate::secrets::SecretFileError;

/// The code of the first error in the chain that has one; `ERROR_INTERNAL`
/// when none does (a bug or an unclassified I/O failure).
pub fn code_of(e: &anyhow::Error) -> ErrorCode {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<CheckError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<ConfigError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<SecretFileError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<tessera_transport::TransportError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<tessera_registry::RegistryError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<tessera_storage::StorageError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<tessera_security::identity_file::IdentityFileError>()
        {
            return c.code();
        }
    }
    ErrorCode::Internal
}

/// Prints the error that ends the process: through the JSON logger if one is
/// installed, else as one `error: ...` line on stderr.
pub fn report(e: &anyhow::Error) {
    let message = crate::render_error(e);
    if crate::logging::is_json() {
        tracing::error!(code = %code_of(e), error = %message, "tessera stopped: fatal error");
    } else {
        eprintln!("error: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_first_typed_cause() {
        let e = anyhow::Error::new(crate::config::ConfigError::Invalid {
            key: "threshold".into(),
            reason: "must be at least 1".into(),
        })
        .context("cannot start");
        assert_eq!(code_of(&e), ErrorCode::InvalidConfiguration);
        assert_eq!(code_of(&anyhow::anyhow!("what")), ErrorCode::Internal);
    }
}
