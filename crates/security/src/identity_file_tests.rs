use super::*;
use crate::private_file::test_dir::TestDir;

fn ident() -> NodeIdentity {
    NodeIdentity::generate(NodeId::new("node0").unwrap())
}

fn pass(p: &[u8]) -> KeyProtection<'_> {
    KeyProtection::Passphrase {
        passphrase: p,
        params: KdfParams::insecure_for_tests(),
    }
}

#[test]
fn plain_round_trip_with_public_document() {
    let d = TestDir::new();
    let path = d.path().join("node0.key");
    let id = ident();
    let pub_path = id.save(&path, KeyProtection::Plain).unwrap();
    assert_eq!(pub_path, d.path().join("node0.key.pub.json"));
    let back = NodeIdentity::load(&path, None).unwrap();
    assert_eq!(back.public(), id.public());
    assert_eq!(read_public_document(&pub_path).unwrap(), id.public());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"secret_key\"") && text.contains("tessera-node-identity"));
}

#[test]
fn sealed_round_trip_and_wrong_passphrase() {
    let d = TestDir::new();
    let path = d.path().join("node0.key");
    let id = ident();
    id.save(&path, pass(b"open sesame")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("sealed_secret_key") && !text.contains("\"secret_key\""));
    assert!(!text.contains(&hex::encode(&id.secret_bytes().expose()[..32])));

    let back = NodeIdentity::load(&path, Some(b"open sesame")).unwrap();
    assert_eq!(back.public(), id.public());

    let err = NodeIdentity::load(&path, Some(b"open sesamE")).unwrap_err();
    assert!(
        matches!(err, IdentityFileError::WrongPassphrase { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("wrong passphrase"));
    assert_eq!(err.code(), ErrorCode::KeyLoad);

    let err = NodeIdentity::load(&path, None).unwrap_err();
    assert!(matches!(err, IdentityFileError::PassphraseRequired { .. }));
}

#[test]
fn plain_file_with_passphrase_is_refused() {
    let d = TestDir::new();
    let path = d.path().join("k");
    ident().save(&path, KeyProtection::Plain).unwrap();
    assert!(matches!(
        NodeIdentity::load(&path, Some(b"x")),
        Err(IdentityFileError::NotSealed { .. })
    ));
}

#[test]
fn editing_the_node_id_of_a_sealed_file_breaks_it() {
    let d = TestDir::new();
    let path = d.path().join("k");
    ident().save(&path, pass(b"pw")).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("node0", "node1");
    write_private(&path, text.as_bytes(), Overwrite::Allow).unwrap();
    assert!(matches!(
        NodeIdentity::load(&path, Some(b"pw")),
        Err(IdentityFileError::WrongPassphrase { .. })
    ));
}

#[test]
fn never_overwrites_an_identity() {
    let d = TestDir::new();
    let path = d.path().join("k");
    ident().save(&path, KeyProtection::Plain).unwrap();
    let err = ident().save(&path, KeyProtection::Plain).unwrap_err();
    assert!(matches!(
        err,
        IdentityFileError::File(PrivateFileError::AlreadyExists { .. })
    ));
    assert_eq!(err.code(), ErrorCode::KeyAlreadyExists);
}

#[test]
fn empty_passphrase_is_refused() {
    let d = TestDir::new();
    let err = ident().save(&d.path().join("k"), pass(b"")).unwrap_err();
    assert!(matches!(
        err,
        IdentityFileError::Seal(AtRestError::EmptyPassword)
    ));
    assert!(!d.path().join("k").exists());
}

#[test]
fn malformed_files_give_typed_errors_without_contents() {
    let d = TestDir::new();
    let path = d.path().join("k");
    let secret_looking = "ab".repeat(64);
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "malformed"),
        (
            format!("{{\"secret_key\":\"{secret_looking}\"}}"),
            "malformed",
        ),
        (
            format!(
                r#"{{"format":"other","version":1,"node_id":"n","secret_key":"{secret_looking}"}}"#
            ),
            "malformed",
        ),
        (
            format!(
                r#"{{"format":"tessera-node-identity","version":2,"node_id":"n","secret_key":"{secret_looking}"}}"#
            ),
            "version",
        ),
        (
            r#"{"format":"tessera-node-identity","version":1,"node_id":"n","secret_key":"abcd"}"#
                .into(),
            "malformed",
        ),
        (
            r#"{"format":"tessera-node-identity","version":1,"node_id":"n"}"#.into(),
            "malformed",
        ),
        (
            format!(
                r#"{{"format":"tessera-node-identity","version":1,"node_id":"bad.id","secret_key":"{secret_looking}"}}"#
            ),
            "malformed",
        ),
    ];
    for (content, want) in cases {
        write_private(&path, content.as_bytes(), Overwrite::Allow).unwrap();
        let err = NodeIdentity::load(&path, None).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("abab"), "{text}");
        match want {
            "version" => assert!(matches!(
                err,
                IdentityFileError::UnsupportedVersion { version: 2 }
            )),
            _ => assert!(
                matches!(err, IdentityFileError::Malformed { .. }),
                "{content}: {err}"
            ),
        }
    }
}

#[cfg(unix)]
#[test]
fn insecure_permissions_are_refused_and_said() {
    use std::os::unix::fs::PermissionsExt;
    let d = TestDir::new();
    let path = d.path().join("k");
    ident().save(&path, KeyProtection::Plain).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
    let err = NodeIdentity::load(&path, None).unwrap_err();
    assert!(
        err.to_string().contains("accessible by group or others"),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
}

#[test]
fn protection_debug_is_redacted() {
    let s = format!("{:?}", pass(b"hunter2"));
    assert!(!s.contains("hunter2") && s.contains("<redacted>"), "{s}");
}
