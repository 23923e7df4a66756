//! `StorageError`: everything the store can refuse or fail at, and its client code.
//!
//! Grouped like the rest of Tessera: refusals of the request (conflicts,
//! missing or existing keys, bad input), problems with the data or the key
//! (corruption, wrong key, wrong backup password) and I/O. No variant carries
//! secret bytes; ids, paths and redb's own messages are all that is printed.

use std::io;
use std::path::PathBuf;

use tessera_security::private_file::PrivateFileError;
use tessera_security::AtRestError;
use tessera_types::{ErrorCode, KeyType, SessionId, WalletId};

/// What the store was doing when redb failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbOp {
    Open,
    Read,
    Write,
}

impl DbOp {
    fn as_str(self) -> &'static str {
        match self {
            DbOp::Open => "open",
            DbOp::Read => "read",
            DbOp::Write => "write",
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database {} is already open in another process or handle", path.display())]
    Locked { path: PathBuf },
    #[error("database {} failed: {source}", op.as_str())]
    Database {
        op: DbOp,
        #[source]
        source: Box<redb::Error>,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("database schema version {found} is newer than this build supports ({supported}); upgrade tessera")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("stored data is corrupt: {what}")]
    Corrupt { what: &'static str },
    #[error("the at-rest key does not match this database (wrong password or key file)")]
    WrongKey,
    #[error(transparent)]
    AtRest(#[from] AtRestError),
    #[error("key {key_type} of wallet {wallet} already exists")]
    AlreadyExists { wallet: WalletId, key_type: KeyType },
    #[error("key {key_type} of wallet {wallet} not found")]
    NotFound { wallet: WalletId, key_type: KeyType },
    #[error("invalid key metadata: {reason}")]
    InvalidMetadata { reason: &'static str },
    #[error("invalid input: {reason}")]
    InvalidInput { reason: &'static str },
    #[error("{kind} request {request_key} was already stored with a different payload")]
    Conflict {
        kind: &'static str,
        request_key: String,
    },
    #[error("backup password is wrong or the file is damaged")]
    BadBackupPassword,
    #[error("not a usable backup file: {reason}")]
    BadBackup { reason: &'static str },
    #[error("{} already holds a database; restore only into a fresh directory", path.display())]
    NotEmpty { path: PathBuf },
    #[error(transparent)]
    File(#[from] PrivateFileError),
    #[error("key {key_type} of wallet {wallet} has a pending epoch of session {pending}; one lifecycle operation per key at a time")]
    LifecycleBusy {
        wallet: WalletId,
        key_type: KeyType,
        pending: SessionId,
    },
    #[error("key {key_type} of wallet {wallet} has no pending epoch of session {session}")]
    PendingNotFound {
        wallet: WalletId,
        key_type: KeyType,
        session: SessionId,
    },
    #[error("key {key_type} of wallet {wallet}: epoch {epoch} is not after epoch {newest}, which the store already holds")]
    EpochNotNewer {
        wallet: WalletId,
        key_type: KeyType,
        epoch: u64,
        newest: u64,
    },
    #[error("key {key_type} of wallet {wallet}: epoch {epoch} is {state}, and only a retired epoch can be erased")]
    EpochNotRetired {
        wallet: WalletId,
        key_type: KeyType,
        epoch: u64,
        state: &'static str,
    },
}

impl StorageError {
    /// The code a result event carries for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            StorageError::Locked { .. } => ErrorCode::StorageInit,
            StorageError::Database { op, .. } => match op {
                DbOp::Open => ErrorCode::StorageInit,
                DbOp::Read => ErrorCode::StorageRead,
                DbOp::Write => ErrorCode::StorageWrite,
            },
            StorageError::Io { .. } => ErrorCode::Internal,
            StorageError::SchemaTooNew { .. } => ErrorCode::StorageInit,
            StorageError::Corrupt { .. } => ErrorCode::DataCorruption,
            StorageError::WrongKey => ErrorCode::KeyLoad,
            StorageError::AtRest(e) => e.code(),
            StorageError::AlreadyExists { .. } => ErrorCode::KeyAlreadyExists,
            StorageError::NotFound { .. } => ErrorCode::KeyNotFound,
            StorageError::InvalidMetadata { .. } => ErrorCode::KeyInfoSave,
            StorageError::InvalidInput { .. } => ErrorCode::MsgValidation,
            StorageError::Conflict { .. } => ErrorCode::RequestConflict,
            StorageError::BadBackupPassword => ErrorCode::KeyLoad,
            StorageError::BadBackup { .. } => ErrorCode::DataCorruption,
            StorageError::NotEmpty { .. } => ErrorCode::StorageInit,
            StorageError::File(e) => e.code(),
            StorageError::LifecycleBusy { .. } => ErrorCode::ConcurrencyLimit,
            StorageError::PendingNotFound { .. } => ErrorCode::UnknownSession,
            StorageError::EpochNotNewer { .. } => ErrorCode::EpochMismatch,
            StorageError::EpochNotRetired { .. } => ErrorCode::Internal,
        }
    }

    pub(crate) fn db(op: DbOp) -> impl FnOnce(redb::Error) -> StorageError {
        move |source| StorageError::Database {
            op,
            source: Box::new(source),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StorageError::Io {
            action,
            path,
            source,
        }
    }
}

/// Maps any redb error met while reading.
pub(crate) fn rd<E: Into<redb::Error>>(e: E) -> StorageError {
    StorageError::db(DbOp::Read)(e.into())
}

/// Maps any redb error met while writing.
pub(crate) fn wr<E: Into<redb::Error>>(e: E) -> StorageError {
    StorageError::db(DbOp::Write)(e.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let e = StorageError::Conflict {
            kind: "sign",
            request_key: "tx1".into(),
        };
        assert_eq!(e.code(), ErrorCode::RequestConflict);
        assert_eq!(
            StorageError::BadBackupPassword.to_string(),
            "backup password is wrong or the file is damaged"
        );
        assert_eq!(
            StorageError::Locked {
                path: "/x/tessera.redb".into()
            }
            .code(),
            ErrorCode::StorageInit
        );
        assert_eq!(
            rd(redb::StorageError::Unsupported).code(),
            ErrorCode::StorageRead
        );
        assert_eq!(
            wr(redb::StorageError::Unsupported).code(),
            ErrorCode::StorageWrite
        );
    }
}
