//! One audit line: the chain fields (`seq`, `time`, `node`, `prev`) and the
//! event's fields, as one JSON object.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tessera_eventconsumer::AuditEvent;

/// `prev` of the very first line of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 (hex) of a line as written, without its newline.
pub fn hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// The JSON line for `event`, linked after the line whose hash is `prev`.
pub fn encode(
    event: &AuditEvent,
    seq: u64,
    time: &str,
    node: &str,
    prev: &str,
) -> serde_json::Result<String> {
    let mut fields = Map::new();
    fields.insert("seq".into(), seq.into());
    fields.insert("time".into(), time.into());
    fields.insert("node".into(), node.into());
    if let Value::Object(event) = serde_json::to_value(event)? {
        fields.extend(event);
    }
    fields.insert("prev".into(), prev.into());
    serde_json::to_string(&Value::Object(fields))
}

/// The chain fields of a line read back: `seq` and `prev`.
pub fn chain_fields(line: &str) -> Result<(u64, String), &'static str> {
    let v: Value = serde_json::from_str(line).map_err(|_| "not a JSON object")?;
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("no seq number")?;
    let prev = v
        .get("prev")
        .and_then(Value::as_str)
        .ok_or("no prev hash")?;
    Ok((seq, prev.to_string()))
}
