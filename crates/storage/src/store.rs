//! `Store`: opening the database file, the schema and at-rest key checks.
//!
//! One redb file per node, `<dir>/tessera.redb`, created 0600 in a 0700
//! directory. redb locks the file, so a second open (from this process or
//! another) fails with [`StorageError::Locked`] instead of two writers
//! corrupting each other's view.
//!
//! The `redb::Database` sits behind a `RwLock`: every store operation holds the
//! read side for as long as its transaction lives (many at once), and
//! [`Store::compact`] takes the write side, an exclusive section that waits for
//! running operations and holds new ones back while redb compacts the file.
//!
//! Opening a schema-1 database migrates it to schema 2 in the same write
//! transaction that checks the schema and the key (`migrate`).

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableError};
use tessera_security::at_rest::{self, RecordKdf};
use tessera_security::{AtRestError, AtRestKey, KdfParams};

use crate::error::{rd, wr, DbOp, StorageError};
use crate::migrate::migrate_v1;
use crate::tables::{
    decode_u32, DB_FILE, EPOCHS, KEYS, KEY_CHECK_ID, KEY_CHECK_PLAINTEXT, KEY_CHECK_VERSION, META,
    META_KEY_CHECK, META_SCHEMA, RESULTS, SCHEMA_VERSION, SHARES,
};

/// The node's key-share store. Cheap to clone (an `Arc` inside), `Send + Sync`.
///
/// Every method is synchronous and may touch the disk (and fsync on writes);
/// async callers run it in `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: RwLock<Database>,
    key: AtRestKey,
    path: PathBuf,
}

impl Store {
    /// Opens `<dir>/tessera.redb`, creating the directory and the database if
    /// missing. A new database remembers a sealed check value, so a later open
    /// with another key fails with [`StorageError::WrongKey`].
    pub fn open(dir: &Path, key: AtRestKey) -> Result<Store, StorageError> {
        let path = prepare_dir(dir)?;
        let db = open_db(&path)?;
        Self::init(db, path, key)
    }

    /// Opens the store with a password. An existing store keeps the Argon2id
    /// parameters and salt it was created with (read from its key-check record,
    /// so the key is derived once); `params` only apply to a new store.
    pub fn open_with_password(
        dir: &Path,
        password: &[u8],
        params: KdfParams,
    ) -> Result<Store, StorageError> {
        let path = prepare_dir(dir)?;
        let db = open_db(&path)?;
        let key = match read_key_check(&db)? {
            Some(record) => match at_rest::inspect(&record)? {
                RecordKdf::Argon2id { params, salt } => {
                    AtRestKey::from_password(password, params, salt)?
                }
                RecordKdf::KeyFile => return Err(StorageError::WrongKey),
            },
            None => AtRestKey::from_password_new_salt(password, params)?,
        };
        Self::init(db, path, key)
    }

    /// Checks (or, for a new database, writes) the schema version and the key
    /// check, and makes sure every table exists so reads never meet a missing one.
    pub(crate) fn init(db: Database, path: PathBuf, key: AtRestKey) -> Result<Store, StorageError> {
        let txn = db.begin_write().map_err(wr)?;
        {
            let mut meta = txn.open_table(META).map_err(wr)?;
            let schema = meta
                .get(META_SCHEMA)
                .map_err(rd)?
                .map(|v| v.value().to_vec());
            let check = meta
                .get(META_KEY_CHECK)
                .map_err(rd)?
                .map(|v| v.value().to_vec());
            match (schema, check) {
                (None, None) => {
                    let sealed = key.seal(KEY_CHECK_ID, KEY_CHECK_VERSION, KEY_CHECK_PLAINTEXT)?;
                    meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice())
                        .map_err(wr)?;
                    meta.insert(META_KEY_CHECK, sealed.as_slice()).map_err(wr)?;
                    tracing::info!(path = %path.display(), schema = SCHEMA_VERSION, "created key store");
                }
                (Some(schema), Some(check)) => {
                    let found = decode_u32(&schema)?;
                    if found > SCHEMA_VERSION {
                        return Err(StorageError::SchemaTooNew {
                            found,
                            supported: SCHEMA_VERSION,
                        });
                    }
                    if found == 0 {
                        return Err(StorageError::Corrupt {
                            what: "schema version 0",
                        });
                    }
                    verify_key_check(&key, &check)?;
                    if found == 1 {
                        let done = migrate_v1(&txn)?;
                        meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice())
                            .map_err(wr)?;
                        tracing::info!(
                            path = %path.display(),
                            keys = done.keys,
                            superseded_versions = done.superseded_versions,
                            "migrated key store from schema 1 to 2"
                        );
                    }
                }
                _ => {
                    return Err(StorageError::Corrupt {
                        what: "schema version or key check record missing",
                    })
                }
            }
            txn.open_table(KEYS).map_err(wr)?;
            txn.open_table(SHARES).map_err(wr)?;
            txn.open_table(EPOCHS).map_err(wr)?;
            txn.open_table(RESULTS).map_err(wr)?;
        }
        txn.commit().map_err(wr)?;
        Ok(Store {
            inner: Arc::new(Inner {
                db: RwLock::new(db),
                key,
                path,
            }),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database, shared. Keep the guard for as long as the transaction
    /// begun on it lives, so [`Store::compact`] never runs under it. (Only a
    /// panic inside `compact` poisons the lock; redb's commits are atomic, so
    /// the database is still whole and the lock is used as is.)
    pub(crate) fn db(&self) -> RwLockReadGuard<'_, Database> {
        self.inner.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The database, exclusively: no other store operation runs meanwhile.
    pub(crate) fn db_exclusive(&self) -> std::sync::RwLockWriteGuard<'_, Database> {
        self.inner
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn key(&self) -> &AtRestKey {
        &self.inner.key
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

fn verify_key_check(key: &AtRestKey, record: &[u8]) -> Result<(), StorageError> {
    match key.open(KEY_CHECK_ID, KEY_CHECK_VERSION, record) {
        Ok(p) if p.as_slice() == KEY_CHECK_PLAINTEXT => Ok(()),
        Ok(_) => Err(StorageError::Corrupt {
            what: "key check record",
        }),
        Err(AtRestError::Decryption | AtRestError::KeyKindMismatch { .. }) => {
            Err(StorageError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

fn read_key_check(db: &Database) -> Result<Option<Vec<u8>>, StorageError> {
    let txn = db.begin_read().map_err(rd)?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(rd(e)),
    };
    let check = meta.get(META_KEY_CHECK).map_err(rd)?;
    Ok(check.map(|v| v.value().to_vec()))
}

/// Creates `dir` (0700 on unix) if needed and returns the database path.
pub(crate) fn prepare_dir(dir: &Path) -> Result<PathBuf, StorageError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(StorageError::io("create directory", dir))?;
    Ok(dir.join(DB_FILE))
}

/// Opens or creates the redb file at `path` (mode 0600 when created).
pub(crate) fn open_db(path: &Path) -> Result<Database, StorageError> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(path)
        .map_err(StorageError::io("open database", path))?;
    redb::Builder::new().create_file(file).map_err(|e| match e {
        DatabaseError::DatabaseAlreadyOpen => StorageError::Locked {
            path: path.to_path_buf(),
        },
        other => StorageError::db(DbOp::Open)(other.into()),
    })
}
