//! The event interface mpcium clients use: keygen and signing requests pulled
//! from JetStream, results published once to the result stream.
//!
//! The node that pulls a request validates it (JSON, initiator and authorizer
//! signatures, ids, sizes), answers a repeated request from its stored result,
//! checks quorum, picks the players and sends each a signed proposal. Every
//! player verifies the client's request itself before it joins the session.
//! The result (or a typed error) is published with an idempotency key, stored,
//! and only then is the request acked.
//!
//! Modules:
//! - [`config`]: what the consumer needs from the node's configuration.
//! - [`consumer`]: [`EventConsumer`]: start, the pull loops, shutdown.
//! - [`error`]: [`RequestError`] and its `ErrorCode`.
//! - [`request`]: checking a client request (signatures, ids, sizes, paths).
//! - [`ledger`]: the cluster-wide record of served requests (JetStream KV).
//! - [`proposal`]: signed session proposals between nodes.
//! - [`results`]: result events and publishing them once.
//! - `coordinator`, `keygen`, `player`, `shared`: serving a pulled signing or
//!   keygen request; answering proposals.
//! - `subset`: picking t+1 ready signers, and the one retry without failed ones.
//! - [`streams`]: [`StreamHealth`], whether the request streams answer (for `/readyz`).
//! - `fault` (debug builds): injected ledger failures for end-to-end tests.
//! - `stale`: request expiry (`ERROR_SESSION_STALE` for requests older than the limit).
//! - `layout`: who plays (servers and tenants) and under which session id.
//! - `tenants`: tenant (device) keys given with a request or registered per session id.
//! - `delegate`: handing a request to a player when the node that pulled it is not one;
//!   `delegated`: serving a request another node handed to this one.
//! - `propose`: proposing a session to its players; the runner request every player makes.

pub mod config;
pub mod consumer;
pub(crate) mod coordinator;
pub(crate) mod delegate;
pub(crate) mod delegated;
pub mod error;
mod fault;
pub(crate) mod keygen;
pub(crate) mod layout;
pub mod ledger;
pub(crate) mod player;
pub mod proposal;
pub(crate) mod propose;
pub mod request;
pub mod results;
pub(crate) mod shared;
pub(crate) mod stale;
pub mod streams;
pub(crate) mod subset;
pub(crate) mod tenants;

pub use config::{AuthorizerPolicy, ConsumerConfig, DEFAULT_MAX_REQUEST_AGE};
pub use consumer::EventConsumer;
pub use error::RequestError;
pub use streams::StreamHealth;
