//! [`Tenant`]: a party's runtime outside the cluster. It opens the share store,
//! connects to NATS and wraps a runner [`Node`] whose directory is the
//! configured servers and which has no registry (a tenant is not in Consul:
//! a server that is down shows as a player that never joins or goes silent).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use tessera_runner::{Directory, Node};
use tessera_storage::Store;
use tessera_transport::{Transport, TransportOptions};
use tessera_types::{NodeId, PublicIdentity};

use crate::config::{StoreKey, TenantConfig};
use crate::error::TenantError;

/// Bound on aborting in-flight sessions at shutdown.
const SESSIONS_LIMIT: Duration = Duration::from_secs(10);
/// Bound on flushing and closing the NATS connection at shutdown.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A running tenant. Sessions run concurrently through `&self`; share it with
/// an `Arc` if several tasks start sessions. Not `Clone`, so that
/// [`Tenant::shutdown`] is the last user and releases the store's lock.
#[derive(Debug)]
pub struct Tenant {
    pub(crate) node: Node,
}

impl Tenant {
    /// Checks the configuration, opens (or creates) the share store, connects
    /// to NATS. Nothing is sent until a session starts.
    pub async fn start(config: TenantConfig) -> Result<Tenant, TenantError> {
        let TenantConfig {
            nats,
            identity,
            store_dir,
            store_key,
            servers,
            options,
        } = config;
        check_servers(identity.node_id(), &servers)?;
        nats.check().map_err(TenantError::Transport)?;
        // The store first: a wrong key fails without touching the network.
        let store = open_store(store_dir, store_key).await?;
        let transport_options = TransportOptions {
            name: Some(format!("tessera-tenant-{}", identity.node_id())),
            ..TransportOptions::default()
        };
        let transport = Transport::connect_with(&nats, identity.clone(), transport_options)
            .await
            .map_err(TenantError::Transport)?;
        tracing::info!(node_id = %identity.node_id(), servers = servers.len(), "tenant started");
        let node = Node::new(
            identity,
            transport,
            store,
            Directory::new(servers),
            None,
            options,
        );
        Ok(Tenant { node })
    }

    pub fn node_id(&self) -> &NodeId {
        self.node.node_id()
    }

    /// What the servers need to know about this tenant for a session: its id,
    /// signing key and agreement key.
    pub fn public_identity(&self) -> PublicIdentity {
        self.node.public_identity()
    }

    /// Stops: in-flight sessions abort (telling their peers), the NATS
    /// connection is flushed and closed, and the share store is closed, so a
    /// new tenant can open the same directory once this returns.
    pub async fn shutdown(self) {
        if tokio::time::timeout(SESSIONS_LIMIT, self.node.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(node_id = %self.node_id(), "tenant sessions did not stop in time");
        }
        let client = self.node.transport().client().clone();
        let drained = tokio::time::timeout(DRAIN_LIMIT, async {
            if let Err(e) = client.drain().await {
                tracing::warn!(error = %e, "nats drain failed");
                return;
            }
            // `drain` only queues the request; a flush behind it resolves once
            // the connection has flushed and closed.
            let _ = client.flush().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(node_id = %self.node_id(), "nats connection did not drain in time");
        }
        tracing::info!(node_id = %self.node_id(), "tenant stopped");
    }
}

/// Servers must be unique and must not include the tenant itself (its own
/// identity comes from its private key, never from a document).
fn check_servers(me: &NodeId, servers: &[PublicIdentity]) -> Result<(), TenantError> {
    let mut seen = BTreeSet::new();
    for s in servers {
        if s.node_id == *me {
            return Err(TenantError::Config {
                detail: format!("servers include the tenant's own id {me}"),
            });
        }
        if !seen.insert(&s.node_id) {
            return Err(TenantError::Config {
                detail: format!("servers list {} twice", s.node_id),
            });
        }
    }
    Ok(())
}

/// Opens the store off the async threads (a password key runs Argon2id).
async fn open_store(dir: PathBuf, key: StoreKey) -> Result<Store, TenantError> {
    tokio::task::spawn_blocking(move || match key {
        StoreKey::Key(key) => Store::open(&dir, key),
        StoreKey::Password { password, params } => {
            Store::open_with_password(&dir, password.as_slice(), params)
        }
    })
    .await
    .map_err(|e| TenantError::Internal(format!("store task: {e}")))?
    .map_err(TenantError::Storage)
}
