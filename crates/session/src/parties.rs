//! Maps node ids to the 1-based party indices the protocol libraries use.
//!
//! A key's participants are sorted once at keygen; a participant's index is its
//! position in that list plus one, forever. Signing uses the same indices, so a
//! signer set is always a subset of the key's list.

use std::collections::BTreeMap;

use tessera_types::NodeId;

use crate::error::Abort;
use crate::round::Fault;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parties {
    sorted: Vec<NodeId>,
}

impl Parties {
    /// `ids` must be sorted and unique (as in a `SessionConfig`).
    pub fn new(ids: Vec<NodeId>) -> Result<Self, Abort> {
        if !ids.windows(2).all(|w| w[0] < w[1]) || ids.len() > usize::from(u8::MAX) {
            return Err(Abort::Config(
                "participants must be sorted and unique".into(),
            ));
        }
        Ok(Self { sorted: ids })
    }

    pub fn ids(&self) -> &[NodeId] {
        &self.sorted
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// 1-based index of `node`.
    pub fn index(&self, node: &NodeId) -> Result<u8, Abort> {
        self.sorted
            .binary_search(node)
            .ok()
            .and_then(|i| u8::try_from(i + 1).ok())
            .ok_or_else(|| Abort::NotAParticipant(node.clone()))
    }

    /// The node with 1-based `index`.
    pub fn node(&self, index: u8) -> Option<&NodeId> {
        usize::from(index)
            .checked_sub(1)
            .and_then(|i| self.sorted.get(i))
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
