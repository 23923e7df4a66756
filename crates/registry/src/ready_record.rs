//! The value of a ready key (`<prefix>/ready/<node_id>`): a [`ReadyRecord`]
//! signed by the node it names, over the key and the record's JSON, like the
//! request ledger's records. The ready *set* is the keys held by live
//! sessions (see `watcher`); the record says when the node started, when it
//! last renewed, and how old its own ready view was then. Anyone who can
//! write to Consul can write a value: [`open`] believes only a record that a
//! node of the caller's own configuration signed for this key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tessera_security::statement::{self, Domain, StatementError};
use tessera_security::NodeIdentity;
use tessera_types::{ErrorCode, NodeId, PublicIdentity};

/// What a node says about itself in its ready key. Informational: only the
/// key and its session decide readiness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyRecord {
    pub node_id: NodeId,
    /// Unix seconds when this process started publishing.
    pub started_at: u64,
    /// The crate version of the publishing node.
    pub version: String,
    /// Unix seconds of this write (the node rewrites it at every renewal,
    /// TTL/2). 0 in records of older nodes.
    #[serde(default)]
    pub renewed_at: u64,
    /// How long before `renewed_at` Consul last answered the node's ready
    /// watcher (its view's age), in milliseconds; `None` before it has a view.
    #[serde(default)]
    pub view_age_ms: Option<u64>,
}

/// The stored form of a signed record.
#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    /// The record's JSON, as signed.
    record: String,
    /// Ed25519 by `record.node_id` over the key and `record` (base64).
    signature: String,
}

/// Why a ready key's value is not believed.
#[derive(Debug, thiserror::Error)]
pub enum ReadyRecordError {
    #[error("ready record at {key} is not signed")]
    Unsigned { key: String },
    #[error("ready record at {key}: {error}")]
    Signature { key: String, error: StatementError },
    #[error("ready record at {key} names {named}, not the node of its key")]
    OtherNode { key: String, named: String },
    #[error("ready record at {key} is malformed")]
    Malformed { key: String },
}

impl ReadyRecordError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ReadyRecordError::Unsigned { .. } => ErrorCode::MessageVerification,
            ReadyRecordError::Signature { error, .. } => error.code(),
            ReadyRecordError::OtherNode { .. } => ErrorCode::MessageVerification,
            ReadyRecordError::Malformed { .. } => ErrorCode::MessageFormat,
        }
    }
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The value to store at `key`: signed by `identity` when there is one, else
/// the record's bare JSON (as nodes before signed records wrote it).
pub fn seal(identity: Option<&NodeIdentity>, key: &str, record: &ReadyRecord) -> Vec<u8> {
    // A struct of strings and integers always serializes.
    let json = serde_json::to_string(record).unwrap_or_default();
    match identity {
        None => json.into_bytes(),
        Some(identity) => {
            let signature =
                statement::sign(identity, Domain::Ready, &[key.as_bytes(), json.as_bytes()]);
            let signed = Signed {
                record: json,
                signature: BASE64.encode(signature),
            };
            serde_json::to_vec(&signed).unwrap_or_default()
        }
    }
}

/// The record stored at `key` for `node`, if `node` signed it with the
/// identity `lookup` gives (the caller's configuration, never Consul).
pub fn open(
    key: &str,
    node: &NodeId,
    value: &[u8],
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
) -> Result<ReadyRecord, ReadyRecordError> {
    let malformed = || ReadyRecordError::Malformed {
        key: key.to_string(),
    };
    let Ok(signed) = serde_json::from_slice::<Signed>(value) else {
        // An unsigned record (an older node) or anything else.
        return Err(match serde_json::from_slice::<ReadyRecord>(value) {
            Ok(_) => ReadyRecordError::Unsigned {
                key: key.to_string(),
            },
            Err(_) => malformed(),
        });
    };
    let signature = BASE64.decode(&signed.signature).map_err(|_| malformed())?;
    statement::verify(
        lookup,
        node.as_str(),
        &signature,
        Domain::Ready,
        &[key.as_bytes(), signed.record.as_bytes()],
    )
    .map_err(|error| ReadyRecordError::Signature {
        key: key.to_string(),
        error,
    })?;
    let record: ReadyRecord = serde_json::from_str(&signed.record).map_err(|_| malformed())?;
    if &record.node_id != node {
        return Err(ReadyRecordError::OtherNode {
            key: key.to_string(),
            named: record.node_id.to_string(),
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(node: &str) -> ReadyRecord {
        ReadyRecord {
            node_id: NodeId::new(node).unwrap(),
            started_at: 1,
            version: "0.1.0".into(),
            renewed_at: 2,
            view_age_ms: Some(30),
        }
    }

    #[test]
    fn only_the_named_nodes_signature_for_this_key_is_believed() {
        let a = NodeIdentity::generate(NodeId::new("node0").unwrap());
        let b = NodeIdentity::generate(NodeId::new("node1").unwrap());
        let known = |n: &NodeId| {
            [a.public(), b.public()]
                .into_iter()
                .find(|p| &p.node_id == n)
        };
        let n0 = NodeId::new("node0").unwrap();
        let key = "t/ready/node0";
        let value = seal(Some(&a), key, &record("node0"));
        assert_eq!(open(key, &n0, &value, known).unwrap(), record("node0"));
        // Moved to another key, or signed by another node: refused.
        assert!(matches!(
            open(
                "t/ready/node1",
                &NodeId::new("node1").unwrap(),
                &value,
                known
            ),
            Err(ReadyRecordError::Signature { .. })
        ));
        let forged = seal(Some(&b), key, &record("node0"));
        assert!(matches!(
            open(key, &n0, &forged, known),
            Err(ReadyRecordError::Signature { .. })
        ));
        // Unknown signer: not in the caller's configuration.
        assert!(open(key, &n0, &value, |_| None).is_err());
        // Unsigned (older nodes) and garbage.
        let bare = seal(None, key, &record("node0"));
        assert!(matches!(
            open(key, &n0, &bare, known),
            Err(ReadyRecordError::Unsigned { .. })
        ));
        assert!(matches!(
            open(key, &n0, b"nonsense", known),
            Err(ReadyRecordError::Malformed { .. })
        ));
        // Records of older nodes (without the renewal fields) still parse.
        let old: ReadyRecord =
            serde_json::from_str(r#"{"node_id":"node0","started_at":1,"version":"0.1.0"}"#)
                .unwrap();
        assert_eq!((old.renewed_at, old.view_age_ms), (0, None));
    }
}
