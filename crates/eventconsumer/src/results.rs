//! Result events as mpcium clients read them, and publishing them once.

use tessera_runner::Signature;
use tessera_transport::async_nats::jetstream;
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::wire::{KeygenResultEvent, SigningIds, SigningResultEvent};
use tessera_types::ErrorCode;

use crate::error::RequestError;

/// A result ready to publish: the subject and the event's JSON.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub subject: String,
    pub json: Vec<u8>,
}

/// mpcium's 64-byte X‖Y form of a SEC1 secp256k1 key.
pub fn ecdsa_xy(sec1: &[u8]) -> Option<[u8; 64]> {
    let pk = k256::PublicKey::from_sec1_bytes(sec1).ok()?;
    let point = k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&pk, false);
    point.as_bytes()[1..].try_into().ok()
}

pub fn keygen_json(event: &KeygenResultEvent) -> Vec<u8> {
    event.to_json().unwrap_or_default()
}

pub fn keygen_error(wallet: &str, code: ErrorCode, reason: impl Into<String>) -> Vec<u8> {
    keygen_json(&KeygenResultEvent::error(wallet, code, reason))
}

pub fn signing_json(event: &SigningResultEvent) -> Vec<u8> {
    event.to_json().unwrap_or_default()
}

pub fn signing_error(ids: SigningIds, code: ErrorCode, reason: impl Into<String>) -> Vec<u8> {
    let timeout = matches!(
        code,
        ErrorCode::SessionTimeout | ErrorCode::SessionJoinTimeout | ErrorCode::NetworkTimeout
    );
    signing_json(&SigningResultEvent::error(ids, code, reason).with_timeout(timeout))
}

pub fn signing_success(ids: SigningIds, sig: &Signature) -> Vec<u8> {
    let event = match sig {
        Signature::Ecdsa(s) => SigningResultEvent::ecdsa_success(ids, s.r, s.s, s.recovery_id),
        Signature::Eddsa(s) => SigningResultEvent::eddsa_success(ids, s.signature),
    };
    signing_json(&event)
}

/// Publishes `outcome` with `msg_id` as JetStream's idempotency key and waits
/// for the stream to store it.
pub async fn publish(
    js: &jetstream::Context,
    outcome: &Outcome,
    msg_id: &str,
) -> Result<(), RequestError> {
    let mut headers = HeaderMap::new();
    headers.insert(mpc::MSG_ID_HEADER, msg_id);
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
