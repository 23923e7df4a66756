//! `RegistryConfig`: where Consul is, which KV prefix the cluster uses, who this
//! node is and how quickly a dead node must vanish from the ready set.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tessera_security::NodeIdentity;
use tessera_types::NodeId;

use crate::error::RegistryError;
use crate::tls::ConsulTls;
use crate::token::ConsulToken;

/// Default session TTL: a crashed node leaves the ready set within 2×TTL = 20 s.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);
/// Default bound on each Consul request (blocking reads add their wait).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Consul refuses session TTLs above 24 h.
const MAX_TTL: Duration = Duration::from_secs(86_400);

/// How one node (or an observer) uses the registry.
#[derive(Clone)]
pub struct RegistryConfig {
    /// Consul agent address, e.g. `http://127.0.0.1:8500` or `https://consul:8501`.
    pub consul_addr: String,
    /// Consul ACL token, sent in a header; never logged, wiped on drop.
    pub token: Option<ConsulToken>,
    /// CA and client certificate for HTTPS; needs an `https://` address.
    pub tls: ConsulTls,
    /// KV prefix shared by the cluster, e.g. `tessera` (no leading or trailing `/`).
    pub prefix: String,
    pub node_id: NodeId,
    /// Session TTL. Renewed every TTL/2; a crashed node's key goes within 2×TTL.
    /// Must be at least Consul's `session_ttl_min` (10 s unless lowered).
    pub ttl: Duration,
    /// Publish `<prefix>/ready/<node_id>`. `false` for clients and observers
    /// that only watch the ready set.
    pub publish_ready: bool,
    /// Bound on each Consul request.
    pub request_timeout: Duration,
    /// How long `start` waits for a ready key still held by another session
    /// (a crashed previous instance) to be freed. `None`: 2×TTL + 2 s, enough
    /// for a previous instance with the same TTL to expire.
    pub takeover_timeout: Option<Duration>,
    /// Signs this node's ready record (see [`crate::ready_record`]); `None`
    /// writes it unsigned, as nodes before signed records did.
    pub signer: Option<Arc<NodeIdentity>>,
}

impl fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("consul_addr", &self.consul_addr)
            .field("token", &self.token)
            .field("tls", &self.tls)
            .field("prefix", &self.prefix)
            .field("node_id", &self.node_id)
            .field("ttl", &self.ttl)
            .field("publish_ready", &self.publish_ready)
            .field("request_timeout", &self.request_timeout)
            .field("takeover_timeout", &self.takeover_timeout)
            .field("signer", &self.signer.as_ref().map(|s| s.node_id()))
            .finish()
    }
}

impl RegistryConfig {
    /// A publishing node with the default TTL and timeouts, no token and no
    /// TLS settings.
    pub fn new(consul_addr: impl Into<String>, prefix: impl Into<String>, node_id: NodeId) -> Self {
        Self {
            consul_addr: consul_addr.into(),
            token: None,
            tls: ConsulTls::default(),
            prefix: prefix.into(),
            node_id,
            ttl: DEFAULT_TTL,
            publish_ready: true,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            takeover_timeout: None,
            signer: None,
        }
    }

    /// The takeover wait actually used.
    pub fn effective_takeover_timeout(&self) -> Duration {
        self.takeover_timeout
            .unwrap_or(self.ttl * 2 + Duration::from_secs(2))
    }

    /// How long the watcher's blocking reads wait: TTL/2, so a quiet but healthy
    /// Consul refreshes the view well within one TTL.
    pub(crate) fn watch_wait(&self) -> Duration {
        self.ttl / 2
    }

    pub(crate) fn validate(&self) -> Result<(), RegistryError> {
        let invalid = |reason: &str| {
            Err(RegistryError::InvalidConfig {
                reason: reason.to_string(),
            })
        };
        if self.ttl < Duration::from_secs(1) || self.ttl > MAX_TTL {
            return invalid("ttl must be between 1 s and 24 h");
        }
        if self.request_timeout.is_zero() {
            return invalid("request timeout must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let mut config = RegistryConfig::new(
            "https://consul.example:8501",
            "tessera",
            NodeId::new("node-a").unwrap(),
        );
        config.token = Some(ConsulToken::new("acl-s3cret-7f2c".to_string()));
        for text in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
            assert!(text.contains("consul.example"), "{text}");
        }
        // A clone is the same secret, just as hidden.
        assert!(!format!("{:?}", config.clone()).contains("s3cret"));
        assert_eq!(
            config.token.as_ref().map(ConsulToken::expose),
            Some("acl-s3cret-7f2c")
        );
    }
}
