//! What every request handler of one node shares.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tessera_runner::Node;
use tessera_transport::async_nats::{self, jetstream, jetstream::kv};
use tessera_types::NodeId;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::config::ConsumerConfig;
use crate::ledger::Ledger;
use crate::plan::Snapshot;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) node: Node,
    pub(crate) config: ConsumerConfig,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) ledger: Ledger,
    /// Tenant keys registered per session id (see `tenants`).
    pub(crate) tenant_keys: kv::Store,
    /// Delegations served lately, by proposal session id (see `delegate`).
    pub(crate) delegations: Mutex<(
        HashSet<tessera_types::SessionId>,
        VecDeque<tessera_types::SessionId>,
    )>,
    /// Requests this node coordinates at once, per kind.
    pub(crate) keygen_permits: Arc<Semaphore>,
    pub(crate) signing_permits: Arc<Semaphore>,
    /// Sessions this node joins for other coordinators, per kind. A separate pool:
    /// if joining drew on the coordinating pool, nodes busy coordinating would
    /// refuse each other's proposals and stall together.
    pub(crate) keygen_join_permits: Arc<Semaphore>,
    pub(crate) signing_join_permits: Arc<Semaphore>,
    /// Every task of the consumer, so shutdown waits for all of them
    /// (proposals being answered, sessions joined for other coordinators).
    pub(crate) tracker: TaskTracker,
}

impl Shared {
    pub(crate) fn me(&self) -> &NodeId {
        self.node.node_id()
    }

    /// The nodes among `candidates` the registry reports ready (all of them without a registry).
    pub(crate) fn ready_among(&self, candidates: &[NodeId]) -> Vec<NodeId> {
        match self.node.registry() {
            Some(r) => r.ready_among(candidates),
            None => candidates.to_vec(),
        }
    }

    /// Whether node `id` is in the ready set (always, without a registry).
    pub(crate) fn is_ready(&self, id: &str) -> bool {
        NodeId::new(id).is_ok_and(|n| !self.ready_among(&[n]).is_empty())
    }

    /// What planning needs of the cluster, taken now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let servers = self.config.participants.clone();
        let ready = self.ready_among(&servers).into_iter().collect();
        let stale_view = self.node.registry().and_then(|r| {
            if r.is_fresh(r.ttl()) {
                return None;
            }
            let age = r.view_age().map_or("never answered".to_string(), |a| {
                format!("{} ms old", a.as_millis())
            });
            Some((age, r.ttl().as_millis()))
        });
        Snapshot {
            me: self.me().clone(),
            servers,
            ready,
            stale_view,
            threshold: self.config.threshold,
            retry_signing: self.config.retry_signing,
            banned: self.node.banned(),
        }
    }

    /// Records a delegation; `false` if it was served already (a replay).
    pub(crate) fn remember_delegation(
        &self,
        id: &tessera_types::SessionId,
        capacity: usize,
    ) -> bool {
        let mut seen = self.delegations.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.0.insert(id.clone()) {
            return false;
        }
        seen.1.push_back(id.clone());
        if seen.1.len() > capacity {
            if let Some(old) = seen.1.pop_front() {
                seen.0.remove(&old);
            }
        }
        true
    }

    /// Whether `id` is a node of this cluster (not a tenant).
    pub(crate) fn is_server(&self, id: &NodeId) -> bool {
        self.config.participants.contains(id)
    }

    /// A fresh random session id.
    pub(crate) fn new_session_id(&self) -> tessera_types::SessionId {
        let mut bytes = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        tessera_types::SessionId::new(hex::encode(bytes)).expect("hex is a valid session id")
    }
}
