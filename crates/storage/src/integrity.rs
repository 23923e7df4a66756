//! A full check of the schema-2 invariants (see `tables`), for tests and for
//! an operator's consistency check. One read transaction over `keys`,
//! `shares` and `epochs`; shares are not decrypted.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadableDatabase, ReadableTable};

use crate::epochs::{decode_row, EpochRow, EpochState};
use crate::error::{rd, StorageError};
use crate::store::Store;
use crate::tables::{decode_metadata, EPOCHS, KEYS, SHARES};

/// How many epoch records of each state the store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpochCounts {
    pub active: usize,
    pub pending: usize,
    pub retired: usize,
    /// Share versions stored (equal to the number of records when whole).
    pub share_versions: usize,
}

type KeyName = (String, String);

impl Store {
    /// Checks every invariant of the epoch records; the first violation is a
    /// [`StorageError::Corrupt`] naming it.
    pub fn verify_epochs(&self) -> Result<EpochCounts, StorageError> {
        let corrupt = |what| Err(StorageError::Corrupt { what });
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let mut by_key: BTreeMap<KeyName, Vec<EpochRow>> = BTreeMap::new();
        for entry in txn.open_table(EPOCHS).map_err(rd)?.iter().map_err(rd)? {
            let (k, v) = entry.map_err(rd)?;
            let (wallet, key_type, epoch) = k.value();
            let row = decode_row(v.value())?;
            if row.epoch != epoch
                || row.metadata.wallet_id.as_str() != wallet
                || row.metadata.key_type.as_str() != key_type
                || row.metadata.share_version != row.share_version
            {
                return corrupt("epoch record disagrees with its table key or version");
            }
            by_key
                .entry((wallet.to_owned(), key_type.to_owned()))
                .or_default()
                .push(row);
        }
        let mut versions: BTreeSet<(String, String, u32)> = BTreeSet::new();
        for entry in txn.open_table(SHARES).map_err(rd)?.iter().map_err(rd)? {
            let (k, _) = entry.map_err(rd)?;
            let (wallet, key_type, version) = k.value();
            versions.insert((wallet.to_owned(), key_type.to_owned(), version));
        }
        let mut keys: BTreeMap<KeyName, Vec<u8>> = BTreeMap::new();
        for entry in txn.open_table(KEYS).map_err(rd)?.iter().map_err(rd)? {
            let (k, v) = entry.map_err(rd)?;
            let (wallet, key_type) = k.value();
            keys.insert((wallet.to_owned(), key_type.to_owned()), v.value().to_vec());
        }

        let mut counts = EpochCounts {
            share_versions: versions.len(),
            ..EpochCounts::default()
        };
        let mut named = BTreeSet::new();
        for ((wallet, key_type), rows) in &by_key {
            let active: Vec<_> = rows.iter().filter(|r| r.state.is_active()).collect();
            let pending: Vec<_> = rows
                .iter()
                .filter(|r| r.state.pending_session().is_some())
                .collect();
            if active.len() > 1 || pending.len() > 1 {
                return corrupt("a key has two active or two pending epochs");
            }
            for row in rows {
                let v = (wallet.clone(), key_type.clone(), row.share_version);
                if !versions.contains(&v) {
                    return corrupt("an epoch record names a share version that is missing");
                }
                if !named.insert(v) {
                    return corrupt("two epoch records name one share version");
                }
                match row.state {
                    EpochState::Active => counts.active += 1,
                    EpochState::Pending { .. } => counts.pending += 1,
                    EpochState::Retired { .. } => counts.retired += 1,
                }
            }
            if let (Some(a), Some(p)) = (active.first(), pending.first()) {
                if p.epoch <= a.epoch {
                    return corrupt("a pending epoch is not after the active one");
                }
            }
            if let Some(a) = active.first() {
                if rows
                    .iter()
                    .any(|r| r.state.is_retired() && r.epoch > a.epoch)
                {
                    return corrupt("a retired epoch is after the active one");
                }
            }
            let stored = keys.get(&(wallet.clone(), key_type.clone()));
            match (active.first(), stored) {
                (None, None) => {}
                (Some(a), Some(json)) if decode_metadata(json)? == a.metadata => {}
                _ => return corrupt("key metadata is not the active epoch's"),
            }
        }
        if keys.keys().any(|k| !by_key.contains_key(k)) {
            return corrupt("key metadata without an epoch record");
        }
        if named != versions {
            return corrupt("a share version that no epoch record names");
        }
        Ok(counts)
    }
}
