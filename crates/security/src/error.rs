//! One error type for callers that handle any failure of this crate alike.
//!
//! Each module has its own precise error; [`SecurityError`] wraps them all so a
//! caller can use `?` across modules and still get the typed `code()`.

use tessera_types::ErrorCode;

use crate::at_rest::AtRestError;
use crate::envelope::{EnvelopeError, SealError};
use crate::identity_file::IdentityFileError;
use crate::initiator::{InitiatorKeyError, SignatureError};
use crate::kdf::{InvalidKdfParams, KdfFailed};
use crate::peer_keys::{BadNodeSignature, PeerKeyError};
use crate::private_file::PrivateFileError;

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    PeerKey(#[from] PeerKeyError),
    #[error(transparent)]
    NodeSignature(#[from] BadNodeSignature),
    #[error(transparent)]
    InitiatorKey(#[from] InitiatorKeyError),
    #[error(transparent)]
    InitiatorSignature(#[from] SignatureError),
    #[error(transparent)]
    AtRest(#[from] AtRestError),
    #[error(transparent)]
    IdentityFile(#[from] IdentityFileError),
    #[error(transparent)]
    PrivateFile(#[from] PrivateFileError),
    #[error(transparent)]
    KdfParams(#[from] InvalidKdfParams),
    #[error(transparent)]
    Kdf(#[from] KdfFailed),
}

impl SecurityError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SecurityError::Envelope(e) => e.code(),
            SecurityError::Seal(e) => e.code(),
            SecurityError::PeerKey(e) => e.code(),
            SecurityError::NodeSignature(e) => e.code(),
            SecurityError::InitiatorKey(e) => e.code(),
            SecurityError::InitiatorSignature(e) => e.code(),
            SecurityError::AtRest(e) => e.code(),
            SecurityError::IdentityFile(e) => e.code(),
            SecurityError::PrivateFile(e) => e.code(),
            SecurityError::KdfParams(_) => ErrorCode::InvalidConfiguration,
            SecurityError::Kdf(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_types::NodeId;

    use super::*;

    #[test]
    fn codes_pass_through() {
        let sender = NodeId::new("node1").unwrap();
        let e: SecurityError = EnvelopeError::BadSignature { sender }.into();
        assert_eq!(e.code(), ErrorCode::MessageVerification);
        assert_eq!(e.to_string(), "envelope from node1 has a bad signature");
        let e: SecurityError = SignatureError::Invalid {
            kind: crate::initiator::InitiatorKeyKind::P256,
        }
        .into();
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        let e: SecurityError = AtRestError::Decryption.into();
        assert_eq!(e.code(), ErrorCode::KeyLoad);
        let e: SecurityError = KdfFailed.into();
        assert_eq!(e.code(), ErrorCode::Internal);
    }

    #[test]
    fn messages_are_short_and_lowercase() {
        let sender = NodeId::new("n").unwrap();
        let samples: Vec<SecurityError> = vec![
            EnvelopeError::Malformed {
                reason: "truncated",
            }
            .into(),
            EnvelopeError::TooLarge { len: 2, max: 1 }.into(),
            EnvelopeError::UnknownSender {
                sender: sender.clone(),
            }
            .into(),
            EnvelopeError::WrongSession {
                sender: sender.clone(),
            }
            .into(),
            EnvelopeError::WrongReceiver {
                sender: sender.clone(),
            }
            .into(),
            EnvelopeError::Replayed {
                sender: sender.clone(),
                seq: 3,
            }
            .into(),
            EnvelopeError::DecryptionFailed { sender }.into(),
            SealError::MissingReceiverKey.into(),
            AtRestError::Decryption.into(),
            InitiatorKeyError::BadHex.into(),
        ];
        for e in samples {
            let s = e.to_string();
            assert!(s.len() < 120, "{s}");
            assert!(s.chars().next().is_some_and(|c| !c.is_uppercase()), "{s}");
        }
    }
}
