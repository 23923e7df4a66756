//! What the audit log records: one [`AuditEvent`] per operation and outcome on
//! this node (a request it pulled, a session it joined for another node, a
//! proposal it refused, a request served for a delegating node). The node
//! writes them through an [`AuditSink`] (a hash-chained file: the node's
//! `audit` module); the consumer only says what happened.
//!
//! Never a secret: ids, the SHA-256 of what was signed, key type, path,
//! players, the initiator key's fingerprint and the authorizers' ids.
//! Events about a checked request are built in `audit_request`.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tessera_types::{NodeId, SessionId, TraceId};

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
    /// An event that names nothing of the request (it could not be read or
    /// its signature did not verify: its ids could be anyone's).
    /// `operation`: the request kind (`keygen`, `sign`).
    pub fn bare(operation: &'static str, role: Role, trace: &TraceId) -> Self {
        AuditEvent {
            operation,
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
