//! Tessera's key-share store: one `redb` file per node, locked against a
//! second process, holding
//!
//! - key shares, versioned (a wallet's share for each key type), each sealed
//!   with the node's at-rest key (`tessera-security`) under the record id
//!   `share/<wallet>/<key_type>` and its version, so nothing secret is written in clear;
//! - key metadata (participants and their public identities, threshold,
//!   public key, chain code), written in the same transaction as its share;
//! - completed request results, so a retried request returns the stored
//!   result instead of running a protocol again;
//! - encrypted backups to one file, restorable with the backup password alone;
//! - beside the database, the ban list (`bans/`), which the operator's CLI
//!   changes while the node runs.
//!
//! The API is synchronous; async callers use `tokio::task::spawn_blocking`.
//! [`Store`] is `Clone + Send + Sync` (an `Arc` inside).
//!
//! Modules:
//! - [`store`]: `Store`, opening the file, locking, schema and key checks.
//! - [`keys`]: key metadata and share versions (`put_key`, `get_share`, ...).
//! - [`results`]: request results for idempotency.
//! - [`backup`]: the backup file format, backup and restore.
//! - [`bans`]: the ban list (one file per banned party).
//! - [`records`]: the record types callers see.
//! - [`tables`]: the database layout and schema version.
//! - [`error`]: `StorageError` and its `ErrorCode`s.
//! - `snapshot`: the encoding of a backup's sealed body.
//! - `fuzzing` (hidden): the on-disk decoders, for the fuzz targets in `fuzz/`.

pub mod backup;
pub mod bans;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod records;
pub mod results;
mod snapshot;
pub mod store;
pub mod tables;

pub use backup::BackupSummary;
pub use bans::{BanError, BanList, BanRecord};
pub use error::{DbOp, StorageError};
pub use records::{KeyMetadata, PutResult, ResultKind, StoredResult, StoredShare};
pub use store::Store;
pub use tables::{share_record_id, DB_FILE, SCHEMA_VERSION};

// The store is shared across blocking tasks, and errors cross task boundaries.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StorageError>();
};
