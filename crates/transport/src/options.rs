//! Connection and routing settings for a [`crate::Transport`].

use std::time::Duration;

/// Settings for [`crate::Transport::connect`]. Start from `Default` and change fields.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Connection name the NATS server shows in its monitoring
    /// (default: `tessera-<node_id>`).
    pub name: Option<String>,
    /// How long control messages for a session this node has not opened yet are
    /// held, in case the session opens; then they are dropped (logged once per session).
    pub hold_unopened: Duration,
    /// Caps on held control messages, so strangers cannot exhaust memory.
    pub hold_limits: HoldLimits,
    /// How long `connect` and `open` wait for the server to confirm a subscription.
    pub probe_timeout: Duration,
    /// Timeout of one connection attempt (the first connect and every reconnect).
    pub connection_timeout: Duration,
    /// Messages each NATS subscription buffers before the server's slow-consumer
    /// handling drops them (async-nats's default when `None`).
    pub subscription_capacity: Option<usize>,
    /// Control messages buffered per open session before further ones are dropped.
    pub session_control_capacity: usize,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            name: None,
            hold_unopened: Duration::from_secs(2),
            hold_limits: HoldLimits::default(),
            probe_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(5),
            subscription_capacity: None,
            session_control_capacity: 1024,
        }
    }
}

/// Limits on control messages held for sessions not opened yet. Whatever
/// exceeds them is dropped at once and counted in the session's drop log line
/// (or, when the session table is full, in one summary line per hold period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    /// Distinct unopened sessions held at once.
    pub sessions: usize,
    /// Messages held per session.
    pub messages_per_session: usize,
    /// Bytes held per session.
    pub bytes_per_session: usize,
    /// Bytes held over all sessions.
    pub bytes_total: usize,
}

impl Default for HoldLimits {
    fn default() -> Self {
        Self {
            sessions: 64,
            messages_per_session: 256,
            bytes_per_session: 2 * 1024 * 1024,
            bytes_total: 8 * 1024 * 1024,
        }
    }
}
