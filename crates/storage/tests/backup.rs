//! Backup and restore: identical records after a round trip, clear errors for
//! a wrong password, damaged files and non-fresh directories.

mod common;

use std::path::Path;

use common::*;
use tempfile::tempdir;
use tessera_security::KdfParams;
use tessera_storage::{PutResult, ResultKind, StorageError, Store, DB_FILE};
use tessera_types::{ErrorCode, KeyType};

const PW: &[u8] = b"backup password";

fn params() -> KdfParams {
    KdfParams::insecure_for_tests()
}

/// A store with two wallets, several share versions and two results, backed up.
fn populated(dir: &Path) -> (Store, std::path::PathBuf) {
    let store = open(&dir.join("src"));
    store
        .put_key(&meta("w1", KeyType::Secp256k1), &random_bytes(3000))
        .unwrap();
    store
        .put_key(&meta("w1", KeyType::Ed25519), &random_bytes(500))
        .unwrap();
    store
        .put_share(&wallet("w1"), KeyType::Ed25519, &random_bytes(500))
        .unwrap();
    store
        .put_key(&meta("w2", KeyType::Ed25519), &random_bytes(500))
        .unwrap();
    store
        .put_result(ResultKind::Sign, "tx1", [1; 32], b"{\"a\":1}")
        .unwrap();
    store
        .put_result(ResultKind::Keygen, "w1", [2; 32], b"{}")
        .unwrap();
    let path = dir.join("backup.tsbk");
    let summary = store.backup(&path, PW, params()).unwrap();
    // Active epochs only: w1/ed25519's version 1 (retired by the refresh) stays out.
    assert_eq!((summary.keys, summary.shares, summary.results), (3, 3, 2));
    assert_eq!((summary.epochs, summary.epoch_range), (3, Some((0, 1))));
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    (store, path)
}

/// `b` is a restore of `a`: the same keys, active shares and epochs, results.
fn assert_same(a: &Store, b: &Store) {
    assert_eq!(a.list_keys().unwrap(), b.list_keys().unwrap());
    for m in a.list_keys().unwrap() {
        let (w, kt) = (&m.wallet_id, m.key_type);
        let x = a.get_share(w, kt).unwrap().unwrap();
        let y = b.get_share(w, kt).unwrap().unwrap();
        assert_eq!(x.plaintext.as_slice(), y.plaintext.as_slice());
        assert_eq!(x.version, y.version);
        let active: Vec<_> = a
            .list_epochs(w, kt)
            .unwrap()
            .into_iter()
            .filter(|r| r.state.is_active())
            .collect();
        assert_eq!(active, b.list_epochs(w, kt).unwrap());
        // Nothing but the active version came along.
        for v in 1..m.share_version {
            assert!(b.get_share_version(w, kt, v).unwrap().is_none());
        }
    }
    b.verify_epochs().unwrap();
    for (kind, k) in [(ResultKind::Sign, "tx1"), (ResultKind::Keygen, "w1")] {
        assert_eq!(
            a.get_result(kind, k).unwrap(),
            b.get_result(kind, k).unwrap()
        );
        assert!(a.get_result(kind, k).unwrap().is_some());
    }
}

#[test]
fn restore_gives_identical_records_under_a_new_key() {
    let dir = tempdir().unwrap();
    let (src, backup) = populated(dir.path());
    let dst = Store::restore(&backup, PW, &dir.path().join("dst"), other_key()).unwrap();
    assert_same(&src, &dst);
    // The restored store is a normal store: it reopens with its own key only,
    // and keeps enforcing the same rules.
    drop(dst);
    let err = Store::open(&dir.path().join("dst"), key()).unwrap_err();
    assert!(matches!(err, StorageError::WrongKey), "{err}");
    let dst = Store::open(&dir.path().join("dst"), other_key()).unwrap();
    assert_same(&src, &dst);
    assert!(matches!(
        dst.put_key(&meta("w1", KeyType::Ed25519), b"x"),
        Err(StorageError::AlreadyExists { .. })
    ));
    assert_eq!(
        dst.put_share(&wallet("w1"), KeyType::Ed25519, b"x")
            .unwrap(),
        3
    );
    assert!(matches!(
        dst.put_result(ResultKind::Sign, "tx1", [1; 32], b"other")
            .unwrap(),
        PutResult::AlreadyStored(_)
    ));
}

