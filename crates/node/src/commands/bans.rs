//! `tessera bans list | clear <party>`: the node's ban list (parties it runs
//! no session with, see `tessera_storage::bans`), read and changed while the
//! node runs: it is a directory of small files beside the key store, not in
//! the locked database, and the node reads it again before every session.
//! Each command logs what the operator did.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tessera_storage::{BanError, BanList, BanRecord};
use tessera_types::NodeId;

/// One line per ban of node `node_id` (its `storage.dir`): party, reason,
/// session, time (RFC 3339, UTC), tab-separated.
pub fn list(node_id: &NodeId, storage_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let bans = BanList::new(storage_dir);
    let records = bans.list().context("cannot read the ban list")?;
    tracing::info!(
        %node_id,
        dir = %bans.dir().display(),
        count = records.len(),
        "operator listed the ban list"
    );
    if records.is_empty() {
        writeln!(out, "no banned parties")?;
    }
    for r in &records {
        writeln!(out, "{}", line(r))?;
    }
    Ok(())
}

/// Lifts `party`'s ban. A party that is not banned is an error.
pub fn clear(
    node_id: &NodeId,
    storage_dir: &Path,
    party: &str,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let party = NodeId::new(party).with_context(|| format!("{party:?} is not a node id"))?;
    let bans = BanList::new(storage_dir);
    let record = match bans.clear(&party) {
        Ok(r) => r,
        Err(BanError::NotBanned(p)) => {
            anyhow::bail!("{p} is not banned on {node_id} (see `tessera bans list`)")
        }
        Err(e) => return Err(e).context("cannot change the ban list"),
    };
    tracing::info!(
        %node_id,
        party = %record.party,
        reason = %record.reason,
        session_id = %record.session_id,
        "operator cleared the ban of {}", record.party
    );
    writeln!(out, "cleared {}", line(&record))?;
    Ok(())
}

fn line(r: &BanRecord) -> String {
    let at = if r.banned_at_unix == 0 {
        "unknown-time".to_string()
    } else {
        humantime::format_rfc3339_seconds(r.banned_at()).to_string()
    };
    let session = if r.session_id.is_empty() {
        "-"
    } else {
        r.session_id.as_str()
    };
    format!("{}\t{}\t{}\t{}", r.party, r.reason, session, at)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn list_prints_each_ban_and_clear_refuses_an_unknown_party() {
        let dir = tempfile::tempdir().unwrap();
        let me = NodeId::new("node1").unwrap();
        let d = dir.path();
        let at = UNIX_EPOCH + Duration::from_secs(1_767_000_000);
        let r = BanRecord::new(
            NodeId::new("node0").unwrap(),
            "multiplication check failed".into(),
            "abc".into(),
            at,
        );
        BanList::new(d).ban(&r).unwrap();
        let mut out = Vec::new();
        list(&me, d, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "node0\tmultiplication check failed\tabc\t2025-12-29T09:20:00Z\n"
        );
        let e = clear(&me, d, "node9", &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "node9 is not banned on node1 (see `tessera bans list`)"
        );
        let mut out = Vec::new();
        clear(&me, d, "node0", &mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("cleared node0\t"));
        let mut out = Vec::new();
        list(&me, d, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "no banned parties\n");
    }
}
