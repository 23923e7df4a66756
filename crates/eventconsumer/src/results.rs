//! Result events as mpcium clients read them, and publishing them once.

use tessera_runner::{KeyMetadata, Signature};
use tessera_security::statement::{self, Domain};
use tessera_security::NodeIdentity;
use tessera_transport::async_nats::jetstream;
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::ids::check_subject_token;
use tessera_types::wire::{KeygenResultEvent, SigningIds, SigningResultEvent, WireError};
use tessera_types::{ErrorCode, TraceId};

use crate::error::{RequestError, ServeError};
use crate::request::{Kind, Request};

/// A result ready to publish: the subject and the event's JSON.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub subject: String,
    pub json: Vec<u8>,
}

/// What a request's result names: its ids, read from the checked request or,
/// for a refused one, from hints in its JSON.
#[derive(Clone, Debug, Default)]
pub struct ResultIds {
    pub wallet_id: String,
    pub tx_id: String,
    pub network_internal_code: String,
}

impl ResultIds {
    pub fn of(request: &Request) -> Self {
        match request {
            Request::Keygen(k) => ResultIds {
                wallet_id: k.message.wallet_id.clone(),
                ..Default::default()
            },
            Request::Sign(s) => ResultIds {
                wallet_id: s.message.wallet_id.clone(),
                tx_id: s.message.tx_id.clone(),
                network_internal_code: s.message.network_internal_code.clone(),
            },
        }
    }

    fn signing(&self) -> SigningIds {
        SigningIds {
            wallet_id: self.wallet_id.clone(),
            tx_id: self.tx_id.clone(),
            network_internal_code: self.network_internal_code.clone(),
        }
    }
}

/// The subject token of a keygen result whose wallet id cannot be one (a
/// refused request): its error result still goes out once, there.
pub const INVALID_WALLET_TOKEN: &str = "invalid_wallet_id";

/// The result subject: per client, and for keygen per wallet.
pub fn subject(kind: Kind, client_id: Option<&str>, ids: &ResultIds) -> String {
    match kind {
        Kind::Keygen => {
            let token = match check_subject_token("wallet id", &ids.wallet_id) {
                Ok(()) => ids.wallet_id.as_str(),
                Err(_) => INVALID_WALLET_TOKEN,
            };
            mpc::keygen_result(client_id, token)
        }
        Kind::Sign => mpc::signing_result(client_id),
    }
}

/// Where the error result of a request whose initiator signature did not
/// verify goes: under the result stream, but on no subject a client's
/// waiter reads (those end in the wallet id, or in `complete`).
pub fn unverified_subject(kind: Kind) -> &'static str {
    match kind {
        Kind::Keygen => mpc::UNVERIFIED_KEYGEN_RESULT,
        Kind::Sign => mpc::UNVERIFIED_SIGNING_RESULT,
    }
}

fn encoded(json: Result<Vec<u8>, WireError>) -> Result<Vec<u8>, ServeError> {
    json.map_err(|e| ServeError::Bug(format!("result encoding: {e}")))
}

/// mpcium's 64-byte X‖Y form of a SEC1 secp256k1 key.
pub fn ecdsa_xy(sec1: &[u8]) -> Option<[u8; 64]> {
    let pk = k256::PublicKey::from_sec1_bytes(sec1).ok()?;
    let point = k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&pk, false);
    point.as_bytes()[1..].try_into().ok()
}

/// The error result of a request of `kind`.
pub fn error(
    kind: Kind,
    ids: &ResultIds,
    code: ErrorCode,
    reason: String,
) -> Result<Vec<u8>, ServeError> {
    match kind {
        Kind::Keygen => encoded(KeygenResultEvent::error(&ids.wallet_id, code, reason).to_json()),
        Kind::Sign => {
            let timeout = matches!(
                code,
                ErrorCode::SessionTimeout
                    | ErrorCode::SessionJoinTimeout
                    | ErrorCode::NetworkTimeout
            );
            let event =
                SigningResultEvent::error(ids.signing(), code, reason).with_timeout(timeout);
            encoded(event.to_json())
        }
    }
}

