//! Maps node ids to the 1-based party indices the protocol libraries use.
//!
//! A key's participants are kept sorted by node id, each with an explicit
//! index. A key made by keygen has indices `1..=n` in sorted order
//! ([`Parties::new`]); a replace can hand an index to a node id that sorts
//! elsewhere, and FROST can have gaps (an identifier removed, another one
//! added), so [`Parties::with_indices`] takes them explicitly. DKLs23 needs
//! exactly `1..=n` ([`Parties::require_dense`]). Signing uses the key's
//! indices, so a signer set is always a subset of the key's participants.

use std::collections::BTreeMap;

use tessera_types::NodeId;

use crate::error::Abort;
use crate::round::Fault;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parties {
    sorted: Vec<NodeId>,
    /// `indices[i]` is the index of `sorted[i]`.
    indices: Vec<u8>,
}

/// The indices a key made by keygen gives `n` sorted participants: `1..=n`.
pub fn positional_indices(n: usize) -> Vec<u8> {
    (1..=n)
        .map(|i| u8::try_from(i).unwrap_or(u8::MAX))
        .collect()
}

impl Parties {
    /// `ids` must be sorted and unique (as in a `SessionConfig`); the index
    /// of each is its position plus one.
    pub fn new(ids: Vec<NodeId>) -> Result<Self, Abort> {
        let indices = positional_indices(ids.len());
        Self::with_indices(ids, indices)
    }

    /// `ids` sorted and unique, `indices[i]` the index of `ids[i]`: non-zero
    /// and unique, in any order, with gaps allowed.
    pub fn with_indices(ids: Vec<NodeId>, indices: Vec<u8>) -> Result<Self, Abort> {
        if !ids.windows(2).all(|w| w[0] < w[1]) || ids.len() > usize::from(u8::MAX) {
            return Err(Abort::Config(
                "participants must be sorted and unique".into(),
            ));
        }
        let mut seen = indices.clone();
        seen.sort_unstable();
        seen.dedup();
        if indices.len() != ids.len() || seen.len() != indices.len() || seen.first() == Some(&0) {
            return Err(Abort::Config(
                "party indices must be non-zero, unique and one per participant".into(),
            ));
        }
        Ok(Self {
            sorted: ids,
            indices,
        })
    }

    /// From `(node, index)` pairs in any order.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (NodeId, u8)>) -> Result<Self, Abort> {
        let mut pairs: Vec<(NodeId, u8)> = pairs.into_iter().collect();
        pairs.sort();
        let (ids, indices) = pairs.into_iter().unzip();
        Self::with_indices(ids, indices)
    }

    /// The node ids, sorted.
    pub fn ids(&self) -> &[NodeId] {
        &self.sorted
    }

    /// The indices, aligned with [`Parties::ids`].
    pub fn indices(&self) -> &[u8] {
        &self.indices
    }

    /// `(node, index)` in index order.
    pub fn by_index(&self) -> Vec<(NodeId, u8)> {
        let mut pairs: Vec<(NodeId, u8)> = self
            .sorted
            .iter()
            .cloned()
            .zip(self.indices.iter().copied())
            .collect();
        pairs.sort_by_key(|(_, i)| *i);
        pairs
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// `true` when the indices are exactly `1..=n` (in whatever node order).
    pub fn is_dense(&self) -> bool {
        let mut seen = self.indices.clone();
        seen.sort_unstable();
        seen == positional_indices(self.len())
    }

    /// DKLs23 numbers its `n` shares `1..=n`, with no gap.
    pub fn require_dense(&self) -> Result<(), Abort> {
        if self.is_dense() {
            Ok(())
        } else {
            Err(Abort::Config(format!(
                "DKLs23 needs party indices 1..={}, got {:?}",
                self.len(),
                self.indices
            )))
        }
    }

    /// 1-based index of `node`.
    pub fn index(&self, node: &NodeId) -> Result<u8, Abort> {
        self.sorted
            .binary_search(node)
            .ok()
            .and_then(|i| self.indices.get(i).copied())
            .ok_or_else(|| Abort::NotAParticipant(node.clone()))
    }

    /// The node with 1-based `index`.
    pub fn node(&self, index: u8) -> Option<&NodeId> {
        self.indices
            .iter()
            .position(|i| *i == index)
            .and_then(|p| self.sorted.get(p))
    }

    /// Routes a library's p2p messages by their receiver index, each turned
    /// into what is sent by `encode`.
    pub(crate) fn route<T, U>(
        &self,
        msgs: Vec<T>,
        receiver: impl Fn(&T) -> u8,
        encode: impl Fn(T) -> Result<U, Fault>,
    ) -> Result<BTreeMap<NodeId, U>, Fault> {
        let mut out = BTreeMap::new();
        for m in msgs {
            let to = self
                .node(receiver(&m))
                .ok_or_else(|| Fault::Local("library addressed an unknown party".into()))?
                .clone();
            out.insert(to, encode(m)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn positional_indices_by_default() {
        let p = Parties::new(vec![id("a"), id("b"), id("c")]).unwrap();
        assert_eq!(p.indices(), &[1, 2, 3]);
        assert_eq!(p.index(&id("b")).unwrap(), 2);
        assert_eq!(p.node(3), Some(&id("c")));
        assert!(p.is_dense());
    }

    /// Index 2 moved from "b" to "z", which sorts last: lookups follow the
    /// map, not the position, both ways.
    #[test]
    fn explicit_indices_need_not_follow_sorted_position() {
        let p = Parties::from_pairs([(id("z"), 2), (id("a"), 1), (id("c"), 3)]).unwrap();
        assert_eq!(p.ids(), &[id("a"), id("c"), id("z")]);
        assert_eq!(p.indices(), &[1, 3, 2]);
        assert_eq!(p.index(&id("z")).unwrap(), 2);
        assert_eq!(p.index(&id("c")).unwrap(), 3);
        assert_eq!(p.node(2), Some(&id("z")));
        assert_eq!(p.node(4), None);
        assert_eq!(p.by_index(), vec![(id("a"), 1), (id("z"), 2), (id("c"), 3)]);
        assert!(p.require_dense().is_ok());
        assert_eq!(
            p.index(&id("b")).unwrap_err(),
            Abort::NotAParticipant(id("b"))
        );
    }

    /// FROST identifiers may have gaps; DKLs23's may not.
    #[test]
    fn gaps_are_allowed_but_not_dense() {
        let p = Parties::with_indices(vec![id("a"), id("c"), id("d")], vec![1, 3, 4]).unwrap();
        assert!(!p.is_dense());
        assert!(matches!(p.require_dense(), Err(Abort::Config(_))));
    }

    #[test]
    fn bad_index_maps_are_refused() {
        let ids = vec![id("a"), id("b")];
        for bad in [vec![1], vec![1, 1], vec![0, 1], vec![1, 2, 3]] {
            assert!(
                Parties::with_indices(ids.clone(), bad.clone()).is_err(),
                "{bad:?}"
            );
        }
        assert!(Parties::with_indices(vec![id("b"), id("a")], vec![1, 2]).is_err());
    }
}
