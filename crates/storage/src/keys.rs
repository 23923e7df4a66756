//! Keys: a wallet's metadata and its versioned, sealed shares.
//!
//! Invariant: a key has metadata if and only if it has shares, and the
//! metadata's `share_version` names its newest share. Every write keeps it by
//! changing both in one redb write transaction, so a crash leaves either the
//! old state or the new one, never metadata without its share.
//!
//! - [`Store::put_key`] is keygen's write: version 1, refused if the key exists.
//! - [`Store::put_share`] adds a share version to an existing key (refresh).
//! - [`Store::replace_key`] adds a share version with new metadata (reshare);
//!   the public key must not change.
//!
//! Old share versions are kept; [`Store::get_share`] reads the newest.

use redb::{ReadableDatabase, ReadableTable, Table};
use tessera_types::{KeyType, WalletId};

use crate::error::{rd, wr, StorageError};
use crate::records::{KeyMetadata, StoredShare};
use crate::store::Store;
use crate::tables::{
    decode_metadata, encode_metadata, parse_key_type, share_record_id, KEYS, SHARES,
};

type SharesTable<'t> = Table<'t, (&'static str, &'static str, u32), &'static [u8]>;

impl Store {
    /// Stores a new key: its share as version 1 and its metadata, atomically.
    /// Fails with [`StorageError::AlreadyExists`] if the wallet already has a
    /// key of this type, so a repeated keygen can never overwrite a share.
    pub fn put_key(&self, meta: &KeyMetadata, share: &[u8]) -> Result<u32, StorageError> {
        meta.validate()?;
        let (wallet, key_type) = (&meta.wallet_id, meta.key_type);
        let txn = self.db().begin_write().map_err(wr)?;
        {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let k = (wallet.as_str(), key_type.as_str());
            if keys.get(k).map_err(rd)?.is_some() {
                return Err(StorageError::AlreadyExists {
                    wallet: wallet.clone(),
                    key_type,
                });
            }
            self.insert_share(&mut shares, wallet, key_type, 1, share)?;
            let mut stored = meta.clone();
            stored.share_version = 1;
            keys.insert(k, encode_metadata(&stored)?.as_slice())
                .map_err(wr)?;
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
        let txn = self.db().begin_write().map_err(wr)?;
        let version = {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            let k = (wallet.as_str(), key_type.as_str());
            let old = match keys.get(k).map_err(rd)? {
                Some(v) => decode_metadata(v.value())?,
                None => {
                    return Err(StorageError::NotFound {
                        wallet: wallet.clone(),
                        key_type,
                    })
                }
            };
            let version = old
                .share_version
                .checked_add(1)
                .ok_or(StorageError::Corrupt {
                    what: "share version overflow",
                })?;
            let mut meta = new_meta(old)?;
            meta.share_version = version;
            self.insert_share(&mut shares, wallet, key_type, version, share)?;
            keys.insert(k, encode_metadata(&meta)?.as_slice())
                .map_err(wr)?;
            version
        };
        txn.commit().map_err(wr)?;
        tracing::info!(%wallet, %key_type, version, "stored new share version");
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

    /// The newest share of a key, decrypted.
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
        let txn = self.db().begin_read().map_err(rd)?;
        let shares = txn.open_table(SHARES).map_err(rd)?;
        let k = (wallet.as_str(), key_type.as_str(), version);
        let Some(record) = shares.get(k).map_err(rd)? else {
            return Ok(None);
        };
        let plaintext =
            self.key()
                .open(&share_record_id(wallet, key_type), version, record.value())?;
        Ok(Some(StoredShare {
            wallet_id: wallet.clone(),
            key_type,
            version,
            plaintext,
        }))
    }

    /// A key's metadata.
    pub fn get_metadata(
        &self,
        wallet: &WalletId,
        key_type: KeyType,
    ) -> Result<Option<KeyMetadata>, StorageError> {
        let txn = self.db().begin_read().map_err(rd)?;
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
        let txn = self.db().begin_read().map_err(rd)?;
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
