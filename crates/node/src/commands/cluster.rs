//! `tessera cluster status`: the cluster as Consul shows it, checked against
//! this node's configuration the way a node checks what it reads:
//!
//! - the ready set: the nodes whose ready key a live Consul session holds,
//!   with each node's signed ready record (when it started, when it last
//!   renewed, how old its own ready view was then). A record is believed only
//!   if the node it names signed it with the identity in this configuration;
//!   otherwise the line says why (`UNSIGNED`, `BAD-SIGNATURE`, ...).
//! - the quorum: are t+1 configured nodes ready?
//! - the published identities, compared with the configuration (as `peers list`).
//!
//! Read-only; nothing is published.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tessera_registry::ready_set::read_ready;
use tessera_registry::{peers, ReadyRecordError};

use crate::commands::peers::consul;
use crate::config::Config;
use crate::roster;

fn ago(then: u64, now: u64) -> String {
    if then == 0 {
        return "-".to_string();
    }
    format!("{}s ago", now.saturating_sub(then))
}

/// A short word for why a record is not believed.
fn refusal(e: &ReadyRecordError) -> &'static str {
    match e {
        ReadyRecordError::Unsigned { .. } => "UNSIGNED",
        ReadyRecordError::Signature { .. } => "BAD-SIGNATURE",
        ReadyRecordError::OtherNode { .. } => "NAMES-OTHER-NODE",
        ReadyRecordError::Malformed { .. } => "MALFORMED",
    }
}

pub async fn status(config: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    let (client, keys) = consul(config)?;
    let mut configured = roster::configured(config)?;
    // This node's own identity belongs to its roster even when peers.dir omits it.
    if !configured.contains_key(&config.node_id) {
        if let Ok(own) = crate::commands::peers::own_identity(config) {
            configured.insert(own.node_id.clone(), (own, "identity".into()));
        }
    }
    let lookup = |n: &tessera_types::NodeId| configured.get(n).map(|(id, _)| id.clone());
    let ready = read_ready(&client, &keys, lookup)
        .await
        .context("cannot read the ready set from consul")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    writeln!(
        out,
        "consul {} prefix {}: {} ready",
        config.consul.addr,
        config.consul.prefix,
        ready.len()
    )?;
    writeln!(
        out,
        "node\tstate\trecord\tstarted\trenewed\tview_age\tversion"
    )?;
    for entry in &ready {
        let in_config = configured.contains_key(&entry.node);
        let line = match (&entry.record, in_config) {
            (_, false) => format!("{}\tREADY\tnot-in-config\t-\t-\t-\t-", entry.node),
            (Ok(r), true) => format!(
                "{}\tREADY\tsigned\t{}\t{}\t{}\t{}",
                entry.node,
                ago(r.started_at, now),
                ago(r.renewed_at, now),
                r.view_age_ms
                    .map_or("-".to_string(), |ms| format!("{ms}ms")),
                r.version
            ),
            (Err(e), true) => {
                tracing::warn!(node = %entry.node, code = %e.code(), "{e}");
                format!("{}\tREADY\t{}\t-\t-\t-\t-", entry.node, refusal(e))
            }
        };
        writeln!(out, "{line}")?;
    }
    for node in configured.keys() {
        if !ready.iter().any(|e| &e.node == node) {
            writeln!(out, "{node}\tNOT-READY\t-\t-\t-\t-\t-")?;
        }
    }
    // The quorum a node checks: t+1 ready nodes of its own roster.
    let ready_members = ready
        .iter()
        .filter(|e| configured.contains_key(&e.node))
        .count();
    let needed = usize::from(config.threshold) + 1;
    writeln!(
        out,
        "quorum: {} ({ready_members} of {} configured nodes ready, t+1 = {needed})",
        if ready_members >= needed { "yes" } else { "NO" },
        configured.len()
    )?;
    let published = peers::list_peers(&client, &keys)
        .await
        .context("cannot list peers in consul")?;
    writeln!(out, "published identities:")?;
    for p in &published {
        let state = match configured.get(&p.node_id) {
            Some((c, _)) if c == p => "matches-config",
            Some(_) => "DIFFERS-FROM-CONFIG",
            None => "not-in-config",
        };
        writeln!(out, "{}\t{state}", p.node_id)?;
    }
    for node in configured.keys() {
        if !published.iter().any(|p| &p.node_id == node) {
            writeln!(out, "{node}\tnot-published")?;
        }
    }
    Ok(())
}
