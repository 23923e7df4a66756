//! `GenerateKeyMessage`: a client asks for a new wallet (one secp256k1 and one
//! Ed25519 key) on `mpc.keygen_request.<wallet_id>`.

use serde::{Deserialize, Serialize};

use super::authorizer::{no_authorizers, AuthorizerSignature, InitiatorMessage};
use super::b64;
use super::error::{self, WireError};
use super::go_json::GoObject;
use super::session_spec::{self, CheckedSession, SessionSpec};
use crate::ids::WalletId;

/// A keygen request.
///
/// Unknown JSON fields are ignored, as mpcium does, so requests from newer
/// clients with extra optional fields still parse. `wallet_id` and `signature`
/// are required: mpcium's Go struct always writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateKeyMessage {
    /// Kept as sent; [`Self::parse_wallet_id`] validates it.
    pub wallet_id: String,
    /// Initiator signature over the raw UTF-8 bytes of `wallet_id`.
    #[serde(with = "b64::bytes")]
    pub signature: Vec<u8>,
    #[serde(default, skip_serializing_if = "no_authorizers")]
    pub authorizer_signatures: Option<Vec<AuthorizerSignature>>,
    /// Tessera's addition: session id, players, dynamic keys, threshold.
    #[serde(
        default,
        rename = "tessera_session",
        skip_serializing_if = "session_spec::no_session"
    )]
    pub session: Option<SessionSpec>,
    /// The initiator's signature over [`Self::session_signing_bytes`];
    /// required when `tessera_session` is present.
    #[serde(
        default,
        rename = "tessera_session_signature",
        with = "b64::opt_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_signature: Option<Vec<u8>>,
}

impl GenerateKeyMessage {
    /// Parses a request from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        error::decode(json)
    }

    /// JSON as mpcium's Go client writes it.
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        error::encode(self)
    }

    /// What the initiator signs: the raw UTF-8 bytes of `wallet_id` (no JSON).
    pub fn signing_bytes(&self) -> Vec<u8> {
        self.wallet_id.as_bytes().to_vec()
    }

    /// What a Tessera initiator signs to authenticate `tessera_session`:
    /// `tessera/session/v1` and a zero byte (see [`super::domain`]), then Go's
    /// compact JSON of `{"wallet_id", "session_id", "players",
    /// "dynamic_public_keys", "threshold"}` (see [`SessionSpec`]).
    pub fn session_signing_bytes(&self) -> Vec<u8> {
        let spec = self.session.clone().unwrap_or_default();
        let json = spec
            .append_to(GoObject::new().string("wallet_id", &self.wallet_id))
            .finish();
        super::domain::prefixed(super::domain::SESSION, json)
    }

    /// The session configuration, checked; the default when there is none.
    pub fn checked_session(&self) -> Result<CheckedSession, WireError> {
        session_spec::checked(self.session.as_ref())
    }

    /// The wallet id, validated.
    pub fn parse_wallet_id(&self) -> Result<WalletId, WireError> {
        error::parse_id::<WalletId>("wallet_id", &self.wallet_id)
    }

    /// Checks every field that can be checked without keys.
    /// The wallet id names the result subject (`mpc.mpc_keygen_result.<wallet_id>`),
    /// so it must be one subject token.
    pub fn validate(&self) -> Result<(), WireError> {
        self.parse_wallet_id()?;
        if self.wallet_id.starts_with('{') {
            return Err(WireError::WalletIdLooksLikeJson);
        }
        crate::ids::check_subject_token("wallet id", &self.wallet_id).map_err(|source| {
            WireError::InvalidId {
                field: "wallet_id",
                source,
            }
        })?;
        self.checked_session().map(drop)
    }
}

impl InitiatorMessage for GenerateKeyMessage {
    fn signing_bytes(&self) -> Vec<u8> {
        GenerateKeyMessage::signing_bytes(self)
    }
    fn initiator_signature(&self) -> &[u8] {
        &self.signature
    }
    fn initiator_id(&self) -> &str {
        &self.wallet_id
    }
    fn authorizer_signatures(&self) -> &[AuthorizerSignature] {
        self.authorizer_signatures.as_deref().unwrap_or_default()
    }
}
