//! Removing epochs: an aborted session's pending epoch, and a retired epoch
//! once every holder has moved on. Each deletes the epoch record and its share
//! version in one write transaction. Both are idempotent: nothing to remove
//! returns `false`.
//!
//! redb is copy-on-write, so a deleted share's sealed bytes (ciphertext under
//! the at-rest key, never plaintext) can stay in free pages of the file until
//! they are reused; [`Store::compact`] after a batch of erases removes them.

use tessera_types::{KeyType, SessionId, WalletId};

use crate::epoch_rows::{remove_row_and_share, KeyRows};
use crate::error::{wr, StorageError};
use crate::store::Store;
use crate::tables::{EPOCHS, SHARES};

impl Store {
    /// Deletes `session_id`'s pending epoch and its share (the session was
    /// aborted). `false` if the key has no pending epoch of that session.
    pub fn discard_pending(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        session_id: &SessionId,
    ) -> Result<bool, StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let epoch = {
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            let Some(pending) = rows
                .pending()
                .filter(|r| r.state.pending_session() == Some(session_id))
            else {
                return Ok(false);
            };
            remove_row_and_share(&mut epochs, &mut shares, pending)?;
            pending.epoch
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, epoch, session = %session_id, "discarded pending epoch");
        Ok(true)
    }

    /// Deletes a retired epoch and its share. `false` if the key has no such
    /// epoch; an active or pending one is refused with
    /// [`StorageError::EpochNotRetired`].
    pub fn erase_retired(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        epoch: u64,
    ) -> Result<bool, StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let version = {
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            let Some(row) = rows.at(epoch) else {
                return Ok(false);
            };
            if !row.state.is_retired() {
                return Err(StorageError::EpochNotRetired {
                    wallet: wallet.clone(),
                    key_type,
                    epoch,
                    state: row.state.name(),
                });
            }
            remove_row_and_share(&mut epochs, &mut shares, row)?;
            row.share_version
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, epoch, version, "erased retired epoch");
        Ok(true)
    }
}
