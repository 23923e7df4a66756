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
//! - [`keygen`], [`sign`]: the two operations.
//! - [`directory`]: peer identities from this node's configuration.
//! - `keys`: each player's key for a session (static wins over dynamic).
//! - [`meta`]: the session metadata players compare in the join barrier.
//! - [`options`]: timeouts and intervals.
//! - [`error`]: [`SessionError`] and its `ErrorCode`.
//! - [`report`]: the per-session error channel.
//! - [`running`]: [`RunningSession`], a background session's handle.
//! - [`frame`]: what travels inside an envelope.
//! - `ctx`, `wire`, `driver`: one session's state, link and phases.
//! - `fault`: a debug-build-only delay for fault-injection tests.

pub(crate) mod ctx;
pub mod directory;
pub(crate) mod driver;
pub mod error;
pub(crate) mod fault;
pub mod frame;
pub mod keygen;
pub(crate) mod keys;
pub mod meta;
pub mod node;
pub mod options;
pub mod report;
pub mod running;
pub(crate) mod runtime;
pub mod sign;
pub(crate) mod wire;

pub use directory::Directory;
pub use error::SessionError;
pub use keygen::KeygenRequest;
pub use node::{KeyMetadata, Node};
pub use options::RunnerOptions;
pub use report::SessionReport;
pub use running::RunningSession;
pub use sign::{SignRequest, Signature};