#[test]
fn restore_with_a_password_key() {
    let dir = tempdir().unwrap();
    let (src, backup) = populated(dir.path());
    let dst_dir = dir.path().join("dst");
    let dst = Store::restore_with_password(&backup, PW, &dst_dir, b"node pw", params()).unwrap();
    assert_same(&src, &dst);
    drop(dst);
    let dst = Store::open_with_password(&dst_dir, b"node pw", params()).unwrap();
    assert_same(&src, &dst);
}

#[test]
fn wrong_password_is_a_clear_error() {
    let dir = tempdir().unwrap();
    let (_src, backup) = populated(dir.path());
    let dst_dir = dir.path().join("dst");
    let err = Store::restore(&backup, b"not it", &dst_dir, key()).unwrap_err();
    assert!(matches!(err, StorageError::BadBackupPassword), "{err}");
    assert_eq!(
        err.to_string(),
        "backup password is wrong or the file is damaged"
    );
    assert_eq!(err.code(), ErrorCode::KeyLoad);
    // Nothing was left behind, so a retry with the right password works.
    assert!(!dst_dir.join(DB_FILE).exists());
    assert_eq!(std::fs::read_dir(&dst_dir).unwrap().count(), 0);
    Store::restore(&backup, PW, &dst_dir, key()).unwrap();
}

#[test]
fn damaged_files_give_typed_errors() {
    let dir = tempdir().unwrap();
    let (_src, backup) = populated(dir.path());
    let bytes = std::fs::read(&backup).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("magic only", bytes[..4].to_vec()),
        ("header only", bytes[..40].to_vec()),
        ("half", bytes[..bytes.len() / 2].to_vec()),
        ("one byte short", bytes[..bytes.len() - 1].to_vec()),
        ("garbage", random_bytes(5000)),
        ("bad magic", [b"XXXX".as_slice(), &bytes[4..]].concat()),
        (
            "future format",
            [b"TSBK\x09".as_slice(), &bytes[5..]].concat(),
        ),
        ("flipped byte", {
            let mut b = bytes.clone();
            let i = b.len() - 100;
            b[i] ^= 1;
            b
        }),
    ];
    for (i, (name, content)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("damaged-{i}"));
        std::fs::write(&path, &content).unwrap();
        let dst = dir.path().join(format!("dst-{i}"));
        let err = Store::restore(&path, PW, &dst, key()).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::BadBackup { .. } | StorageError::BadBackupPassword
            ),
            "{name}: {err:?}"
        );
        assert!(!dst.join(DB_FILE).exists(), "{name}");
    }
    let err = Store::restore(
        &dir.path().join("missing"),
        PW,
        &dir.path().join("d"),
        key(),
    );
    assert!(matches!(err, Err(StorageError::Io { .. })));
}

#[test]
fn restore_refuses_a_directory_with_a_database() {
    let dir = tempdir().unwrap();
    let (_src, backup) = populated(dir.path());
    let dst_dir = dir.path().join("dst");
    let existing = open(&dst_dir);
    existing
        .put_key(&meta("keep", KeyType::Ed25519), b"mine")
        .unwrap();
    drop(existing);
    let err = Store::restore(&backup, PW, &dst_dir, key()).unwrap_err();
    assert!(matches!(err, StorageError::NotEmpty { .. }), "{err}");
    // The existing store is untouched.
    let existing = open(&dst_dir);
    assert_eq!(existing.list_wallets().unwrap(), vec![wallet("keep")]);
    // Restoring over the source store itself is refused too.
    let err = Store::restore(&backup, PW, &dir.path().join("src"), key()).unwrap_err();
    assert!(matches!(err, StorageError::NotEmpty { .. }), "{err}");
}

#[test]
fn backup_file_is_private_and_never_overwritten() {
    let dir = tempdir().unwrap();
    let (src, backup) = populated(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&backup).unwrap();
    assert_eq!(&before[..5], b"TSBK\x01");
    assert!(src.backup(&backup, PW, params()).is_err());
    assert_eq!(std::fs::read(&backup).unwrap(), before);
    assert!(src
        .backup(&dir.path().join("empty-pw"), b"", params())
        .is_err());
}

#[test]
fn an_empty_store_backs_up_and_restores() {
    let dir = tempdir().unwrap();
    let store = open(&dir.path().join("src"));
    let path = dir.path().join("b");
    let s = store.backup(&path, PW, params()).unwrap();
    assert_eq!((s.keys, s.shares, s.results), (0, 0, 0));
    assert_eq!((s.epochs, s.epoch_range), (0, None));
    let dst = Store::restore(&path, PW, &dir.path().join("dst"), key()).unwrap();
    assert!(dst.list_keys().unwrap().is_empty());
}
