//! What this node has heard from each peer in one session: joins, when each was
//! last heard, who finished (and may go silent), who said it stored its share,
//! keygen confirmation digests, and whose signatures failed under its configured
//! key. Plain data with explicit time: the connection state machine keeps one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tessera_security::RunNonce;
use tessera_types::NodeId;

#[derive(Debug)]
pub(crate) struct PeerBook {
    /// The other players, sorted.
    peers: Vec<NodeId>,
    /// Peers whose join of this run we have (one that echoed our nonce), with their nonce.
    joined: BTreeMap<NodeId, RunNonce>,
    /// When each peer was last heard from (any authenticated frame).
    heard: HashMap<NodeId, Instant>,
    /// Peers that said they finished: their silence is expected.
    finished: BTreeSet<NodeId>,
    /// Peers that sent `Finished` (in keygen: after storing their share).
    left: BTreeSet<NodeId>,
    /// Keygen confirmations received.
    done: BTreeMap<NodeId, [u8; 32]>,
    /// Players whose signed envelopes failed under their configured public key.
    key_mismatch: BTreeSet<NodeId>,
}

impl PeerBook {
    pub(crate) fn new(peers: Vec<NodeId>) -> Self {
        Self {
            peers,
            joined: BTreeMap::new(),
            heard: HashMap::new(),
            finished: BTreeSet::new(),
            left: BTreeSet::new(),
            done: BTreeMap::new(),
            key_mismatch: BTreeSet::new(),
        }
    }

    pub(crate) fn peers(&self) -> &[NodeId] {
        &self.peers
    }

    pub(crate) fn is_peer(&self, node: &NodeId) -> bool {
        self.peers.contains(node)
    }

    pub(crate) fn heard(&mut self, peer: &NodeId, now: Instant) {
        self.heard.insert(peer.clone(), now);
    }

    /// Marks every peer as just heard (at the start of a phase with liveness checks).
    pub(crate) fn reset_heard(&mut self, now: Instant) {
        for p in &self.peers {
            self.heard.insert(p.clone(), now);
        }
    }

    pub(crate) fn joined(&mut self, peer: NodeId, nonce: RunNonce) {
        self.joined.entry(peer).or_insert(nonce);
    }

    /// The nonce of `peer`'s counted join.
    pub(crate) fn nonce(&self, peer: &NodeId) -> Option<&RunNonce> {
        self.joined.get(peer)
    }

    /// Every counted join's (peer, nonce).
    pub(crate) fn nonces(&self) -> impl Iterator<Item = (&NodeId, &RunNonce)> {
        self.joined.iter()
    }

    pub(crate) fn left(&mut self, peer: NodeId) {
        self.finished.insert(peer.clone());
        self.left.insert(peer);
    }

    pub(crate) fn confirmed(&mut self, peer: NodeId, digest: [u8; 32]) {
        self.finished.insert(peer.clone());
        self.done.insert(peer, digest);
    }

    pub(crate) fn key_mismatch(&mut self, peer: NodeId) {
        self.key_mismatch.insert(peer);
    }

    pub(crate) fn has_key_mismatch(&self, peer: &NodeId) -> bool {
        self.key_mismatch.contains(peer)
    }

    /// Peers whose join has not arrived.
    pub(crate) fn not_joined(&self) -> Vec<NodeId> {
        self.without(|p| self.joined.contains_key(p))
    }

    /// Peers that have not said they stored their share.
    pub(crate) fn not_left(&self) -> Vec<NodeId> {
        self.without(|p| self.left.contains(p))
    }

    /// Peers whose keygen confirmation has not arrived.
    pub(crate) fn not_confirmed(&self) -> Vec<NodeId> {
        self.without(|p| self.done.contains_key(p))
    }

    /// The first peer (in id order) that confirmed a digest other than `digest`.
    pub(crate) fn confirmed_otherwise(&self, digest: &[u8; 32]) -> Option<NodeId> {
        self.done
            .iter()
            .find(|(_, d)| *d != digest)
            .map(|(p, _)| p.clone())
    }

    /// The first peer that has not finished and has been silent for longer than
    /// `limit`, with how long. Peers heartbeat until they finish.
    pub(crate) fn silent_longer_than(
        &self,
        limit: Duration,
        now: Instant,
    ) -> Option<(NodeId, Duration)> {
        self.peers
            .iter()
            .filter(|p| !self.finished.contains(*p))
            .map(|p| {
                let heard = self.heard.get(p).copied().unwrap_or(now);
                (p, now.saturating_duration_since(heard))
            })
            .find(|(_, silent)| *silent > limit)
            .map(|(p, silent)| (p.clone(), silent))
    }

    /// How long `peer` has been silent, if it is a peer that has not finished
    /// and has been heard at all.
    pub(crate) fn silent_for(&self, peer: &NodeId, now: Instant) -> Option<Duration> {
        if !self.is_peer(peer) || self.finished.contains(peer) {
            return None;
        }
        let heard = self.heard.get(peer).copied()?;
        Some(now.saturating_duration_since(heard))
    }

    fn without(&self, has: impl Fn(&NodeId) -> bool) -> Vec<NodeId> {
        self.peers.iter().filter(|p| !has(p)).cloned().collect()
    }
}
