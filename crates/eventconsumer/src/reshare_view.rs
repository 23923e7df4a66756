//! What this node knows of a key when it plans (or checks the plan of) a
//! reshare: the stored holders with their party indices (from the share's
//! public part), identities and tenancy, the directory's current
//! identities, readiness and bans, the active epoch and the public key.

use std::collections::BTreeMap;

use tessera_session::KeyShare;
use tessera_types::wire::KeyType;
use tessera_types::{NodeId, WalletId};

use crate::error::{ServeError, Unavailable};
use crate::plan_lifecycle::{Holder, LifecycleFacts};
use crate::shared::Shared;

/// A key as this node holds it.
pub(crate) struct KeyView {
    pub(crate) facts: LifecycleFacts,
    pub(crate) public_key: Vec<u8>,
    /// The epoch of this node's active share.
    pub(crate) epoch: u64,
}

/// This node's view of `wallet`'s `key_type` key; `None` when it holds no share.
/// `others`: nodes the request names that the directory is asked about too.
pub(crate) async fn key_view(
    shared: &Shared,
    wallet: &WalletId,
    key_type: KeyType,
    others: &[NodeId],
) -> Result<Option<KeyView>, ServeError> {
    let store = shared.node.store().clone();
    let w = wallet.clone();
    let read = tokio::task::spawn_blocking(move || {
        let meta = store.get_metadata(&w, key_type)?;
        let share = store.get_share(&w, key_type)?;
        Ok::<_, tessera_storage::StorageError>(meta.zip(share))
    })
    .await
    .map_err(|e| ServeError::Bug(format!("key store task: {e}")))?
    .map_err(Unavailable::Store)?;
    let Some((meta, stored)) = read else {
        return Ok(None);
    };
    let share = KeyShare::from_bytes(stored.plaintext.as_slice())
        .map_err(|e| ServeError::Bug(format!("stored share of {wallet}: {e}")))?;
    let info = share.info();
    let mut holders = Vec::new();
    for (node, index) in info.participants.iter().zip(&info.indices) {
        let identity = meta
            .participants
            .iter()
            .find(|i| i.node_id == *node)
            .cloned()
            .ok_or_else(|| {
                ServeError::Bug(format!("{node} holds {wallet} without a stored identity"))
            })?;
        holders.push(Holder {
            node: node.clone(),
            index: *index,
            identity,
            tenant: !shared.is_server(node),
        });
    }
    let view = shared.snapshot();
    let directory: BTreeMap<_, _> = view
        .servers
        .iter()
        .chain(others)
        .chain(&info.participants)
        .filter_map(|n| shared.node.directory().get(n).map(|i| (n.clone(), i)))
        .collect();
    let mut ready = view.ready.clone();
    ready.insert(shared.me().clone());
    Ok(Some(KeyView {
        facts: LifecycleFacts {
            key_type,
            threshold: meta.threshold,
            holders,
            directory,
            ready,
            banned: view.banned.clone(),
        },
        public_key: meta.public_key.clone(),
        epoch: info.epoch,
    }))
}
