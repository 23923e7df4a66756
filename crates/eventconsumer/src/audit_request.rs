//! Audit events about a checked request ([`of_request`]) and how a request
//! ended ([`with_status`]): what `audit` records, from `request` and `metrics`.

use sha2::{Digest, Sha256};
use tessera_security::InitiatorKey;
use tessera_types::wire::InitiatorMessage;
use tessera_types::TraceId;

use crate::audit::{AuditEvent, Role};
use crate::metrics::Status;
use crate::request::Request;

/// An event about a request that passed its checks.
pub fn of_request(
    request: &Request,
    role: Role,
    initiator: &InitiatorKey,
    trace: &TraceId,
) -> AuditEvent {
    let mut e = AuditEvent::bare(request.kind().as_str(), role, trace);
    e.initiator_key = Some(fingerprint(initiator));
    match request {
        Request::Keygen(k) => {
            e.wallet_id = Some(k.message.wallet_id.clone());
            e.authorizers = authorizer_ids(&k.message);
        }
        Request::Sign(s) => {
            let m = &s.message;
            e.wallet_id = Some(m.wallet_id.clone());
            e.tx_id = Some(m.tx_id.clone());
            e.tx_sha256 = Some(hex::encode(Sha256::digest(&m.tx)));
            e.key_type = Some(m.key_type.as_str());
            e.derivation_path = m.derivation_path.clone().filter(|p| !p.is_empty());
            e.authorizers = authorizer_ids(m);
        }
    }
    e
}

/// The event with how the request ended.
pub fn with_status(event: AuditEvent, status: Status) -> AuditEvent {
    event.with_outcome(status.outcome(), status.code().map(|c| c.as_str()))
}

fn authorizer_ids(m: &impl InitiatorMessage) -> Vec<String> {
    m.authorizer_signatures()
        .iter()
        .map(|a| a.authorizer_id.clone())
        .collect()
}

/// The initiator key's short, stable id for the audit log.
pub fn fingerprint(key: &InitiatorKey) -> String {
    let digest = Sha256::digest(key.to_bytes());
    format!("{}:{}", key.kind().as_str(), hex::encode(&digest[..8]))
}
