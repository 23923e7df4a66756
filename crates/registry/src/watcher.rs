//! The watcher task: owns the ready view and keeps it current with blocking
//! queries on `<prefix>/ready/` (recursive), publishing it on a `watch`
//! channel. Every answer advances `fresh_at`; receivers are woken when the node
//! set changes or Consul answers again after failing.
//!
//! On a Consul error it keeps the last nodes, leaves `fresh_at` alone (so the
//! view ages and [`ReadyView::is_fresh`] turns false), backs off from 200 ms to
//! 2 s (jittered, [`tessera_types::backoff`]), and resumes by itself when
//! Consul answers again.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use tessera_types::backoff::Backoff;
use tessera_types::NodeId;

use crate::consul::{BlockingQuery, ConsulClient};
use crate::error::RegistryError;
use crate::keys::KeyLayout;
use crate::kv::KvEntry;
use crate::view::ReadyView;

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The ready set in a listing: keys directly under `dir` naming a valid node id
/// and held by a session. A key without a session is a leftover (written by
/// hand or released), not a live node. Malformed keys are logged once each.
pub(crate) fn ready_nodes(
    dir: &str,
    entries: &[KvEntry],
    warned: &mut HashSet<String>,
) -> BTreeSet<NodeId> {
    let mut nodes = BTreeSet::new();
    for entry in entries {
        match KeyLayout::node_under(dir, &entry.key) {
            Some(node) if entry.session.is_some() => {
                nodes.insert(node);
            }
            Some(node) => debug!(%node, "ready key without a session ignored"),
            None => {
                if warned.insert(entry.key.clone()) {
                    warn!(key = %entry.key, "malformed key under ready/ ignored");
                }
            }
        }
    }
    nodes
}

/// The first, non-blocking read: the view `start` returns with, and the index
/// the watcher blocks on next.
pub(crate) async fn initial(
    client: &ConsulClient,
    keys: &KeyLayout,
) -> Result<(ReadyView, u64), RegistryError> {
    let dir = keys.ready_prefix();
    let (entries, index) = client.kv_list(&dir, None).await?;
    let view = ReadyView {
        nodes: ready_nodes(&dir, &entries, &mut HashSet::new()),
        fresh_at: Some(Instant::now()),
    };
    Ok((view, index))
}

/// Consul's rules for the next index: reset to 0 if it went backwards (a
/// snapshot restore or a new agent), and never block on 0.
fn next_index(previous: u64, answered: u64) -> u64 {
    if answered < previous {
        0
    } else {
        answered.max(1)
    }
}

/// Runs until `cancel`. Owns `tx`: the only writer of the view.
pub(crate) async fn run(
    client: ConsulClient,
    keys: KeyLayout,
    wait: Duration,
    mut index: u64,
    tx: watch::Sender<ReadyView>,
    cancel: CancellationToken,
) {
    let dir = keys.ready_prefix();
    let mut warned = HashSet::new();
    let mut pauses = Backoff::new(BACKOFF_MIN, BACKOFF_MAX);
    let mut failing = false;
    loop {
        let query = BlockingQuery { index, wait };
        let answer = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            answer = client.kv_list(&dir, Some(query)) => answer,
        };
        match answer {
            Ok((entries, answered)) => {
                let recovered = std::mem::take(&mut failing);
                if recovered {
                    info!("consul answers again; ready view is current");
                }
                pauses.reset();
                index = next_index(index, answered);
                let nodes = ready_nodes(&dir, &entries, &mut warned);
                // `fresh_at` advances silently; subscribers wake when the set
                // changes (or Consul is back), not on every quiet answer.
                tx.send_if_modified(|view| {
                    view.fresh_at = Some(Instant::now());
                    if view.nodes == nodes {
                        return recovered;
                    }
                    debug!(?nodes, "ready set changed");
                    view.nodes = nodes;
                    true
                });
            }
            Err(e) => {
                let backoff = pauses.next_delay();
                if !failing {
                    warn!(error = %e, "consul watch failed; keeping the last ready view");
                    failing = true;
                } else {
                    debug!(error = %e, ?backoff, "consul watch still failing");
                }
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                // The agent may have come back with a fresh raft index.
                index = 0;
            }
        }
    }
    debug!("ready watcher stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, session: bool) -> KvEntry {
        KvEntry {
            key: key.to_string(),
            value: Vec::new(),
            modify_index: 1,
            session: session.then(|| serde_json::from_str("\"s\"").unwrap()),
        }
    }

    #[test]
    fn parses_ready_keys() {
        let entries = [
            entry("t/ready/a", true),
            entry("t/ready/b", false),
            entry("t/ready/bad.id", true),
            entry("t/ready/x/y", true),
            entry("t/ready/", true),
        ];
        let mut warned = HashSet::new();
        let nodes = ready_nodes("t/ready/", &entries, &mut warned);
        assert_eq!(
            nodes.into_iter().collect::<Vec<_>>(),
            vec![NodeId::new("a").unwrap()]
        );
        assert_eq!(warned.len(), 3);
    }

    #[test]
    fn index_rules() {
        assert_eq!(next_index(5, 7), 7);
        assert_eq!(next_index(5, 3), 0);
        assert_eq!(next_index(0, 0), 1);
    }
}
