//! [`FileAudit`]: appends audit lines to a file (mode 0600), continuing the
//! chain of what the file already holds, and rotates it by size:
//! `audit.jsonl` becomes `audit.jsonl.1` (`.1` becomes `.2`, ... up to
//! `keep`, the oldest is deleted) and the new file's first line links to the
//! last line of the rotated one.
//!
//! A line is written whole with one `write` call and flushed to the OS, not
//! fsynced. A failure to write is logged (with the trace id) and does not
//! fail the request: the result was already published.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tessera_eventconsumer::{AuditEvent, AuditSink};

use super::line;

/// How far back from the end an existing file is read for its last line.
const TAIL: u64 = 64 * 1024;

#[derive(Debug)]
pub struct FileAudit {
    path: PathBuf,
    node: String,
    max_bytes: u64,
    keep: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    size: u64,
    prev: String,
    seq: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("audit file {}: {source}", path.display())]
pub struct AuditFileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FileAudit {
    /// Opens (or creates) `path` and continues its chain.
    pub fn open(
        path: &Path,
        node: &str,
        max_bytes: u64,
        keep: usize,
    ) -> Result<Self, AuditFileError> {
        let err = |source| AuditFileError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let (prev, seq) = last_link(path).map_err(err)?;
        let file = open_append(path).map_err(err)?;
        let mut size = file.metadata().map_err(err)?.len();
        let mut file = file;
        if size > 0 && !ends_with_newline(path).map_err(err)? {
            // A line cut short by a crash stays a line of its own (verify names it).
            file.write_all(b"\n").map_err(err)?;
            size += 1;
        }
        Ok(FileAudit {
            path: path.to_path_buf(),
            node: node.to_string(),
            max_bytes,
            keep,
            state: Mutex::new(State {
                file,
                size,
                prev,
                seq,
            }),
        })
    }

    fn append(&self, event: &AuditEvent) -> Result<(), AuditFileError> {
        let err = |source| AuditFileError {
            path: self.path.clone(),
            source,
        };
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let seq = s.seq + 1;
        let text = line::encode(event, seq, &time, &self.node, &s.prev)
            .map_err(|e| err(std::io::Error::other(e)))?;
        if s.size > 0 && s.size + text.len() as u64 + 1 > self.max_bytes {
            self.rotate().map_err(err)?;
            s.file = open_append(&self.path).map_err(err)?;
            s.size = 0;
        }
        let mut bytes = text.into_bytes();
        let hash = line::hash(&bytes);
        bytes.push(b'\n');
        s.file.write_all(&bytes).map_err(err)?;
        s.file.flush().map_err(err)?;
        s.size += bytes.len() as u64;
        s.prev = hash;
        s.seq = seq;
        Ok(())
    }

    /// `audit.jsonl` -> `.1` -> `.2` ... ; the one past `keep` is deleted.
    fn rotate(&self) -> std::io::Result<()> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        let _ = std::fs::remove_file(numbered(self.keep.max(1)));
        for n in (1..self.keep.max(1)).rev() {
            if numbered(n).exists() {
                std::fs::rename(numbered(n), numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))
    }
}

impl AuditSink for FileAudit {
    fn record(&self, event: &AuditEvent) {
        if let Err(e) = self.append(event) {
            tracing::error!(trace_id = %event.trace_id, "audit line not written: {e}");
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// The hash and seq of the last line in `path` ([`line::GENESIS`] and 0
/// for a new or empty file). A last line that cannot be read as a chain
/// line is still hashed: the chain goes on after it, and verify names it.
fn last_link(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((line::GENESIS.into(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut tail = String::new();
    f.read_to_string(&mut tail)?;
    let Some(last) = tail.lines().rev().find(|l| !l.is_empty()) else {
        return Ok((line::GENESIS.into(), 0));
    };
    let seq = line::chain_fields(last).map(|(s, _)| s).unwrap_or(0);
    Ok((line::hash(last.as_bytes()), seq))
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::verify::verify;
    use tessera_eventconsumer::audit::Role;
    use tessera_types::TraceId;

    fn event(n: u64) -> AuditEvent {
        let mut e = AuditEvent::bare("sign", Role::Coordinator, &TraceId::new("t1").unwrap())
            .with_outcome("success", None);
        e.tx_id = Some(format!("tx-{n}"));
        e
    }

    #[test]
    fn the_chain_survives_restarts_and_rotation_and_names_an_edited_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let a = FileAudit::open(&path, "node0", 700, 2).unwrap();
        for n in 0..5 {
            a.record(&event(n));
        }
        drop(a);
        // A restart continues the chain.
        let a = FileAudit::open(&path, "node0", 700, 2).unwrap();
        for n in 5..20 {
            a.record(&event(n));
        }
        let rotated: Vec<PathBuf> = (1..=3)
            .rev()
            .map(|n| PathBuf::from(format!("{}.{n}", path.display())))
            .filter(|p| p.exists())
            .chain([path.clone()])
            .collect();
        // Two rotated files kept, older ones deleted.
        assert_eq!(rotated.len(), 3, "rotated into {rotated:?}");
        assert!(!PathBuf::from(format!("{}.3", path.display())).exists());
        let intact = verify(&rotated).unwrap();
        let total: usize = rotated
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
            .sum();
        assert_eq!(intact.lines as usize, total);
        // Only the newest file: it continues an earlier one.
        let newest = verify(std::slice::from_ref(&path)).unwrap();
        assert_ne!(newest.starts_after, line::GENESIS);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Edit one line of the newest file: the next line is named.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 2);
        let edited: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l.replace("tx-", "tx-9")
                } else {
                    l.to_string()
                }
            })
            .collect();
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
        let e = verify(std::slice::from_ref(&path)).unwrap_err();
        assert_eq!(e.broken_at(), Some((path.as_path(), 2)), "{e}");
        // Removing a line is named too.
        let removed: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 0)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(&path, removed.join("\n") + "\n").unwrap();
        let e = verify(&rotated).unwrap_err();
        assert_eq!(e.broken_at(), Some((path.as_path(), 1)), "{e}");
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_named_and_the_chain_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let a = FileAudit::open(&path, "node0", 1 << 20, 3).unwrap();
        a.record(&event(1));
        drop(a);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":2,\"ti").unwrap();
        drop(f);
        let a = FileAudit::open(&path, "node0", 1 << 20, 3).unwrap();
        a.record(&event(3));
        let e = verify(std::slice::from_ref(&path)).unwrap_err();
        assert_eq!(e.broken_at(), Some((path.as_path(), 2)), "{e}");
    }
}
