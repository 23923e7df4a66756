//! `SigningResultEvent`: the answer to a signing request, published on
//! `mpc.mpc_signing_result[.<client_id>].complete`.

use serde::{Deserialize, Serialize};

use super::b64;
use super::error::{self, WireError};
use super::go_zero;
use super::result_type::ResultType;
use super::sign_request::SignTxMessage;
use crate::ErrorCode;

/// The request ids a signing result echoes, so clients can match it up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigningIds {
    pub wallet_id: String,
    pub tx_id: String,
    pub network_internal_code: String,
}

impl From<&SignTxMessage> for SigningIds {
    fn from(req: &SignTxMessage) -> Self {
        Self {
            wallet_id: req.wallet_id.clone(),
            tx_id: req.tx_id.clone(),
            network_internal_code: req.network_internal_code.clone(),
        }
    }
}

/// A signing result. Field order and empty-field forms are mpcium's: unset
/// byte fields are `null`, unset error fields `""`. An ECDSA success sets
/// `r`, `s`, `signature_recovery`; an EdDSA success sets `signature`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningResultEvent {
    pub result_type: ResultType,
    #[serde(default, with = "go_zero::opt_error_code")]
    pub error_code: Option<ErrorCode>,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub error_reason: String,
    /// The request gave up waiting (mpcium's retry limit or a session timeout).
    #[serde(default, deserialize_with = "go_zero::boolean")]
    pub is_timeout: bool,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub network_internal_code: String,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub wallet_id: String,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub tx_id: String,
    /// ECDSA r, 32 bytes big-endian.
    #[serde(default, with = "b64::opt_bytes")]
    pub r: Option<Vec<u8>>,
    /// ECDSA s, 32 bytes big-endian.
    #[serde(default, with = "b64::opt_bytes")]
    pub s: Option<Vec<u8>>,
    /// ECDSA recovery id, one byte.
    #[serde(default, with = "b64::opt_bytes")]
    pub signature_recovery: Option<Vec<u8>>,
    /// Ed25519 signature, 64 bytes R‖S.
    #[serde(default, with = "b64::opt_bytes")]
    pub signature: Option<Vec<u8>>,
}

impl SigningResultEvent {
    fn base(ids: SigningIds, result_type: ResultType) -> Self {
        Self {
            result_type,
            error_code: None,
            error_reason: String::new(),
            is_timeout: false,
            network_internal_code: ids.network_internal_code,
            wallet_id: ids.wallet_id,
            tx_id: ids.tx_id,
            r: None,
            s: None,
            signature_recovery: None,
            signature: None,
        }
    }

    /// An ECDSA (secp256k1) signature.
    pub fn ecdsa_success(ids: SigningIds, r: [u8; 32], s: [u8; 32], recovery: u8) -> Self {
        Self {
            r: Some(r.to_vec()),
            s: Some(s.to_vec()),
            signature_recovery: Some(vec![recovery]),
            ..Self::base(ids, ResultType::Success)
        }
    }

    /// An EdDSA (Ed25519) signature.
    pub fn eddsa_success(ids: SigningIds, signature: [u8; 64]) -> Self {
        Self {
            signature: Some(signature.to_vec()),
            ..Self::base(ids, ResultType::Success)
        }
    }

    /// A failed signing. `reason` is shown to clients: short, no secrets.
    pub fn error(ids: SigningIds, code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            error_code: Some(code),
            error_reason: reason.into(),
            ..Self::base(ids, ResultType::Error)
        }
    }

    /// Sets `is_timeout`, for errors where the request ran out of time.
    pub fn with_timeout(mut self, is_timeout: bool) -> Self {
        self.is_timeout = is_timeout;
        self
    }

    /// JSON byte-identical to what mpcium publishes for the same event.
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        error::encode(self)
    }

    /// Parses an event from Tessera or mpcium.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        error::decode(json)
    }
}
