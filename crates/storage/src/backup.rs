//! Encrypted backup to one file, and restore from it.
//!
//! File format v1:
//!
//! ```text
//! magic "TSBK" | format 0x01 | at-rest record (tessera-security `at_rest`, format 1):
//!     "TSAR" | 0x01 | kdf 1 (Argon2id) | m_cost, t_cost, p_cost | salt [16] | nonce [24]
//!     | XChaCha20-Poly1305(snapshot) with record id "tessera/backup", version 1
//! ```
//!
//! The sealed record's header carries the Argon2id parameters and salt, so the
//! backup password alone opens it. Shares are decrypted with the store's key
//! and sealed again, inside the body, under the backup password's key: a backup
//! restores on a node whose at-rest key is lost or different, and restore seals
//! every share under the new store's key. Nothing secret is in clear in the file.
//!
//! AEAD cannot tell a wrong password from a damaged file, so both are
//! [`StorageError::BadBackupPassword`]; damage to the unencrypted framing is
//! [`StorageError::BadBackup`].

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use rand_core::{OsRng, RngCore};
use redb::{ReadableDatabase, ReadableTable};
use tessera_security::private_file::{write_private, Overwrite};
use tessera_security::{AtRestError, AtRestKey, KdfParams};
use tessera_types::WalletId;

use crate::backup_check::check_consistent;
use crate::epoch_rows::put_row;
use crate::epochs::decode_row;
use crate::error::{rd, wr, StorageError};
use crate::migrate::migrate_v1;
use crate::snapshot::{ResultEntry, ShareEntry, Snapshot};
use crate::store::{open_db, prepare_dir, Store};
use crate::tables::{
    decode_metadata, now_unix, parse_key_type, EPOCHS, KEYS, RESULTS, SCHEMA_VERSION, SHARES,
};

/// First bytes of a backup file.
pub const BACKUP_MAGIC: [u8; 4] = *b"TSBK";
/// The backup format this code writes.
pub const BACKUP_FORMAT: u8 = 1;
/// Largest backup file accepted by restore (1 GiB).
pub const MAX_BACKUP_LEN: u64 = 1 << 30;
const BACKUP_RECORD_ID: &str = "tessera/backup";

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    pub keys: usize,
    /// Share versions: one per key, its active epoch's (schema 2 backs up
    /// neither pending nor retired epochs).
    pub shares: usize,
    pub results: usize,
    /// Size of the backup file.
    pub bytes: u64,
    /// Epoch records (the active epoch of each key).
    pub epochs: usize,
    /// The lowest and highest active epoch among the keys; `None` without keys.
    /// A restored node whose epochs are behind the cluster's is stale.
    pub epoch_range: Option<(u64, u64)>,
}

impl Store {
    /// Writes every record to a new file at `path` (mode 0600, written
    /// atomically; an existing file is never replaced), sealed under a key
    /// derived from `password` with `params` and a fresh salt. One read
    /// transaction, so the backup is a consistent snapshot.
    pub fn backup(
        &self,
        path: &Path,
        password: &[u8],
        params: KdfParams,
    ) -> Result<BackupSummary, StorageError> {
        let (snap, epoch_numbers) = self.snapshot()?;
        let backup_key = AtRestKey::from_password_new_salt(password, params)?;
        let body = snap.encode();
        let record =
            backup_key.seal(BACKUP_RECORD_ID, u32::from(BACKUP_FORMAT), body.as_slice())?;
        let mut file = Vec::with_capacity(5 + record.len());
        file.extend_from_slice(&BACKUP_MAGIC);
        file.push(BACKUP_FORMAT);
        file.extend_from_slice(&record);
        write_private(path, &file, Overwrite::Refuse)?;
        let summary = BackupSummary {
            keys: snap.keys.len(),
            shares: snap.shares.len(),
            results: snap.results.len(),
            bytes: file.len() as u64,
            epochs: epoch_numbers.len(),
            epoch_range: epoch_numbers
                .iter()
                .min()
                .copied()
                .zip(epoch_numbers.iter().max().copied()),
        };
        tracing::info!(path = %path.display(), ?summary, "wrote backup");
        Ok(summary)
    }

