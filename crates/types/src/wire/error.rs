//! Why a client request or an event cannot be used.

use crate::ids::IdError;
use crate::session_config::SessionConfigError;
use crate::ErrorCode;

/// Errors from decoding, encoding and checking wire messages.
///
/// Texts are short. A decode error may quote the offending JSON value; client
/// requests carry no secrets, so that is safe to log and to return.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON, a required field missing, a wrong type, or bad base64.
    #[error("malformed message: {0}")]
    Decode(#[source] serde_json::Error),
    /// Serialization failed; cannot happen for the types in this module.
    #[error("cannot encode message: {0}")]
    Encode(#[source] serde_json::Error),
    /// An id field is not a valid id.
    #[error("invalid {field}: {source}")]
    InvalidId {
        field: &'static str,
        #[source]
        source: IdError,
    },
    /// A `key_type` that is neither `secp256k1` nor `ed25519`.
    #[error("unknown key_type {found:?}: expected \"secp256k1\" or \"ed25519\"")]
    UnknownKeyType { found: String },
    /// A secp256k1 request whose `tx` is not a 32-byte digest.
    #[error("secp256k1 tx must be a 32-byte digest, got {got} bytes")]
    DigestLength { got: usize },
    /// A hardened index, or a path deeper than BIP-32 allows.
    #[error("derivation path {reason}")]
    DerivationPath { reason: &'static str },
    /// A keygen wallet id that reads as a JSON object: the initiator's
    /// keygen signature covers the wallet id's bytes alone, and such an id
    /// would make it a signature over some other request's JSON.
    #[error("wallet_id must not begin with '{{'")]
    WalletIdLooksLikeJson,
    /// The `tessera_session` object is unusable.
    #[error("{0}")]
    Session(#[source] super::session_spec::SessionSpecError),
    /// The node list or threshold of a reshare request is unusable.
    #[error("invalid reshare: {0}")]
    Reshare(#[source] SessionConfigError),
}

impl WireError {
    /// The code a result event carries for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            WireError::Decode(_) => ErrorCode::UnmarshalFailure,
            WireError::Encode(_) => ErrorCode::MarshalFailure,
            WireError::InvalidId { .. } => ErrorCode::MsgValidation,
            WireError::UnknownKeyType { .. } => ErrorCode::InvalidSessionType,
            WireError::DigestLength { .. } | WireError::WalletIdLooksLikeJson => {
                ErrorCode::MsgValidation
            }
            WireError::DerivationPath { .. } => ErrorCode::InvalidDerivationPath,
            WireError::Session(e) => {
                use super::session_spec::SessionSpecError as S;
                match e {
                    S::ZeroThreshold => ErrorCode::InvalidThreshold,
                    S::SessionId(_)
                    | S::Player(_)
                    | S::DuplicatePlayer(_)
                    | S::PlayerCount(_)
                    | S::KeyForNonPlayer(_) => ErrorCode::MsgValidation,
                }
            }
            WireError::Reshare(e) => match e {
                SessionConfigError::InvalidThreshold { .. } => ErrorCode::InvalidThreshold,
                SessionConfigError::DuplicatePlayer(_)
                | SessionConfigError::NotAPlayer(_)
                | SessionConfigError::PlayerCount { .. } => ErrorCode::MsgValidation,
            },
        }
    }
}

/// Parses `json` into `T`, mapping failure to [`WireError::Decode`].
pub(crate) fn decode<'a, T: serde::Deserialize<'a>>(json: &'a [u8]) -> Result<T, WireError> {
    serde_json::from_slice(json).map_err(WireError::Decode)
}

/// Go-compatible JSON of `value`, mapping failure to [`WireError::Encode`].
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    super::go_json::to_go_json(value).map_err(WireError::Encode)
}

/// Validates `value` as an id of type `T`, naming the JSON field when it is not one.
pub(crate) fn parse_id<T>(field: &'static str, value: &str) -> Result<T, WireError>
where
    T: TryFrom<String, Error = crate::ids::IdError>,
{
    T::try_from(value.to_string()).map_err(|source| WireError::InvalidId { field, source })
}
