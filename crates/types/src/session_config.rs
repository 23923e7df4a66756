//! The configuration of one protocol run: which parties play, the threshold,
//! and public keys supplied with the session for parties that are not in any
//! node's static configuration (tenant devices).
//!
//! Threshold semantics follow mpcium: a threshold `t` means **t+1** parties are
//! needed to sign ("2-of-3" is `t = 1`, `n = 3`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::PublicIdentity;
use crate::ids::{NodeId, SessionId};

/// Most parties one key may have.
pub const MAX_PARTIES: usize = 16;

/// mpcium's threshold `t`: any `t + 1` parties can sign, `t` or fewer learn nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Threshold(pub u16);

impl Threshold {
    /// How many parties must take part in a signature: `t + 1`.
    pub fn signers(self) -> usize {
        usize::from(self.0) + 1
    }

    /// Checks `1 <= t < n <= MAX_PARTIES` for a key of `n` parties.
    pub fn check(self, n: usize) -> Result<(), SessionConfigError> {
        if self.0 == 0 || self.signers() > n || n > MAX_PARTIES {
            return Err(SessionConfigError::InvalidThreshold { t: self.0, n });
        }
        Ok(())
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={} ({} signers)", self.0, self.signers())
    }
}

/// Why a [`SessionConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionConfigError {
    #[error("threshold t={t} is invalid for {n} parties (need 1 <= t < n <= 16)")]
    InvalidThreshold { t: u16, n: usize },
    #[error("player {0} is listed twice")]
    DuplicatePlayer(NodeId),
    #[error("{0} is not a player of this session")]
    NotAPlayer(NodeId),
    #[error("need between {min} and {max} players, got {got}")]
    PlayerCount { min: usize, max: usize, got: usize },
}

/// One protocol run.
///
/// `players` are kept sorted, so every party derives the same protocol indices
/// from the same set. For keygen they are all `n` parties of the new key; for
/// signing they are the `t + 1` (or more) signers, a subset of the key's parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionConfig {
    pub session_id: SessionId,
    players: Vec<NodeId>,
    /// mpcium's `t`: `t + 1` parties sign.
    pub threshold: Threshold,
    /// Identity keys supplied with the session for parties not in static config.
    /// A statically configured key always wins over one given here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dynamic_public_keys: BTreeMap<NodeId, PublicIdentity>,
}

impl SessionConfig {
    /// Builds a config; players are sorted and must be unique.
    pub fn new(
        session_id: SessionId,
        players: impl IntoIterator<Item = NodeId>,
        threshold: Threshold,
    ) -> Result<Self, SessionConfigError> {
        let mut seen = BTreeSet::new();
        let mut list = Vec::new();
        for p in players {
            if !seen.insert(p.clone()) {
                return Err(SessionConfigError::DuplicatePlayer(p));
            }
            list.push(p);
        }
        list.sort();
        if list.len() < 2 || list.len() > MAX_PARTIES {
            return Err(SessionConfigError::PlayerCount {
                min: 2,
                max: MAX_PARTIES,
                got: list.len(),
            });
        }
        Ok(Self {
            session_id,
            players: list,
            threshold,
            dynamic_public_keys: BTreeMap::new(),
        })
    }

    /// Adds a per-session public key for `player`.
    pub fn with_dynamic_key(
        mut self,
        player: NodeId,
        key: PublicIdentity,
    ) -> Result<Self, SessionConfigError> {
        if !self.is_player(&player) {
            return Err(SessionConfigError::NotAPlayer(player));
        }
        self.dynamic_public_keys.insert(player, key);
        Ok(self)
    }

    /// The players, sorted.
    pub fn players(&self) -> &[NodeId] {
        &self.players
    }

    pub fn is_player(&self, node: &NodeId) -> bool {
        self.players.binary_search(node).is_ok()
    }

    /// 1-based position of `node` among the sorted players.
    pub fn position(&self, node: &NodeId) -> Option<usize> {
        self.players.binary_search(node).ok().map(|i| i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<NodeId> {
        names.iter().map(|n| NodeId::new(*n).unwrap()).collect()
    }

    #[test]
    fn players_are_sorted_and_unique() {
        let sid = SessionId::new("s1").unwrap();
        let c = SessionConfig::new(sid.clone(), ids(&["c", "a", "b"]), Threshold(1)).unwrap();
        assert_eq!(c.players(), ids(&["a", "b", "c"]).as_slice());
        assert_eq!(c.position(&NodeId::new("b").unwrap()), Some(2));
        let dup = SessionConfig::new(sid, ids(&["a", "a"]), Threshold(1));
        assert!(matches!(dup, Err(SessionConfigError::DuplicatePlayer(_))));
    }

    #[test]
    fn threshold_means_t_plus_one_signers() {
        assert_eq!(Threshold(1).signers(), 2);
        assert!(Threshold(1).check(3).is_ok());
        assert!(Threshold(0).check(3).is_err());
        assert!(Threshold(3).check(3).is_err());
        assert!(Threshold(2).check(17).is_err());
    }
}
