//! `ReadyView`: the set of ready nodes as last seen in Consul, with the time of
//! that answer, and mpcium's quorum test on it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tessera_types::NodeId;

use crate::error::RegistryError;

/// A snapshot of `<prefix>/ready/`.
///
/// Consul is not trusted for anything security-relevant: a node in this set is
/// one that says it is up. Callers still check every player set against the key
/// metadata they stored and every message against the identities they know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadyView {
    /// Nodes whose ready key is held by a live Consul session.
    pub nodes: BTreeSet<NodeId>,
    /// When Consul last answered the watcher (`None`: never). While Consul is
    /// unreachable the nodes are kept but this time stops advancing.
    pub fresh_at: Option<Instant>,
}

impl ReadyView {
    pub fn contains(&self, node: &NodeId) -> bool {
        self.nodes.contains(node)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// mpcium's `AreMajorityReady`: **at least `t + 1`** nodes are ready, where
    /// `t` is the key's threshold (any `t + 1` parties can sign). It is not a
    /// majority of `n`. Freshness is not considered; see [`ReadyView::check_quorum`].
    pub fn are_majority_ready(&self, t: u16) -> bool {
        self.nodes.len() > usize::from(t)
    }

    /// The `participants` that are ready, in the given order, without repeats.
    pub fn ready_among(&self, participants: &[NodeId]) -> Vec<NodeId> {
        let mut seen = BTreeSet::new();
        participants
            .iter()
            .filter(|p| self.nodes.contains(*p) && seen.insert(*p))
            .cloned()
            .collect()
    }

    /// Time since Consul last answered; `None` if it never did.
    pub fn age(&self) -> Option<Duration> {
        self.fresh_at.map(|t| t.elapsed())
    }

    /// True if Consul answered within `max_age`.
    pub fn is_fresh(&self, max_age: Duration) -> bool {
        self.age().is_some_and(|age| age <= max_age)
    }

    /// The check before starting a session: the view is at most `max_age` old
    /// (use the TTL) and at least `t + 1` nodes are ready.
    pub fn check_quorum(&self, t: u16, max_age: Duration) -> Result<(), RegistryError> {
        if !self.is_fresh(max_age) {
            return Err(RegistryError::StaleView { age: self.age() });
        }
        if !self.are_majority_ready(t) {
            return Err(RegistryError::NotEnoughReady {
                ready: self.nodes.len(),
                needed: usize::from(t) + 1,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(names: &[&str]) -> ReadyView {
        ReadyView {
            nodes: names.iter().map(|n| NodeId::new(*n).unwrap()).collect(),
            fresh_at: Some(Instant::now()),
        }
    }

    #[test]
    fn majority_is_t_plus_one() {
        let v = view(&["a", "b"]);
        assert!(v.are_majority_ready(0));
        assert!(v.are_majority_ready(1));
        assert!(!v.are_majority_ready(2));
        assert!(!ReadyView::default().are_majority_ready(0));
        let max = view(&[]);
        assert!(!max.are_majority_ready(u16::MAX));
    }

    #[test]
    fn ready_among_keeps_order_and_drops_repeats() {
        let v = view(&["a", "c"]);
        let ids: Vec<NodeId> = ["c", "b", "a", "c"]
            .iter()
            .map(|n| NodeId::new(*n).unwrap())
            .collect();
        assert_eq!(v.ready_among(&ids), vec![ids[0].clone(), ids[2].clone()]);
    }

    #[test]
    fn quorum_needs_freshness() {
        let mut v = view(&["a", "b"]);
        assert!(v.check_quorum(1, Duration::from_secs(1)).is_ok());
        assert!(matches!(
            v.check_quorum(2, Duration::from_secs(1)),
            Err(RegistryError::NotEnoughReady {
                ready: 2,
                needed: 3
            })
        ));
        v.fresh_at = None;
        assert!(!v.is_fresh(Duration::from_secs(100)));
        assert!(matches!(
            v.check_quorum(1, Duration::from_secs(1)),
            Err(RegistryError::StaleView { age: None })
        ));
    }
}
