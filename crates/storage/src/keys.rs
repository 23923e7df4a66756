//! Keys: a wallet's metadata and its versioned, sealed shares.
//!
//! Invariant (schema 2, see `tables`): a key has metadata if and only if it has
//! an active epoch, the metadata's `share_version` names that epoch's share,
//! and every share version is named by exactly one epoch record. Every write
//! changes all of them in one redb write transaction, so a crash leaves either
//! the old state or the new one, never metadata without its share.
//!
//! - [`Store::put_key`] is keygen's write: version 1 at epoch 0, refused if the
//!   key exists (or has any epoch record, e.g. a pending one).
//! - [`Store::put_share`] adds a share version to an existing key (refresh).
//! - [`Store::replace_key`] adds a share version with new metadata (reshare);
//!   the public key must not change.
//!
//! `put_share` and `replace_key` are a lifecycle operation decided at once:
//! the new version becomes the next epoch and the old active epoch is retired,
//! so old share versions stay readable until `erase_retired`. Both refuse while
//! a lifecycle session has a pending epoch ([`StorageError::LifecycleBusy`]).
//! [`Store::get_share`] reads the active share.

use redb::{ReadableDatabase, ReadableTable};
use tessera_types::{KeyType, WalletId};

use crate::epoch_rows::{next_version, put_row, set_active_metadata, KeyRows, SharesTable};
use crate::epochs::{EpochRow, EpochState};
use crate::error::{rd, wr, StorageError};
use crate::records::{KeyMetadata, StoredShare};
use crate::store::Store;
use crate::tables::{
    decode_metadata, now_unix, parse_key_type, share_record_id, EPOCHS, KEYS, SHARES,
};

