//! `tessera backup` and `tessera restore`: the key store to one encrypted
//! file and back, with the store opened as `tessera start` opens it (see
//! [`crate::keystore`]).
//!
//! The file format and the re-sealing of shares are the storage crate's
//! (`tessera_storage::backup`): shares are sealed under the backup password in
//! the file, and under the node's own at-rest key again on restore. The backup
//! password comes only from a file, like every other secret here.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use tessera_security::private_file::PrivateFileError;
use tessera_security::KdfParams;
use tessera_storage::{StorageError, Store, DB_FILE};

use crate::cli::{BackupArgs, ConfigArg, RestoreArgs, StorageFlags};
use crate::config::Config;
use crate::keystore::{self, StoreSecret};
use crate::secrets::read_secret_file;

/// `tessera backup` from its command line.
pub async fn run_backup(args: &BackupArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let config = load_config(&args.config, &args.storage)?;
    backup(
        &config,
        &args.out,
        &args.backup_password_file,
        KdfParams::default(),
        out,
    )
    .await
}

/// `tessera restore` from its command line.
pub async fn run_restore(args: &RestoreArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let config = load_config(&args.config, &args.storage)?;
    restore(
        &config,
        &args.from,
        &args.backup_password_file,
        KdfParams::default(),
        out,
    )
    .await
}

/// The config with the storage flags applied, checked as `start` checks it.
fn load_config(config: &ConfigArg, storage: &StorageFlags) -> anyhow::Result<Config> {
    let (mut c, unknown) = Config::load(&config.config)?;
    storage.apply(&mut c);
    c.validate()?;
    keystore::require_secret(&c)?;
    for var in unknown {
        eprintln!("warning: environment variable {var} matches no config key; ignored");
    }
    Ok(c)
}

/// Writes a backup of the configured store to `dest`, sealed under the
/// password in `password_file` (Argon2id with `params`), and prints a summary.
pub async fn backup(
    config: &Config,
    dest: &Path,
    password_file: &Path,
    params: KdfParams,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Checked first so a typo costs no Argon2 run; the storage crate refuses
    // to replace a file too, atomically.
    if std::fs::symlink_metadata(dest).is_ok() {
        bail!(
            "backup file {} already exists; refusing to overwrite it (choose another --out)",
            dest.display()
        );
    }
    let password = read_secret_file("backup password", password_file)?;
    let dir = &config.storage.dir;
    // Opening a missing store would create an empty one: say so instead.
    let db = dir.join(DB_FILE);
    if std::fs::symlink_metadata(&db).is_err() {
        bail!(
            "no key store at {} (storage.dir {}): nothing to back up",
            db.display(),
            dir.display()
        );
    }
    let store = keystore::open(config)
        .await
        .map_err(|e| explain_locked(e, "backup"))?;
    let dest_owned = dest.to_path_buf();
    let (wallets, summary) = tokio::task::spawn_blocking(move || {
        // The lock is ours, so nothing changes between these reads.
        let wallets = store.list_wallets()?.len();
        let summary = store.backup(&dest_owned, password.as_slice(), params)?;
        Ok::<_, StorageError>((wallets, summary))
    })
    .await?
    .map_err(|e| match e {
        StorageError::File(PrivateFileError::AlreadyExists { .. }) => anyhow::anyhow!(
            "backup file {} already exists; refusing to overwrite it (choose another --out)",
            dest.display()
        ),
        e => anyhow::Error::new(e).context(format!("cannot write backup {}", dest.display())),
    })?;
    writeln!(
        out,
        "backup of node {} written to {}: {}, {}, {}, {}, {} bytes",
        config.node_id,
        dest.display(),
        count(wallets, "wallet"),
        count(summary.keys, "key"),
        count(summary.shares, "share version"),
        count(summary.results, "stored result"),
        summary.bytes
    )?;
    writeln!(
        out,
        "the file is sealed with the backup password; keep the password apart from the file"
    )?;
    Ok(())
}

/// Restores `from` into the configured (empty) storage dir, sealing shares
/// under the node's storage key or password, and prints a summary. `params`
/// apply to a password store (a new salt is drawn, as for a new store).
pub async fn restore(
    config: &Config,
    from: &Path,
    password_file: &Path,
    params: KdfParams,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Before the store's directory is created for it.
    if let Err(e) = std::fs::metadata(from) {
        bail!("cannot read backup file {}: {e}", from.display());
    }
    let password = read_secret_file("backup password", password_file)?;
    let secret = keystore::read_secret(config)?;
    let sealed_under = secret.describe();
    let dir = config.storage.dir.clone();
    let backup = from.to_path_buf();
    let restored = tokio::task::spawn_blocking(move || {
        let store = match secret {
            StoreSecret::Key(key) => Store::restore(&backup, password.as_slice(), &dir, key)?,
            StoreSecret::Password(store_password) => Store::restore_with_password(
                &backup,
                password.as_slice(),
                &dir,
                store_password.as_slice(),
                params,
            )?,
        };
        let wallets = store.list_wallets()?.len();
        let keys = store.list_keys()?.len();
        Ok::<_, StorageError>((store.path().to_path_buf(), wallets, keys))
    })
    .await?;
    let (path, wallets, keys) = restored.map_err(|e| match e {
        StorageError::BadBackupPassword => anyhow::anyhow!(
            "cannot restore {}: wrong backup password (or the backup file is damaged)",
            from.display()
        ),
        StorageError::NotEmpty { path } => anyhow::anyhow!(
            "cannot restore into storage.dir {}: {} already exists; restore only into an \
             empty or new directory (move the old store away first)",
            config.storage.dir.display(),
            path.display()
        ),
        e => anyhow::Error::new(e).context(format!(
            "cannot restore {} into storage.dir {}",
            from.display(),
            config.storage.dir.display()
        )),
    })?;
    writeln!(
        out,
        "restored {} into {} for node {}: {}, {}, sealed under {}",
        from.display(),
        path.display(),
        config.node_id,
        count(wallets, "wallet"),
        count(keys, "key"),
        sealed_under
    )?;
    Ok(())
}

/// "1 wallet", "2 wallets".
fn count(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {noun}{s}")
}

/// A store locked by another process (a running node) gets a message that
/// says what to do; anything else passes through.
fn explain_locked(e: anyhow::Error, what: &str) -> anyhow::Error {
    match e.downcast_ref::<StorageError>() {
        Some(StorageError::Locked { path }) => anyhow::anyhow!(
            "the key store {} is in use by another process (a running `tessera start` holds \
             its lock): stop this node first, then run `tessera {what}` again (the other nodes \
             keep signing while t+1 of them are ready)",
            path.display()
        ),
        _ => e,
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
