//! Tessera's NATS transport: how nodes exchange sealed protocol messages.
//!
//! A [`Transport`] is one node's NATS connection. It owns the node's control
//! inbox, whose router hands each control message to its session, holding
//! messages briefly for sessions not opened yet. [`Transport::open`] gives a
//! [`SessionLink`] for one session: broadcast and p2p messages on per-session
//! subjects, each an envelope sealed by `tessera-security` (signed; p2p also
//! encrypted), opened and checked on receipt. A session's subscriptions are
//! confirmed with the server before `open` returns, so a peer may send the
//! moment it hears that this node joined.
//!
//! Subjects come from session and node ids only (see [`subjects`]), so
//! concurrent operations on one wallet never share one.
//!
//! Modules:
//! - [`access`]: `NatsAccess`: server URLs, credential and TLS files, for every NATS user.
//! - [`subjects`]: every subject, built in one place.
//! - [`transport`]: `Transport`: connect, open sessions, connection state.
//! - [`options`]: `TransportOptions` and `HoldLimits`.
//! - [`mpc`]: mpcium's JetStream streams, subjects and consumers; creating the streams.
//! - [`link`]: `SessionLink`: send, send_control, recv, close.
//! - [`inbound`]: `Inbound`, what `recv` returns.
//! - [`error`]: `TransportError` and its `ErrorCode`s.
//! - `router` (private): the control router task.
//! - `hold` (private): bookkeeping of held control messages.
//! - [`probe`]: confirming subscriptions with a server round trip.

pub mod access;
pub mod error;
mod hold;
pub mod inbound;
pub mod link;
pub mod mpc;
pub mod options;
pub mod probe;
mod router;
pub mod subjects;
pub mod transport;

pub use access::{NatsAccess, NatsAuth, NatsTls};
/// The NATS client library, for crates that use JetStream on a [`Transport`]'s connection.
pub use async_nats;
pub use error::TransportError;
pub use inbound::Inbound;
pub use link::SessionLink;
pub use options::{HoldLimits, TransportOptions};
pub use probe::PROBE_HEADER;
pub use transport::Transport;
