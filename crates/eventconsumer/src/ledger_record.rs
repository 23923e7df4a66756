//! A request ledger record as stored: the record's JSON and the signature of
//! the node it names, over the bucket key and that JSON. Anyone who can write
//! to the bucket can put bytes there; only a record a cluster node signed for
//! this key is believed. A record that fails the check is treated as absent
//! (and reported): its claim is taken over, its result never published.

use serde::{Deserialize, Serialize};
use tessera_security::statement::{self, Domain, StatementError};
use tessera_security::NodeIdentity;
use tessera_types::{NodeId, PublicIdentity};

/// What a ledger entry says about one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// SHA-256 of what the initiator signed (hex).
    pub digest: String,
    /// `None` while a node is serving the request.
    pub result: Option<String>,
    pub node: String,
    /// Which run of `node` claimed it (random per process start): a claim of
    /// an earlier run of this node is orphaned. Empty in older records.
    #[serde(default)]
    pub instance: String,
    pub at_unix: u64,
}

/// The stored form.
#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    /// The record's JSON, as signed.
    record: String,
    /// Ed25519 by `record.node` over the key and `record` (hex).
    signature: String,
}

/// Why a stored entry is not believed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("ledger entry {key} is no signed record")]
    Unsigned { key: String },
    #[error("ledger entry {key}: {error}")]
    Signature { key: String, error: StatementError },
    #[error("ledger record encoding: {0}")]
    Encoding(serde_json::Error),
}

impl RecordError {
    pub fn code(&self) -> tessera_types::ErrorCode {
        match self {
            RecordError::Unsigned { .. } => tessera_types::ErrorCode::MessageVerification,
            RecordError::Signature { error, .. } => error.code(),
            RecordError::Encoding(_) => tessera_types::ErrorCode::Internal,
        }
    }
}

/// Signs `record` for `key` as this node.
pub fn seal(identity: &NodeIdentity, key: &str, record: &Record) -> Result<Vec<u8>, RecordError> {
    let json = serde_json::to_string(record).map_err(RecordError::Encoding)?;
    let signature = statement::sign(identity, Domain::Ledger, &[key.as_bytes(), json.as_bytes()]);
    serde_json::to_vec(&Signed {
        record: json,
        signature: hex::encode(signature),
    })
    .map_err(RecordError::Encoding)
}

/// Reads the entry stored under `key`, believed only when signed by the node
/// it names, with the identity `lookup` gives for that node.
pub fn open(
    key: &str,
    bytes: &[u8],
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
) -> Result<Record, RecordError> {
    let unsigned = || RecordError::Unsigned {
        key: key.to_string(),
    };
    let signed: Signed = serde_json::from_slice(bytes).map_err(|_| unsigned())?;
    let record: Record = serde_json::from_str(&signed.record).map_err(|_| unsigned())?;
    let signature = hex::decode(&signed.signature).map_err(|_| unsigned())?;
    statement::verify(
        lookup,
        &record.node,
        &signature,
        Domain::Ledger,
        &[key.as_bytes(), signed.record.as_bytes()],
    )
    .map_err(|error| RecordError::Signature {
        key: key.to_string(),
        error,
    })?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(node: &str, result: Option<&str>) -> Record {
        Record {
            digest: "d".repeat(64),
            result: result.map(str::to_string),
            node: node.to_string(),
            instance: "i".to_string(),
            at_unix: 1,
        }
    }

    #[test]
    fn only_a_record_signed_by_the_node_it_names_for_its_key_is_believed() {
        let n0 = NodeIdentity::generate(NodeId::new("node0").unwrap());
        let n1 = NodeIdentity::generate(NodeId::new("node1").unwrap());
        let known = |n: &NodeId| match n.as_str() {
            "node0" => Some(n0.public()),
            "node1" => Some(n1.public()),
            _ => None,
        };
        let done = record("node0", Some("{\"result\":1}"));
        let bytes = seal(&n0, "sign.k1", &done).unwrap();
        assert_eq!(open("sign.k1", &bytes, known).unwrap(), done);
        // Moved to another key.
        assert!(matches!(
            open("sign.k2", &bytes, known),
            Err(RecordError::Signature { .. })
        ));
        // Signed by node1 in node0's name.
        let e = open("sign.k1", &seal(&n1, "sign.k1", &done).unwrap(), known).unwrap_err();
        assert!(matches!(e, RecordError::Signature { .. }), "{e}");
        // Naming a node that is not in the cluster.
        let stranger = NodeIdentity::generate(NodeId::new("node9").unwrap());
        let e = open(
            "sign.k1",
            &seal(&stranger, "sign.k1", &record("node9", None)).unwrap(),
            known,
        )
        .unwrap_err();
        assert!(matches!(e, RecordError::Signature { .. }), "{e}");
        // The unsigned form older nodes wrote.
        let old = serde_json::to_vec(&done).unwrap();
        assert!(matches!(
            open("sign.k1", &old, known),
            Err(RecordError::Unsigned { .. })
        ));
        // A changed result under the original signature.
        let mut signed: Signed = serde_json::from_slice(&bytes).unwrap();
        signed.record = signed
            .record
            .replace("\\\"result\\\":1", "\\\"result\\\":2");
        assert!(signed.record.contains("\\\"result\\\":2"));
        let forged = serde_json::to_vec(&signed).unwrap();
        assert!(open("sign.k1", &forged, known).is_err());
    }
}
