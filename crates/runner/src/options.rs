//! Timeouts and intervals of the session runner. Defaults suit a LAN cluster;
//! every one is configurable.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// How long the join barrier waits for every player (mpcium's connection timeout).
    pub connect_timeout: Duration,
    /// How often a player repeats its join until it has seen everyone's.
    pub join_resend: Duration,
    /// Heartbeat interval while a session runs.
    pub heartbeat: Duration,
    /// A player we are waiting for that sends nothing (not even heartbeats) for this
    /// long is unavailable: the session aborts with `ERROR_PEER_UNAVAILABLE`.
    pub peer_silence: Duration,
    /// Overall deadline of a keygen session, join barrier included.
    pub keygen_deadline: Duration,
    /// Overall deadline of a signing session, join barrier included.
    pub sign_deadline: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            join_resend: Duration::from_millis(500),
            heartbeat: Duration::from_millis(250),
            peer_silence: Duration::from_millis(1500),
            keygen_deadline: Duration::from_secs(120),
            sign_deadline: Duration::from_secs(30),
        }
    }
}
