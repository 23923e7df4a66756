//! What the event consumer needs from the node's configuration.

use std::sync::Arc;
use std::time::Duration;

use tessera_security::InitiatorKey;
use tessera_transport::mpc::StreamSettings;
use tessera_types::{NodeId, Threshold};

use crate::audit::AuditSink;

/// Authorizer approvals a request must carry.
#[derive(Clone, Debug)]
pub struct AuthorizerPolicy {
    /// Every listed authorizer must approve (id, public key).
    pub required: Vec<(String, InitiatorKey)>,
}

/// How old a request may be when a node takes it.
pub const DEFAULT_MAX_REQUEST_AGE: Duration = Duration::from_secs(300);

/// Deliveries of one request at most: enough for a minute or more of
/// one-second retries while another node serves it or NATS recovers.
pub const DEFAULT_MAX_DELIVER: i64 = 120;

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The client key every request must be signed with.
    pub initiator: InitiatorKey,
    /// `None`: no authorizers. `Some` with an empty list is refused at start.
    pub authorizers: Option<AuthorizerPolicy>,
    /// The cluster's threshold t for new keys (t+1 sign).
    pub threshold: Threshold,
    /// Every node of the cluster, this one included: keygen uses all of them.
    pub participants: Vec<NodeId>,
    /// Requests this node coordinates at once, per kind; more wait in JetStream.
    /// The node also joins up to as many sessions of other coordinators.
    pub keygen_concurrency: usize,
    pub signing_concurrency: usize,
    /// Largest request accepted (bytes of JSON).
    pub max_request_bytes: usize,
    /// How often a long session tells JetStream it is still working on a request.
    pub progress_interval: Duration,
    /// JetStream redelivers a request not acked within this time.
    pub ack_wait: Duration,
    /// When a signing session fails because of identified players (one
    /// unavailable, never joined, aborted or cheated) and t+1 other ready
    /// participants remain, sign once more without them before answering.
    pub retry_signing: bool,
    /// A request older than this when a node takes it (from its JetStream
    /// publish time) is not started: it gets `ERROR_SESSION_STALE`. A request
    /// already served is still answered from the ledger.
    pub max_request_age: Duration,
    /// Limits and replicas of the streams and buckets the node creates.
    pub streams: StreamSettings,
    /// Refuse every request without `tessera_session` (providers whose
    /// wallets all have tenants): a copy with the session stripped is refused.
    pub require_session: bool,
    /// How often JetStream delivers one request at most. The last delivery
    /// of a request that still cannot be answered ends it with one error
    /// result (or, when another node is serving it, leaves it to that node).
    pub max_deliver: i64,
    /// Where audit events go (`None`: nowhere).
    pub audit: Option<Arc<dyn AuditSink>>,
}

impl ConsumerConfig {
    pub fn new(initiator: InitiatorKey, threshold: Threshold, participants: Vec<NodeId>) -> Self {
        Self {
            initiator,
            authorizers: None,
            threshold,
            participants,
            keygen_concurrency: 2,
            signing_concurrency: 64,
            max_request_bytes: 256 * 1024,
            progress_interval: Duration::from_secs(5),
            ack_wait: Duration::from_secs(30),
            retry_signing: true,
            max_request_age: DEFAULT_MAX_REQUEST_AGE,
            streams: StreamSettings::default(),
            require_session: false,
            max_deliver: DEFAULT_MAX_DELIVER,
            audit: None,
        }
    }
}
