//! `SignTxMessage`: a client asks for a signature on `mpc.signing_request.<tx_id>`.

use serde::{Deserialize, Serialize};

use super::authorizer::{
    authorizer_payload, no_authorizers, AuthorizerSignature, InitiatorMessage,
};
use super::b64;
use super::error::{self, WireError};
use super::go_json::GoObject;
use super::key_type::KeyType;
use super::session_spec::{self, CheckedSession, SessionSpec};
use crate::ids::{TxId, WalletId};

/// Deepest derivation path BIP-32 can express (depth is one byte).
pub const MAX_DERIVATION_DEPTH: usize = 255;

/// First hardened BIP-32 index; only indices below it can be derived from a
/// public key, which is all a threshold key allows.
const HARDENED: u32 = 0x8000_0000;

/// A signing request. Field order is mpcium's Go struct order.
///
/// Unknown JSON fields are ignored. Every field the initiator signs is required
/// (all known clients write them); `derivation_path` and
/// `authorizer_signatures` may be missing, since the TypeScript client omits
/// an unset path and Go omits empty approvals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignTxMessage {
    pub key_type: KeyType,
    /// Kept as sent; [`Self::parse_wallet_id`] validates it.
    pub wallet_id: String,
    /// The client's chain code; echoed in the result.
    pub network_internal_code: String,
    /// Kept as sent; [`Self::parse_tx_id`] validates it.
    pub tx_id: String,
    /// secp256k1: the 32-byte digest. ed25519: the message itself.
    #[serde(with = "b64::bytes")]
    pub tx: Vec<u8>,
    /// Initiator signature over [`Self::signing_bytes`].
    #[serde(with = "b64::bytes")]
    pub signature: Vec<u8>,
    /// Non-hardened BIP-32 child path. Written as `null` when unset, as Go does.
    /// Not covered by mpcium's signature: never act on it unauthenticated.
    #[serde(default)]
    pub derivation_path: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "no_authorizers")]
    pub authorizer_signatures: Option<Vec<AuthorizerSignature>>,
    /// Tessera's addition: the initiator's signature over
    /// [`Self::path_signing_bytes`], which covers the derivation path. A request
    /// with a non-empty `derivation_path` is served only when this verifies;
    /// mpcium clients, which never send a path, omit it.
    #[serde(
        default,
        rename = "tessera_path_signature",
        with = "b64::opt_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub path_signature: Option<Vec<u8>>,
    /// Tessera's addition: session id, players, dynamic keys (threshold is the key's).
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

impl SignTxMessage {
    /// Parses a request from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
        error::decode(json).map_err(|e| super::key_type::unknown_key_type(json).unwrap_or(e))
    }

    /// JSON as mpcium's Go client writes it.
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        error::encode(self)
    }

    /// What the initiator signs: Go's compact JSON of
    /// `{"key_type","wallet_id","network_internal_code","tx_id","tx"}`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        self.signed_fields().finish()
    }

    /// The five fields mpcium's initiator signs, in order.
    fn signed_fields(&self) -> GoObject {
        GoObject::new()
            .string("key_type", self.key_type.as_str())
            .string("wallet_id", &self.wallet_id)
            .string("network_internal_code", &self.network_internal_code)
            .string("tx_id", &self.tx_id)
            .bytes("tx", &self.tx)
    }

    /// What a Tessera initiator signs to authenticate a derivation path:
    /// `tessera/path/v1` and a zero byte (see [`super::domain`]), then Go's
    /// compact JSON of the five fields of [`Self::signing_bytes`], in the same
    /// order, followed by `"derivation_path":[...]` (`[]` when unset).
    pub fn path_signing_bytes(&self) -> Vec<u8> {
        let json = self
            .signed_fields()
            .uints(
                "derivation_path",
                self.derivation_path.as_deref().unwrap_or_default(),
            )
            .finish();
        super::domain::prefixed(super::domain::PATH, json)
    }

    /// What a Tessera initiator signs to authenticate `tessera_session`:
    /// `tessera/session/v1` and a zero byte, then the JSON of the
    /// fields of [`Self::path_signing_bytes`], then `"session_id"`,
    /// `"players"`, `"dynamic_public_keys"` and `"threshold"` (see [`SessionSpec`]).
    pub fn session_signing_bytes(&self) -> Vec<u8> {
        let spec = self.session.clone().unwrap_or_default();
        let fields = self.signed_fields().uints(
            "derivation_path",
            self.derivation_path.as_deref().unwrap_or_default(),
        );
        super::domain::prefixed(super::domain::SESSION, spec.append_to(fields).finish())
    }

    /// The session configuration, checked; the default when there is none.
    pub fn checked_session(&self) -> Result<CheckedSession, WireError> {
        session_spec::checked(self.session.as_ref())
    }

    /// `true` when the request asks for a child key (a non-empty path).
    pub fn has_derivation_path(&self) -> bool {
        self.derivation_path.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// The wallet id, validated.
    pub fn parse_wallet_id(&self) -> Result<WalletId, WireError> {
        error::parse_id::<WalletId>("wallet_id", &self.wallet_id)
    }

    /// The tx id, validated.
    pub fn parse_tx_id(&self) -> Result<TxId, WireError> {
        error::parse_id::<TxId>("tx_id", &self.tx_id)
    }

    /// Checks ids, the digest length for secp256k1 and the derivation path.
    pub fn validate(&self) -> Result<(), WireError> {
        self.parse_wallet_id()?;
        self.parse_tx_id()?;
        if self.key_type == KeyType::Secp256k1 && self.tx.len() != 32 {
            return Err(WireError::DigestLength { got: self.tx.len() });
        }
        if let Some(path) = &self.derivation_path {
            if path.len() > MAX_DERIVATION_DEPTH {
                return Err(WireError::DerivationPath {
                    reason: "is deeper than 255 levels",
                });
            }
            if path.iter().any(|&i| i >= HARDENED) {
                return Err(WireError::DerivationPath {
                    reason: "has a hardened index",
                });
            }
        }
        self.checked_session().map(drop)
    }
}

impl InitiatorMessage for SignTxMessage {
    fn signing_bytes(&self) -> Vec<u8> {
        SignTxMessage::signing_bytes(self)
    }
    fn initiator_signature(&self) -> &[u8] {
        &self.signature
    }
    fn initiator_id(&self) -> &str {
        &self.tx_id
    }
    fn authorizer_signatures(&self) -> &[AuthorizerSignature] {
        self.authorizer_signatures.as_deref().unwrap_or_default()
    }

    /// With a derivation path, authorizers approve the bytes that include it
    /// ([`SignTxMessage::path_signing_bytes`] and the initiator's
    /// `tessera_path_signature`): an approval of the digest alone authorizes
    /// no child key. Without a path, mpcium's payload.
    fn authorizer_payload(&self) -> Vec<u8> {
        if self.has_derivation_path() {
            return authorizer_payload(
                &self.tx_id,
                &self.path_signing_bytes(),
                self.path_signature.as_deref().unwrap_or_default(),
            );
        }
        authorizer_payload(
            self.initiator_id(),
            &self.signing_bytes(),
            self.initiator_signature(),
        )
    }
}
