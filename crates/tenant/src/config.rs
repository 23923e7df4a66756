//! What a tenant needs to start: where NATS is, who it is, where its shares
//! live and how they are sealed, and which server nodes it plays with.

use std::path::PathBuf;
use std::sync::Arc;

use tessera_runner::RunnerOptions;
use tessera_security::{AtRestKey, KdfParams, NodeIdentity, SecretBytes};
use tessera_transport::NatsAccess;
use tessera_types::PublicIdentity;

/// Settings of a [`Tenant`](crate::Tenant). Fields are public;
/// [`TenantConfig::new`] takes the required ones and fills in the rest.
#[derive(Debug)]
pub struct TenantConfig {
    /// The servers' NATS: URL(s), comma-separated, and the device's own
    /// credential and TLS files.
    pub nats: NatsAccess,
    /// The tenant's identity. Its public half goes to the servers with each
    /// session (or is registered with them beforehand).
    pub identity: Arc<NodeIdentity>,
    /// Directory of the tenant's share store (`<dir>/tessera.redb`, created
    /// if missing). One tenant at a time: the file is locked while open.
    pub store_dir: PathBuf,
    /// How the shares are sealed at rest.
    pub store_key: StoreKey,
    /// The server nodes' public identities (their identity documents). A
    /// tenant only plays with parties listed here.
    pub servers: Vec<PublicIdentity>,
    /// Session timeouts. The defaults suit a LAN; a device on a mobile network
    /// may want a longer `connect_timeout` and `peer_silence`.
    pub options: RunnerOptions,
}

impl TenantConfig {
    /// A configuration with the default session options.
    pub fn new(
        nats_url: impl Into<String>,
        identity: Arc<NodeIdentity>,
        store_dir: impl Into<PathBuf>,
        store_key: StoreKey,
        servers: Vec<PublicIdentity>,
    ) -> Self {
        Self {
            nats: NatsAccess::new(nats_url),
            identity,
            store_dir: store_dir.into(),
            store_key,
            servers,
            options: RunnerOptions::default(),
        }
    }
}

/// The share store's at-rest key.
#[derive(Debug)]
pub enum StoreKey {
    /// A 32-byte key (from the platform's keystore, or a key file).
    Key(AtRestKey),
    /// A password, stretched with Argon2id. `params` apply to a new store
    /// only; an existing one keeps the parameters and salt it was created with.
    Password {
        password: SecretBytes,
        params: KdfParams,
    },
}
