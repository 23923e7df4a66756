//! The node's ban list: parties it will never run a session with again,
//! because a protocol library said to exclude them (DKLs23 `BanCounterparty`)
//! or this node proved they equivocated.
//!
//! Stored apart from the redb database, which the running node keeps locked:
//! the operator's `tessera bans list | clear` must work while the node runs.
//! One small JSON file per banned party in `<storage.dir>/bans/` (0700), named
//! by the hex of the party id (ids may hold `/`), written 0600 to a temporary
//! file, fsynced and renamed into place, so a reader sees a whole record or
//! none. Banning creates a file and clearing removes one: no read-modify-write,
//! so the node and the CLI never lose each other's changes and need no lock.
//! Every check lists the directory again (microseconds for a handful of
//! files), so a clear takes effect at the node's next session. A record that
//! cannot be read still bans the party its file name names (fail closed).

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tessera_types::{ErrorCode, NodeId};

/// The directory under `storage.dir`.
pub const BANS_DIR: &str = "bans";
const SUFFIX: &str = ".ban";

/// One ban: whom, why, in which session, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRecord {
    pub party: NodeId,
    /// What proved it (the abort's text; never secret material).
    pub reason: String,
    /// The session in which it was proven.
    pub session_id: String,
    /// Seconds since the Unix epoch.
    pub banned_at_unix: u64,
}

impl BanRecord {
    pub fn new(party: NodeId, reason: String, session_id: String, at: SystemTime) -> Self {
        let banned_at_unix = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        Self {
            party,
            reason,
            session_id,
            banned_at_unix,
        }
    }

    pub fn banned_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.banned_at_unix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BanError {
    #[error("ban list {}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ban list {}: cannot write: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not banned")]
    NotBanned(NodeId),
}

impl BanError {
    pub fn code(&self) -> ErrorCode {
        match self {
            BanError::Read { .. } => ErrorCode::StorageRead,
            BanError::Write { .. } => ErrorCode::StorageWrite,
            BanError::NotBanned(_) => ErrorCode::ParticipantNotFound,
        }
    }
}

/// The ban list of one node. Cheap to clone; every call touches the disk.
#[derive(Clone, Debug)]
pub struct BanList {
    dir: PathBuf,
}

impl BanList {
    /// The ban list kept under `storage_dir` (created on the first ban).
    pub fn new(storage_dir: &Path) -> Self {
        Self {
            dir: storage_dir.join(BANS_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file_of(&self, party: &NodeId) -> PathBuf {
        self.dir
            .join(format!("{}{SUFFIX}", hex::encode(party.as_str())))
    }

    /// Every ban, sorted by party.
    pub fn list(&self) -> Result<Vec<BanRecord>, BanError> {
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BanError::Read { path, source }
        };
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(read_err(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(read_err(&self.dir))?;
            let name = entry.file_name();
            let Some(party) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .filter(|n| !n.starts_with('.'))
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| NodeId::new(s).ok())
            else {
                continue; // temporary files and strangers
            };
            let path = entry.path();
            let record = match fs::read(&path) {
                Ok(bytes) => serde_json::from_slice::<BanRecord>(&bytes)
                    .ok()
                    .filter(|r| r.party == party),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // cleared meanwhile
                Err(e) => return Err(read_err(&path)(e)),
            };
            // An unreadable record still bans the party its name says.
            out.push(record.unwrap_or_else(|| BanRecord {
                party,
                reason: format!("unreadable ban record {}", path.display()),
                session_id: String::new(),
                banned_at_unix: 0,
            }));
        }
        out.sort_by(|a, b| a.party.cmp(&b.party));
        Ok(out)
    }

    /// The banned parties.
    pub fn banned(&self) -> Result<BTreeSet<NodeId>, BanError> {
        Ok(self.list()?.into_iter().map(|r| r.party).collect())
    }

    /// The first of `parties` that is banned, with its record.
    pub fn first_banned(&self, parties: &[NodeId]) -> Result<Option<BanRecord>, BanError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|r| parties.contains(&r.party)))
    }