/// A successful signature.
pub fn signing_success(ids: &ResultIds, sig: &Signature) -> Result<Vec<u8>, ServeError> {
    let ids = ids.signing();
    let event = match sig {
        Signature::Ecdsa(s) => SigningResultEvent::ecdsa_success(ids, s.r, s.s, s.recovery_id),
        Signature::Eddsa(s) => SigningResultEvent::eddsa_success(ids, s.signature),
    };
    encoded(event.to_json())
}

/// A new wallet's two keys, in mpcium's encoding.
pub fn keygen_success(
    wallet_id: &str,
    ecdsa: &KeyMetadata,
    eddsa: &KeyMetadata,
) -> Result<Vec<u8>, ServeError> {
    let xy = ecdsa_xy(&ecdsa.public_key).ok_or(ServeError::KeyEncoding("bad ecdsa public key"))?;
    let ed: [u8; 32] = eddsa
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| ServeError::KeyEncoding("bad eddsa public key"))?;
    let chain_code = ecdsa
        .chain_code
        .ok_or(ServeError::KeyEncoding("ecdsa key without chain code"))?;
    let event = KeygenResultEvent::success(wallet_id, xy, ed).with_ecdsa_chain_code(chain_code);
    encoded(event.to_json())
}

/// The headers of a result event: `msg_id` as JetStream's idempotency key,
/// and this node's id and signature over subject, message id and payload
/// (see `docs/requests.md`, "Checking a result's signature").
pub fn signed_headers(identity: &NodeIdentity, outcome: &Outcome, msg_id: &str) -> HeaderMap {
    let signature = statement::sign(
        identity,
        Domain::Result,
        &[outcome.subject.as_bytes(), msg_id.as_bytes(), &outcome.json],
    );
    let mut headers = HeaderMap::new();
    headers.insert(mpc::MSG_ID_HEADER, msg_id);
    headers.insert(mpc::RESULT_NODE_HEADER, identity.node_id().as_str());
    headers.insert(
        mpc::RESULT_SIGNATURE_HEADER,
        hex::encode(signature).as_str(),
    );
    headers
}

/// Publishes `outcome`, signed, with `msg_id` as JetStream's idempotency key
/// and waits for the stream to store it.
/// The request's trace id rides along in `Tessera-Trace-Id` (not signed).
pub async fn publish(
    js: &jetstream::Context,
    identity: &NodeIdentity,
    outcome: &Outcome,
    msg_id: &str,
    trace: &TraceId,
) -> Result<(), RequestError> {
    let mut headers = signed_headers(identity, outcome, msg_id);
    headers.insert(mpc::TRACE_ID_HEADER, trace.as_str());
    js.publish_with_headers(
        outcome.subject.clone(),
        headers,
        outcome.json.clone().into(),
    )
    .await
    .map_err(|e| RequestError::JetStream(format!("publish result: {e}")))?
    .await
    .map_err(|e| RequestError::JetStream(format!("result not stored: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keygen_result_subject_is_always_valid() {
        let ids = |w: &str| ResultIds {
            wallet_id: w.to_string(),
            ..Default::default()
        };
        assert_eq!(
            subject(Kind::Keygen, Some("c1"), &ids("w-1")),
            "mpc.mpc_keygen_result.c1.w-1"
        );
        for bad in ["a b", "a.b", "", "a>", "*"] {
            assert_eq!(
                subject(Kind::Keygen, None, &ids(bad)),
                "mpc.mpc_keygen_result.invalid_wallet_id",
                "{bad:?}"
            );
        }
        assert_eq!(
            subject(Kind::Sign, None, &ids("a b")),
            "mpc.mpc_signing_result.complete"
        );
    }
}
