//! A lifecycle operation's writes: store the session's output as a pending
//! epoch, then promote it (commit) or, on a node that left the committee,
//! retire the key. Aborts and erases are in `erase`.
//!
//! Each method is one redb write transaction, so a crash leaves the old state
//! or the new one. One pending epoch per key at a time: another session's
//! `put_pending` is refused with [`StorageError::LifecycleBusy`].

use redb::ReadableTable;
use tessera_types::{KeyType, SessionId, WalletId};

use crate::epoch_rows::{next_version, put_row, set_active_metadata, KeyRows};
use crate::epochs::{EpochRow, EpochState};
use crate::error::{rd, wr, StorageError};
use crate::records::KeyMetadata;
use crate::store::Store;
use crate::tables::{now_unix, share_record_id, EPOCHS, KEYS, SHARES};

impl Store {
    /// Stores `share` as the pending `epoch` of the key `meta` names, for
    /// `session_id`, and returns its share version. The active epoch (if any)
    /// is untouched: signing goes on with it.
    ///
    /// - Another session's pending epoch: [`StorageError::LifecycleBusy`].
    /// - The same session again with the same epoch, digest, metadata and share:
    ///   the stored version, nothing written. With anything different:
    ///   [`StorageError::Conflict`].
    /// - `epoch` must be above every epoch the key has ([`StorageError::EpochNotNewer`]),
    ///   and the public key must be the key's ([`StorageError::InvalidMetadata`]).
    /// - A new holder (move or grow target) has no key yet: the pending row is
    ///   stored alone, and [`Store::promote`] creates the key.
    pub fn put_pending(
        &self,
        meta: &KeyMetadata,
        epoch: u64,
        session_id: &SessionId,
        digest: [u8; 32],
        share: &[u8],
    ) -> Result<u32, StorageError> {
        meta.validate()?;
        let (wallet, key_type) = (&meta.wallet_id, meta.key_type);
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let version = {
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            if let Some(pending) = rows.pending() {
                let k = (wallet.as_str(), key_type.as_str(), pending.share_version);
                let stored = match shares.get(k).map_err(rd)? {
                    Some(sealed) => Some(self.key().open(
                        &share_record_id(wallet, key_type),
                        pending.share_version,
                        sealed.value(),
                    )?),
                    None => None,
                };
                let same = stored.is_some_and(|s| s.as_slice() == share);
                return Self::same_pending(pending, meta, epoch, session_id, digest, same);
            }
            if let Some(newest) = rows.newest() {
                if epoch <= newest.epoch {
                    return Err(StorageError::EpochNotNewer {
                        wallet: wallet.clone(),
                        key_type,
                        epoch,
                        newest: newest.epoch,
                    });
                }
                if newest.metadata.public_key != meta.public_key {
                    return Err(StorageError::InvalidMetadata {
                        reason: "public key differs from the stored key",
                    });
                }
            }
            let version = next_version(&shares, wallet, key_type)?;
            self.insert_share(&mut shares, wallet, key_type, version, share)?;
            let mut metadata = meta.clone();
            metadata.share_version = version;
            let row = EpochRow {
                epoch,
                share_version: version,
                state: EpochState::Pending {
                    session_id: session_id.clone(),
                    digest,
                },
                metadata,
            };
            put_row(&mut epochs, &row)?;
            version
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, epoch, version, session = %session_id, "stored pending epoch");
        Ok(version)
    }

    /// A repeated `put_pending` while `pending` is stored: the same write again
    /// is answered with its version; anything else is refused.
    fn same_pending(
        pending: &EpochRow,
        meta: &KeyMetadata,
        epoch: u64,
        session_id: &SessionId,
        digest: [u8; 32],
        same_share: bool,
    ) -> Result<u32, StorageError> {
        let EpochState::Pending {
            session_id: stored_session,
            digest: stored_digest,
        } = &pending.state
        else {
            return Err(StorageError::Corrupt {
                what: "a pending epoch record is not pending",
            });
        };
        if stored_session != session_id {
            return Err(StorageError::LifecycleBusy {
                wallet: meta.wallet_id.clone(),
                key_type: meta.key_type,
                pending: stored_session.clone(),
            });
        }
        let mut same_meta = meta.clone();
        same_meta.share_version = pending.share_version;
        if pending.epoch == epoch
            && *stored_digest == digest
            && pending.metadata == same_meta
            && same_share
        {
            return Ok(pending.share_version);
        }
        Err(StorageError::Conflict {
            kind: "lifecycle",
            request_key: session_id.to_string(),
        })
    }

    /// Commits `session_id`'s pending epoch: it becomes the active one (its
    /// metadata is now the key's), and the previous active epoch is retired
    /// (kept for signing until [`Store::erase_retired`]). Returns the epoch.
    /// No pending epoch of that session: [`StorageError::PendingNotFound`]
    /// (also when it was promoted already: compare [`Store::active_epoch`]).
    pub fn promote(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        session_id: &SessionId,
    ) -> Result<u64, StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let (epoch, version) = {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            let Some(pending) = rows
                .pending()
                .filter(|r| r.state.pending_session() == Some(session_id))
            else {
                return Err(StorageError::PendingNotFound {
                    wallet: wallet.clone(),
                    key_type,
                    session: session_id.clone(),
                });
            };
            if let Some(active) = rows.active() {
                let mut retired = active.clone();
                retired.state = EpochState::Retired {
                    since_unix: now_unix(),
                };
                put_row(&mut epochs, &retired)?;
            }
            let mut promoted = pending.clone();
            promoted.state = EpochState::Active;
            put_row(&mut epochs, &promoted)?;
            set_active_metadata(&mut keys, &promoted)?;
            (promoted.epoch, promoted.share_version)
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, epoch, version, session = %session_id, "promoted pending epoch");
        Ok(epoch)
    }

    /// This node is not a holder of `committed_epoch` (it left the committee):
    /// its active epoch is retired and the key's metadata removed, so the key
    /// reads as not found from now on. Returns the retired epoch.
    ///
    /// Refused while a pending epoch exists ([`StorageError::LifecycleBusy`]:
    /// discard it first) and when the active epoch is not older than
    /// `committed_epoch` ([`StorageError::EpochNotNewer`]).
    pub fn retire_key(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        committed_epoch: u64,
    ) -> Result<u64, StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let epoch = {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            let active = rows.active_unless_busy(wallet, key_type)?;
            if committed_epoch <= active.epoch {
                return Err(StorageError::EpochNotNewer {
                    wallet: wallet.clone(),
                    key_type,
                    epoch: committed_epoch,
                    newest: active.epoch,
                });
            }
            let mut retired = active.clone();
            retired.state = EpochState::Retired {
                since_unix: now_unix(),
            };
            put_row(&mut epochs, &retired)?;
            if keys
                .remove((wallet.as_str(), key_type.as_str()))
                .map_err(wr)?
                .is_none()
            {
                return Err(StorageError::Corrupt {
                    what: "an active epoch of a key without metadata",
                });
            }
            retired.epoch
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, epoch, committed_epoch, "retired key: no longer a holder");
        Ok(epoch)
    }
}
