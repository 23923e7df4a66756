//! The registry's ready set as a session sees it: which peers are ready now,
//! and when that changes.

use std::collections::BTreeSet;

use tessera_registry::ReadyView;
use tessera_types::NodeId;
use tokio::sync::watch;

/// The node's view of the registry's ready set, when it has a registry.
pub(crate) type ReadyWatch = Option<watch::Receiver<ReadyView>>;

/// The `peers` the registry reports ready right now (all of them without a registry).
pub(crate) fn ready_peers(ready: &ReadyWatch, peers: &[NodeId]) -> BTreeSet<NodeId> {
    match ready {
        Some(rx) => {
            let view = rx.borrow();
            peers
                .iter()
                .filter(|p| view.nodes.contains(*p))
                .cloned()
                .collect()
        }
        None => peers.iter().cloned().collect(),
    }
}

/// Resolves when the ready view changes; never when there is no registry.
pub(crate) async fn ready_changed(ready: &mut ReadyWatch) -> BTreeSet<NodeId> {
    match ready {
        Some(rx) => {
            if rx.changed().await.is_err() {
                // The registry is gone: keep the session going on its other checks.
                std::future::pending::<()>().await;
            }
            rx.borrow().nodes.clone()
        }
        None => std::future::pending().await,
    }
}
