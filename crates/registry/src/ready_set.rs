//! The ready set read once, for observers (`tessera cluster status`): each
//! ready node with its record, checked against the caller's identities. The
//! same rule as the node's watcher decides who is ready (a key directly under
//! `<prefix>/ready/`, naming a node id, held by a session).

use std::collections::HashSet;

use tessera_types::{NodeId, PublicIdentity};

use crate::consul::ConsulClient;
use crate::error::RegistryError;
use crate::keys::KeyLayout;
use crate::ready_record::{self, ReadyRecord, ReadyRecordError};
use crate::watcher::ready_nodes;

/// One ready node and what its key's value proved.
#[derive(Debug)]
pub struct ReadyEntry {
    pub node: NodeId,
    /// The record, if the node signed it with the identity `lookup` gave.
    pub record: Result<ReadyRecord, ReadyRecordError>,
}

/// The ready nodes now, sorted by node id, each record verified with `lookup`
/// (the caller's own configuration, never Consul).
pub async fn read_ready(
    client: &ConsulClient,
    keys: &KeyLayout,
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
) -> Result<Vec<ReadyEntry>, RegistryError> {
    let dir = keys.ready_prefix();
    let (entries, _) = client.kv_list(&dir, None).await?;
    let ready = ready_nodes(&dir, &entries, &mut HashSet::new());
    Ok(ready
        .into_iter()
        .map(|node| {
            let key = keys.ready_key(&node);
            let value = entries
                .iter()
                .find(|e| e.key == key)
                .map_or(&[][..], |e| e.value.as_slice());
            let record = ready_record::open(&key, &node, value, &lookup);
            ReadyEntry { node, record }
        })
        .collect())
}
