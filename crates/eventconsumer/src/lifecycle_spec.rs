//! What a lifecycle proposal tells its players beyond the client's request:
//! the plan the coordinator made (committee with indices, targets), the epoch
//! the helpers hold and the key's public key (a target has no share to read
//! them from). Helpers check it against their own plan of the same signed
//! request; a target checks it against the request. Travels signed, inside
//! the proposal (`proposal::seal`).

use serde::{Deserialize, Serialize};
use tessera_runner::LifecycleRequest;
use tessera_types::wire::KeyType;
use tessera_types::{NodeId, SessionId, Threshold, WalletId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleSpec {
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    /// The holders after the operation, each with its party index, sorted by node id.
    pub committee: Vec<(NodeId, u8)>,
    /// Members that get a repaired share (sorted); empty for a refresh.
    pub targets: Vec<NodeId>,
    /// Holders that leave (sorted): told of the proposal, not players of
    /// the session; each retires its share once the attempt is committed.
    pub removed: Vec<NodeId>,
    pub from_epoch: u64,
    pub public_key: Vec<u8>,
    pub threshold: u16,
}

impl LifecycleSpec {
    /// The runner's request for this node's part in `session_id`.
    pub fn request(&self, session_id: &SessionId) -> LifecycleRequest {
        LifecycleRequest {
            session_id: session_id.clone(),
            wallet_id: self.wallet_id.clone(),
            key_type: self.key_type,
            committee: self.committee.clone(),
            targets: self.targets.clone(),
            removed: self.removed.clone(),
            from_epoch: self.from_epoch,
            public_key: self.public_key.clone(),
            threshold: Threshold(self.threshold),
        }
    }

    /// The committee's node ids, sorted (the session's players).
    pub fn players(&self) -> Vec<NodeId> {
        self.committee.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Who the proposal goes to: the committee and the holders that leave, sorted.
    pub fn told(&self) -> Vec<NodeId> {
        let mut all = self.players();
        all.extend(self.removed.iter().cloned());
        all.sort();
        all.dedup();
        all
    }
}
