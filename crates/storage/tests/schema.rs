//! The schema version: a database written by a newer build is refused.

mod common;

use common::*;
use redb::{Database, TableDefinition};
use tempfile::tempdir;
use tessera_storage::{StorageError, DB_FILE, SCHEMA_VERSION};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

#[test]
fn a_newer_schema_is_refused_clearly() {
    let dir = tempdir().unwrap();
    drop(open(dir.path()));
    {
        let db = Database::create(dir.path().join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            let newer = (SCHEMA_VERSION + 1).to_be_bytes();
            meta.insert("schema_version", newer.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let err = tessera_storage::Store::open(dir.path(), key()).unwrap_err();
    assert!(
        matches!(err, StorageError::SchemaTooNew { found, supported }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_open_error() {
    let dir = tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), random_bytes(10_000)).unwrap();
    let err = tessera_storage::Store::open(dir.path(), key()).unwrap_err();
    assert!(matches!(err, StorageError::Database { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir().unwrap();
    let store_dir = dir.path().join("node0");
    drop(open(&store_dir));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store_dir), 0o700);
    assert_eq!(mode(&store_dir.join(DB_FILE)), 0o600);
}