impl Store {
    /// Stores a new key: its share as version 1 and its metadata, atomically.
    /// Fails with [`StorageError::AlreadyExists`] if the wallet already has a
    /// key of this type, so a repeated keygen can never overwrite a share.
    pub fn put_key(&self, meta: &KeyMetadata, share: &[u8]) -> Result<u32, StorageError> {
        meta.validate()?;
        let (wallet, key_type) = (&meta.wallet_id, meta.key_type);
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let k = (wallet.as_str(), key_type.as_str());
            if keys.get(k).map_err(rd)?.is_some()
                || !KeyRows::read(&epochs, wallet, key_type)?.0.is_empty()
            {
                return Err(StorageError::AlreadyExists {
                    wallet: wallet.clone(),
                    key_type,
                });
            }
            let version = next_version(&shares, wallet, key_type)?;
            if version != 1 {
                return Err(StorageError::Corrupt {
                    what: "a share version exists that no epoch record names",
                });
            }
            self.insert_share(&mut shares, wallet, key_type, 1, share)?;
            let mut stored = meta.clone();
            stored.share_version = 1;
            let row = EpochRow {
                epoch: 0,
                share_version: 1,
                state: EpochState::Active,
                metadata: stored,
            };
            put_row(&mut epochs, &row)?;
            set_active_metadata(&mut keys, &row)?;
        }
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, "stored new key");
        Ok(1)
    }

    /// Adds a new share version to an existing key, keeping its metadata
    /// (a refresh). Returns the new version.
    pub fn put_share(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        share: &[u8],
    ) -> Result<u32, StorageError> {
        self.add_version(wallet, key_type, share, Ok)
    }

    /// Adds a new share version with new metadata (a reshare: participants or
    /// threshold may change, the public key may not). Returns the new version.
    pub fn replace_key(&self, meta: &KeyMetadata, share: &[u8]) -> Result<u32, StorageError> {
        meta.validate()?;
        self.add_version(&meta.wallet_id, meta.key_type, share, |old| {
            if old.public_key != meta.public_key {
                return Err(StorageError::InvalidMetadata {
                    reason: "public key differs from the stored key",
                });
            }
            Ok(meta.clone())
        })
    }

    fn add_version(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        share: &[u8],
        new_meta: impl FnOnce(KeyMetadata) -> Result<KeyMetadata, StorageError>,
    ) -> Result<u32, StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let (version, epoch) = {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            let rows = KeyRows::read(&epochs, wallet, key_type)?;
            let active = rows.active_unless_busy(wallet, key_type)?;
            let epoch = rows.newest().map_or(0, |r| r.epoch).checked_add(1).ok_or(
                StorageError::Corrupt {
                    what: "epoch overflow",
                },
            )?;
            let version = next_version(&shares, wallet, key_type)?;
            let mut meta = new_meta(active.metadata.clone())?;
            meta.share_version = version;
            self.insert_share(&mut shares, wallet, key_type, version, share)?;
            let mut retired = active.clone();
            retired.state = EpochState::Retired {
                since_unix: now_unix(),
            };
            put_row(&mut epochs, &retired)?;
            let row = EpochRow {
                epoch,
                share_version: version,
                state: EpochState::Active,
                metadata: meta,
            };
            put_row(&mut epochs, &row)?;
            set_active_metadata(&mut keys, &row)?;
            (version, epoch)
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, version, epoch, "stored new share version");
        Ok(version)
    }

    /// Seals `share` and inserts it; an existing record at that version means the
    /// metadata lost track of it, which is corruption, not something to overwrite.
    pub(crate) fn insert_share(
        &self,
        shares: &mut SharesTable<'_>,
        wallet: &WalletId,
        key_type: KeyType,
        version: u32,
        share: &[u8],
    ) -> Result<(), StorageError> {
        if share.is_empty() {
            return Err(StorageError::InvalidInput {
                reason: "share is empty",
            });
        }
        let sealed = self
            .key()
            .seal(&share_record_id(wallet, key_type), version, share)?;
        let k = (wallet.as_str(), key_type.as_str(), version);
        if shares.insert(k, sealed.as_slice()).map_err(wr)?.is_some() {
            return Err(StorageError::Corrupt {
                what: "a share version exists that its metadata does not name",
            });
        }
        Ok(())
    }

    /// The active share of a key, decrypted.
    pub fn get_share(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<Option<StoredShare>, StorageError> {
        let Some(meta) = self.get_metadata(wallet, key_type)? else {
            return Ok(None);
        };
        match self.get_share_version(wallet, key_type, meta.share_version)? {
            Some(s) => Ok(Some(s)),
            None => Err(StorageError::Corrupt {
                what: "key metadata names a share version that is missing",
            }),
        }
    }

    /// One share version of a key, decrypted.
    pub fn get_share_version(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        version: u32,
    ) -> Result<Option<StoredShare>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let shares = txn.open_table(SHARES).map_err(rd)?;
        let k = (wallet.as_str(), key_type.as_str(), version);
        let Some(record) = shares.get(k).map_err(rd)? else {
            return Ok(None);
        };
        self.open_share(wallet, key_type, version, record.value())
            .map(Some)
    }

    /// Decrypts a sealed share record of `wallet`/`key_type` at `version`.
    pub(crate) fn open_share(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
        version: u32,
        sealed: &[u8],
    ) -> Result<StoredShare, StorageError> {
        let plaintext = self
            .key()
            .open(&share_record_id(wallet, key_type), version, sealed)?;
        Ok(StoredShare {
            wallet_id: wallet.clone(),
            key_type,
            version,
            plaintext,
        })
    }

    /// A key's metadata.
    pub fn get_metadata(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<Option<KeyMetadata>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let keys = txn.open_table(KEYS).map_err(rd)?;
        let got = keys.get((wallet.as_str(), key_type.as_str())).map_err(rd)?;
        got.map(|v| decode_metadata(v.value())).transpose()
    }

    /// Whether the wallet has a key of any type.
    pub fn has_wallet(&self, wallet: &WalletId) -> Result<bool, StorageError> {
        for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
            if self.get_metadata(wallet, key_type)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every key's metadata, ordered by wallet id then key type.
    pub fn list_keys(&self) -> Result<Vec<KeyMetadata>, StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let keys = txn.open_table(KEYS).map_err(rd)?;
        let mut out = Vec::new();
        for entry in keys.iter().map_err(rd)? {
            let (k, v) = entry.map_err(rd)?;
            let meta = decode_metadata(v.value())?;
            let (wallet, key_type) = k.value();
            if meta.wallet_id.as_str() != wallet || meta.key_type != parse_key_type(key_type)? {
                return Err(StorageError::Corrupt {
                    what: "key metadata stored under another key's name",
                });
            }
            out.push(meta);
        }
        Ok(out)
    }

    /// Every wallet with at least one key, sorted and without repeats.
    pub fn list_wallets(&self) -> Result<Vec<WalletId>, StorageError> {
        let mut wallets: Vec<WalletId> =
            self.list_keys()?.into_iter().map(|m| m.wallet_id).collect();
        wallets.dedup();
        Ok(wallets)
    }
}
