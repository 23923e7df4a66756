//! `ResharingResultEvent`: the answer to a reshare request, published on
//! `mpc.mpc_reshare_result[.<client_id>].<session_id>`.

use serde::{Deserialize, Serialize};

use super::b64;
use super::error::{self, WireError};
use super::go_zero;
use super::key_type::KeyType;
use super::result_type::ResultType;
use crate::session_config::Threshold;
use crate::ErrorCode;

/// A reshare result. Field order and empty-field forms are mpcium's: an error
/// event has `"pub_key":null`, a success event `""` for the error fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResharingResultEvent {
    #[serde(default, deserialize_with = "go_zero::string")]
    pub wallet_id: String,
    /// mpcium's `t` of the reshared key: **t+1** nodes are needed to sign.
    pub new_threshold: Threshold,
    pub key_type: KeyType,
    /// The key's public key, unchanged by the reshare.
    #[serde(default, with = "b64::opt_bytes")]
    pub pub_key: Option<Vec<u8>>,
    pub result_type: ResultType,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub error_reason: String,
    #[serde(default, with = "go_zero::opt_error_code")]
    pub error_code: Option<ErrorCode>,
}

impl ResharingResultEvent {
    /// A completed reshare; `new_threshold` is t (t+1 signers).
    pub fn success(
        wallet_id: impl Into<String>,
        new_threshold: Threshold,
        key_type: KeyType,
        pub_key: Vec<u8>,
    ) -> Self {
        Self {
            wallet_id: wallet_id.into(),
            new_threshold,
            key_type,
            pub_key: Some(pub_key),
            result_type: ResultType::Success,
            error_reason: String::new(),
            error_code: None,
        }
    }

    /// A failed reshare. `reason` is shown to clients: short, no secrets.
    pub fn error(
        wallet_id: impl Into<String>,
        new_threshold: Threshold,
        key_type: KeyType,
        code: ErrorCode,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            wallet_id: wallet_id.into(),
            new_threshold,
            key_type,
            pub_key: None,
            result_type: ResultType::Error,
            error_reason: reason.into(),
            error_code: Some(code),
        }
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
