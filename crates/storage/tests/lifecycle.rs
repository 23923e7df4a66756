//! Epoch transitions on a real store: pending → promote → old retired → erase,
//! discard, retire_key, a second session refused, the same session idempotent.
//! `verify_epochs` checks every invariant after each step.

mod common;

use common::*;
use tempfile::tempdir;
use tessera_storage::{EpochCounts, EpochState, StorageError, Store};
use tessera_types::{ErrorCode, KeyType, SessionId, Threshold};

const KT: KeyType = KeyType::Ed25519;

fn sid(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

fn counts(store: &Store) -> (usize, usize, usize, usize) {
    let EpochCounts {
        active,
        pending,
        retired,
        share_versions,
    } = store.verify_epochs().unwrap();
    (active, pending, retired, share_versions)
}

fn states(store: &Store, w: &str) -> Vec<(u64, &'static str)> {
    store
        .list_epochs(&wallet(w), KT)
        .unwrap()
        .iter()
        .map(|r| (r.epoch, r.state.name()))
        .collect()
}

fn share_at(store: &Store, w: &str, epoch: u64) -> Option<Vec<u8>> {
    store
        .get_share_at(&wallet(w), KT, epoch)
        .unwrap()
        .map(|s| s.plaintext.as_slice().to_vec())
}

#[test]
fn pending_promote_retire_erase() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    let v1 = random_bytes(300);
    let v2 = random_bytes(300);
    store.put_key(&meta("w", KT), &v1).unwrap();
    assert_eq!(states(&store, "w"), [(0, "active")]);
    assert_eq!(store.active_epoch(&w, KT).unwrap(), Some(0));
    assert_eq!(counts(&store), (1, 0, 0, 1));

    // Pending: signing still uses epoch 0.
    let mut next = meta("w", KT);
    next.participants = (0..4).map(identity).collect();
    let version = store
        .put_pending(&next, 1, &sid("refresh-1"), [1; 32], &v2)
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(states(&store, "w"), [(0, "active"), (1, "pending")]);
    assert_eq!(counts(&store), (1, 1, 0, 2));
    let active = store.get_share(&w, KT).unwrap().unwrap();
    assert_eq!(
        (active.version, active.plaintext.as_slice()),
        (1, v1.as_slice())
    );
    assert_eq!(
        store
            .get_metadata(&w, KT)
            .unwrap()
            .unwrap()
            .participants
            .len(),
        3
    );
    assert_eq!(share_at(&store, "w", 1).unwrap(), v2);
    let pending = store.list_pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].state,
        EpochState::Pending {
            session_id: sid("refresh-1"),
            digest: [1; 32]
        }
    );

    // Promote: epoch 1 active with its metadata, epoch 0 retired but readable.
    assert_eq!(store.promote(&w, KT, &sid("refresh-1")).unwrap(), 1);
    assert_eq!(states(&store, "w"), [(0, "retired"), (1, "active")]);
    assert_eq!(counts(&store), (1, 0, 1, 2));
    let m = store.get_metadata(&w, KT).unwrap().unwrap();
    assert_eq!((m.share_version, m.participants.len()), (2, 4));
    assert_eq!(
        store
            .get_share(&w, KT)
            .unwrap()
            .unwrap()
            .plaintext
            .as_slice(),
        v2
    );
    assert_eq!(share_at(&store, "w", 0).unwrap(), v1);
    assert!(store.list_pending().unwrap().is_empty());
    // Promoting again finds nothing to promote.
    let err = store.promote(&w, KT, &sid("refresh-1")).unwrap_err();
    assert!(matches!(err, StorageError::PendingNotFound { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::UnknownSession);

    // Only a retired epoch can be erased; erasing is idempotent.
    let err = store.erase_retired(&w, KT, 1).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::EpochNotRetired {
                epoch: 1,
                state: "active",
                ..
            }
        ),
        "{err}"
    );
    assert!(store.erase_retired(&w, KT, 0).unwrap());
    assert!(!store.erase_retired(&w, KT, 0).unwrap());
    assert_eq!(states(&store, "w"), [(1, "active")]);
    assert_eq!(counts(&store), (1, 0, 0, 1));
    assert!(share_at(&store, "w", 0).is_none());
    assert!(store.get_share_version(&w, KT, 1).unwrap().is_none());
    assert_eq!(
        store
            .get_share(&w, KT)
            .unwrap()
            .unwrap()
            .plaintext
            .as_slice(),
        v2
    );

    // It all survives a reopen.
    drop(store);
    let store = open(dir.path());
    assert_eq!(states(&store, "w"), [(1, "active")]);
    assert_eq!(counts(&store), (1, 0, 0, 1));
}

