//! The database file is locked: a second open fails with `Locked`, from this
//! process or from another one (this test binary re-run as a child).

mod common;

use std::path::Path;

use common::*;
use tempfile::tempdir;
use tessera_storage::{StorageError, Store};
use tessera_types::ErrorCode;

const DIR_ENV: &str = "TESSERA_STORAGE_TEST_LOCK_DIR";

#[test]
fn second_open_in_the_same_process_is_locked() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let err = Store::open(dir.path(), key()).unwrap_err();
    assert!(matches!(err, StorageError::Locked { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::StorageInit);
    assert!(err.to_string().contains("already open"), "{err}");
    // A clone is the same handle, not a second open.
    let clone = store.clone();
    drop(store);
    assert!(Store::open(dir.path(), key()).is_err());
    drop(clone);
    Store::open(dir.path(), key()).unwrap();
}

#[test]
fn second_open_from_another_process_is_locked() {
    let dir = tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let store = open(dir.path());
    let out = run_helper("open_from_child", &[(DIR_ENV, path)]);
    assert!(stdout(&out).contains("CHILD=locked"), "child: {out:?}");
    drop(store);
    let out = run_helper("open_from_child", &[(DIR_ENV, path)]);
    assert!(stdout(&out).contains("CHILD=opened"), "child: {out:?}");
}

/// Runs only as the child of the test above.
#[test]
#[ignore = "helper process for second_open_from_another_process_is_locked"]
fn open_from_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    match Store::open(Path::new(&dir), key()) {
        Ok(_) => println!("CHILD=opened"),
        Err(StorageError::Locked { .. }) => println!("CHILD=locked"),
        Err(e) => println!("CHILD=error {e}"),
    }
}
