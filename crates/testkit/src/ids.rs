//! Names and identities for tests: node ids from literals, freshly generated
//! node identities, and labels (session ids, KV prefixes) no other test in the
//! process uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tessera_security::NodeIdentity;
use tessera_types::{NodeId, SessionId};

/// A node id from a literal the test knows to be valid.
pub fn node_id(name: &str) -> NodeId {
    NodeId::new(name).unwrap_or_else(|e| panic!("bad test node id {name:?}: {e}"))
}

/// A freshly generated identity for node `name`.
pub fn identity(name: &str) -> Arc<NodeIdentity> {
    Arc::new(NodeIdentity::generate(node_id(name)))
}

/// The names `node-a`, `node-b`, ... of an `n`-node test cluster.
pub fn lettered_names(n: usize) -> Vec<String> {
    assert!(n <= 26, "at most 26 lettered nodes");
    (0..n)
        .map(|i| format!("node-{}", (b'a' + i as u8) as char))
        .collect()
}

/// `label-<n>-<nanos>`: unique within this process (a counter) and, in
/// practice, across runs against the same NATS or Consul (the clock's
/// sub-second nanoseconds).
pub fn unique(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!("{label}-{n}-{nanos}")
}

/// A session id no other test in this process uses ([`unique`]).
pub fn session_id(label: &str) -> SessionId {
    SessionId::new(unique(label))
        .unwrap_or_else(|e| panic!("bad test session label {label:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_labels_unique() {
        assert_eq!(lettered_names(3), ["node-a", "node-b", "node-c"]);
        assert_eq!(identity("node-a").node_id(), &node_id("node-a"));
        let (a, b) = (session_id("s"), session_id("s"));
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("s-"));
    }
}
