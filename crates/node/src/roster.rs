//! The cluster's members: the public identities this node trusts, from its own
//! configuration only (`peers.nodes` and the `*.pub.json` documents in
//! `peers.dir`), never from Consul. Every node of the roster takes part in keygen.

use std::collections::BTreeMap;
use std::path::Path;

use tessera_security::identity_file::read_public_document;
use tessera_types::{NodeId, PublicIdentity, Threshold};

use crate::config::{Config, ConfigError};

fn invalid(key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason,
    }
}

/// The identities the configuration lists (`peers.nodes`, then `peers.dir`),
/// each with where it came from; an error if two sources disagree on a node.
pub fn configured(
    config: &Config,
) -> Result<BTreeMap<NodeId, (PublicIdentity, String)>, ConfigError> {
    let mut roster: BTreeMap<NodeId, (PublicIdentity, String)> = BTreeMap::new();
    let mut add = |id: PublicIdentity, source: String, key: &str| {
        if let Some((known, first)) = roster.get(&id.node_id) {
            if known != &id {
                return Err(invalid(
                    key,
                    format!(
                        "{} has different keys in {first} and in {source}",
                        id.node_id
                    ),
                ));
            }
            return Ok(());
        }
        roster.insert(id.node_id.clone(), (id, source));
        Ok(())
    };
    for (i, id) in config.peer_nodes()?.iter().enumerate() {
        add(id.clone(), format!("peers.nodes[{i}]"), "peers.nodes")?;
    }
    if let Some(dir) = &config.peers.dir {
        for (path, id) in read_dir(dir)? {
            add(id, path, "peers.dir")?;
        }
    }
    Ok(roster)
}

/// Every identity of the cluster, sorted by node id, `own` included; checks
/// that sources agree, that this node's entry matches its identity file, and
/// that the threshold fits the cluster's size.
pub fn resolve(config: &Config, own: &PublicIdentity) -> Result<Vec<PublicIdentity>, ConfigError> {
    let mut roster = configured(config)?;
    match roster.get(&own.node_id) {
        Some((listed, source)) if listed != own => {
            return Err(invalid(
                "peers",
                format!(
                    "this node ({}) is listed in {source} with other keys than its identity file",
                    own.node_id
                ),
            ))
        }
        Some(_) => {}
        None => {
            roster.insert(own.node_id.clone(), (own.clone(), "identity".into()));
        }
    }
    let n = roster.len();
    // A single server node is a wallet provider's setup where every key also
    // has tenant players (users' devices): its threshold is for those keys.
    let single = n == 1 && config.threshold >= 1;
    Threshold(config.threshold)
        .check(n)
        .or_else(|e| if single { Ok(()) } else { Err(e) })
        .map_err(|_| {
            invalid(
                "threshold",
                format!(
                    "t={} needs at least {} nodes (t+1 sign, and t >= 1); the roster has {n}",
                    config.threshold,
                    usize::from(config.threshold) + 1
                ),
            )
        })?;
    Ok(roster.into_values().map(|(id, _)| id).collect())
}

/// The `*.pub.json` documents in `dir`, by file name.
fn read_dir(dir: &Path) -> Result<Vec<(String, PublicIdentity)>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        invalid(
            "peers.dir",
            format!("cannot read directory {}: {e}", dir.display()),
        )
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            invalid(
                "peers.dir",
                format!("cannot read directory {}: {e}", dir.display()),
            )
        })?;
        let path = entry.path();
        let is_doc = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".pub.json"));
        if !is_doc {
            continue;
        }
        let id = read_public_document(&path).map_err(|e| invalid("peers.dir", e.to_string()))?;
        out.push((path.display().to_string(), id));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample;
    use tessera_security::{KeyProtection, NodeIdentity};

    fn ident(name: &str) -> NodeIdentity {
        NodeIdentity::generate(NodeId::new(name).unwrap())
    }

    #[test]
    fn merges_dir_and_inline_and_checks_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<NodeIdentity> = ["node0", "node1", "node2"].map(ident).into();
        for id in &ids[1..] {
            id.save(
                &dir.path().join(id.node_id().as_str()),
                KeyProtection::Plain,
            )
            .unwrap();
        }
        let mut config = sample();
        config.peers.dir = Some(dir.path().to_path_buf());
        config.peers.nodes = vec![ids[1].public()];
        config.threshold = 2;
        let roster = resolve(&config, &ids[0].public()).unwrap();
        let names: Vec<&str> = roster.iter().map(|p| p.node_id.as_str()).collect();
        assert_eq!(names, ["node0", "node1", "node2"]);

        config.threshold = 3;
        let e = resolve(&config, &ids[0].public()).unwrap_err().to_string();
        assert!(e.contains("`threshold`"), "{e}");

        // Another key for node1 inline: the sources disagree.
        config.threshold = 1;
        config.peers.nodes = vec![ident("node1").public()];
        let e = resolve(&config, &ids[0].public()).unwrap_err().to_string();
        assert!(e.contains("node1 has different keys"), "{e}");

        // This node listed with keys that are not its own.
        config.peers.nodes = vec![ident("node0").public()];
        let e = resolve(&config, &ids[0].public()).unwrap_err().to_string();
        assert!(e.contains("other keys than its identity file"), "{e}");
    }
}
