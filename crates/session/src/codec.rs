//! postcard encoding of protocol payloads, with failures mapped to the party
//! that sent the bytes.

use serde::{de::DeserializeOwned, Serialize};
use tessera_types::NodeId;

use crate::round::Fault;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, Fault> {
    postcard::to_allocvec(value).map_err(|e| Fault::Local(format!("encode: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(from: &NodeId, bytes: &[u8]) -> Result<T, Fault> {
    postcard::from_bytes(bytes).map_err(|e| Fault::Malformed {
        from: from.clone(),
        detail: e.to_string(),
    })
}

/// Fetches `from`'s entry of a round input, which the driver guarantees exists.
pub(crate) fn take<'a>(
    map: &'a std::collections::BTreeMap<NodeId, Vec<u8>>,
    from: &NodeId,
) -> Result<&'a [u8], Fault> {
    map.get(from)
        .map(Vec::as_slice)
        .ok_or_else(|| Fault::Local(format!("no message from {from} in a complete round")))
}
