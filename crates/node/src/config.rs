//! The node's configuration: the types read from `config.yaml`, their
//! defaults, and validation with errors that name the offending key.
//!
//! Precedence, highest first: command-line flags (secret file paths only),
//! `TESSERA_*` environment variables (see [`crate::env`]), the YAML file,
//! then the defaults here. Relative paths are relative to the working directory.
//! No secret is ever in this file: only paths to files that hold them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tessera_security::InitiatorKeyKind;
use tessera_types::{NodeId, PublicIdentity};

use crate::duration;

mod nats;
mod validate;

pub use nats::{JetStreamConfig, NatsConfig, NatsTlsConfig};

pub(crate) use crate::config_error::invalid;
pub use crate::config_error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub node_id: NodeId,
    /// t: any t+1 of the cluster's nodes sign.
    pub threshold: u16,
    #[serde(default)]
    pub nats: NatsConfig,
    #[serde(default)]
    pub jetstream: JetStreamConfig,
    #[serde(default)]
    pub consul: ConsulConfig,
    pub storage: StorageConfig,
    pub identity: IdentityConfig,
    #[serde(default)]
    pub peers: PeersConfig,
    pub initiator: InitiatorConfig,
    #[serde(default)]
    pub authorizers: AuthorizersConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    #[serde(default)]
    pub recovery: RecoveryConfig,
    #[serde(default)]
    pub requests: RequestsConfig,
    #[serde(default)]
    pub health: HealthConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub audit: AuditConfig,
}

/// The audit log (see `crate::audit`): one hash-chained JSON line per operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    pub enabled: bool,
    /// The file; unset: `<storage.dir>/audit.jsonl`.
    pub file: Option<PathBuf>,
    /// Rotate when the file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`audit.jsonl.1` ... `.<keep>`); older ones are deleted.
    pub keep: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            file: None,
            max_bytes: 64 * 1024 * 1024,
            keep: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsulConfig {
    pub addr: String,
    pub prefix: String,
    #[serde(deserialize_with = "duration::deserialize")]
    pub ttl: Duration,
    /// File holding the ACL token (flag `--consul-token-file` wins).
    pub token_file: Option<PathBuf>,
    /// HTTPS to Consul with a private CA (`consul.addr` must be `https://`).
    pub tls: ConsulTlsConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsulTlsConfig {
    /// PEM CA file that signed Consul's certificate; when set, the only roots trusted.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for agents with `verify_incoming`.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl ConsulConfig {
    /// The registry client's TLS settings.
    pub fn tls(&self) -> tessera_registry::ConsulTls {
        tessera_registry::ConsulTls {
            ca_file: self.tls.ca_file.clone(),
            cert_file: self.tls.cert_file.clone(),
            key_file: self.tls.key_file.clone(),
        }
    }

    /// The ACL token, read from `token_file`.
    pub fn token(&self) -> anyhow::Result<Option<tessera_registry::ConsulToken>> {
        Ok(self
            .token_file
            .as_deref()
            .map(|p| crate::secrets::read_token_file("consul token", p))
            .transpose()?
            .map(tessera_registry::ConsulToken::new))
    }
}

impl Default for ConsulConfig {
    fn default() -> Self {
        Self {
            addr: "http://127.0.0.1:8500".into(),
            prefix: "tessera".into(),
            ttl: tessera_registry::config::DEFAULT_TTL,
            token_file: None,
            tls: ConsulTlsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub dir: PathBuf,
    /// Argon2id password for the at-rest key (exactly one of these two at start).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// 32 raw bytes used as the at-rest key.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    pub file: PathBuf,
    #[serde(default)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeersConfig {
    /// Directory whose `*.pub.json` documents are the cluster's identities.
    pub dir: Option<PathBuf>,
    /// Identities written inline.
    pub nodes: Vec<PublicIdentity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitiatorConfig {
    pub kind: InitiatorKeyKind,
    pub public_key: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizersConfig {
    pub enabled: bool,
    pub keys: Vec<AuthorizerKeyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerKeyConfig {
    pub id: String,
    pub kind: InitiatorKeyKind,
    pub public_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub keygen_concurrency: usize,
    pub signing_concurrency: usize,
    pub max_request_bytes: usize,
    /// A request older than this when a node takes it is answered with
    /// `ERROR_SESSION_STALE` and never started.
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_request_age: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            keygen_concurrency: 2,
            signing_concurrency: 64,
            max_request_bytes: 256 * 1024,
            max_request_age: nats::default_max_request_age(),
        }
    }
}

/// What every request must carry, and how often one is delivered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestsConfig {
    /// Refuse requests without `tessera_session` (every wallet has a tenant).
    pub require_session: bool,
    /// JetStream delivers one request at most this often (at least 2).
    pub max_deliver: i64,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            require_session: false,
            max_deliver: tessera_eventconsumer::config::DEFAULT_MAX_DELIVER,
        }
    }
}

/// What a coordinator does when a session fails because of identified players.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// Sign once more without the failed players when t+1 others are ready.
    pub retry_signing: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            retry_signing: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    #[serde(deserialize_with = "duration::deserialize")]
    pub connect_timeout: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub keygen_deadline: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub sign_deadline: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub peer_silence: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub ack_wait: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub progress_interval: Duration,
    #[serde(deserialize_with = "duration::deserialize")]
    pub shutdown_grace: Duration,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        let runner = tessera_runner::RunnerOptions::default();
        Self {
            connect_timeout: runner.connect_timeout,
            keygen_deadline: runner.keygen_deadline,
            sign_deadline: runner.sign_deadline,
            peer_silence: runner.peer_silence,
            ack_wait: Duration::from_secs(30),
            progress_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    pub listen: String,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, or `info,tessera_runner=debug`.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// The audit file, when the audit log is enabled.
    pub fn audit_file(&self) -> Option<PathBuf> {
        self.audit.enabled.then(|| {
            self.audit
                .file
                .clone()
                .unwrap_or_else(|| self.storage.dir.join("audit.jsonl"))
        })
    }

    /// Parses a YAML document, with the `TESSERA_*` variables in `vars` applied
    /// on top (see [`crate::env`]). Does not validate: flags may still change it.
    pub fn parse(
        path: &Path,
        yaml: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let parse_err = |e: serde_yaml_ng::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).map_err(parse_err)?;
        let unknown = crate::env::apply(&mut doc, vars)?;
        // The path tracker names the key of a bad value ("timeouts.sign_deadline: ...");
        // the environment's values have no line numbers to point at.
        let config = serde_path_to_error::deserialize(doc).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("key `{key}`: {}", e.into_inner()),
            }
        })?;
        Ok((config, unknown))
    }

    /// Reads and parses `path` with the process environment applied. Returns the
    /// config and the `TESSERA_*` variables that matched no key (worth a warning).
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
        let yaml = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &yaml, std::env::vars())
    }
}

#[cfg(test)]
pub(crate) mod tests;
