//! A tenant party: the user's device in split custody (after the Sepior/Blockdaemon
//! TSM's "dynamic node configuration"). The device holds one share of each of a
//! wallet's keys, next to Tessera server nodes; no party ever holds a whole key.
//!
//! An application embeds this crate to play the device. A [`Tenant`] has its own
//! identity (Ed25519 + X25519), its own encrypted share store and its own NATS
//! connection, and runs the same protocol sessions as a server node
//! (`tessera-runner`), without Consul and without a JetStream consumer: the
//! application starts each session itself, with the session id it agreed with
//! the servers (for example one it put in the request's `tessera_session`).
//! The servers' public identities are static configuration of the tenant; the
//! servers learn the tenant's identity per session.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use tessera_tenant::*;
//! # async fn demo(servers: Vec<PublicIdentity>) -> Result<(), TenantError> {
//! let identity = Arc::new(NodeIdentity::generate(NodeId::new("device-7").unwrap()));
//! let key = AtRestKey::from_key_bytes(&[7; 32]).unwrap(); // keep it in the platform keystore
//! let config = TenantConfig::new("nats://127.0.0.1:4222", identity, "/data/shares", StoreKey::Key(key), servers);
//! let tenant = Tenant::start(config).await?;
//! let keys = tenant.keygen(TenantKeygen {
//!     session_id: SessionId::new("5f0c9e").unwrap(),
//!     wallet_id: WalletId::new("wallet-1").unwrap(),
//!     players: vec![tenant.node_id().clone(), NodeId::new("node0").unwrap(), NodeId::new("node1").unwrap()],
//!     threshold: Threshold(1),
//! }).await?;
//! println!("ecdsa key {:02x?}", keys.ecdsa_public_key);
//! tenant.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules:
//! - [`config`]: [`TenantConfig`] and [`StoreKey`].
//! - [`tenant`]: [`Tenant`]: start, identity, shutdown.
//! - [`keygen`]: [`TenantKeygen`], [`WalletKeys`]: a wallet's two keys at once.
//! - [`sign`]: [`TenantSign`]: one signing session.
//! - [`error`]: [`TenantError`] and its `ErrorCode`.
//! - `requests` (private): the runner requests, built in one place.

pub mod config;
pub mod error;
pub mod keygen;
mod requests;
pub mod sign;
pub mod tenant;

pub use config::{StoreKey, TenantConfig};
pub use error::TenantError;
pub use keygen::{TenantKeygen, WalletKeys};
pub use sign::TenantSign;
pub use tenant::Tenant;

pub use tessera_runner::{RunnerOptions, Signature};
pub use tessera_security::{AtRestKey, KdfParams, NodeIdentity, SecretBytes};
pub use tessera_types::{
    ErrorCode, KeyType, NodeId, PublicIdentity, SessionId, Threshold, WalletId,
};
