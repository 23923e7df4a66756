//! Tessera's Consul registry: which nodes are up, whether a signing quorum is
//! ready, and where peers' public identities are published.
//!
//! Each node creates a Consul session with a TTL and `Behavior = delete`, holds
//! `<prefix>/ready/<node_id>` with it, renews it every TTL/2 and destroys it on
//! shutdown, so its key goes at once. A crashed node's key goes when Consul
//! invalidates the session: up to **2×TTL** after the last renewal. A watcher
//! keeps every node's view of the ready set current with blocking queries, and
//! [`Registry::are_majority_ready`] answers mpcium's question: are at least
//! `t + 1` nodes ready?
//!
//! **Nothing in Consul is trusted for anything secret or security-relevant.**
//! The ready set only decides whether starting a session is worth trying; peer
//! identities listed from Consul are hints. Callers check player sets against
//! the key metadata they stored and public keys against their own configuration.
//!
//! Modules:
//! - [`consul`]: [`ConsulClient`], the HTTP client (reqwest + rustls, ACL token, timeouts,
//!   typed connection and TLS failures).
//! - [`tls`]: [`ConsulTls`], HTTPS with a private CA and a client certificate.
//! - [`token`]: [`ConsulToken`], the ACL token as a secret (wiped, redacted).
//! - [`kv`]: KV get, list (blocking), put with CAS, acquire, release, delete.
//! - [`sessions`]: Consul sessions: create, renew, destroy.
//! - [`config`]: [`RegistryConfig`], what a node tells the registry.
//! - [`keys`]: [`KeyLayout`], the keys under the cluster prefix.
//! - [`view`]: [`ReadyView`], the ready set and the quorum check.
//! - `readiness`: the task that owns the session and the ready key.
//! - [`ready_record`]: [`ReadyRecord`], the ready key's value, signed by its node.
//! - [`ready_set`]: the ready set read once, records verified (for observers).
//! - `watcher`: the task that owns the view (blocking queries, back-off).
//! - [`peers`]: publishing and listing peer identities.
//! - [`registry`]: [`Registry`], the handle tying it together.
//! - [`error`]: [`RegistryError`] and its client code.

pub mod config;
pub mod consul;
pub mod error;
pub mod keys;
pub mod kv;
pub mod peers;
mod readiness;
pub mod ready_record;
pub mod ready_set;
pub mod registry;
pub mod sessions;
pub mod tls;
pub mod token;
pub mod view;
mod watcher;

pub use config::RegistryConfig;
pub use consul::{BlockingQuery, ConsulClient};
pub use error::{RegistryError, TlsProblem};
pub use keys::KeyLayout;
pub use kv::KvEntry;
pub use ready_record::{ReadyRecord, ReadyRecordError};
pub use registry::Registry;
pub use sessions::{ConsulSessionId, SessionBehavior};
pub use tls::ConsulTls;
pub use token::ConsulToken;
pub use view::ReadyView;
