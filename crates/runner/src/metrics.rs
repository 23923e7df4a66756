//! The runner's Prometheus metrics (through the `metrics` facade; the node
//! installs the exporter). Labels: the operation and error code only.

use metrics::{counter, describe_counter, describe_gauge, gauge};
use tessera_types::ErrorCode;

pub const SESSIONS_IN_FLIGHT: &str = "tessera_sessions_in_flight";
pub const SESSIONS: &str = "tessera_sessions_total";
pub const BANS: &str = "tessera_bans_recorded_total";

/// Registers the help text of every metric above.
pub fn describe() {
    describe_gauge!(
        SESSIONS_IN_FLIGHT,
        "Protocol sessions running on this node (as coordinator or player), by operation (keygen: one per curve, signing)."
    );
    describe_counter!(
        SESSIONS,
        "Protocol sessions ended on this node, by operation, outcome (success, error) and error code (none on success)."
    );
    describe_counter!(
        BANS,
        "Parties this node banned after a proven protocol deviation (see `tessera bans list`)."
    );
}

/// A session counted in flight while this lives.
#[derive(Debug)]
pub(crate) struct InFlight(&'static str);

impl InFlight {
    pub(crate) fn new(op: &'static str) -> Self {
        gauge!(SESSIONS_IN_FLIGHT, "op" => op).increment(1.0);
        InFlight(op)
    }

    /// The session ended with `code` (`None`: success).
    pub(crate) fn ended(self, code: Option<ErrorCode>) {
        let outcome = if code.is_some() { "error" } else { "success" };
        let code = code.map_or("none", ErrorCode::as_str);
        counter!(SESSIONS, "op" => self.0, "outcome" => outcome, "code" => code).increment(1);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(SESSIONS_IN_FLIGHT, "op" => self.0).decrement(1.0);
    }
}

pub(crate) fn banned() {
    counter!(BANS).increment(1);
}
