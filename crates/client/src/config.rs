//! `ClientConfig`: where the cluster is, who the client is, which keys sign.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use tessera_security::InitiatorSigner;
use tessera_transport::mpc::{self, StreamSettings};
use tessera_transport::{NatsAccess, NatsAuth, NatsTls};
use tessera_types::PublicIdentity;

use crate::ClientError;

/// How long `keygen` and `sign` wait for a result unless told otherwise.
pub const DEFAULT_RESULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long publishing a request keeps retrying through a lost connection.
pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);
/// How many results nobody waits for are kept (oldest dropped first).
pub const DEFAULT_UNCLAIMED_CAPACITY: usize = 1024;
/// How long a result nobody waits for is kept.
pub const DEFAULT_UNCLAIMED_TTL: Duration = Duration::from_secs(600);

/// Settings of a [`Client`](crate::Client).
///
/// Fields are public; [`ClientConfig::new`] fills in the defaults.
pub struct ClientConfig {
    /// NATS server URL(s), comma-separated, and this client's own NATS
    /// credential and TLS files ([`NatsAccess`]).
    pub nats: NatsAccess,
    /// Settings of the streams and buckets the client creates when they are
    /// missing (nodes create them too; whoever comes first decides).
    pub streams: StreamSettings,
    /// Sent as the `ClientID` header: results then come on this client's own
    /// subjects and durable consumers. Must be one subject token.
    ///
    /// Each running process needs its own id: processes sharing an id (or all
    /// without one) share one durable consumer, and a result delivered to one
    /// of them is not seen by the others.
    pub client_id: Option<String>,
    /// Signs every request (`signature`, `tessera_path_signature`,
    /// `tessera_session_signature`) and tenant key registrations.
    pub initiator: InitiatorSigner,
    /// `(authorizer_id, key)`: each approves every request the client sends.
    pub authorizers: Vec<(String, InitiatorSigner)>,
    /// How long `keygen` and `sign` wait for the result.
    pub result_timeout: Duration,
    /// How long publishing one request retries while NATS is unreachable
    /// (JetStream stores it once: retries reuse the attempt's `Nats-Msg-Id`).
    pub publish_timeout: Duration,
    /// Results nobody is waiting for are kept for a later `await_*` call, at
    /// most this many per result kind.
    pub unclaimed_capacity: usize,
    /// ... and for at most this long.
    pub unclaimed_ttl: Duration,
    /// The public identities of the cluster's nodes (their `*.pub.json`
    /// documents, see [`ClientConfig::with_cluster_identities_dir`]). Every
    /// result must carry a valid signature by one of them (headers
    /// `Tessera-Node` and `Tessera-Signature`); anything else is acked,
    /// logged, counted in [`Client::rejected_results`](crate::Client::rejected_results)
    /// and dropped. Required unless `accept_unsigned_results` is set.
    pub cluster_identities: Vec<PublicIdentity>,
    /// **Migration only** (off by default): also accept results without a
    /// node signature, as mpcium nodes and Tessera nodes before signed
    /// results publish them. A result whose signature names a configured node
    /// but does not verify, or names a node not configured (when some are),
    /// is still refused. Anyone who may publish on the result subjects can
    /// then forge results: turn it off as soon as every node signs.
    pub accept_unsigned_results: bool,
}

impl ClientConfig {
    /// A configuration without client id or authorizers, with default timeouts.
    pub fn new(nats_url: impl Into<String>, initiator: InitiatorSigner) -> Self {
        Self {
            nats: NatsAccess::new(nats_url),
            streams: StreamSettings::default(),
            client_id: None,
            initiator,
            authorizers: Vec::new(),
            result_timeout: DEFAULT_RESULT_TIMEOUT,
            publish_timeout: DEFAULT_PUBLISH_TIMEOUT,
            unclaimed_capacity: DEFAULT_UNCLAIMED_CAPACITY,
            unclaimed_ttl: DEFAULT_UNCLAIMED_TTL,
            cluster_identities: Vec::new(),
            accept_unsigned_results: false,
        }
    }

    /// Adds cluster node identities: results signed by these nodes are accepted.
    pub fn with_cluster_identities(
        mut self,
        identities: impl IntoIterator<Item = PublicIdentity>,
    ) -> Self {
        self.cluster_identities.extend(identities);
        self
    }

    /// Adds the identities of the `*.pub.json` documents in `dir` (as
    /// `tessera identity generate` writes them beside each node's key; the
    /// same directory as a node's `peers.dir` works). Other files are ignored;
    /// a directory without any document is an error.
    pub fn with_cluster_identities_dir(self, dir: impl AsRef<Path>) -> Result<Self, ClientError> {
        let ids = crate::trust::read_identity_dir(dir.as_ref())?;
        Ok(self.with_cluster_identities(ids))
    }