    /// Restores a backup into `dir`, which must not hold a database yet
    /// ([`StorageError::NotEmpty`]), and returns the opened store. Shares are
    /// sealed under `key`. The database is built under a temporary name and
    /// linked into place only when complete, so a failed restore leaves no
    /// database behind (a crash may leave a `.tessera.redb.restore-*` file).
    pub fn restore(
        backup: &Path,
        password: &[u8],
        dir: &Path,
        key: AtRestKey,
    ) -> Result<Store, StorageError> {
        let final_path = prepare_dir(dir)?;
        if fs::symlink_metadata(&final_path).is_ok() {
            return Err(StorageError::NotEmpty { path: final_path });
        }
        let snap = read_backup(backup, password)?;
        if snap.schema > SCHEMA_VERSION {
            return Err(StorageError::SchemaTooNew {
                found: snap.schema,
                supported: SCHEMA_VERSION,
            });
        }
        check_consistent(&snap)?;

        let tmp = dir.join(format!(".tessera.redb.restore-{:016x}", OsRng.next_u64()));
        let built = open_db(&tmp)
            .and_then(|db| Store::init(db, final_path.clone(), key))
            .and_then(|store| store.import(&snap).map(|()| store));
        let store = match built {
            Ok(store) => store,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // A hard link never replaces an existing file, unlike rename: the last
        // word on "fresh directory" even if another process raced us here.
        let linked = fs::hard_link(&tmp, &final_path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StorageError::NotEmpty { path: final_path })
            }
            Err(e) => return Err(StorageError::io("link restored database", &final_path)(e)),
        }
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        tracing::info!(
            path = %final_path.display(),
            keys = snap.keys.len(),
            shares = snap.shares.len(),
            results = snap.results.len(),
            "restored backup"
        );
        Ok(store)
    }

    /// As [`Store::restore`], sealing shares under a password key with a fresh
    /// salt; open the store later with [`Store::open_with_password`].
    pub fn restore_with_password(
        backup: &Path,
        backup_password: &[u8],
        dir: &Path,
        store_password: &[u8],
        params: KdfParams,
    ) -> Result<Store, StorageError> {
        let key = AtRestKey::from_password_new_salt(store_password, params)?;
        Self::restore(backup, backup_password, dir, key)
    }

    /// Every key's active epoch (record, metadata and share, decrypted) and
    /// every result, from one read transaction; with the epoch numbers taken.
    /// Pending and retired epochs are left out: a backup restores the key as
    /// this node uses it, never a share that was replaced or not yet decided.
    fn snapshot(&self) -> Result<(Snapshot, Vec<u64>), StorageError> {
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let mut snap = Snapshot {
            schema: SCHEMA_VERSION,
            created_at_unix: now_unix(),
            ..Snapshot::default()
        };
        for entry in txn.open_table(KEYS).map_err(rd)?.iter().map_err(rd)? {
            snap.keys.push(entry.map_err(rd)?.1.value().to_vec());
        }
        let shares = txn.open_table(SHARES).map_err(rd)?;
        let mut numbers = Vec::new();
        for entry in txn.open_table(EPOCHS).map_err(rd)?.iter().map_err(rd)? {
            let (_, v) = entry.map_err(rd)?;
            let row = decode_row(v.value())?;
            if !row.state.is_active() {
                continue;
            }
            let (wallet, key_type) = (&row.metadata.wallet_id, row.metadata.key_type);
            let k = (wallet.as_str(), key_type.as_str(), row.share_version);
            let sealed = shares.get(k).map_err(rd)?.ok_or(StorageError::Corrupt {
                what: "an epoch record names a share version that is missing",
            })?;
            let share = self.open_share(wallet, key_type, row.share_version, sealed.value())?;
            snap.shares.push(ShareEntry {
                wallet: wallet.to_string(),
                key_type: key_type.as_str().to_owned(),
                version: row.share_version,
                plaintext: share.plaintext,
            });
            snap.epochs.push(v.value().to_vec());
            numbers.push(row.epoch);
        }
        for entry in txn.open_table(RESULTS).map_err(rd)?.iter().map_err(rd)? {
            let (k, v) = entry.map_err(rd)?;
            let (kind, request_key) = k.value();
            snap.results.push(ResultEntry {
                kind: kind.to_owned(),
                request_key: request_key.to_owned(),
                record: v.value().to_vec(),
            });
        }
        Ok((snap, numbers))
    }

    /// Writes a checked snapshot into this (new) store in one transaction. A
    /// schema-1 snapshot is migrated in it as a schema-1 database would be.
    fn import(&self, snap: &Snapshot) -> Result<(), StorageError> {
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        {
            let mut keys = txn.open_table(KEYS).map_err(wr)?;
            for json in &snap.keys {
                let meta = decode_metadata(json)?;
                let k = (meta.wallet_id.as_str(), meta.key_type.as_str());
                keys.insert(k, json.as_slice()).map_err(wr)?;
            }
            let mut shares = txn.open_table(SHARES).map_err(wr)?;
            for s in &snap.shares {
                let wallet = WalletId::new(s.wallet.as_str()).map_err(|_| bad("bad wallet id"))?;
                let key_type = parse_key_type(&s.key_type)?;
                self.insert_share(
                    &mut shares,
                    &wallet,
                    key_type,
                    s.version,
                    s.plaintext.as_slice(),
                )?;
            }
            let mut epochs = txn.open_table(EPOCHS).map_err(wr)?;
            for json in &snap.epochs {
                put_row(&mut epochs, &decode_row(json)?)?;
            }
            let mut results = txn.open_table(RESULTS).map_err(wr)?;
            for r in &snap.results {
                results
                    .insert(
                        (r.kind.as_str(), r.request_key.as_str()),
                        r.record.as_slice(),
                    )
                    .map_err(wr)?;
            }
        }
        if snap.schema == 1 {
            migrate_v1(&txn)?;
        }
        txn.commit().map_err(wr)
    }
}

