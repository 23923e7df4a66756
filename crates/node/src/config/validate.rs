//! Validation of [`Config`]: every check that needs no I/O, each error naming
//! its key. The roster's size against the threshold is checked at start, once
//! `peers.dir` has been read (see [`crate::roster`]).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tessera_registry::KeyLayout;
use tessera_security::InitiatorKey;
use tessera_types::PublicIdentity;

use super::{invalid, Config, ConfigError};
use crate::duration::format_duration;

/// The smallest `peer_silence`: two heartbeat intervals, so one late heartbeat
/// does not end a session.
const MIN_PEER_SILENCE: Duration = Duration::from_millis(500);
const MAX_TTL: Duration = Duration::from_secs(86_400);

impl Config {
    /// Checks every value that can be checked without I/O.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threshold == 0 {
            return Err(invalid("threshold", "must be at least 1 (t+1 nodes sign)"));
        }
        let urls: Vec<&str> = self.nats.url.split(',').map(str::trim).collect();
        if urls
            .iter()
            .any(|u| u.is_empty() || u.contains(char::is_whitespace))
        {
            return Err(invalid(
                "nats.url",
                "must be one URL or a comma-separated list of URLs",
            ));
        }
        self.nats.access()?;
        self.jetstream.settings()?;
        if self.requests.max_deliver < 2 {
            return Err(invalid("requests.max_deliver", "must be at least 2"));
        }
        if self.audit.max_bytes < 4096 {
            return Err(invalid("audit.max_bytes", "must be at least 4096"));
        }
        if self.audit.keep == 0 {
            return Err(invalid("audit.keep", "must be at least 1"));
        }
        if self.limits.max_request_age < Duration::from_secs(1) {
            return Err(invalid("limits.max_request_age", "must be at least 1s"));
        }
        self.validate_consul()?;
        self.validate_files()?;
        self.initiator_key()?;
        self.authorizer_keys()?;
        self.peer_nodes()?;
        self.validate_limits()?;
        self.validate_timeouts()?;
        self.health_addr()?;
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.log.level)
            .map_err(|e| invalid("log.level", format!("not a log filter: {e}")))?;
        Ok(())
    }

    fn validate_consul(&self) -> Result<(), ConfigError> {
        let addr = &self.consul.addr;
        if !(addr.starts_with("http://") || addr.starts_with("https://")) || addr.len() < 9 {
            return Err(invalid("consul.addr", "must be an http:// or https:// URL"));
        }
        let tls = &self.consul.tls;
        let any_tls = tls.ca_file.is_some() || tls.cert_file.is_some() || tls.key_file.is_some();
        if any_tls && !addr.starts_with("https://") {
            return Err(invalid(
                "consul.tls",
                "TLS settings need an https:// consul.addr",
            ));
        }
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(invalid(
                "consul.tls.cert_file",
                "consul.tls.cert_file and consul.tls.key_file go together",
            ));
        }
        KeyLayout::new(&self.consul.prefix).map_err(|_| {
            invalid(
                "consul.prefix",
                "must be non-empty /-separated names without a leading or trailing /",
            )
        })?;
        let ttl = self.consul.ttl;
        if ttl < Duration::from_secs(1) || ttl > MAX_TTL {
            return Err(invalid(
                "consul.ttl",
                format!(
                    "must be between 1s and 24h (found {})",
                    format_duration(ttl)
                ),
            ));
        }
        Ok(())
    }

    fn validate_files(&self) -> Result<(), ConfigError> {
        let empty = |p: &Path| p.as_os_str().is_empty();
        if empty(&self.storage.dir) {
            return Err(invalid("storage.dir", "must not be empty"));
        }
        if empty(&self.identity.file) {
            return Err(invalid("identity.file", "must not be empty"));
        }
        if self.storage.password_file.is_some() && self.storage.key_file.is_some() {
            return Err(invalid(
                "storage",
                "set only one of storage.password_file and storage.key_file",
            ));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (key, v) in [
            ("limits.keygen_concurrency", l.keygen_concurrency),
            ("limits.signing_concurrency", l.signing_concurrency),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if l.max_request_bytes < 1024 {
            return Err(invalid("limits.max_request_bytes", "must be at least 1024"));
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let t = &self.timeouts;
        for (key, v) in [
            ("timeouts.connect_timeout", t.connect_timeout),
            ("timeouts.keygen_deadline", t.keygen_deadline),
            ("timeouts.sign_deadline", t.sign_deadline),
            ("timeouts.ack_wait", t.ack_wait),
            ("timeouts.progress_interval", t.progress_interval),
        ] {
            if v.is_zero() {
                return Err(invalid(key, "must be positive"));
            }
        }
        if t.peer_silence < MIN_PEER_SILENCE {
            return Err(invalid("timeouts.peer_silence", "must be at least 500ms"));
        }
        for (key, v) in [
            ("timeouts.keygen_deadline", t.keygen_deadline),
            ("timeouts.sign_deadline", t.sign_deadline),
        ] {
            if v <= t.connect_timeout {
                return Err(invalid(key, "must be longer than timeouts.connect_timeout"));
            }
        }
        if t.progress_interval >= t.ack_wait {
            return Err(invalid(
                "timeouts.progress_interval",
                "must be shorter than timeouts.ack_wait",
            ));
        }
        Ok(())
    }

    /// The initiator's public key.
    pub fn initiator_key(&self) -> Result<InitiatorKey, ConfigError> {
        InitiatorKey::from_hex(self.initiator.kind, &self.initiator.public_key)
            .map_err(|e| invalid("initiator.public_key", e.to_string()))
    }

    /// The required authorizers: `None` when disabled; an error when enabled
    /// with none listed, since that would silently require nothing.
    pub fn authorizer_keys(&self) -> Result<Option<Vec<(String, InitiatorKey)>>, ConfigError> {
        let a = &self.authorizers;
        if !a.enabled {
            return Ok(None);
        }
        if a.keys.is_empty() {
            return Err(invalid(
                "authorizers.keys",
                "authorizers are enabled but no key is listed (list one or set authorizers.enabled: false)",
            ));
        }
        let mut ids = BTreeSet::new();
        let mut out = Vec::with_capacity(a.keys.len());
        for (i, k) in a.keys.iter().enumerate() {
            if k.id.trim().is_empty() {
                return Err(invalid(
                    format!("authorizers.keys[{i}].id"),
                    "must not be empty",
                ));
            }
            if !ids.insert(k.id.as_str()) {
                return Err(invalid(
                    format!("authorizers.keys[{i}].id"),
                    format!("{:?} is listed twice", k.id),
                ));
            }
            let key = InitiatorKey::from_hex(k.kind, &k.public_key)
                .map_err(|e| invalid(format!("authorizers.keys[{i}].public_key"), e.to_string()))?;
            out.push((k.id.clone(), key));
        }
        Ok(Some(out))
    }

    /// The inline peer identities, checked for repeated node ids.
    pub fn peer_nodes(&self) -> Result<&[PublicIdentity], ConfigError> {
        let mut seen = BTreeSet::new();
        for (i, p) in self.peers.nodes.iter().enumerate() {
            if !seen.insert(&p.node_id) {
                return Err(invalid(
                    format!("peers.nodes[{i}].node_id"),
                    format!("{} is listed twice", p.node_id),
                ));
            }
        }
        Ok(&self.peers.nodes)
    }

    pub fn health_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.health
            .listen
            .parse()
            .map_err(|_| invalid("health.listen", "must be an address like 127.0.0.1:8081"))
    }
}
