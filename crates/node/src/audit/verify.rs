//! Checking an audit chain: every line's `prev` is the hash of the line
//! before it, and its `seq` one more. Files given in order (oldest first)
//! are checked as one chain across rotation.

use std::path::{Path, PathBuf};

use super::line;

/// A chain that holds: how many lines, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intact {
    pub lines: u64,
    /// `prev` of the first line: [`line::GENESIS`], or the hash of a line in
    /// an earlier file that was not given.
    pub starts_after: String,
}

/// The first line that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: line {line}: {reason}", file.display())]
pub struct Broken {
    pub file: PathBuf,
    /// 1-based, within `file`.
    pub line: u64,
    pub reason: String,
}

/// Checks `files` as one chain, in the order given.
pub fn verify(files: &[PathBuf]) -> Result<Intact, VerifyError> {
    let mut state: Option<(String, u64)> = None; // hash and seq of the last line
    let mut intact = Intact {
        lines: 0,
        starts_after: String::new(),
    };
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| VerifyError::Read {
            file: file.clone(),
            source,
        })?;
        for (i, l) in text.lines().enumerate() {
            let broken = |reason: String| Broken {
                file: file.clone(),
                line: i as u64 + 1,
                reason,
            };
            let (seq, prev) = line::chain_fields(l).map_err(|r| broken(r.to_string()))?;
            match &state {
                None => intact.starts_after = prev,
                Some((hash, last)) => {
                    if prev != *hash {
                        return Err(broken(format!(
                            "prev is {prev}, but the line before hashes to {hash}: a line before it was changed, removed or inserted"
                        ))
                        .into());
                    }
                    if seq != last + 1 {
                        return Err(broken(format!("seq {seq} does not follow {last}")).into());
                    }
                }
            }
            state = Some((line::hash(l.as_bytes()), seq));
            intact.lines += 1;
        }
    }
    Ok(intact)
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("audit chain broken at {0}")]
    Broken(#[from] Broken),
}

impl VerifyError {
    /// The file and 1-based line that broke the chain, if one did.
    pub fn broken_at(&self) -> Option<(&Path, u64)> {
        match self {
            VerifyError::Broken(b) => Some((&b.file, b.line)),
            VerifyError::Read { .. } => None,
        }
    }
}
