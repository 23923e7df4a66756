//! The node's key store as `tessera start` opens it: `storage.dir` and the
//! at-rest secret named by `storage.password_file` or `storage.key_file`
//! (after the `--storage-*-file` flags). `backup` and `restore` use the same
//! code, so they open exactly the store, with exactly the key, a node would.

use anyhow::{bail, Context};
use tessera_security::{AtRestKey, KdfParams, SecretBytes};
use tessera_storage::Store;

use crate::config::Config;
use crate::secrets::read_secret_file;

/// The store's at-rest secret, read from its file (`Debug` is redacted).
#[derive(Debug)]
pub enum StoreSecret {
    /// A password, stretched with Argon2id (the salt lives in the store).
    Password(SecretBytes),
    /// A 32-byte key from `storage.key_file`.
    Key(AtRestKey),
}

impl StoreSecret {
    /// What an operator would call it, for messages (never the secret itself).
    pub fn describe(&self) -> &'static str {
        match self {
            StoreSecret::Password(_) => "the storage password",
            StoreSecret::Key(_) => "the storage key file",
        }
    }
}

/// Fails unless the config (flags applied) names a store secret.
pub fn require_secret(config: &Config) -> anyhow::Result<()> {
    if config.storage.password_file.is_none() && config.storage.key_file.is_none() {
        bail!(
            "no key store secret: set storage.password_file or storage.key_file \
             (or --storage-password-file / --storage-key-file)"
        );
    }
    Ok(())
}

/// Reads the secret file the config names.
pub fn read_secret(config: &Config) -> anyhow::Result<StoreSecret> {
    match (&config.storage.password_file, &config.storage.key_file) {
        (Some(p), None) => Ok(StoreSecret::Password(read_secret_file(
            "storage password",
            p,
        )?)),
        (None, Some(k)) => Ok(StoreSecret::Key(
            AtRestKey::from_key_file(k).context("storage.key_file")?,
        )),
        // `require_secret` and `validate` make sure exactly one is set.
        _ => bail!("exactly one of storage.password_file and storage.key_file must be set"),
    }
}

/// Opens (or, if missing, creates) the store in `storage.dir`. Argon2 and the
/// disk run off the async threads.
pub async fn open(config: &Config) -> anyhow::Result<Store> {
    let dir = config.storage.dir.clone();
    let store = match read_secret(config)? {
        StoreSecret::Password(password) => {
            tokio::task::spawn_blocking(move || {
                Store::open_with_password(&dir, password.as_slice(), KdfParams::default())
            })
            .await?
        }
        StoreSecret::Key(key) => {
            tokio::task::spawn_blocking(move || Store::open(&dir, key)).await?
        }
    };
    store.with_context(|| format!("cannot open storage.dir {}", config.storage.dir.display()))
}
