//! `KeyLayout`: the cluster's KV keys under one prefix.
//!
//! ```text
//! <prefix>/ready/<node_id>   held by the node's session; value: its signed ReadyRecord
//! <prefix>/peers/<node_id>   JSON PublicIdentity, a hint only
//! ```

use tessera_types::NodeId;

use crate::error::RegistryError;

/// Key names for one cluster prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
}

impl KeyLayout {
    /// `prefix` is `/`-separated, without a leading or trailing `/`, and without
    /// empty, `.` or `..` segments.
    pub fn new(prefix: &str) -> Result<Self, RegistryError> {
        let bad = prefix.is_empty()
            || prefix
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == ".." || s.chars().any(char::is_control));
        if bad {
            return Err(RegistryError::InvalidConfig {
                reason:
                    "kv prefix must be non-empty /-separated names without a leading or trailing /"
                        .to_string(),
            });
        }
        Ok(Self {
            prefix: prefix.to_string(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>/ready/` (with the trailing `/`, so `node1` never matches `node10`).
    pub fn ready_prefix(&self) -> String {
        format!("{}/ready/", self.prefix)
    }

    pub fn ready_key(&self, node: &NodeId) -> String {
        format!("{}{node}", self.ready_prefix())
    }

    /// `<prefix>/peers/`.
    pub fn peers_prefix(&self) -> String {
        format!("{}/peers/", self.prefix)
    }

    pub fn peer_key(&self, node: &NodeId) -> String {
        format!("{}{node}", self.peers_prefix())
    }

    /// The node id a key directly under `dir` names: one segment that parses as
    /// a [`NodeId`]. `None` for anything else (nested keys, bad ids).
    pub fn node_under(dir: &str, key: &str) -> Option<NodeId> {
        let rest = key.strip_prefix(dir)?;
        if rest.contains('/') {
            return None;
        }
        NodeId::new(rest).ok()
    }
}

/// The value of a ready key (defined with its signature in [`crate::ready_record`]).
pub use crate::ready_record::ReadyRecord;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let k = KeyLayout::new("tessera/prod").unwrap();
        let n = NodeId::new("node1").unwrap();
        assert_eq!(k.ready_key(&n), "tessera/prod/ready/node1");
        assert_eq!(k.peer_key(&n), "tessera/prod/peers/node1");
        let dir = k.ready_prefix();
        assert_eq!(
            KeyLayout::node_under(&dir, "tessera/prod/ready/node1"),
            Some(n)
        );
        assert_eq!(KeyLayout::node_under(&dir, "tessera/prod/ready/a/b"), None);
        assert_eq!(
            KeyLayout::node_under(&dir, "tessera/prod/ready/bad.id"),
            None
        );
        assert_eq!(KeyLayout::node_under(&dir, "tessera/prod/ready/"), None);
        for bad in ["", "/t", "t/", "a//b", "a/../b"] {
            assert!(KeyLayout::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
