//! Reading epochs: a key's epochs, its active epoch, the share of any stored
//! epoch (signing at the epoch the coordinator names), and every pending epoch
//! (a restarted node reconciles them with the lifecycle decisions).

use redb::{ReadableDatabase, ReadableTable};
use tessera_types::{KeyType, WalletId};

use crate::epoch_rows::KeyRows;
use crate::epochs::{decode_row, EpochRow};
use crate::error::{rd, StorageError};
use crate::records::StoredShare;
use crate::store::Store;
use crate::tables::{EPOCHS, SHARES};

impl Store {
    /// Every stored epoch of a key (active, pending, retired), oldest first.
    /// Empty for a key this node never held or has erased entirely.
    pub fn list_epochs(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<Vec<EpochRow>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let epochs = txn.open_table(EPOCHS).map_err(rd)?;
        Ok(KeyRows::read(&epochs, wallet, key_type)?.0)
    }

    /// The key's active epoch, `None` if this node holds no active share of it.
    pub fn active_epoch(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<Option<u64>, StorageError> {
        Ok(self
            .list_epochs(wallet, key_type)?
            .iter()
            .find(|r| r.state.is_active())
            .map(|r| r.epoch))
    }

    /// The share of one epoch of a key, whatever its state, decrypted.
    /// `None` if the key has no such epoch (never stored, or erased).
    pub fn get_share_at(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        epoch: u64,
    ) -> Result<Option<StoredShare>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let epochs = txn.open_table(EPOCHS).map_err(rd)?;
        let shares = txn.open_table(SHARES).map_err(rd)?;
        let rows = KeyRows::read(&epochs, wallet, key_type)?;
        let Some(row) = rows.at(epoch) else {
            return Ok(None);
        };
        let k = (wallet.as_str(), key_type.as_str(), row.share_version);
        let Some(sealed) = shares.get(k).map_err(rd)? else {
            return Err(StorageError::Corrupt {
                what: "an epoch record names a share version that is missing",
            });
        };
        self.open_share(wallet, key_type, row.share_version, sealed.value())
            .map(Some)
    }

    /// Every pending epoch of every key, ordered by wallet, key type, epoch.
    pub fn list_pending(&self) -> Result<Vec<EpochRow>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let epochs = txn.open_table(EPOCHS).map_err(rd)?;
        let mut out = Vec::new();
        for entry in epochs.iter().map_err(rd)? {
            let row = decode_row(entry.map_err(rd)?.1.value())?;
            if row.state.pending_session().is_some() {
                out.push(row);
            }
        }
        Ok(out)
    }
}
