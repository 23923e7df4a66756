//! Schema 1 → 2: give every key its epoch record.
//!
//! Runs inside the caller's write transaction (the open's schema check, or a
//! restore's import of a schema-1 backup), so a crash leaves the schema-1
//! database as it was. Every key gets an `Active` row at epoch 0 naming the
//! share version its metadata names: epoch 0 on every node of the cluster,
//! whatever each node's local history, so holders agree on the epoch number.
//!
//! Schema 1 kept superseded share versions (`put_share`, `replace_key`; no
//! node ever called them). Schema 2 keeps no share without an epoch record and
//! cannot number those below epoch 0, so the migration deletes them: they were
//! replaced by the version the metadata names, and an old share is exactly
//! what the lifecycle erases. Their count is logged. A share version of a key
//! without metadata breaks schema 1's own invariant and is refused as corrupt.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};

use crate::epoch_rows::put_row;
use crate::epochs::{EpochRow, EpochState};
use crate::error::{rd, wr, StorageError};
use crate::records::KeyMetadata;
use crate::tables::{decode_metadata, parse_key_type, EPOCHS, KEYS, SHARES};

/// What the migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Migrated {
    pub keys: usize,
    pub superseded_versions: usize,
}

pub(crate) fn migrate_v1(txn: &WriteTransaction) -> Result<Migrated, StorageError> {
    let keys = txn.open_table(KEYS).map_err(wr)?;
    let mut shares = txn.open_table(SHARES).map_err(wr)?;
    let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
    if epochs.iter().map_err(rd)?.next().is_some() {
        return Err(StorageError::Corrupt {
            what: "a schema-1 database already has epoch records",
        });
    }

    let mut named: BTreeMap<(String, String), KeyMetadata> = BTreeMap::new();
    for entry in keys.iter().map_err(rd)? {
        let (k, v) = entry.map_err(rd)?;
        let meta = decode_metadata(v.value())?;
        let (wallet, key_type) = k.value();
        if meta.wallet_id.as_str() != wallet || meta.key_type != parse_key_type(key_type)? {
            return Err(StorageError::Corrupt {
                what: "key metadata stored under another key's name",
            });
        }
        named.insert((wallet.to_owned(), key_type.to_owned()), meta);
    }

    let mut superseded = Vec::new();
    let mut present = 0usize;
    for entry in shares.iter().map_err(rd)? {
        let (k, _) = entry.map_err(rd)?;
        let (wallet, key_type, version) = k.value();
        match named.get(&(wallet.to_owned(), key_type.to_owned())) {
            None => {
                return Err(StorageError::Corrupt {
                    what: "a share version of a key without metadata",
                })
            }
            Some(meta) if meta.share_version == version => present += 1,
            Some(_) => superseded.push((wallet.to_owned(), key_type.to_owned(), version)),
        }
    }
    if present != named.len() {
        return Err(StorageError::Corrupt {
            what: "key metadata names a share version that is missing",
        });
    }
    for (wallet, key_type, version) in &superseded {
        shares
            .remove((wallet.as_str(), key_type.as_str(), *version))
            .map_err(wr)?;
    }
    for meta in named.values() {
        let row = EpochRow {
            epoch: 0,
            share_version: meta.share_version,
            state: EpochState::Active,
            metadata: meta.clone(),
        };
        put_row(&mut epochs, &row)?;
    }
    Ok(Migrated {
        keys: named.len(),
        superseded_versions: superseded.len(),
    })
}
