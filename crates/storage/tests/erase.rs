//! After a retired epoch is erased: a backup holds no retired version, and
//! after `compact` the erased version's sealed bytes are nowhere in the file.

mod common;

use std::path::Path;

use common::*;
use redb::{Database, ReadableDatabase, TableDefinition};
use tempfile::tempdir;
use tessera_security::KdfParams;
use tessera_storage::{Store, DB_FILE};
use tessera_types::{KeyType, SessionId};

const SHARES: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("shares");
const KT: KeyType = KeyType::Ed25519;

fn sid(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

/// The sealed record of one share version, read from the closed database file.
fn sealed(db_dir: &Path, wallet: &str, version: u32) -> Vec<u8> {
    let db = Database::create(db_dir.join(DB_FILE)).unwrap();
    let txn = db.begin_read().unwrap();
    let shares = txn.open_table(SHARES).unwrap();
    let got = shares.get((wallet, KT.as_str(), version)).unwrap().unwrap();
    got.value().to_vec()
}

/// A key refreshed through the lifecycle: epoch 0 (version 1) retired,
/// epoch 1 (version 2) active. Returns both plaintexts.
fn refreshed(store: &Store) -> (Vec<u8>, Vec<u8>) {
    let (old, new) = (random_bytes(4096), random_bytes(4096));
    store.put_key(&meta("w", KT), &old).unwrap();
    store
        .put_pending(&meta("w", KT), 1, &sid("refresh-1"), [1; 32], &new)
        .unwrap();
    store.promote(&wallet("w"), KT, &sid("refresh-1")).unwrap();
    (old, new)
}

#[test]
fn a_backup_holds_the_active_epoch_only() {
    let dir = tempdir().unwrap();
    let store = open(&dir.path().join("src"));
    let (old, new) = refreshed(&store);
    store
        .put_pending(
            &meta("w", KT),
            2,
            &sid("refresh-2"),
            [2; 32],
            &random_bytes(4096),
        )
        .unwrap();
    // Before the erase: retired and pending epochs are left out already.
    let before = dir.path().join("before.tsbk");
    let s = store
        .backup(&before, b"pw", KdfParams::insecure_for_tests())
        .unwrap();
    assert_eq!(
        (s.keys, s.shares, s.epochs, s.epoch_range),
        (1, 1, 1, Some((1, 1)))
    );

    assert!(store.erase_retired(&wallet("w"), KT, 0).unwrap());
    let after = dir.path().join("after.tsbk");
    let s = store
        .backup(&after, b"pw", KdfParams::insecure_for_tests())
        .unwrap();
    assert_eq!(
        (s.keys, s.shares, s.epochs, s.epoch_range),
        (1, 1, 1, Some((1, 1)))
    );

    for (i, path) in [before, after].iter().enumerate() {
        let restored =
            Store::restore(path, b"pw", &dir.path().join(format!("dst{i}")), key()).unwrap();
        let epochs = restored.list_epochs(&wallet("w"), KT).unwrap();
        assert_eq!(epochs.len(), 1);
        assert_eq!((epochs[0].epoch, epochs[0].state.is_active()), (1, true));
        let got = restored.get_share(&wallet("w"), KT).unwrap().unwrap();
        assert_eq!(got.plaintext.as_slice(), new.as_slice());
        assert!(restored
            .get_share_at(&wallet("w"), KT, 0)
            .unwrap()
            .is_none());
        let c = restored.verify_epochs().unwrap();
        assert_eq!(
            (c.active, c.pending, c.retired, c.share_versions),
            (1, 0, 0, 1)
        );
    }
    // The retired share is in neither backup, even sealed under the password.
    let bytes = std::fs::read(dir.path().join("after.tsbk")).unwrap();
    assert!(!contains_any_window(&bytes, &old));
}

#[test]
fn compaction_leaves_no_sealed_bytes_of_an_erased_version() {
    let dir = tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let store = open(&db_dir);
    let _ = refreshed(&store);
    // Some unrelated traffic after the refresh, as a node would have.
    for i in 0..20 {
        store
            .put_key(&meta(&format!("other{i}"), KT), &random_bytes(2048))
            .unwrap();
    }
    drop(store);
    let erased = sealed(&db_dir, "w", 1);
    let kept = sealed(&db_dir, "w", 2);
    let file = std::fs::read(db_dir.join(DB_FILE)).unwrap();
    // The scan finds a sealed record that is there.
    assert!(contains_any_window(&file, &erased));

    let store = open(&db_dir);
    assert!(store.erase_retired(&wallet("w"), KT, 0).unwrap());
    // The erase alone leaves the ciphertext in a freed page (redb is copy-on-write;
    // later commits may reuse the page, nothing guarantees when).
    let file = std::fs::read(db_dir.join(DB_FILE)).unwrap();
    assert!(
        contains_any_window(&file, &erased),
        "the scan needs the remanence"
    );

    let compacting = store.clone();
    assert!(std::thread::spawn(move || compacting.compact())
        .join()
        .unwrap()
        .is_ok());
    // The store works on after the exclusive section.
    assert!(store.get_share(&wallet("w"), KT).unwrap().is_some());
    store.verify_epochs().unwrap();
    drop(store);

    let file = std::fs::read(db_dir.join(DB_FILE)).unwrap();
    assert!(
        !contains_any_window(&file, &erased),
        "sealed bytes of the erased version are still in the file"
    );
    assert!(contains_any_window(&file, &kept));
}

#[test]
fn compact_waits_for_running_operations_and_they_wait_for_it() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || {
                for j in 0..10 {
                    s.put_key(&meta(&format!("w{i}-{j}"), KT), b"x").unwrap();
                    if j % 3 == 0 {
                        s.compact().unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.list_keys().unwrap().len(), 40);
    store.verify_epochs().unwrap();
}
