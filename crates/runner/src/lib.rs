//! The node runtime: runs the sans-IO protocol sessions of `tessera-session`
//! between nodes over NATS (`tessera-transport`), with shares in the encrypted
//! store (`tessera-storage`) and, optionally, peer liveness from Consul
//! (`tessera-registry`).
//!
//! A session goes through a join barrier (every player's subscriptions are live
//! before anyone sends a protocol message), the protocol loop (computation on the
//! blocking pool, heartbeats, per-peer silence checks, the registry's ready set,
//! an overall deadline), and for keygen a confirmation round: shares are stored
//! only once every player reported the same key. The first error ends the session
//! on every player: it is reported on the session's error channel, the peers are
//! told with a signed abort, the session's subscriptions close, and the protocol
//! state (secret shares and nonces) is dropped and zeroized.
//!
//! Modules:
//! - [`node`]: [`Node`], a node's runtime handle; starts sessions.
//! - `runtime`: what a node's sessions share (`Inner`) and the steps each session takes with it.
//! - [`keygen`], [`sign`], [`lifecycle`]: the operations (a lifecycle session
//!   refreshes or replaces shares and stores the result as a pending epoch).
//! - `held`: this node's share at the epoch a session names.
//! - [`directory`]: peer identities from this node's configuration.
//! - `keys`: each player's key for a session (static wins over dynamic).
//! - [`meta`]: the session metadata players compare in the join barrier.
//! - [`metrics`]: sessions in flight and ended, bans (Prometheus, through `metrics`).
//! - [`options`]: timeouts and intervals.
//! - [`error`]: [`SessionError`] and its `ErrorCode`.
//! - [`report`]: the per-session error channel.
//! - [`running`]: [`RunningSession`], a background session's handle.
//! - [`frame`]: what travels inside an envelope.
//! - `connection`: one session's connection logic, a sans-IO state machine
//!   (`peers`: what was heard from whom; `rejections`: rejected envelopes;
//!   `ready`: what it asks of the I/O loop).
//! - `session_loop`: the one async loop that owns a session's I/O and drives it;
//!   `compute`: protocol rounds on the blocking pool or inline; `readiness`:
//!   the registry's ready set.
//! - `fault`: debug-build-only faults for fault-injection tests (a delay, a
//!   DKLs23 cheater, a false accuser).

pub(crate) mod compute;
pub(crate) mod connection;
pub mod directory;
pub mod error;
pub(crate) mod fault;
pub mod frame;
pub(crate) mod held;
pub mod keygen;
pub(crate) mod keys;
pub mod lifecycle;
pub mod meta;
pub mod metrics;
pub mod node;
pub mod options;
pub(crate) mod peers;
pub(crate) mod readiness;
pub(crate) mod ready;
pub(crate) mod rejections;
pub mod report;
pub mod running;
pub(crate) mod runtime;
pub(crate) mod session_loop;
pub mod sign;

pub use directory::Directory;
pub use error::{Culprits, SessionError};
pub use keygen::KeygenRequest;
pub use lifecycle::{LifecycleRequest, Prepared};
pub use node::{KeyMetadata, Node};
pub use options::RunnerOptions;
pub use report::SessionReport;
pub use running::RunningSession;
pub use sign::{SignRequest, Signature};
