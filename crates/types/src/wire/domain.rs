//! Domain labels of the bytes a Tessera initiator signs beyond mpcium's
//! formats. mpcium's initiator signs a sign request's compact JSON (it begins
//! with `{`) and a keygen request's wallet id (no control characters, and
//! never beginning with `{`: see `GenerateKeyMessage::validate`). Tessera's own
//! signed bytes begin with a label and a zero byte, so a signature made for
//! one purpose never verifies for another: a path signature is no session
//! signature, and neither is a request signature. Node-signed statements
//! (results, ledger records, replies) have labels of their own
//! (`tessera_security::statement`).

/// Before the JSON an initiator signs for `tessera_path_signature`.
pub const PATH: &[u8] = b"tessera/path/v1\0";
/// Before the JSON an initiator signs for `tessera_session_signature`.
pub const SESSION: &[u8] = b"tessera/session/v1\0";
/// Before the JSON an initiator signs for a reshare's `tessera_replace_signature`.
pub const REPLACE: &[u8] = b"tessera/replace/v1\0";

/// `label || json`.
pub fn prefixed(label: &[u8], json: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + json.len());
    out.extend_from_slice(label);
    out.extend_from_slice(&json);
    out
}