fn bad(reason: &'static str) -> StorageError {
    StorageError::BadBackup { reason }
}

/// Reads, checks and decrypts a backup file.
fn read_backup(path: &Path, password: &[u8]) -> Result<Snapshot, StorageError> {
    let file = fs::File::open(path).map_err(StorageError::io("open backup", path))?;
    let mut bytes = Vec::new();
    file.take(MAX_BACKUP_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(StorageError::io("read backup", path))?;
    if bytes.len() as u64 > MAX_BACKUP_LEN {
        return Err(bad("file is larger than 1 GiB"));
    }
    if bytes.len() < 5 || bytes[..4] != BACKUP_MAGIC {
        return Err(bad("not a tessera backup (bad magic)"));
    }
    if bytes[4] != BACKUP_FORMAT {
        return Err(bad("unsupported backup format version"));
    }
    let body = AtRestKey::open_with_password(
        password,
        BACKUP_RECORD_ID,
        u32::from(BACKUP_FORMAT),
        &bytes[5..],
    )
    .map_err(|e| match e {
        AtRestError::Decryption => StorageError::BadBackupPassword,
        AtRestError::Malformed { reason } => StorageError::BadBackup { reason },
        AtRestError::UnsupportedFormat { .. } => bad("unsupported sealed record format"),
        AtRestError::KeyKindMismatch { .. } => bad("body is not sealed with a password"),
        other => StorageError::AtRest(other),
    })?;
    Snapshot::decode(body.as_slice())
}

#[cfg(test)]
mod tests {
    use tessera_security::SecretBytes;
    use tessera_types::{KeyType, NodeId, PublicIdentity, Threshold};

    use super::*;
    use crate::records::KeyMetadata;
    use crate::tables::encode_metadata;

    /// A schema-1 backup (older share versions included) restores as a
    /// schema-1 database opens: epoch 0 naming the metadata's version.
    #[test]
    fn a_schema_1_snapshot_imports_as_epoch_0() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), AtRestKey::from_key_bytes(&[7; 32]).unwrap()).unwrap();
        let meta = KeyMetadata {
            wallet_id: WalletId::new("w").unwrap(),
            key_type: KeyType::Ed25519,
            participants: (0..3u8)
                .map(|i| PublicIdentity {
                    node_id: NodeId::new(format!("node{i}")).unwrap(),
                    signing_key: [i; 32],
                    agreement_key: [i + 9; 32],
                })
                .collect(),
            threshold: Threshold(1),
            public_key: vec![3; 32],
            chain_code: None,
            created_at_unix: 1,
            share_version: 2,
        };
        let share = |version, byte| ShareEntry {
            wallet: "w".into(),
            key_type: "ed25519".into(),
            version,
            plaintext: SecretBytes::from_slice(&[byte; 40]),
        };
        let snap = Snapshot {
            schema: 1,
            keys: vec![encode_metadata(&meta).unwrap()],
            shares: vec![share(1, 1), share(2, 2)],
            ..Snapshot::default()
        };
        check_consistent(&snap).unwrap();
        store.import(&snap).unwrap();
        let epochs = store.list_epochs(&meta.wallet_id, meta.key_type).unwrap();
        assert_eq!(epochs.len(), 1);
        assert_eq!((epochs[0].epoch, epochs[0].share_version), (0, 2));
        let active = store
            .get_share(&meta.wallet_id, meta.key_type)
            .unwrap()
            .unwrap();
        assert_eq!(active.plaintext.as_slice(), &[2; 40]);
        assert!(store
            .get_share_version(&meta.wallet_id, meta.key_type, 1)
            .unwrap()
            .is_none());
        store.verify_epochs().unwrap();
    }
}
