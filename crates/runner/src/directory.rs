//! Who the peers are: node id -> public identity (signing and agreement keys),
//! from this node's own configuration. This is what envelopes are checked
//! against; the registry's peer list is only a hint and never lands here
//! without the operator's say.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tessera_types::{NodeId, PublicIdentity};

#[derive(Clone, Debug, Default)]
pub struct Directory {
    peers: Arc<RwLock<BTreeMap<NodeId, PublicIdentity>>>,
}

impl Directory {
    pub fn new(identities: impl IntoIterator<Item = PublicIdentity>) -> Self {
        let d = Self::default();
        for id in identities {
            d.insert(id);
        }
        d
    }

    /// Adds or replaces one identity.
    pub fn insert(&self, identity: PublicIdentity) {
        let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
        peers.insert(identity.node_id.clone(), identity);
    }

    pub fn get(&self, node: &NodeId) -> Option<PublicIdentity> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.get(node).cloned()
    }

    pub fn all(&self) -> Vec<PublicIdentity> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        peers.values().cloned().collect()
    }
}
