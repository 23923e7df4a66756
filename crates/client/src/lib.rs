//! Rust SDK for applications that use a Tessera threshold-signing cluster
//! (or an mpcium one: the wire format is mpcium's).
//!
//! It signs requests with the application's initiator key (and authorizer
//! keys, if the cluster requires approvals), publishes them to JetStream,
//! reads results from durable consumers, and derives child public keys and
//! checks signatures offline.
//!
//! ```no_run
//! # use tessera_client::*;
//! # use tessera_security::{InitiatorKeyKind, InitiatorSigner};
//! # async fn demo() -> Result<(), ClientError> {
//! let key = InitiatorSigner::generate(InitiatorKeyKind::Ed25519); // configured on the nodes
//! let config = ClientConfig::new("nats://127.0.0.1:4222", key)
//!     .with_client_id("app1")
//!     .with_cluster_identities_dir("/etc/tessera/peers")?; // the nodes' *.pub.json
//! let client = Client::connect(config).await?;
//! let wallet = client.keygen("wallet-1").await?.into_result()?;
//! let master = wallet.ecdsa_public_key_sec1().expect("secp256k1 key");
//! let digest = [7u8; 32];
//! let req = SignRequest { key_type: KeyType::Secp256k1, wallet_id: "wallet-1".into(), tx_id: "tx-1".into(),
//!     tx: digest.to_vec(), network_internal_code: "eth".into(), derivation_path: None, session: None };
//! let signed = client.sign(req).await?.into_result()?;
//! assert!(verify::ecdsa(&master, &digest, &signed.event));
//! # Ok(()) }
//! ```
//!
//! Every result must be signed by one of the cluster's nodes: the
//! configuration lists their public identities
//! ([`ClientConfig::with_cluster_identities_dir`]), and anything unsigned,
//! signed by another key, or stored in the result stream before the request
//! was sent is dropped (and counted: [`Client::rejected_results`]).
//!
//! Results are matched by wallet id (keygen) and tx id (signing); both ids
//! must be one NATS subject token (no `.`, whitespace, `*` or `>`). A result
//! that arrives when nobody waits is kept for a while (bounded), so
//! [`Client::await_signing`] can still return it later.
//!
//! A request may carry a session configuration (`tessera_session`: session
//! id, players, dynamic keys, threshold), signed by the initiator:
//! [`Client::keygen_in_session`] and [`SignRequest::session`]. A tenant's
//! device joins such a session once the client has registered its keys with
//! [`Client::register_tenant_key`], under an id from [`new_session_id`].
//!
//! The README (on crates.io) has a complete example; `tessera keygen | sign |
//! bench` in the `tessera` binary are clients built on this crate.
//!
//! Modules:
//! - [`client`]: [`Client`]: connect, `keygen`, `sign`, `reshare`, `refresh`,
//!   `register_tenant_key`, `publish_*`, `await_*`.
//! - [`config`]: [`ClientConfig`] and its defaults.
//! - [`request`]: [`SignRequest`], [`ReshareRequest`] and building signed requests.
//! - [`session`]: [`new_session_id`] and the session id check.
//! - [`tenant`]: signed tenant key registrations.
//! - [`result`]: [`KeygenResult`], [`SigningResult`], [`ReshareResult`]: the
//!   events with typed accessors.
//! - [`derive`](mod@derive): child public keys (secp256k1 BIP-32, Tessera's Ed25519 scheme).
//! - [`verify`]: checking a signing result's signature.
//! - [`trust`]: which results are believed: node signatures, identity documents.
//! - [`error`]: [`ClientError`] and its `ErrorCode`.
//! - `consumer` (private): result consumer names, filters, which results are ours.
//! - `publish` (private): publishing with retries and a per-call `Nats-Msg-Id`.
//! - `pump` (private): the task per result kind that acks and routes results.
//! - `routing` (private): waiters, unclaimed results, and "after the request"
//!   by result stream sequence.

pub mod client;
pub mod config;
mod consumer;
pub mod derive;
pub mod error;
mod publish;
mod pump;
pub mod request;
pub mod result;
mod routing;
pub mod session;
pub mod tenant;
pub mod trust;
pub mod verify;

pub use client::{Client, RequestMark};
pub use config::ClientConfig;
pub use error::ClientError;
pub use request::{ReshareRequest, SignRequest};
pub use result::{EcdsaSignature, KeygenResult, ReshareResult, SigningResult};
pub use session::new_session_id;
pub use tessera_security::{InitiatorKeyKind, InitiatorSigner};
pub use tessera_types::{ErrorCode, KeyType};

/// The README's example, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
pub use trust::RejectedResults;
