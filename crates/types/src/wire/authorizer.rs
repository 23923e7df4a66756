//! Authorizer approvals and what every signed request has in common.
//!
//! An authorizer approves a request by signing the compact Go JSON of
//! `{"initiator_id","initiator_raw","initiator_sig"}`: the request's initiator
//! id (wallet id for keygen and reshare, tx id for signing), its signed bytes
//! and the initiator's signature, the last two as base64.

use serde::{Deserialize, Serialize};

use super::b64;
use super::go_json::GoObject;

/// One approval in a request's `authorizer_signatures`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuthorizerSignature {
    /// Which configured authorizer key to check against.
    pub authorizer_id: String,
    /// Signature over [`authorizer_payload`].
    #[serde(with = "b64::bytes")]
    pub signature: Vec<u8>,
}

/// The bytes an authorizer signs for a request.
///
/// `initiator_sig` is written as a base64 string even when empty; Go writes
/// `null` for a nil signature, but a request without an initiator signature
/// fails verification before authorizers are looked at.
pub fn authorizer_payload(
    initiator_id: &str,
    initiator_raw: &[u8],
    initiator_sig: &[u8],
) -> Vec<u8> {
    GoObject::new()
        .string("initiator_id", initiator_id)
        .bytes("initiator_raw", initiator_raw)
        .bytes("initiator_sig", initiator_sig)
        .finish()
}

/// A client request signed by an initiator key, optionally approved by authorizers.
pub trait InitiatorMessage {
    /// The exact bytes the initiator signed.
    fn signing_bytes(&self) -> Vec<u8>;
    /// The initiator's signature over [`Self::signing_bytes`].
    fn initiator_signature(&self) -> &[u8];
    /// The id authorizers bind to: wallet id (keygen, reshare) or tx id (sign).
    fn initiator_id(&self) -> &str;
    /// Authorizer approvals; empty when the request has none.
    fn authorizer_signatures(&self) -> &[AuthorizerSignature];

    /// The bytes each authorizer signs for this request.
    fn authorizer_payload(&self) -> Vec<u8> {
        authorizer_payload(
            self.initiator_id(),
            &self.signing_bytes(),
            self.initiator_signature(),
        )
    }
}

/// Serde predicate: Go's `omitempty` drops both a nil and an empty slice.
pub(crate) fn no_authorizers(list: &Option<Vec<AuthorizerSignature>>) -> bool {
    list.as_ref().is_none_or(Vec::is_empty)
}