    /// Adds the identities of the public documents at `paths`.
    pub fn with_cluster_identity_files<P: AsRef<Path>>(
        self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, ClientError> {
        let ids = crate::trust::read_identity_files(paths)?;
        Ok(self.with_cluster_identities(ids))
    }

    /// Accepts results without a node signature too (see
    /// [`ClientConfig::accept_unsigned_results`]): for a migration only.
    pub fn accepting_unsigned_results(mut self) -> Self {
        self.accept_unsigned_results = true;
        self
    }

    /// Sets the NATS credential (files only, see [`NatsAuth`]).
    pub fn with_nats_auth(mut self, auth: NatsAuth) -> Self {
        self.nats.auth = auth;
        self
    }

    /// Sets TLS to NATS (CA file, client certificate).
    pub fn with_nats_tls(mut self, tls: NatsTls) -> Self {
        self.nats.tls = tls;
        self
    }

    /// Sets the `ClientID`.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Adds an authorizer that approves every request.
    pub fn with_authorizer(mut self, id: impl Into<String>, key: InitiatorSigner) -> Self {
        self.authorizers.push((id.into(), key));
        self
    }

    /// Sets how long `keygen` and `sign` wait.
    pub fn with_result_timeout(mut self, timeout: Duration) -> Self {
        self.result_timeout = timeout;
        self
    }

    /// Sets how long publishing a request retries while NATS is unreachable.
    pub fn with_publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Checks what can be checked without a server (the URL is checked when
    /// [`Client::connect`](crate::Client::connect) parses it).
    pub fn validate(&self) -> Result<(), ClientError> {
        if let Some(id) = &self.client_id {
            if !mpc::valid_client_id(id) {
                return Err(ClientError::InvalidClientId);
            }
        }
        if self.result_timeout.is_zero() {
            return Err(ClientError::InvalidConfig {
                reason: "result_timeout must be positive",
            });
        }
        if self.publish_timeout.is_zero() {
            return Err(ClientError::InvalidConfig {
                reason: "publish_timeout must be positive",
            });
        }
        if self.unclaimed_capacity == 0 {
            return Err(ClientError::InvalidConfig {
                reason: "unclaimed_capacity must be at least 1",
            });
        }
        if self.authorizers.iter().any(|(id, _)| id.is_empty()) {
            return Err(ClientError::InvalidConfig {
                reason: "authorizer id is empty",
            });
        }
        if self.cluster_identities.is_empty() && !self.accept_unsigned_results {
            return Err(ClientError::NoClusterIdentities);
        }
        crate::trust::by_node(&self.cluster_identities)?;
        Ok(())
    }
}

impl fmt::Debug for ClientConfig {
    // Keys print as public keys only; NATS settings are file paths.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("nats_url", &self.nats.redacted_url())
            .field("nats_auth", &self.nats.auth)
            .field("nats_tls", &self.nats.tls)
            .field("streams", &self.streams)
            .field("client_id", &self.client_id)
            .field("initiator", &self.initiator)
            .field("authorizers", &self.authorizers)
            .field("result_timeout", &self.result_timeout)
            .field("unclaimed_capacity", &self.unclaimed_capacity)
            .field("unclaimed_ttl", &self.unclaimed_ttl)
            .field("cluster_identities", &self.cluster_identities.len())
            .field("accept_unsigned_results", &self.accept_unsigned_results)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_security::{InitiatorKeyKind, NodeIdentity};
    use tessera_types::NodeId;

    fn node(name: &str) -> PublicIdentity {
        NodeIdentity::generate(NodeId::new(name).unwrap()).public()
    }

    fn config() -> ClientConfig {
        ClientConfig::new(
            "nats://127.0.0.1:4222",
            InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
        )
        .with_cluster_identities([node("node0")])
    }

    #[test]
    fn results_must_be_checkable_unless_the_opt_out_is_set() {
        let bare = || {
            ClientConfig::new(
                "nats://127.0.0.1:4222",
                InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
            )
        };
        let err = bare().validate().unwrap_err();
        assert!(matches!(err, ClientError::NoClusterIdentities), "{err:?}");
        assert_eq!(err.code(), tessera_types::ErrorCode::InvalidConfiguration);
        assert!(
            !bare().accept_unsigned_results,
            "verification is on by default"
        );
        assert!(bare().accepting_unsigned_results().validate().is_ok());
        // One id, two keys: which one would be the node?
        let twice = config().with_cluster_identities([node("node0")]);
        assert!(matches!(
            twice.validate(),
            Err(ClientError::InvalidConfig { .. })
        ));
    }

    #[test]
    fn client_ids_must_be_one_token() {
        assert!(config().validate().is_ok());
        assert!(config().with_client_id("app-1").validate().is_ok());
        for bad in ["", "a.b", "a b", "a*", ">"] {
            assert!(matches!(
                config().with_client_id(bad).validate(),
                Err(ClientError::InvalidClientId)
            ));
        }
    }

    #[test]
    fn debug_hides_url_credentials_and_secrets() {
        let mut c = config();
        c.nats.url = "nats://bob:hunter2@127.0.0.1:4222".into();
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("***@127.0.0.1:4222"), "{text}");
    }
}
