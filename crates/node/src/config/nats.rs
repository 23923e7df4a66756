//! The `nats` and `jetstream` sections: where NATS is, this node's own NATS
//! credential and TLS files, and the limits and replicas of the streams and
//! buckets the node creates. Only file paths: the files are read when connecting.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tessera_transport::mpc::StreamSettings;
use tessera_transport::{NatsAccess, NatsAuth, NatsTls};

use super::{invalid, ConfigError};
use crate::duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// One URL, or several separated by commas (a cluster's seed servers).
    /// Never with a user or password in it: use the settings below.
    pub url: String,
    /// A `.creds` file (user JWT and nkey seed), for servers in operator mode.
    pub creds_file: Option<PathBuf>,
    /// A file holding this node's user nkey seed (`SU...`).
    pub nkey_seed_file: Option<PathBuf>,
    /// User name, with `password_file`.
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A file holding an authorization token.
    pub token_file: Option<PathBuf>,
    pub tls: NatsTlsConfig,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            creds_file: None,
            nkey_seed_file: None,
            user: None,
            password_file: None,
            token_file: None,
            tls: NatsTlsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsTlsConfig {
    /// PEM CA file that signed the server's certificate (a private CA).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for servers that verify clients.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Refuse a server that does not offer TLS (implied by the files above).
    pub require: bool,
}

impl NatsConfig {
    /// The transport's settings. At most one kind of credential; a user
    /// needs its password file and the other way round.
    pub fn access(&self) -> Result<NatsAccess, ConfigError> {
        let mut kinds = Vec::new();
        if let Some(p) = &self.creds_file {
            kinds.push(("nats.creds_file", NatsAuth::CredsFile(p.clone())));
        }
        if let Some(p) = &self.nkey_seed_file {
            kinds.push(("nats.nkey_seed_file", NatsAuth::NkeySeedFile(p.clone())));
        }
        match (&self.user, &self.password_file) {
            (Some(user), Some(p)) => kinds.push((
                "nats.user",
                NatsAuth::UserPassword {
                    user: user.clone(),
                    password_file: p.clone(),
                },
            )),
            (None, None) => {}
            (Some(_), None) => return Err(invalid("nats.password_file", "nats.user needs it")),
            (None, Some(_)) => return Err(invalid("nats.user", "nats.password_file needs it")),
        }
        if let Some(p) = &self.token_file {
            kinds.push(("nats.token_file", NatsAuth::TokenFile(p.clone())));
        }
        if kinds.len() > 1 {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(invalid(
                names[1],
                format!(
                    "only one nats credential may be set, not {}",
                    names.join(" and ")
                ),
            ));
        }
        let tls = &self.tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(invalid(
                "nats.tls.cert_file",
                "nats.tls.cert_file and nats.tls.key_file go together",
            ));
        }
        let access = NatsAccess {
            url: self.url.clone(),
            auth: kinds.pop().map_or(NatsAuth::None, |(_, a)| a),
            tls: NatsTls {
                ca_file: tls.ca_file.clone(),
                cert_file: tls.cert_file.clone(),
                key_file: tls.key_file.clone(),
                require: tls.require,
            },
        };
        access
            .addrs()
            .map_err(|e| invalid("nats.url", e.to_string()))?;
        Ok(access)
    }
}

/// Limits and replicas of the streams and KV buckets this node creates.
/// Streams that exist already are used as they are (a warning names what differs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// Replicas of every stream and bucket: 1 on a single server, 3 on a
    /// three-server NATS cluster.
    pub replicas: usize,
    #[serde(deserialize_with = "duration::deserialize")]
    pub request_max_age: Duration,
    pub request_max_bytes: i64,
    pub result_max_bytes: i64,
    #[serde(deserialize_with = "duration::deserialize")]
    pub ledger_max_age: Duration,
    pub ledger_max_bytes: i64,
    pub tenant_keys_max_bytes: i64,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        let s = StreamSettings::default();
        Self {
            replicas: s.replicas,
            request_max_age: s.request_max_age,
            request_max_bytes: s.request_max_bytes,
            result_max_bytes: s.result_max_bytes,
            ledger_max_age: s.ledger_max_age,
            ledger_max_bytes: s.ledger_max_bytes,
            tenant_keys_max_bytes: s.tenant_keys_max_bytes,
        }
    }
}

impl JetStreamConfig {
    pub fn settings(&self) -> Result<StreamSettings, ConfigError> {
        let s = StreamSettings {
            replicas: self.replicas,
            request_max_age: self.request_max_age,
            request_max_bytes: self.request_max_bytes,
            result_max_bytes: self.result_max_bytes,
            ledger_max_age: self.ledger_max_age,
            ledger_max_bytes: self.ledger_max_bytes,
            tenant_keys_max_bytes: self.tenant_keys_max_bytes,
        };
        s.validate().map_err(|e| invalid("jetstream", e))?;
        Ok(s)
    }
}

/// The request expiry default, for `limits.max_request_age`.
pub fn default_max_request_age() -> Duration {
    tessera_eventconsumer::DEFAULT_MAX_REQUEST_AGE
}