#[test]
fn discard_removes_the_pending_epoch_only() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    let v1 = random_bytes(200);
    store.put_key(&meta("w", KT), &v1).unwrap();
    store
        .put_pending(&meta("w", KT), 1, &sid("s1"), [2; 32], &random_bytes(200))
        .unwrap();
    // Another session's discard does nothing.
    assert!(!store.discard_pending(&w, KT, &sid("s2")).unwrap());
    assert_eq!(counts(&store), (1, 1, 0, 2));
    assert!(store.discard_pending(&w, KT, &sid("s1")).unwrap());
    assert!(!store.discard_pending(&w, KT, &sid("s1")).unwrap());
    assert_eq!(states(&store, "w"), [(0, "active")]);
    assert_eq!(counts(&store), (1, 0, 0, 1));
    assert!(store.get_share_version(&w, KT, 2).unwrap().is_none());
    assert_eq!(
        store
            .get_share(&w, KT)
            .unwrap()
            .unwrap()
            .plaintext
            .as_slice(),
        v1
    );
    // A pending epoch cannot be erased as if retired.
    store
        .put_pending(&meta("w", KT), 1, &sid("s3"), [3; 32], &random_bytes(200))
        .unwrap();
    let err = store.erase_retired(&w, KT, 1).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::EpochNotRetired {
                state: "pending",
                ..
            }
        ),
        "{err}"
    );
    // A new attempt after the discard gets the version back.
    assert_eq!(store.list_epochs(&w, KT).unwrap()[1].share_version, 2);
}

#[test]
fn another_sessions_pending_is_refused_and_the_same_session_is_idempotent() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    let share = random_bytes(200);
    store.put_key(&meta("w", KT), &random_bytes(200)).unwrap();
    let next = meta("w", KT);
    assert_eq!(
        store
            .put_pending(&next, 1, &sid("s1"), [1; 32], &share)
            .unwrap(),
        2
    );
    // The same write again: the same version, nothing new.
    assert_eq!(
        store
            .put_pending(&next, 1, &sid("s1"), [1; 32], &share)
            .unwrap(),
        2
    );
    assert_eq!(counts(&store), (1, 1, 0, 2));

    // Another session, from another thread (a second concurrent run).
    let other = store.clone();
    let err = std::thread::spawn(move || {
        other
            .put_pending(&meta("w", KT), 1, &sid("s2"), [9; 32], b"other share")
            .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(
        matches!(&err, StorageError::LifecycleBusy { pending, .. } if *pending == sid("s1")),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::ConcurrencyLimit);
    assert!(err.to_string().contains("s1"), "{err}");

    // The same session with anything different is a conflict.
    for (epoch, digest, bytes) in [
        (1, [2; 32], share.clone()),
        (2, [1; 32], share.clone()),
        (1, [1; 32], random_bytes(200)),
    ] {
        let err = store
            .put_pending(&next, epoch, &sid("s1"), digest, &bytes)
            .unwrap_err();
        assert!(matches!(err, StorageError::Conflict { .. }), "{err}");
    }
    // A refresh without the lifecycle is refused while a session is pending.
    let err = store.put_share(&w, KT, b"x").unwrap_err();
    assert!(matches!(err, StorageError::LifecycleBusy { .. }), "{err}");
    assert_eq!(counts(&store), (1, 1, 0, 2));
    assert_eq!(share_at(&store, "w", 1).unwrap(), share);
}

#[test]
fn pending_epochs_must_be_newer_and_keep_the_public_key() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    store.put_key(&meta("w", KT), b"v1").unwrap();
    let err = store
        .put_pending(&meta("w", KT), 0, &sid("s1"), [1; 32], b"v2")
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::EpochNotNewer {
                epoch: 0,
                newest: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::EpochMismatch);
    let mut other_key = meta("w", KT);
    other_key.public_key = vec![4; 32];
    let err = store
        .put_pending(&other_key, 1, &sid("s1"), [1; 32], b"v2")
        .unwrap_err();
    assert!(matches!(err, StorageError::InvalidMetadata { .. }), "{err}");
    let mut bad = meta("w", KT);
    bad.threshold = Threshold(5);
    assert!(store
        .put_pending(&bad, 1, &sid("s1"), [1; 32], b"v2")
        .is_err());
    assert!(store
        .put_pending(&meta("w", KT), 1, &sid("s1"), [1; 32], b"")
        .is_err());
    assert_eq!(counts(&store), (1, 0, 0, 1));
}

