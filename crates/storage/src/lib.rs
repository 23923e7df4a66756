//! Tessera's key-share store: one `redb` file per node, locked against a
//! second process, holding
//!
//! - key shares, versioned (a wallet's share for each key type), each sealed
//!   with the node's at-rest key (`tessera-security`) under the record id
//!   `share/<wallet>/<key_type>` and its version, so nothing secret is written in clear;
//! - key metadata (participants and their public identities, threshold,
//!   public key, chain code), written in the same transaction as its share;
//! - epochs (schema 2): which share version is a key's active epoch, which
//!   are pending (stored by a lifecycle session not yet decided) or retired
//!   (replaced, kept until erased);
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
//! - [`epochs`]: the epoch record types (`EpochRow`, `EpochState`).
//! - [`lifecycle`]: `put_pending`, `promote`, `retire_key`.
//! - [`erase`]: `discard_pending`, `erase_retired`.
//! - [`epoch_reads`]: `list_epochs`, `active_epoch`, `get_share_at`, `list_pending`.
//! - [`compact`]: `Store::compact`, in an exclusive section.
//! - [`integrity`]: `verify_epochs`, the invariants checked in full.
//! - [`results`]: request results for idempotency.
//! - [`backup`]: the backup file format, backup and restore.
//! - [`bans`]: the ban list (one file per banned party).
//! - [`records`]: the record types callers see.
//! - [`tables`]: the database layout and schema version.
//! - [`error`]: `StorageError` and its `ErrorCode`s.
//! - `snapshot`: the encoding of a backup's sealed body.
//! - `backup_check`: the checks a backup passes before restore writes anything.
//! - `migrate`: schema 1 → 2, run by the open.
//! - `epoch_rows`: one key's epoch records inside a write transaction.
//! - `fuzzing` (hidden): the on-disk decoders, for the fuzz targets in `fuzz/`.

pub mod backup;
mod backup_check;
pub mod bans;
pub mod compact;
pub mod epoch_reads;
mod epoch_rows;
pub mod epochs;
pub mod erase;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod integrity;
pub mod keys;
pub mod lifecycle;
mod migrate;
pub mod records;
pub mod results;
mod snapshot;
pub mod store;
pub mod tables;

pub use backup::BackupSummary;
pub use bans::{BanError, BanList, BanRecord};
pub use epochs::{EpochRow, EpochState};
pub use error::{DbOp, StorageError};
pub use integrity::EpochCounts;
pub use records::{KeyMetadata, PutResult, ResultKind, StoredResult, StoredShare};
pub use store::Store;
pub use tables::{share_record_id, DB_FILE, SCHEMA_VERSION};

// The store is shared across blocking tasks, and errors cross task boundaries.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StorageError>();
};
