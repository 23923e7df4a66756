//! Session ids a client chooses: a fresh random one, and the check nodes apply.
//!
//! A client names the protocol run (`tessera_session.session_id`) so a party
//! outside the cluster, such as a tenant's device, can join it, and registers
//! that device's keys for the same id (see [`Client::register_tenant_key`]).
//!
//! [`Client::register_tenant_key`]: crate::Client::register_tenant_key

use tessera_types::wire::MAX_CLIENT_SESSION_ID_LEN;
use tessera_types::{IdError, SessionId};

use crate::ClientError;

/// A new session id: 16 random bytes from the OS, as 32 lowercase hex characters.
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// Validates a client-chosen session id as nodes do (`SessionSpec::check`):
/// a valid [`SessionId`] of at most [`MAX_CLIENT_SESSION_ID_LEN`] bytes (the
/// rest of the id length is kept for the suffixes nodes append).
pub(crate) fn check_session_id(session_id: &str) -> Result<SessionId, ClientError> {
    if session_id.len() > MAX_CLIENT_SESSION_ID_LEN {
        return Err(ClientError::InvalidSessionId(IdError::TooLong {
            kind: "session id",
            max: MAX_CLIENT_SESSION_ID_LEN,
        }));
    }
    SessionId::new(session_id).map_err(ClientError::InvalidSessionId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_types::wire::SessionSpec;

    #[test]
    fn new_ids_are_fresh_hex_and_valid() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(check_session_id(&a).is_ok());
    }

    #[test]
    fn same_rule_as_session_spec() {
        let long = "s".repeat(MAX_CLIENT_SESSION_ID_LEN + 1);
        let max = "s".repeat(MAX_CLIENT_SESSION_ID_LEN);
        for id in [
            "s-1",
            "",
            "a.b",
            "a b",
            "a*",
            "a>",
            max.as_str(),
            long.as_str(),
        ] {
            let spec = SessionSpec {
                session_id: Some(id.to_string()),
                ..Default::default()
            };
            assert_eq!(check_session_id(id).is_ok(), spec.check().is_ok(), "{id:?}");
        }
        let err = check_session_id(&long).unwrap_err();
        assert!(matches!(
            err,
            ClientError::InvalidSessionId(IdError::TooLong { .. })
        ));
        assert_eq!(err.code(), tessera_types::ErrorCode::MsgValidation);
        assert!(!err.is_transient());
    }
}
