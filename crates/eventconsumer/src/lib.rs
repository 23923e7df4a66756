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
//! The request path, one way (see docs/architecture.md):
//! [`consumer`] (start, shutdown) → `intake` (pull, parse once, ledger claim,
//! record, publish, ack) → `coordinate` (`plan`, `propose`, `sessions`,
//! retry) → the runner. Players answer proposals in `player`, with the same
//! `request` checks, `plan` and `sessions`.
//!
//! Modules:
//! - [`config`]: what the consumer needs from the node's configuration.
//! - [`consumer`]: [`EventConsumer`]: start, shutdown.
//! - `intake`: the pull loops and one request from pull to ack.
//! - [`request`]: checking a client request into a typed [`request::Request`].
//! - [`reshare_request`]: checking a reshare request (mpcium's `ResharingMessage`
//!   and Tessera's signed `tessera_replace`) into a [`reshare_request::Reshare`].
//! - `coordinate`: serving a checked request: plan, then run, delegate or ask the key's holders.
//! - `plan`: who plays, decided without I/O from the request, the key and a readiness snapshot.
//! - Reshare requests (refresh and replace of a key's shares): `reshare_intake` (the
//!   stream's pull loop and the bridge from mpcium's core NATS `mpc:reshare`), `reshare`
//!   (one request, pull to ack), `reshare_view` (this node's view of the key),
//!   `reshare_join` (a player's checks), `reshare_run` (one attempt to its decision),
//!   `decision` (commit or abort for every player, erase, restart reconciliation),
//!   [`lifecycle_spec`] (the plan a lifecycle proposal carries), [`reshare_result`].
//! - [`plan_lifecycle`]: what a reshare does to a key (refresh, replace, move, grow, remove)
//!   and its new committee, or why it is refused, decided without I/O.
//! - `sessions`: this node's runner sessions for a request (keygen's two, or one signing).
//! - `propose`: proposing a session to its players; [`proposal`]: signed proposals;
//!   `ask`: one proposal, one signed [`reply`].
//! - `player`: answering proposals; `delegated`: serving a request another node handed
//!   here; `delegate`: handing one to another node.
//! - `tenants`: tenant (device) keys given with a request or registered per session id.
//! - [`ledger`]: the cluster-wide record of served requests (JetStream KV);
//!   [`ledger_record`]: its signed records.
//! - [`results`]: result events and publishing them once.
//! - [`reshare_result`]: reshare result events (mpcium's `ResharingResultEvent`), their
//!   subject and idempotency key.
//! - [`error`]: [`RequestError`], [`ServeError`]; `refused`: [`Refused`], refusals by policy or quorum.
//! - `stale`: request expiry (`ERROR_SESSION_STALE`).
//! - [`streams`]: [`StreamHealth`], whether the request streams answer (for `/readyz`).
//! - `seen`: proposals answered lately (replays are refused).
//! - [`audit`]: audit events ([`audit::AuditSink`] is where they go), [`audit_request`]: those
//!   about a checked request; [`metrics`]: Prometheus metrics.
//! - `trail`: what one request went through (trace id, last session), for the audit log.
//! - `trace`: request trace ids (a client's header or a fresh one) and their log span.
//! - `shared`: what every task of the consumer shares.
//! - `fault` (debug builds): injected ledger failures for end-to-end tests.

pub(crate) mod ask;
pub mod audit;
pub mod audit_request;
pub mod config;
pub mod consumer;
pub(crate) mod coordinate;
pub(crate) mod decision;
pub(crate) mod delegate;
pub(crate) mod delegated;
pub mod error;
mod fault;
pub(crate) mod intake;
pub mod ledger;
pub mod ledger_record;
pub mod lifecycle_spec;
pub mod metrics;
pub(crate) mod plan;
pub mod plan_lifecycle;
pub(crate) mod player;
pub mod proposal;
pub(crate) mod propose;
pub mod refused;
pub mod reply;
pub mod request;
pub(crate) mod reshare;
pub(crate) mod reshare_intake;
pub(crate) mod reshare_join;
pub mod reshare_request;
pub mod reshare_result;
pub(crate) mod reshare_run;
pub(crate) mod reshare_view;
pub mod results;
pub(crate) mod seen;
pub(crate) mod sessions;
pub(crate) mod shared;
pub mod stale;
pub mod streams;
pub(crate) mod tenants;
pub(crate) mod trace;
pub(crate) mod trail;

pub use audit::{AuditEvent, AuditSink};
pub use config::{AuthorizerPolicy, ConsumerConfig, DEFAULT_MAX_REQUEST_AGE};
pub use consumer::EventConsumer;
pub use error::{RequestError, ServeError};
pub use refused::Refused;
pub use streams::StreamHealth;
