//! What every request handler of one node shares.

use std::sync::{Arc, Mutex};

use tessera_runner::Node;
use tessera_transport::async_nats::{self, jetstream, jetstream::kv};
use tessera_types::NodeId;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::config::ConsumerConfig;
use crate::ledger::Ledger;
use crate::plan::Snapshot;
use crate::proposal::{self, ProposalId};
use crate::refused::Refused;
use crate::seen::{Seen, SeenProposals};

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) node: Node,
    pub(crate) config: ConsumerConfig,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) ledger: Ledger,
    /// Tenant keys registered per session id (see `tenants`).
    pub(crate) tenant_keys: kv::Store,
    /// Proposals answered lately (see `seen`): replays are refused.
    pub(crate) seen: Mutex<SeenProposals>,
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
    /// Keys (wallet, key type) a lifecycle attempt is removing this node
    /// from, until the attempt is decided: signing waits rather than plan
    /// with holders that are about to change (`coordinate::settled_epoch`).
    pub(crate) leaving: Mutex<std::collections::HashSet<(String, tessera_types::wire::KeyType)>>,
}

impl Shared {
    /// Whether a lifecycle attempt is removing this node from the key.
    pub(crate) fn is_leaving(&self, wallet: &str, key_type: tessera_types::wire::KeyType) -> bool {
        let leaving = self.leaving.lock().unwrap_or_else(|e| e.into_inner());
        leaving.contains(&(wallet.to_string(), key_type))
    }

    /// Marks (or unmarks) the key as one this node is being removed from.
    pub(crate) fn set_leaving(
        &self,
        wallet: &str,
        key_type: tessera_types::wire::KeyType,
        on: bool,
    ) {
        let mut leaving = self.leaving.lock().unwrap_or_else(|e| e.into_inner());
        let key = (wallet.to_string(), key_type);
        if on {
            leaving.insert(key);
        } else {
            leaving.remove(&key);
        }
    }

    pub(crate) fn me(&self) -> &NodeId {
        self.node.node_id()
    }

    /// Writes an audit event, when an audit sink is configured.
    pub(crate) fn audit(&self, event: crate::audit::AuditEvent) {
        if let Some(sink) = &self.config.audit {
            sink.record(&event);
        }
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

    /// Remembers proposal `id` (issued at `issued_at_unix`) until it is too
    /// old to be accepted; a refusal if it was answered before (a replay) or
    /// too many are remembered now.
    pub(crate) fn first_time(
        &self,
        id: ProposalId,
        session_id: &tessera_types::SessionId,
        issued_at_unix: u64,
    ) -> Result<(), Refused> {
        let until = issued_at_unix.saturating_add(proposal::MAX_AGE_SECS + 1);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.first_time(id, until, proposal::now_unix())
            .map_err(|e| match e {
                Seen::Replayed => Refused::ProposalReplayed(session_id.clone()),
                Seen::Full => Refused::ConcurrencyLimit("too many recent proposals to remember"),
            })
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
