//! The request path's Prometheus metrics, recorded through the `metrics`
//! facade (the node installs the exporter and serves `/metrics`; without it
//! these calls do nothing). Label values are bounded: request kinds, phases,
//! outcomes, pools and error codes; never wallet, tx or session ids.

use std::time::{Duration, Instant};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use tessera_types::ErrorCode;

use crate::request::Kind;

pub const REQUESTS: &str = "tessera_requests_total";
pub const REQUEST_DURATION: &str = "tessera_request_duration_seconds";
pub const PHASE_DURATION: &str = "tessera_request_phase_duration_seconds";
pub const REDELIVERIES: &str = "tessera_request_redeliveries_total";
pub const PROPOSALS: &str = "tessera_proposals_total";
pub const PERMITS_IN_USE: &str = "tessera_permits_in_use";
pub const CONSUMER_PENDING: &str = "tessera_jetstream_consumer_pending_messages";
pub const CONSUMER_ACK_PENDING: &str = "tessera_jetstream_consumer_ack_pending_messages";
pub const CONSUMER_REDELIVERED: &str = "tessera_jetstream_consumer_redelivered_messages";

/// Registers the help text of every metric above.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "Requests this node pulled and answered, by kind (keygen, sign), outcome (success, repeated: answered from the ledger, error, unverified: initiator signature did not verify) and error code (none on success)."
    );
    describe_histogram!(
        REQUEST_DURATION,
        "Time from pulling a request to acking it, by kind and outcome."
    );
    describe_histogram!(
        PHASE_DURATION,
        "Time per phase of a request this node pulled: claim (ledger claim and key lookup), plan, join (players' answers to the proposals), protocol, record (ledger), publish (result)."
    );
    describe_counter!(
        REDELIVERIES,
        "Request messages that JetStream delivered to this node again (not their first delivery), by kind."
    );
    describe_counter!(
        PROPOSALS,
        "Session proposals from other nodes answered here, by kind, outcome (joined, refused, delegated) and error code."
    );
    describe_gauge!(
        PERMITS_IN_USE,
        "Concurrency permits in use, by pool: coordinate_keygen, coordinate_sign (requests this node serves), join_keygen, join_sign (sessions joined for other nodes)."
    );
    describe_gauge!(
        CONSUMER_PENDING,
        "Requests in the stream not yet delivered to any node, by consumer (last check)."
    );
    describe_gauge!(
        CONSUMER_ACK_PENDING,
        "Requests delivered and not yet acked, by consumer (last check)."
    );
    describe_gauge!(
        CONSUMER_REDELIVERED,
        "Requests delivered more than once and not yet acked, by consumer (last check)."
    );
}

/// How a request ended on the node that pulled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    /// Answered from the ledger's stored result.
    Repeated,
    Error(ErrorCode),
    /// Refused before its initiator signature verified.
    Unverified(ErrorCode),
}

impl Status {
    pub fn outcome(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Repeated => "repeated",
            Status::Error(_) => "error",
            Status::Unverified(_) => "unverified",
        }
    }

    pub fn code(self) -> Option<ErrorCode> {
        match self {
            Status::Success | Status::Repeated => None,
            Status::Error(c) | Status::Unverified(c) => Some(c),
        }
    }
}

fn code_label(code: Option<ErrorCode>) -> &'static str {
    code.map_or("none", ErrorCode::as_str)
}

/// One request answered (result published and acked).
pub(crate) fn request_done(kind: Kind, status: Status, elapsed: Duration) {
    counter!(REQUESTS, "kind" => kind.as_str(), "outcome" => status.outcome(), "code" => code_label(status.code()))
        .increment(1);
    histogram!(REQUEST_DURATION, "kind" => kind.as_str(), "outcome" => status.outcome())
        .record(elapsed.as_secs_f64());
}

/// A phase of a request's path on the node that serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Claim,
    Plan,
    Join,
    Protocol,
    Record,
    Publish,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Claim => "claim",
            Phase::Plan => "plan",
            Phase::Join => "join",
            Phase::Protocol => "protocol",
            Phase::Record => "record",
            Phase::Publish => "publish",
        }
    }
}

pub(crate) fn phase(kind: Kind, phase: Phase, since: Instant) {
    histogram!(PHASE_DURATION, "kind" => kind.as_str(), "phase" => phase.as_str())
        .record(since.elapsed().as_secs_f64());
}

pub(crate) fn redelivered(kind: Kind) {
    counter!(REDELIVERIES, "kind" => kind.as_str()).increment(1);
}

/// A proposal answered as a player: `joined`, `refused` or `delegated`.
pub(crate) fn proposal(kind: &'static str, outcome: &'static str, code: Option<ErrorCode>) {
    counter!(PROPOSALS, "kind" => kind, "outcome" => outcome, "code" => code_label(code))
        .increment(1);
}

/// The JetStream request consumer's counts at the last check.
pub(crate) fn consumer(name: &'static str, pending: u64, ack_pending: usize, redelivered: usize) {
    gauge!(CONSUMER_PENDING, "consumer" => name).set(pending as f64);
    gauge!(CONSUMER_ACK_PENDING, "consumer" => name).set(ack_pending as f64);
    gauge!(CONSUMER_REDELIVERED, "consumer" => name).set(redelivered as f64);
}

/// A permit of `pool` in use while this lives.
#[derive(Debug)]
pub(crate) struct InUse(&'static str);

impl InUse {
    pub(crate) fn new(pool: &'static str) -> Self {
        gauge!(PERMITS_IN_USE, "pool" => pool).increment(1.0);
        InUse(pool)
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        gauge!(PERMITS_IN_USE, "pool" => self.0).decrement(1.0);
    }
}
