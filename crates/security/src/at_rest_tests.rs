use super::*;
use crate::private_file::test_dir::TestDir;

fn pw_key(pw: &[u8]) -> AtRestKey {
    AtRestKey::from_password_new_salt(pw, KdfParams::insecure_for_tests()).unwrap()
}

fn file_key() -> AtRestKey {
    AtRestKey::from_key_bytes(&[7u8; 32]).unwrap()
}

#[test]
fn round_trips_with_both_key_kinds() {
    for key in [pw_key(b"correct horse"), file_key()] {
        let rec = key.seal("wallet-1/ecdsa", 3, b"share bytes").unwrap();
        assert_eq!(&rec[..4], b"TSAR");
        assert_eq!(rec.len(), HEADER_LEN + 11 + TAG_LEN);
        assert_eq!(
            key.open("wallet-1/ecdsa", 3, &rec).unwrap().as_slice(),
            b"share bytes"
        );
        // Fresh nonce every time.
        assert_ne!(rec, key.seal("wallet-1/ecdsa", 3, b"share bytes").unwrap());
    }
}

#[test]
fn empty_plaintext_round_trips() {
    let key = file_key();
    let rec = key.seal("r", 0, b"").unwrap();
    assert!(key.open("r", 0, &rec).unwrap().is_empty());
}

#[test]
fn wrong_id_version_password_or_key_fail_to_decrypt() {
    let key = pw_key(b"pw");
    let rec = key.seal("a", 1, b"x").unwrap();
    assert!(matches!(
        key.open("b", 1, &rec),
        Err(AtRestError::Decryption)
    ));
    assert!(matches!(
        key.open("a", 2, &rec),
        Err(AtRestError::Decryption)
    ));
    let wrong =
        AtRestKey::from_password(b"pw2", KdfParams::insecure_for_tests(), key.salt().unwrap())
            .unwrap();
    assert!(matches!(
        wrong.open("a", 1, &rec),
        Err(AtRestError::Decryption)
    ));
    assert!(matches!(
        AtRestKey::open_with_password(b"nope", "a", 1, &rec),
        Err(AtRestError::Decryption)
    ));

    let fk = file_key();
    let rec = fk.seal("a", 1, b"x").unwrap();
    let other = AtRestKey::from_key_bytes(&[8u8; 32]).unwrap();
    assert!(matches!(
        other.open("a", 1, &rec),
        Err(AtRestError::Decryption)
    ));
    assert_eq!(AtRestError::Decryption.code(), ErrorCode::KeyLoad);
}

#[test]
fn every_flipped_bit_is_rejected() {
    for key in [pw_key(b"pw"), file_key()] {
        let rec = key.seal("rec", 9, b"some secret share").unwrap();
        for i in 0..rec.len() * 8 {
            let mut bad = rec.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(key.open("rec", 9, &bad).is_err(), "bit {i} accepted");
        }
    }
}

#[test]
fn format_errors_are_told_apart() {
    let key = file_key();
    let rec = key.seal("r", 1, b"abc").unwrap();
    for n in 0..HEADER_LEN + TAG_LEN {
        assert!(
            matches!(
                key.open("r", 1, &rec[..n]),
                Err(AtRestError::Malformed { .. })
            ),
            "len {n}"
        );
    }
    let mut bad = rec.clone();
    bad[0] = b'X';
    assert!(matches!(
        key.open("r", 1, &bad),
        Err(AtRestError::Malformed { .. })
    ));
    let mut bad = rec.clone();
    bad[4] = 2;
    assert!(matches!(
        key.open("r", 1, &bad),
        Err(AtRestError::UnsupportedFormat { version: 2 })
    ));
    let mut bad = rec.clone();
    bad[5] = 9;
    assert!(matches!(
        key.open("r", 1, &bad),
        Err(AtRestError::Malformed { .. })
    ));
    assert_eq!(
        AtRestError::Malformed { reason: "x" }.code(),
        ErrorCode::DataCorruption
    );
}

