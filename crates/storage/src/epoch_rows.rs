//! Reading and writing one key's `epochs` rows and share versions inside a
//! transaction the caller holds: the building blocks of every write that must
//! keep the schema-2 invariants (see `tables`).

use redb::{ReadableTable, Table};
use tessera_types::{KeyType, WalletId};

use crate::epochs::{decode_row, encode_row, EpochRow};
use crate::error::{rd, wr, StorageError};
use crate::tables::encode_metadata;

pub(crate) type EpochKey = (&'static str, &'static str, u64);
pub(crate) type ShareKey = (&'static str, &'static str, u32);
pub(crate) type EpochsTable<'t> = Table<'t, EpochKey, &'static [u8]>;
pub(crate) type SharesTable<'t> = Table<'t, ShareKey, &'static [u8]>;
pub(crate) type KeysTable<'t> = Table<'t, (&'static str, &'static str), &'static [u8]>;

/// Every row of one key, ordered by epoch.
pub(crate) struct KeyRows(pub Vec<EpochRow>);

impl KeyRows {
    pub fn read(
        epochs: &impl ReadableTable<EpochKey, &'static [u8]>,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<KeyRows, StorageError> {
        let (w, kt) = (wallet.as_str(), key_type.as_str());
        let mut rows = Vec::new();
        for entry in epochs.range((w, kt, 0)..=(w, kt, u64::MAX)).map_err(rd)? {
            let (k, v) = entry.map_err(rd)?;
            let row = decode_row(v.value())?;
            let (_, _, epoch) = k.value();
            if row.epoch != epoch
                || row.metadata.wallet_id != *wallet
                || row.metadata.key_type != key_type
            {
                return Err(StorageError::Corrupt {
                    what: "epoch record stored under another key or epoch",
                });
            }
            rows.push(row);
        }
        Ok(KeyRows(rows))
    }

    pub fn active(&self) -> Option<&EpochRow> {
        self.0.iter().find(|r| r.state.is_active())
    }

    pub fn pending(&self) -> Option<&EpochRow> {
        self.0.iter().find(|r| r.state.pending_session().is_some())
    }

    pub fn at(&self, epoch: u64) -> Option<&EpochRow> {
        self.0.iter().find(|r| r.epoch == epoch)
    }

    /// The highest epoch of any state.
    pub fn newest(&self) -> Option<&EpochRow> {
        self.0.last()
    }

    /// The active row, for a write that changes it: refused while a lifecycle
    /// session has a pending epoch ([`StorageError::LifecycleBusy`]) and when
    /// the key has no active epoch ([`StorageError::NotFound`]).
    pub fn active_unless_busy(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<&EpochRow, StorageError> {
        if let Some(session) = self.pending().and_then(|r| r.state.pending_session()) {
            return Err(StorageError::LifecycleBusy {
                wallet: wallet.clone(),
                key_type,
                pending: session.clone(),
            });
        }
        self.active().ok_or_else(|| StorageError::NotFound {
            wallet: wallet.clone(),
            key_type,
        })
    }
}

/// Inserts or replaces a row under its own epoch.
pub(crate) fn put_row(epochs: &mut EpochsTable<'_>, row: &EpochRow) -> Result<(), StorageError> {
    let k = (
        row.metadata.wallet_id.as_str(),
        row.metadata.key_type.as_str(),
        row.epoch,
    );
    epochs.insert(k, encode_row(row)?.as_slice()).map_err(wr)?;
    Ok(())
}

/// Deletes a row and the share version it names, together.
pub(crate) fn remove_row_and_share(
    epochs: &mut EpochsTable<'_>,
    shares: &mut SharesTable<'_>,
    row: &EpochRow,
) -> Result<(), StorageError> {
    let (w, kt) = (
        row.metadata.wallet_id.as_str(),
        row.metadata.key_type.as_str(),
    );
    let gone_row = epochs.remove((w, kt, row.epoch)).map_err(wr)?.is_some();
    let gone_share = shares
        .remove((w, kt, row.share_version))
        .map_err(wr)?
        .is_some();
    if !(gone_row && gone_share) {
        return Err(StorageError::Corrupt {
            what: "an epoch record or the share version it names is missing",
        });
    }
    Ok(())
}

/// Makes `row`'s metadata the key's `keys` entry (the active metadata).
pub(crate) fn set_active_metadata(
    keys: &mut KeysTable<'_>,
    row: &EpochRow,
) -> Result<(), StorageError> {
    let m = &row.metadata;
    keys.insert(
        (m.wallet_id.as_str(), m.key_type.as_str()),
        encode_metadata(m)?.as_slice(),
    )
    .map_err(wr)?;
    Ok(())
}

/// The version after the key's highest stored share version (1 for none).
pub(crate) fn next_version(
    shares: &impl ReadableTable<ShareKey, &'static [u8]>,
    wallet: &WalletId,
    key_type: KeyType,
) -> Result<u32, StorageError> {
    let (w, kt) = (wallet.as_str(), key_type.as_str());
    let last = shares
        .range((w, kt, 0)..=(w, kt, u32::MAX))
        .map_err(rd)?
        .next_back()
        .transpose()
        .map_err(rd)?;
    match last {
        None => Ok(1),
        Some((k, _)) => k.value().2.checked_add(1).ok_or(StorageError::Corrupt {
            what: "share version overflow",
        }),
    }
}