#[test]
fn a_new_holder_stores_pending_without_a_key_and_promote_creates_it() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("moved");
    let share = random_bytes(200);
    store
        .put_pending(&meta("moved", KT), 4, &sid("move-1"), [4; 32], &share)
        .unwrap();
    assert!(store.get_metadata(&w, KT).unwrap().is_none());
    assert!(store.get_share(&w, KT).unwrap().is_none());
    assert!(!store.has_wallet(&w).unwrap());
    assert_eq!(store.active_epoch(&w, KT).unwrap(), None);
    assert_eq!(counts(&store), (0, 1, 0, 1));
    // Keygen cannot take over a key with a pending epoch.
    let err = store.put_key(&meta("moved", KT), b"x").unwrap_err();
    assert!(matches!(err, StorageError::AlreadyExists { .. }), "{err}");

    assert_eq!(store.promote(&w, KT, &sid("move-1")).unwrap(), 4);
    assert_eq!(states(&store, "moved"), [(4, "active")]);
    assert_eq!(
        store
            .get_share(&w, KT)
            .unwrap()
            .unwrap()
            .plaintext
            .as_slice(),
        share
    );
    assert_eq!(store.list_wallets().unwrap(), vec![w.clone()]);
    assert_eq!(counts(&store), (1, 0, 0, 1));
}

#[test]
fn retire_key_makes_the_key_not_found_until_erased() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    let v1 = random_bytes(200);
    store.put_key(&meta("w", KT), &v1).unwrap();
    store
        .put_key(&meta("w", KeyType::Secp256k1), b"other type")
        .unwrap();
    let err = store.retire_key(&w, KT, 0).unwrap_err();
    assert!(matches!(err, StorageError::EpochNotNewer { .. }), "{err}");

    assert_eq!(store.retire_key(&w, KT, 1).unwrap(), 0);
    assert!(store.get_metadata(&w, KT).unwrap().is_none());
    assert!(store.get_share(&w, KT).unwrap().is_none());
    assert_eq!(store.active_epoch(&w, KT).unwrap(), None);
    assert_eq!(store.list_keys().unwrap().len(), 1);
    // Still there for signing at epoch 0 until the erase.
    assert_eq!(share_at(&store, "w", 0).unwrap(), v1);
    assert_eq!(states(&store, "w"), [(0, "retired")]);
    assert_eq!(counts(&store), (1, 0, 1, 2));
    // Nothing to retire or refresh any more.
    let err = store.retire_key(&w, KT, 2).unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    assert!(matches!(
        store.put_share(&w, KT, b"x"),
        Err(StorageError::NotFound { .. })
    ));

    assert!(store.erase_retired(&w, KT, 0).unwrap());
    assert!(store.list_epochs(&w, KT).unwrap().is_empty());
    assert!(store.get_share_at(&w, KT, 0).unwrap().is_none());
    assert_eq!(counts(&store), (1, 0, 0, 1));
}

#[test]
fn retire_key_waits_for_a_pending_epoch_to_be_discarded() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    store.put_key(&meta("w", KT), b"v1").unwrap();
    store
        .put_pending(&meta("w", KT), 1, &sid("aborted"), [1; 32], b"v2")
        .unwrap();
    let err = store.retire_key(&w, KT, 1).unwrap_err();
    assert!(matches!(err, StorageError::LifecycleBusy { .. }), "{err}");
    assert!(store.discard_pending(&w, KT, &sid("aborted")).unwrap());
    assert_eq!(store.retire_key(&w, KT, 1).unwrap(), 0);
    assert_eq!(counts(&store), (0, 0, 1, 1));
}

#[test]
fn put_share_is_an_immediate_epoch_and_keeps_the_old_one_retired() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    let w = wallet("w");
    store.put_key(&meta("w", KT), b"v1").unwrap();
    assert_eq!(store.put_share(&w, KT, b"v2").unwrap(), 2);
    assert_eq!(store.put_share(&w, KT, b"v3").unwrap(), 3);
    assert_eq!(
        states(&store, "w"),
        [(0, "retired"), (1, "retired"), (2, "active")]
    );
    assert_eq!(share_at(&store, "w", 1).unwrap(), b"v2");
    assert_eq!(counts(&store), (1, 0, 2, 3));
    // A lifecycle session continues from there.
    store
        .put_pending(&meta("w", KT), 3, &sid("s"), [3; 32], b"v4")
        .unwrap();
    assert_eq!(store.promote(&w, KT, &sid("s")).unwrap(), 3);
    for e in 0..3 {
        assert!(store.erase_retired(&w, KT, e).unwrap());
    }
    assert_eq!(states(&store, "w"), [(3, "active")]);
    assert_eq!(counts(&store), (1, 0, 0, 1));
}
