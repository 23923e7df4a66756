//! Request results: stored once, replays return the first, conflicts are refused.

mod common;

use common::*;
use tempfile::tempdir;
use tessera_storage::{PutResult, ResultKind, StorageError};
use tessera_types::ErrorCode;

#[test]
fn same_digest_is_a_no_op_returning_the_first_result() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.get_result(ResultKind::Sign, "tx1").unwrap().is_none());
    let first = store
        .put_result(ResultKind::Sign, "tx1", [1; 32], br#"{"signature":"aa"}"#)
        .unwrap();
    let PutResult::Stored(stored) = first else {
        panic!("expected a new result: {first:?}");
    };
    let again = store
        .put_result(ResultKind::Sign, "tx1", [1; 32], br#"{"signature":"bb"}"#)
        .unwrap();
    assert_eq!(again, PutResult::AlreadyStored(stored.clone()));
    assert_eq!(again.result().result_json, br#"{"signature":"aa"}"#);
    assert_eq!(
        store.get_result(ResultKind::Sign, "tx1").unwrap(),
        Some(stored)
    );
}

#[test]
fn another_digest_under_the_same_key_is_a_conflict() {
    let dir = tempdir().unwrap();
    let store = open(dir.path());
    store
        .put_result(ResultKind::Keygen, "w1", [1; 32], b"{}")
        .unwrap();
    let err = store
        .put_result(ResultKind::Keygen, "w1", [2; 32], b"{}")
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::RequestConflict);
    assert_eq!(
        store
            .get_result(ResultKind::Keygen, "w1")
            .unwrap()
            .unwrap()
            .digest,
        [1; 32]
    );
    // Kinds are separate namespaces.
    let other = store
        .put_result(ResultKind::Reshare, "w1", [2; 32], b"{}")
        .unwrap();
    assert!(matches!(other, PutResult::Stored(_)));
}

#[test]
fn results_survive_reopen_and_bad_keys_are_refused() {
    let dir = tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .put_result(ResultKind::Sign, "tx", [3; 32], b"r")
            .unwrap();
        let err = store
            .put_result(ResultKind::Sign, "", [3; 32], b"r")
            .unwrap_err();
        assert!(matches!(err, StorageError::InvalidInput { .. }), "{err}");
        let long = "x".repeat(10_000);
        assert!(store
            .put_result(ResultKind::Sign, &long, [3; 32], b"r")
            .is_err());
    }
    let store = open(dir.path());
    let r = store.get_result(ResultKind::Sign, "tx").unwrap().unwrap();
    assert_eq!(
        (r.digest, r.result_json.as_slice()),
        ([3; 32], b"r".as_slice())
    );
    assert!(r.stored_at_unix > 1_600_000_000);
}
