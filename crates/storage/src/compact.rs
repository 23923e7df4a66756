//! Compaction: rewrite the database file so the pages freed by erases are
//! given back and the file shrinks (redb's `Database::compact`).
//!
//! redb needs `&mut Database` for it, and a [`Store`] is shared (`Clone`, an
//! `Arc` inside), so `compact` runs in an exclusive section: it takes the write
//! side of the store's database lock, which waits until every running store
//! operation has ended and holds new ones back until the compaction is over.
//! It is an explicit operation, not part of each erase: it rewrites the file
//! (several fsyncs), so callers run it once after a batch of erases, when no
//! lifecycle or signing work is waiting on the store.

use crate::error::{DbOp, StorageError};
use crate::store::Store;

impl Store {
    /// Compacts the database file. Returns whether redb moved anything.
    /// Blocks every other operation on this store (all clones) meanwhile.
    pub fn compact(&self) -> Result<bool, StorageError> {
        let mut db = self.db_exclusive();
        let started = std::time::Instant::now();
        let compacted = db
            .compact()
            .map_err(|e| StorageError::db(DbOp::Write)(e.into()))?;
        tracing::info!(
            path = %self.path().display(),
            compacted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compacted key store"
        );
        Ok(compacted)
    }
}
