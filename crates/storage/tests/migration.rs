//! A schema-1 database (the committed fixture, written by the schema-1 code)
//! opens, migrates to schema 2 in one transaction, and shows epoch 0 with its
//! shares readable. See fixtures/README.md for how the fixture was made.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use redb::{Database, ReadableDatabase, TableDefinition};
use tempfile::tempdir;
use tessera_storage::{ResultKind, Store, DB_FILE, SCHEMA_VERSION};
use tessera_types::KeyType;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

/// A copy of the v1 fixture in a temp dir: opening migrates it, so the
/// committed file is never opened in place.
fn v1_copy(dir: &Path) -> PathBuf {
    let db_dir = dir.join("node");
    std::fs::create_dir_all(&db_dir).unwrap();
    std::fs::copy(fixture().join(DB_FILE), db_dir.join(DB_FILE)).unwrap();
    db_dir
}

fn schema_of(db_dir: &Path) -> u32 {
    let db = Database::create(db_dir.join(DB_FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let v = meta.get("schema_version").unwrap().unwrap();
    u32::from_be_bytes(v.value().try_into().unwrap())
}

#[test]
fn a_v1_database_migrates_to_epoch_0_with_its_shares() {
    let dir = tempdir().unwrap();
    let db_dir = v1_copy(dir.path());
    assert_eq!(schema_of(&db_dir), 1);

    let store = open(&db_dir);
    assert_eq!(SCHEMA_VERSION, 2);
    let counts = store.verify_epochs().unwrap();
    assert_eq!((counts.active, counts.pending, counts.retired), (3, 0, 0));
    assert_eq!(counts.share_versions, 3);
    for (w, kt, version, tag, len) in [
        ("w1", KeyType::Secp256k1, 1, "w1/secp256k1/1", 600),
        ("w1", KeyType::Ed25519, 1, "w1/ed25519/1", 300),
        ("w2", KeyType::Ed25519, 2, "w2/ed25519/2", 300),
    ] {
        let w = wallet(w);
        let epochs = store.list_epochs(&w, kt).unwrap();
        assert_eq!(epochs.len(), 1, "{w} {kt}");
        assert_eq!(epochs[0].epoch, 0);
        assert!(epochs[0].state.is_active());
        assert_eq!(epochs[0].share_version, version);
        let meta = store.get_metadata(&w, kt).unwrap().unwrap();
        assert_eq!(epochs[0].metadata, meta);
        assert_eq!(meta.share_version, version);
        let want = share_bytes(tag, len);
        let at0 = store.get_share_at(&w, kt, 0).unwrap().unwrap();
        assert_eq!(at0.plaintext.as_slice(), want.as_slice());
        let active = store.get_share(&w, kt).unwrap().unwrap();
        assert_eq!(active.plaintext.as_slice(), want.as_slice());
    }
    // w2's superseded version 1 had no epoch to live in: the migration dropped it.
    assert!(store
        .get_share_version(&wallet("w2"), KeyType::Ed25519, 1)
        .unwrap()
        .is_none());
    assert!(store.get_result(ResultKind::Sign, "tx1").unwrap().is_some());
    drop(store);
    assert_eq!(schema_of(&db_dir), 2);

    // Reopening a migrated store is a plain open: nothing changes.
    let store = open(&db_dir);
    assert_eq!(store.verify_epochs().unwrap(), counts);
    // And it takes lifecycle writes like any schema-2 store.
    store
        .put_share(&wallet("w1"), KeyType::Ed25519, b"refreshed")
        .unwrap();
    assert_eq!(
        store.active_epoch(&wallet("w1"), KeyType::Ed25519).unwrap(),
        Some(1)
    );
}

#[test]
fn a_v1_database_with_the_wrong_key_is_not_migrated() {
    let dir = tempdir().unwrap();
    let db_dir = v1_copy(dir.path());
    assert!(Store::open(&db_dir, other_key()).is_err());
    assert_eq!(schema_of(&db_dir), 1);
}
