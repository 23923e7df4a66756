//! Key metadata and share versions: round trips, versions, conflicts, reopen,
//! wrong keys.

mod common;

use common::*;
use tempfile::tempdir;
use tessera_security::{AtRestKey, KdfParams};
use tessera_storage::{StorageError, Store};
use tessera_types::{ErrorCode, KeyType, Threshold};

#[test]
fn shares_round_trip_for_both_key_types_and_survive_reopen() {
    let dir = tempdir().unwrap();
    let ecdsa = random_bytes(2000);
    let eddsa = random_bytes(300);
    {
        let store = open(dir.path());
        assert_eq!(
            store
                .put_key(&meta("w1", KeyType::Secp256k1), &ecdsa)
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .put_key(&meta("w1", KeyType::Ed25519), &eddsa)
                .unwrap(),
            1
        );
        let got = store
            .get_share(&wallet("w1"), KeyType::Secp256k1)
            .unwrap()
            .unwrap();
        assert_eq!(got.plaintext.as_slice(), ecdsa.as_slice());
        assert_eq!((got.version, got.key_type), (1, KeyType::Secp256k1));
    }
    let store = open(dir.path());
    for (kt, bytes) in [(KeyType::Secp256k1, &ecdsa), (KeyType::Ed25519, &eddsa)] {
        let got = store.get_share(&wallet("w1"), kt).unwrap().unwrap();
        assert_eq!(got.plaintext.as_slice(), bytes.as_slice());
        let m = store.get_metadata(&wallet("w1"), kt).unwrap().unwrap();
        let mut want = meta("w1", kt);
        want.share_version = 1;
        assert_eq!(m, want);
    }
    assert!(store
        .get_share(&wallet("nope"), KeyType::Ed25519)
        .unwrap()
        .is_none());
    assert!(store
        .get_metadata(&wallet("nope"), KeyType::Ed25519)
        .unwrap()
        .is_none());
}

#[test]
fn versions_increment_and_old_versions_stay_readable() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w-versions");
    let v1 = random_bytes(100);
    let v2 = random_bytes(100);
    let v3 = random_bytes(100);
    store
        .put_key(&meta("w-versions", KeyType::Ed25519), &v1)
        .unwrap();
    assert_eq!(store.put_share(&w, KeyType::Ed25519, &v2).unwrap(), 2);

    // A reshare: new participants and threshold, same public key.
    let mut reshared = meta("w-versions", KeyType::Ed25519);
    reshared.participants = (0..5).map(identity).collect();
    reshared.threshold = Threshold(2);
    assert_eq!(store.replace_key(&reshared, &v3).unwrap(), 3);

    let latest = store.get_share(&w, KeyType::Ed25519).unwrap().unwrap();
    assert_eq!(
        (latest.version, latest.plaintext.as_slice()),
        (3, v3.as_slice())
    );
    for (v, bytes) in [(1, &v1), (2, &v2), (3, &v3)] {
        let s = store
            .get_share_version(&w, KeyType::Ed25519, v)
            .unwrap()
            .unwrap();
        assert_eq!(s.plaintext.as_slice(), bytes.as_slice());
    }
    assert!(store
        .get_share_version(&w, KeyType::Ed25519, 4)
        .unwrap()
        .is_none());
    let m = store.get_metadata(&w, KeyType::Ed25519).unwrap().unwrap();
    assert_eq!(
        (m.share_version, m.threshold, m.participants.len()),
        (3, Threshold(2), 5)
    );

    // A reshare may not change the public key.
    let mut other = reshared.clone();
    other.public_key = vec![9; 32];
    let err = store.replace_key(&other, &v3).unwrap_err();
    assert!(matches!(err, StorageError::InvalidMetadata { .. }), "{err}");
    assert_eq!(
        store
            .get_metadata(&w, KeyType::Ed25519)
            .unwrap()
            .unwrap()
            .share_version,
        3
    );
}

#[test]
fn put_key_refuses_an_existing_key_and_changes_nothing() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let first = random_bytes(64);
    store
        .put_key(&meta("w", KeyType::Secp256k1), &first)
        .unwrap();
    let mut again = meta("w", KeyType::Secp256k1);
    again.public_key = vec![4; 33];
    let err = store.put_key(&again, &random_bytes(64)).unwrap_err();
    assert!(matches!(err, StorageError::AlreadyExists { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::KeyAlreadyExists);
    let got = store
        .get_share(&wallet("w"), KeyType::Secp256k1)
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.version, got.plaintext.as_slice()),
        (1, first.as_slice())
    );
    let m = store
        .get_metadata(&wallet("w"), KeyType::Secp256k1)
        .unwrap()
        .unwrap();
    assert_eq!(m.public_key, vec![2; 33]);
    // The other key type of the same wallet is still free.
    store.put_key(&meta("w", KeyType::Ed25519), &first).unwrap();
}

