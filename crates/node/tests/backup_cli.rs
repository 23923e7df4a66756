//! `tessera backup` and `tessera restore` through the built binary: a store
//! with keys is backed up, restored under another storage key, and compared;
//! the refusals (wrong password, existing file, non-empty directory, a store
//! locked by a running node) each end with one clear error line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tessera_security::{AtRestKey, InitiatorKeyKind, InitiatorSigner};
use tessera_storage::{KeyMetadata, StorageError, Store, DB_FILE};
use tessera_types::{KeyType, NodeId, PublicIdentity, Threshold, WalletId};

const SRC_KEY: [u8; 32] = [7; 32];
const DST_KEY: [u8; 32] = [9; 32];

/// The command succeeded; its stderr otherwise.
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn secret_file(path: PathBuf, body: &[u8]) -> PathBuf {
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
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
        public_key: match key_type {
            KeyType::Secp256k1 => vec![2; 33],
            KeyType::Ed25519 => vec![3; 32],
        },
        chain_code: Some([5; 32]),
        created_at_unix: 1_700_000_000,
        share_version: 0,
    }
}

/// A node's files in a temporary directory: its config names `src/` as
/// `storage.dir` with `src.key` as its key file; that store holds two wallets.
struct Node {
    root: tempfile::TempDir,
    config: PathBuf,
    password: PathBuf,
}

impl Node {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let key_file = secret_file(root.path().join("src.key"), &SRC_KEY);
        let password = secret_file(root.path().join("backup.pw"), b"correct horse battery\n");
        let config = write_config(root.path(), "src.yaml", &root.path().join("src"), &key_file);
        let store = Store::open(&root.path().join("src"), src_key()).unwrap();
        store
            .put_key(&meta("wallet-a", KeyType::Secp256k1), b"share a ecdsa")
            .unwrap();
        store
            .put_key(&meta("wallet-a", KeyType::Ed25519), b"share a eddsa")
            .unwrap();
        store
            .put_key(&meta("wallet-b", KeyType::Ed25519), b"share b eddsa")
            .unwrap();
        drop(store);
        Node {
            root,
            config,
            password,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn backup(&self, out: &Path) -> Output {
        tessera(&[
            "backup".as_ref(),
            "--config".as_ref(),
            self.config.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--backup-password-file".as_ref(),
            self.password.as_os_str(),
        ])
    }
}

fn src_key() -> AtRestKey {
    AtRestKey::from_key_bytes(&SRC_KEY).unwrap()
}

fn write_config(root: &Path, name: &str, dir: &Path, key_file: &Path) -> PathBuf {
    let initiator = InitiatorSigner::generate(InitiatorKeyKind::Ed25519)
        .public()
        .to_hex();
    let yaml = format!(
        "node_id: node0\nthreshold: 1\nstorage:\n  dir: {}\n  key_file: {}\n\
         identity: {{file: {}}}\ninitiator: {{kind: ed25519, public_key: {initiator}}}\n",
        dir.display(),
        key_file.display(),
        root.join("node0.key").display(),
    );
    let path = root.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Runs the binary with no `TESSERA_*` variables from the test's environment.
fn tessera(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one error line of a failed run.
fn error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "expected a failure; stdout: {}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "one error line expected: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn restore(config: &Path, from: &Path, password: &Path, key: &Path) -> Output {
    tessera(&[
        "restore".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--from".as_ref(),
        from.as_os_str(),
        "--backup-password-file".as_ref(),
        password.as_os_str(),
        "--storage-key-file".as_ref(),
        key.as_os_str(),
    ])
}

#[test]
fn backup_then_restore_under_another_storage_key() {
    let node = Node::new();
    let file = node.path("node0.tsbk");
    let out = node.backup(&file);
    assert_ok(&out);
    let printed = stdout(&out);
    assert!(printed.contains("2 wallets, 3 keys"), "{printed}");
    assert!(printed.contains(&file.display().to_string()), "{printed}");
    assert!(!printed.contains("correct horse"));
    assert!(file.exists());

    // A second node directory whose config names the old key file; the flag
    // replaces it with a new key, as it would for `start`.
    let dst_key = secret_file(node.path("dst.key"), &DST_KEY);
    let dst_dir = node.path("dst");
    let dst_config = write_config(
        node.root.path(),
        "dst.yaml",
        &dst_dir,
        &node.path("src.key"),
    );
    let out = restore(&dst_config, &file, &node.password, &dst_key);
    assert_ok(&out);
    let printed = stdout(&out);
    assert!(printed.contains("2 wallets, 3 keys"), "{printed}");

    // Sealed under the new key only.
    assert!(matches!(
        Store::open(&dst_dir, src_key()),
        Err(StorageError::WrongKey)
    ));
    let restored = Store::open(&dst_dir, AtRestKey::from_key_bytes(&DST_KEY).unwrap()).unwrap();
    let original = Store::open(&node.path("src"), src_key()).unwrap();
    let keys = restored.list_keys().unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys, original.list_keys().unwrap());
    for (wallet, key_type) in [
        ("wallet-a", KeyType::Secp256k1),
        ("wallet-a", KeyType::Ed25519),
        ("wallet-b", KeyType::Ed25519),
    ] {
        let w = WalletId::new(wallet).unwrap();
        let a = restored.get_share(&w, key_type).unwrap().unwrap();
        let b = original.get_share(&w, key_type).unwrap().unwrap();
        assert_eq!(a.plaintext.as_slice(), b.plaintext.as_slice());
        assert_eq!(a.version, b.version);
    }
}

#[test]
fn wrong_backup_password_is_reported() {
    let node = Node::new();
    let file = node.path("node0.tsbk");
    assert!(node.backup(&file).status.success());
    let wrong = secret_file(node.path("wrong.pw"), b"not the password");
    let dst_key = secret_file(node.path("dst.key"), &DST_KEY);
    let dst_config = write_config(node.root.path(), "dst.yaml", &node.path("dst"), &dst_key);
    let out = restore(&dst_config, &file, &wrong, &dst_key);
    let err = error_line(&out);
    assert!(err.contains("wrong backup password"), "{err}");
    assert!(!err.contains("not the password"));
    assert!(!node.path("dst").join(DB_FILE).exists());
}

#[test]
fn existing_backup_file_is_not_overwritten() {
    let node = Node::new();
    let file = node.path("node0.tsbk");
    std::fs::write(&file, b"an older backup").unwrap();
    let err = error_line(&node.backup(&file));
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"an older backup");
}

#[test]
fn restore_into_a_directory_with_a_store_is_refused() {
    let node = Node::new();
    let file = node.path("node0.tsbk");
    assert!(node.backup(&file).status.success());
    // The node's own config: its storage.dir still holds the live store.
    let key = node.path("src.key");
    let err = error_line(&restore(&node.config, &file, &node.password, &key));
    assert!(err.contains("already exists"), "{err}");
    assert!(
        err.contains("restore only into an empty or new directory"),
        "{err}"
    );
    // The live store is untouched.
    let store = Store::open(&node.path("src"), src_key()).unwrap();
    assert_eq!(store.list_keys().unwrap().len(), 3);
}

#[test]
fn locked_store_says_to_stop_the_node() {
    let node = Node::new();
    // This process holds the lock, as a running `tessera start` would.
    let _held = Store::open(&node.path("src"), src_key()).unwrap();
    let file = node.path("node0.tsbk");
    let err = error_line(&node.backup(&file));
    assert!(err.contains("in use by another process"), "{err}");
    assert!(err.contains("stop this node first"), "{err}");
    assert!(!file.exists());
}
