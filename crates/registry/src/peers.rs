//! Peer identities published in Consul: `<prefix>/peers/<node_id>` holds the
//! node's [`PublicIdentity`] as JSON.
//!
//! A listing from Consul is a **hint**, not a trust anchor: anyone who can write
//! to Consul can write here. Static configuration wins over it, and callers check
//! every player set and public key against what they stored themselves.

use tracing::warn;

use tessera_types::PublicIdentity;

use crate::consul::ConsulClient;
use crate::error::RegistryError;
use crate::keys::KeyLayout;

/// Publishes `identity` under its node id (overwriting an older one).
pub async fn register_peer(
    client: &ConsulClient,
    keys: &KeyLayout,
    identity: &PublicIdentity,
) -> Result<(), RegistryError> {
    let value = serde_json::to_vec(identity).map_err(|e| RegistryError::InvalidConfig {
        reason: e.to_string(),
    })?;
    // A plain put answers true; false would mean a failed check-and-set we did not ask for.
    if client
        .kv_put(&keys.peer_key(&identity.node_id), &value, None)
        .await?
    {
        Ok(())
    } else {
        Err(RegistryError::Malformed {
            endpoint: "kv put",
            reason: "consul refused an unconditional put".to_string(),
        })
    }
}

/// Every well-formed identity under `<prefix>/peers/`, sorted by node id.
/// Entries whose key is not a node id, whose value is not a `PublicIdentity`,
/// or whose value names another node than its key are skipped with a warning.
pub async fn list_peers(
    client: &ConsulClient,
    keys: &KeyLayout,
) -> Result<Vec<PublicIdentity>, RegistryError> {
    let dir = keys.peers_prefix();
    let (entries, _) = client.kv_list(&dir, None).await?;
    let mut peers = Vec::new();
    for entry in entries {
        let Some(node) = KeyLayout::node_under(&dir, &entry.key) else {
            warn!(key = %entry.key, "peer key is not a node id; ignored");
            continue;
        };
        match serde_json::from_slice::<PublicIdentity>(&entry.value) {
            Ok(identity) if identity.node_id == node => peers.push(identity),
            Ok(identity) => {
                warn!(key = %entry.key, named = %identity.node_id, "peer entry names another node; ignored")
            }
            Err(e) => warn!(key = %entry.key, error = %e, "malformed peer entry ignored"),
        }
    }
    peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Ok(peers)
}