#[test]
fn absurd_kdf_parameters_are_refused_before_deriving() {
    let key = pw_key(b"pw");
    let mut rec = key.seal("r", 1, b"abc").unwrap();
    rec[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        key.open("r", 1, &rec),
        Err(AtRestError::Malformed { .. })
    ));
}

#[test]
fn key_kinds_do_not_mix() {
    let rec = file_key().seal("r", 1, b"abc").unwrap();
    let err = pw_key(b"pw").open("r", 1, &rec).unwrap_err();
    assert!(matches!(
        err,
        AtRestError::KeyKindMismatch {
            record: "key file",
            key: "password"
        }
    ));
    assert!(AtRestKey::open_with_password(b"pw", "r", 1, &rec).is_err());
    let rec = pw_key(b"pw").seal("r", 1, b"abc").unwrap();
    assert!(matches!(
        file_key().open("r", 1, &rec),
        Err(AtRestError::KeyKindMismatch { .. })
    ));
}

#[test]
fn records_under_other_salts_open_with_the_same_password() {
    let old = pw_key(b"pw");
    let rec = old.seal("r", 1, b"abc").unwrap();
    let new = pw_key(b"pw");
    assert_ne!(old.salt(), new.salt());
    assert_eq!(new.open("r", 1, &rec).unwrap().as_slice(), b"abc");
    // The second open uses the cached key.
    assert_eq!(new.others.lock().unwrap().len(), 1);
    assert_eq!(new.open("r", 1, &rec).unwrap().as_slice(), b"abc");
    assert_eq!(new.others.lock().unwrap().len(), 1);
    assert_eq!(
        AtRestKey::open_with_password(b"pw", "r", 1, &rec)
            .unwrap()
            .as_slice(),
        b"abc"
    );
}

#[test]
fn production_parameters_work() {
    let key = AtRestKey::from_password_new_salt(b"pw", KdfParams::PRODUCTION).unwrap();
    let rec = key.seal("r", 1, b"abc").unwrap();
    assert_eq!(key.open("r", 1, &rec).unwrap().as_slice(), b"abc");
    assert_eq!(u32::from_be_bytes(rec[6..10].try_into().unwrap()), 65536);
}

#[test]
fn bad_inputs_to_constructors() {
    assert!(matches!(
        AtRestKey::from_password_new_salt(b"", KdfParams::insecure_for_tests()),
        Err(AtRestError::EmptyPassword)
    ));
    assert!(matches!(
        AtRestKey::from_key_bytes(&[0u8; 31]),
        Err(AtRestError::BadKeyLength { len: 31 })
    ));
}

#[test]
fn key_files() {
    let d = TestDir::new();
    let p = d.path().join("at-rest.key");
    let k = AtRestKey::generate_key_file(&p).unwrap();
    assert_eq!(std::fs::read(&p).unwrap().len(), KEY_FILE_LEN);
    let rec = k.seal("r", 1, b"abc").unwrap();
    let k2 = AtRestKey::from_key_file(&p).unwrap();
    assert_eq!(k2.open("r", 1, &rec).unwrap().as_slice(), b"abc");
    assert!(matches!(
        AtRestKey::generate_key_file(&p),
        Err(AtRestError::KeyFile(PrivateFileError::AlreadyExists { .. }))
    ));
    let short = d.path().join("short.key");
    write_private(&short, &[1u8; 16], Overwrite::Refuse).unwrap();
    assert!(matches!(
        AtRestKey::from_key_file(&short),
        Err(AtRestError::BadKeyLength { len: 16 })
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = AtRestKey::from_key_file(&p).unwrap_err();
        assert!(matches!(
            err,
            AtRestError::KeyFile(PrivateFileError::InsecurePermissions { .. })
        ));
        assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
    }
}

#[test]
fn debug_shows_no_key_material() {
    let k = AtRestKey::from_password(
        b"hunter2",
        KdfParams::insecure_for_tests(),
        Salt::from_bytes([1; 16]),
    )
    .unwrap();
    let s = format!("{k:?}");
    assert!(s.contains("password") && !s.contains("hunter2"), "{s}");
    let k = AtRestKey::from_key_bytes(&[0xab; 32]).unwrap();
    assert!(!format!("{k:?}").contains("171"));
}
