use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tessera_security::AtRestKey;
use tessera_storage::KeyMetadata;
use tessera_types::{KeyType, NodeId, PublicIdentity, Threshold, WalletId};

use super::*;

/// Cheap Argon2 for the backup and password stores in these tests.
fn params() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn secret_file(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

enum Secret {
    KeyFile(PathBuf),
    PasswordFile(PathBuf),
}

fn config(store_dir: &Path, secret: Secret) -> Config {
    let mut c = crate::config::tests::sample();
    c.storage.dir = store_dir.to_path_buf();
    match secret {
        Secret::KeyFile(p) => (c.storage.key_file, c.storage.password_file) = (Some(p), None),
        Secret::PasswordFile(p) => (c.storage.key_file, c.storage.password_file) = (None, Some(p)),
    }
    c
}

fn meta(wallet: &str, key_type: KeyType) -> KeyMetadata {
    KeyMetadata {
        wallet_id: WalletId::new(wallet).unwrap(),
        key_type,
        participants: (0..3u8)
            .map(|i| PublicIdentity {
                node_id: NodeId::new(format!("node{i}")).unwrap(),
                signing_key: [i; 32],
                agreement_key: [i + 100; 32],
            })
            .collect(),
        threshold: Threshold(1),
        public_key: vec![2; 33],
        chain_code: Some([5; 32]),
        created_at_unix: 1_700_000_000,
        share_version: 0,
    }
}

/// A key-file store in `<root>/src` with two wallets (three keys).
struct Fixture {
    root: tempfile::TempDir,
    config: Config,
    password: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let key_file = secret_file(root.path(), "src.key", &[7; 32]);
        let password = secret_file(root.path(), "backup.pw", b"correct horse\n");
        let config = config(&root.path().join("src"), Secret::KeyFile(key_file.clone()));
        let store = Store::open(
            &config.storage.dir,
            AtRestKey::from_key_file(&key_file).unwrap(),
        )
        .unwrap();
        store
            .put_key(&meta("w1", KeyType::Secp256k1), b"share-w1-ecdsa")
            .unwrap();
        store
            .put_key(&meta("w1", KeyType::Ed25519), b"share-w1-eddsa")
            .unwrap();
        store
            .put_key(&meta("w2", KeyType::Secp256k1), b"share-w2-ecdsa")
            .unwrap();
        Fixture {
            root,
            config,
            password,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    async fn backup(&self, dest: &Path) -> anyhow::Result<String> {
        let mut out = Vec::new();
        backup(&self.config, dest, &self.password, params(), &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }
}

fn text(r: anyhow::Result<impl std::fmt::Debug>) -> String {
    crate::render_error(&r.expect_err("expected an error"))
}

#[tokio::test]
async fn backup_then_restore_under_a_password_store() {
    let f = Fixture::new();
    let dest = f.path("node0.tsbk");
    let printed = f.backup(&dest).await.unwrap();
    assert!(
        printed.contains("2 wallets, 3 keys, 3 share versions"),
        "{printed}"
    );
    assert!(printed.contains(&dest.display().to_string()));
    assert!(!printed.contains("correct horse"));
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let store_pw = secret_file(f.root.path(), "dst.pw", b"another password");
    let dst = config(&f.path("dst"), Secret::PasswordFile(store_pw));
    let mut out = Vec::new();
    restore(&dst, &dest, &f.password, params(), &mut out)
        .await
        .unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("2 wallets, 3 keys"), "{printed}");
    assert!(printed.contains("storage password"), "{printed}");

    // The restored store opens as `start` would open it, with the same data.
    let restored = keystore::open(&dst).await.unwrap();
    let original = Store::open(
        &f.config.storage.dir,
        AtRestKey::from_key_bytes(&[7; 32]).unwrap(),
    )
    .unwrap();
    assert_eq!(restored.list_keys().unwrap(), original.list_keys().unwrap());
    let w1 = WalletId::new("w1").unwrap();
    let share = restored.get_share(&w1, KeyType::Ed25519).unwrap().unwrap();
    assert_eq!(share.plaintext.as_slice(), b"share-w1-eddsa");
}

#[tokio::test]
async fn wrong_backup_password_says_so() {
    let f = Fixture::new();
    let dest = f.path("b.tsbk");
    f.backup(&dest).await.unwrap();
    let wrong = secret_file(f.root.path(), "wrong.pw", b"incorrect horse");
    let dst_key = secret_file(f.root.path(), "dst.key", &[9; 32]);
    let dst = config(&f.path("dst"), Secret::KeyFile(dst_key));
    let e = text(restore(&dst, &dest, &wrong, params(), &mut Vec::new()).await);
    assert!(e.contains("wrong backup password"), "{e}");
    assert!(!e.contains("incorrect horse"));
    assert!(!f.path("dst").join(DB_FILE).exists());
}

#[tokio::test]
async fn restore_from_a_missing_file_touches_nothing() {
    let f = Fixture::new();
    let dst_key = secret_file(f.root.path(), "dst.key", &[9; 32]);
    let dst = config(&f.path("dst"), Secret::KeyFile(dst_key));
    let missing = f.path("missing.tsbk");
    let e = text(restore(&dst, &missing, &f.password, params(), &mut Vec::new()).await);
    assert!(e.contains("cannot read backup file"), "{e}");
    assert!(!f.path("dst").exists());
}

#[tokio::test]
async fn backup_refuses_an_existing_file_and_an_empty_password() {
    let f = Fixture::new();
    let dest = f.path("b.tsbk");
    std::fs::write(&dest, b"keep me").unwrap();
    let e = text(f.backup(&dest).await);
    assert!(
        e.contains("already exists") && e.contains("overwrite"),
        "{e}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");

    let empty = secret_file(f.root.path(), "empty.pw", b"\n");
    let other = f.path("c.tsbk");
    let e = text(backup(&f.config, &other, &empty, params(), &mut Vec::new()).await);
    assert!(e.contains("backup password") && e.contains("empty"), "{e}");
    assert!(!other.exists());
}

#[tokio::test]
async fn backup_of_a_locked_store_says_to_stop_the_node() {
    let f = Fixture::new();
    // Hold the lock as a running node would.
    let _held = keystore::open(&f.config).await.unwrap();
    let dest = f.path("b.tsbk");
    let e = text(f.backup(&dest).await);
    assert!(e.contains("in use by another process"), "{e}");
    assert!(e.contains("stop this node first"), "{e}");
    assert!(!dest.exists());
}

#[tokio::test]
async fn backup_without_a_store_creates_none() {
    let f = Fixture::new();
    let mut c = f.config.clone();
    c.storage.dir = f.path("missing");
    let e = text(
        backup(
            &c,
            &f.path("b.tsbk"),
            &f.password,
            params(),
            &mut Vec::new(),
        )
        .await,
    );
    assert!(e.contains("nothing to back up"), "{e}");
    assert!(!f.path("missing").exists());
}

#[tokio::test]
async fn restore_refuses_a_directory_with_a_store() {
    let f = Fixture::new();
    let dest = f.path("b.tsbk");
    f.backup(&dest).await.unwrap();
    // Restoring over the source store itself: it already holds a database.
    let e = text(restore(&f.config, &dest, &f.password, params(), &mut Vec::new()).await);
    assert!(e.contains("already exists") && e.contains("empty"), "{e}");
}
