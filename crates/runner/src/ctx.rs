//! What one running session knows about itself: who it is, who plays, its
//! deadlines, where to report, how to be cancelled, and (optionally) the
//! registry's view of which nodes are ready.

use std::collections::BTreeSet;

use tessera_registry::ReadyView;
use tessera_types::{NodeId, SessionId};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::meta::SessionMeta;
use crate::options::RunnerOptions;
use crate::report::Reporter;

pub(crate) struct Ctx {
    pub(crate) session_id: SessionId,
    pub(crate) me: NodeId,
    /// All players, sorted, this node included.
    pub(crate) players: Vec<NodeId>,
    pub(crate) options: RunnerOptions,
    /// Nothing in this session runs past this instant.
    pub(crate) deadline: Instant,
    pub(crate) reporter: Reporter,
    pub(crate) cancel: CancellationToken,
    /// This node's view of the session, sent with its join and compared with each peer's.
    pub(crate) meta: SessionMeta,
    /// The registry's ready set, when the node has a registry.
    pub(crate) ready: Option<watch::Receiver<ReadyView>>,
}

impl Ctx {
    pub(crate) fn peers(&self) -> Vec<NodeId> {
        self.players
            .iter()
            .filter(|p| **p != self.me)
            .cloned()
            .collect()
    }

    pub(crate) fn is_peer(&self, node: &NodeId) -> bool {
        *node != self.me && self.players.contains(node)
    }

    /// The peers the registry reports ready right now (all peers without a registry).
    pub(crate) fn ready_peers(&self) -> BTreeSet<NodeId> {
        match &self.ready {
            Some(rx) => {
                let view = rx.borrow();
                self.peers()
                    .into_iter()
                    .filter(|p| view.nodes.contains(p))
                    .collect()
            }
            None => self.peers().into_iter().collect(),
        }
    }
}

/// Resolves when the ready view changes; never when there is no registry.
pub(crate) async fn ready_changed(
    ready: &mut Option<watch::Receiver<ReadyView>>,
) -> BTreeSet<NodeId> {
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
