//! What the audit log records: one [`AuditEvent`] per operation and outcome on
//! this node (a request it pulled, a session it joined for another node, a
//! proposal it refused, a request served for a delegating node). The node
//! writes them through an [`AuditSink`] (a hash-chained file: the node's
//! `audit` module); the consumer only says what happened.
//!
//! Never a secret: ids, the SHA-256 of what was signed, key type, path,
//! players, the initiator key's fingerprint and the authorizers' ids.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tessera_security::InitiatorKey;
use tessera_types::wire::InitiatorMessage;
use tessera_types::{NodeId, SessionId, TraceId};

use crate::metrics::Status;
use crate::request::{Kind, Request};

/// Where audit events go. Called on the request's task: it must not block long.
pub trait AuditSink: Send + Sync + fmt::Debug {
    fn record(&self, event: &AuditEvent);
}

/// This node's part in the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Pulled the request and answered it.
    Coordinator,
    /// Joined another node's session (or refused to).
    Player,
    /// Served a request another node handed here.
    Delegate,
}

/// One audit line's content; the sink adds the time, the node and the chain.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent {
    pub operation: &'static str,
    pub role: Role,
    /// success, repeated, error, unverified (coordinator); joined, refused,
    /// success, error (player, delegate).
    pub outcome: &'static str,
    /// The error code, absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    /// SHA-256 (hex) of the bytes signed (the request's `tx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation_path: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub players: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `<kind>:<first 8 bytes of SHA-256 of the public key, hex>`: the key
    /// whose signature the request carried (absent when it did not verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiator_key: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<String>,
    pub duration_ms: u64,
}

impl AuditEvent {
    /// An event about a request that passed its checks.
    pub fn of_request(
        request: &Request,
        role: Role,
        initiator: &InitiatorKey,
        trace: &TraceId,
    ) -> Self {
        let mut e = Self::bare(request.kind(), role, trace);
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

    /// An event that names nothing of the request (it could not be read or
    /// its signature did not verify: its ids could be anyone's).
    pub fn bare(kind: Kind, role: Role, trace: &TraceId) -> Self {
        AuditEvent {
            operation: kind.as_str(),
            role,
            outcome: "",
            code: None,
            trace_id: trace.to_string(),
            wallet_id: None,
            tx_id: None,
            tx_sha256: None,
            key_type: None,
            derivation_path: None,
            players: Vec::new(),
            session_id: None,
            initiator_key: None,
            authorizers: Vec::new(),
            duration_ms: 0,
        }
    }

    pub fn with_status(mut self, status: Status) -> Self {
        self.outcome = status.outcome();
        self.code = status.code().map(|c| c.as_str());
        self
    }

    pub fn with_outcome(mut self, outcome: &'static str, code: Option<&'static str>) -> Self {
        self.outcome = outcome;
        self.code = code;
        self
    }

    pub fn with_session(mut self, session_id: &SessionId, players: &[NodeId]) -> Self {
        self.session_id = Some(session_id.to_string());
        self.players = players.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn with_duration(mut self, d: Duration) -> Self {
        self.duration_ms = d.as_millis().try_into().unwrap_or(u64::MAX);
        self
    }
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