#[test]
fn new_versions_need_an_existing_key() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let err = store
        .put_share(&wallet("w"), KeyType::Ed25519, b"x")
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    let err = store
        .replace_key(&meta("w", KeyType::Ed25519), b"x")
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    // Neither left anything behind.
    assert!(!store.has_wallet(&wallet("w")).unwrap());
    assert!(store
        .get_share_version(&wallet("w"), KeyType::Ed25519, 1)
        .unwrap()
        .is_none());
}

#[test]
fn invalid_metadata_and_empty_shares_are_refused() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let mut m = meta("w", KeyType::Ed25519);
    m.threshold = Threshold(3);
    assert!(matches!(
        store.put_key(&m, b"share"),
        Err(StorageError::InvalidMetadata { .. })
    ));
    let mut m = meta("w", KeyType::Ed25519);
    m.participants.push(identity(0));
    assert!(matches!(
        store.put_key(&m, b"share"),
        Err(StorageError::InvalidMetadata { .. })
    ));
    let err = store
        .put_key(&meta("w", KeyType::Ed25519), b"")
        .unwrap_err();
    assert!(matches!(err, StorageError::InvalidInput { .. }), "{err}");
    assert!(store.list_keys().unwrap().is_empty());
}

#[test]
fn listing_keys_and_wallets() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    store.put_key(&meta("b", KeyType::Ed25519), b"1").unwrap();
    store.put_key(&meta("a", KeyType::Ed25519), b"2").unwrap();
    store.put_key(&meta("a", KeyType::Secp256k1), b"3").unwrap();
    store
        .put_key(&meta("a/x", KeyType::Secp256k1), b"4")
        .unwrap();
    let wallets: Vec<String> = store
        .list_wallets()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(wallets, ["a", "a/x", "b"]);
    assert_eq!(store.list_keys().unwrap().len(), 4);
    assert!(store.has_wallet(&wallet("a")).unwrap());
    assert!(store.has_wallet(&wallet("b")).unwrap());
    assert!(!store.has_wallet(&wallet("c")).unwrap());
    // A wallet id with a slash does not collide with another wallet's record id.
    let got = store
        .get_share(&wallet("a/x"), KeyType::Secp256k1)
        .unwrap()
        .unwrap();
    assert_eq!(got.plaintext.as_slice(), b"4");
}

#[test]
fn opening_with_the_wrong_key_fails_clearly() {
    let dir = tempdir().unwrap();
    drop(open(dir.path()));
    let err = Store::open(dir.path(), other_key()).unwrap_err();
    assert!(matches!(err, StorageError::WrongKey), "{err}");
    assert_eq!(err.code(), ErrorCode::KeyLoad);
    let params = KdfParams::insecure_for_tests();
    let err = Store::open_with_password(dir.path(), b"pw", params).unwrap_err();
    assert!(matches!(err, StorageError::WrongKey), "{err}");
}

#[test]
fn password_stores_keep_their_salt() {
    let dir = tempdir().unwrap();
    let params = KdfParams::insecure_for_tests();
    {
        let store = Store::open_with_password(dir.path(), b"correct horse", params).unwrap();
        store
            .put_key(&meta("w", KeyType::Ed25519), b"secret share")
            .unwrap();
    }
    // Other parameters are ignored for an existing store: it keeps its own.
    let other = KdfParams::new(128, 2, 1).unwrap();
    let store = Store::open_with_password(dir.path(), b"correct horse", other).unwrap();
    let got = store
        .get_share(&wallet("w"), KeyType::Ed25519)
        .unwrap()
        .unwrap();
    assert_eq!(got.plaintext.as_slice(), b"secret share");
    drop(store);
    let err = Store::open_with_password(dir.path(), b"wrong", params).unwrap_err();
    assert!(matches!(err, StorageError::WrongKey), "{err}");
    // A key-file key cannot open a password store either.
    let err = Store::open(dir.path(), AtRestKey::from_key_bytes(&KEY_BYTES).unwrap()).unwrap_err();
    assert!(matches!(err, StorageError::WrongKey), "{err}");
}

#[test]
fn shares_never_show_in_debug_output() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    store
        .put_key(&meta("w", KeyType::Ed25519), b"SUPERSECRETSHARE")
        .unwrap();
    let got = store
        .get_share(&wallet("w"), KeyType::Ed25519)
        .unwrap()
        .unwrap();
    let dbg = format!("{got:?} {store:?}");
    assert!(!dbg.contains("SUPERSECRETSHARE"));
    assert!(!dbg.contains(&format!("{:?}", b"SUPERSECRETSHARE")));
    assert!(dbg.contains("<redacted>"), "{dbg}");
}

#[test]
fn store_is_a_cheap_shared_handle() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || {
                s.put_key(&meta(&format!("w{i}"), KeyType::Ed25519), b"x")
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1);
    }
    assert_eq!(store.list_wallets().unwrap().len(), 4);
}
