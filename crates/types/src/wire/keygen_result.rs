//! `KeygenResultEvent`: the answer to a keygen request, published on
//! `mpc.mpc_keygen_result[.<client_id>].<wallet_id>`.

use serde::{Deserialize, Serialize};

use super::b64;
use super::error::{self, WireError};
use super::go_zero;
use super::result_type::ResultType;
use crate::ErrorCode;

/// A keygen result. Field order and empty-field forms are mpcium's: an error
/// event has `null` keys, a success event has `""` for the error fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeygenResultEvent {
    #[serde(default, deserialize_with = "go_zero::string")]
    pub wallet_id: String,
    /// secp256k1 public key: 64 bytes X‖Y, no `0x04` prefix.
    #[serde(default, with = "b64::opt_bytes")]
    pub ecdsa_pub_key: Option<Vec<u8>>,
    /// Ed25519 public key: 32 bytes.
    #[serde(default, with = "b64::opt_bytes")]
    pub eddsa_pub_key: Option<Vec<u8>>,
    pub result_type: ResultType,
    #[serde(default, deserialize_with = "go_zero::string")]
    pub error_reason: String,
    #[serde(default, with = "go_zero::opt_error_code")]
    pub error_code: Option<ErrorCode>,
    /// Tessera's addition: the secp256k1 key's BIP-32 chain code (32 bytes), which
    /// DKLs23 draws at random during keygen. Clients need it to derive child public
    /// keys offline. Absent on errors, so mpcium's format is unchanged there.
    #[serde(
        default,
        rename = "tessera_ecdsa_chain_code",
        with = "b64::opt_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub ecdsa_chain_code: Option<Vec<u8>>,
}

impl KeygenResultEvent {
    /// Both keys of a new wallet.
    pub fn success(
        wallet_id: impl Into<String>,
        ecdsa_pub_xy: [u8; 64],
        eddsa_pub: [u8; 32],
    ) -> Self {
        Self {
            wallet_id: wallet_id.into(),
            ecdsa_pub_key: Some(ecdsa_pub_xy.to_vec()),
            eddsa_pub_key: Some(eddsa_pub.to_vec()),
            result_type: ResultType::Success,
            error_reason: String::new(),
            error_code: None,
            ecdsa_chain_code: None,
        }
    }

    /// Adds the secp256k1 chain code to a success event.
    pub fn with_ecdsa_chain_code(mut self, chain_code: [u8; 32]) -> Self {
        self.ecdsa_chain_code = Some(chain_code.to_vec());
        self
    }

    /// A failed keygen. `reason` is shown to clients: short, no secrets.
    pub fn error(wallet_id: impl Into<String>, code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            wallet_id: wallet_id.into(),
            ecdsa_pub_key: None,
            eddsa_pub_key: None,
            result_type: ResultType::Error,
            error_reason: reason.into(),
            error_code: Some(code),
            ecdsa_chain_code: None,
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