    /// Bans `record.party`. A party already banned keeps its first record;
    /// returns whether this call banned it.
    pub fn ban(&self, record: &BanRecord) -> Result<bool, BanError> {
        let path = self.file_of(&record.party);
        if path.exists() {
            return Ok(false);
        }
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BanError::Write { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(write_err(&self.dir))?;
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|e| write_err(&path)(std::io::Error::other(e)))?;
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            hex::encode(record.party.as_str()),
            std::process::id()
        ));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(write_err(&tmp))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(write_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(write_err(&path))?;
        sync_dir(&self.dir).map_err(write_err(&self.dir))?;
        Ok(true)
    }

    /// Lifts `party`'s ban; returns its record. Not banned: [`BanError::NotBanned`].
    pub fn clear(&self, party: &NodeId) -> Result<BanRecord, BanError> {
        let record = self
            .list()?
            .into_iter()
            .find(|r| &r.party == party)
            .ok_or_else(|| BanError::NotBanned(party.clone()))?;
        let path = self.file_of(party);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BanError::NotBanned(party.clone()))
            }
            Err(source) => return Err(BanError::Write { path, source }),
        }
        sync_dir(&self.dir).map_err(|source| BanError::Write {
            path: self.dir.clone(),
            source,
        })?;
        Ok(record)
    }
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn bans_persist_across_instances_and_keep_the_first_record() {
        let dir = tempfile::tempdir().unwrap();
        let bans = BanList::new(dir.path());
        assert!(bans.list().unwrap().is_empty(), "no directory yet: no bans");
        let first = BanRecord::new(id("node0"), "ot check".into(), "s1".into(), at(1_000));
        assert!(bans.ban(&first).unwrap());
        let again = BanRecord::new(id("node0"), "other".into(), "s2".into(), at(2_000));
        assert!(!bans.ban(&again).unwrap());
        // Another instance (a restarted node, the CLI) reads the same.
        let other = BanList::new(dir.path());
        assert_eq!(other.list().unwrap(), vec![first.clone()]);
        assert_eq!(other.list().unwrap()[0].banned_at(), at(1_000));
        assert_eq!(
            other.first_banned(&[id("node1"), id("node0")]).unwrap(),
            Some(first)
        );
        assert_eq!(other.first_banned(&[id("node1")]).unwrap(), None);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(bans.dir()), 0o700);
        assert_eq!(mode(&bans.file_of(&id("node0"))), 0o600);
    }

    #[test]
    fn clear_lifts_a_ban_and_refuses_an_unknown_party() {
        let dir = tempfile::tempdir().unwrap();
        let bans = BanList::new(dir.path());
        let r = BanRecord::new(id("a/b"), "equivocation".into(), "s".into(), at(5));
        bans.ban(&r).unwrap();
        bans.ban(&BanRecord::new(id("c"), "x".into(), "s".into(), at(6)))
            .unwrap();
        assert_eq!(bans.banned().unwrap(), [id("a/b"), id("c")].into());
        assert_eq!(bans.clear(&id("a/b")).unwrap(), r);
        assert_eq!(bans.banned().unwrap(), [id("c")].into());
        let e = bans.clear(&id("a/b")).unwrap_err();
        assert!(matches!(e, BanError::NotBanned(_)), "{e}");
        assert_eq!(e.to_string(), "a/b is not banned");
        assert_eq!(e.code(), ErrorCode::ParticipantNotFound);
    }

    #[test]
    fn an_unreadable_record_still_bans_and_strangers_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let bans = BanList::new(dir.path());
        bans.ban(&BanRecord::new(id("x"), "r".into(), "s".into(), at(1)))
            .unwrap();
        fs::write(bans.file_of(&id("x")), b"{not json").unwrap();
        fs::write(bans.dir().join(".78.99.tmp"), b"half").unwrap();
        fs::write(bans.dir().join("README"), b"hello").unwrap();
        let list = bans.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].party, id("x"));
        assert!(list[0].reason.contains("unreadable"), "{}", list[0].reason);
    }
}
