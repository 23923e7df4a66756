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

pub mod config;
pub mod consumer;
pub mod error;

pub use config::{AuthorizerPolicy, ConsumerConfig};
pub use consumer::EventConsumer;
pub use error::RequestError;
