//! `tessera config check`: everything `tessera start` checks before it
//! connects anywhere, with the same code (`start::load_config`,
//! `start::load_identity`, `roster::resolve`, the NATS access check, the
//! Consul client's TLS files and token, the key store secret, the consumer
//! settings), then the values the node would use. Paths, never secrets.
//! Nothing is started, bound, created or connected to.

use std::io::Write;
use std::path::PathBuf;

use tessera_registry::config::DEFAULT_REQUEST_TIMEOUT;
use tessera_registry::ConsulClient;
use tessera_types::ErrorCode;

use crate::cli::StartArgs;
use crate::config::Config;
use crate::duration::format_duration;
use crate::keystore::{self, StoreSecret};
use crate::{render_error, roster, start};

/// Why the node would not start; each names the part of the config at fault.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Config(String),
    #[error("identity: {0}")]
    Identity(String),
    #[error("peers: {0}")]
    Roster(String),
    #[error("nats: {0}")]
    Nats(String),
    #[error("consul: {0}")]
    Consul(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("cannot print the result: {0}")]
    Output(#[from] std::io::Error),
}

impl CheckError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CheckError::Config(_)
            | CheckError::Roster(_)
            | CheckError::Nats(_)
            | CheckError::Consul(_) => ErrorCode::InvalidConfiguration,
            CheckError::Identity(_) => ErrorCode::KeyLoad,
            CheckError::Storage(_) => ErrorCode::StorageInit,
            CheckError::Output(_) => ErrorCode::Internal,
        }
    }
}

fn text(e: impl Into<anyhow::Error>) -> String {
    render_error(&e.into())
}

fn path_or_none(p: &Option<PathBuf>) -> String {
    p.as_deref()
        .map_or_else(|| "-".to_string(), |p| p.display().to_string())
}

/// Checks the config at `args` (flags applied) and prints what a node would use.
pub async fn run(args: &StartArgs, out: &mut impl Write) -> Result<(), CheckError> {
    let (config, unknown) = start::load_config(args).map_err(|e| CheckError::Config(text(e)))?;
    let identity = start::load_identity(&config)
        .await
        .map_err(|e| CheckError::Identity(text(e)))?;
    let roster =
        roster::resolve(&config, &identity.public()).map_err(|e| CheckError::Roster(text(e)))?;
    start::consumer_config(&config, &roster).map_err(|e| CheckError::Config(text(e)))?;
    let nats = config
        .nats
        .access()
        .map_err(|e| CheckError::Nats(text(e)))?;
    nats.check().map_err(|e| CheckError::Nats(text(e)))?;
    // Builds the HTTP client (reads the TLS files) without a request.
    let registry = start::registry_config(&config).map_err(|e| CheckError::Consul(text(e)))?;
    ConsulClient::new(
        &config.consul.addr,
        registry.token,
        &registry.tls,
        DEFAULT_REQUEST_TIMEOUT,
    )
    .map_err(|e| CheckError::Consul(text(e)))?;
    let secret = keystore::read_secret(&config).map_err(|e| CheckError::Storage(text(e)))?;
    let dir = &config.storage.dir;
    let dir_state = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => "exists",
        Ok(_) => {
            return Err(CheckError::Storage(format!(
                "storage.dir {} is not a directory",
                dir.display()
            )))
        }
        Err(_) => "created at start",
    };

    for var in &unknown {
        writeln!(
            out,
            "warning: environment variable {var} matches no config key; ignored"
        )?;
    }
    let c = &config;
    let line = |out: &mut dyn Write, key: &str, value: String| writeln!(out, "{key:<28} {value}");
    line(out, "config", args.config.config.display().to_string())?;
    line(out, "node_id", c.node_id.to_string())?;
    line(
        out,
        "threshold",
        if roster.len() == 1 {
            format!(
                "{} (a single server node: every key also needs tenant players)",
                c.threshold
            )
        } else {
            format!(
                "{} (any {} of the {} nodes sign)",
                c.threshold,
                c.threshold + 1,
                roster.len()
            )
        },
    )?;
    line(out, "identity.file", c.identity.file.display().to_string())?;
    line(
        out,
        "identity.passphrase_file",
        path_or_none(&c.identity.passphrase_file),
    )?;
    let members: Vec<String> = roster.iter().map(|p| p.node_id.to_string()).collect();
    line(out, "peers (roster)", members.join(", "))?;
    line(out, "peers.dir", path_or_none(&c.peers.dir))?;
    line(
        out,
        "storage.dir",
        format!("{} ({dir_state})", dir.display()),
    )?;
    let (secret_key, secret_path) = match &secret {
        StoreSecret::Password(_) => ("storage.password_file", &c.storage.password_file),
        StoreSecret::Key(_) => ("storage.key_file", &c.storage.key_file),
    };
    line(out, secret_key, path_or_none(secret_path))?;
    print_nats(c, &nats, out)?;
    line(out, "consul.addr", c.consul.addr.clone())?;
    line(out, "consul.prefix", c.consul.prefix.clone())?;
    line(out, "consul.ttl", format_duration(c.consul.ttl))?;
    line(out, "consul.token_file", path_or_none(&c.consul.token_file))?;
    line(
        out,
        "consul.tls.ca_file",
        path_or_none(&c.consul.tls.ca_file),
    )?;
    line(
        out,
        "consul.tls.cert_file",
        path_or_none(&c.consul.tls.cert_file),
    )?;
    line(
        out,
        "consul.tls.key_file",
        path_or_none(&c.consul.tls.key_file),
    )?;
    line(
        out,
        "initiator",
        format!("{} {}", c.initiator.kind, c.initiator.public_key),
    )?;
    let authorizers = if c.authorizers.enabled {
        let ids: Vec<&str> = c.authorizers.keys.iter().map(|k| k.id.as_str()).collect();
        format!("required: {}", ids.join(", "))
    } else {
        "disabled".to_string()
    };
    line(out, "authorizers", authorizers)?;
    let l = &c.limits;
    line(
        out,
        "limits",
        format!(
            "keygen_concurrency {}, signing_concurrency {}, max_request_bytes {}, max_request_age {}",
            l.keygen_concurrency,
            l.signing_concurrency,
            l.max_request_bytes,
            format_duration(l.max_request_age)
        ),
    )?;
    let t = &c.timeouts;
    line(
        out,
        "timeouts",
        format!(
            "connect {}, keygen {}, sign {}, peer_silence {}, ack_wait {}, progress {}, shutdown_grace {}",
            format_duration(t.connect_timeout),
            format_duration(t.keygen_deadline),
            format_duration(t.sign_deadline),
            format_duration(t.peer_silence),
            format_duration(t.ack_wait),
            format_duration(t.progress_interval),
            format_duration(t.shutdown_grace)
        ),
    )?;
    line(
        out,
        "requests",
        format!(
            "require_session {}, max_deliver {}, retry_signing {}",
            c.requests.require_session, c.requests.max_deliver, c.recovery.retry_signing
        ),
    )?;
    line(out, "jetstream.replicas", c.jetstream.replicas.to_string())?;
    line(out, "health.listen", c.health.listen.clone())?;
    line(
        out,
        "log",
        format!("level {}, format {:?}", c.log.level, c.log.format).to_lowercase(),
    )?;
    writeln!(out, "config OK: nothing was started or contacted")?;
    Ok(())
}

fn print_nats(
    c: &Config,
    nats: &tessera_transport::NatsAccess,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use tessera_transport::NatsAuth;
    let credential = match &nats.auth {
        NatsAuth::None => "none".to_string(),
        NatsAuth::CredsFile(p) => format!("creds_file {}", p.display()),
        NatsAuth::NkeySeedFile(p) => format!("nkey_seed_file {}", p.display()),
        NatsAuth::UserPassword {
            user,
            password_file,
        } => format!("user {user}, password_file {}", password_file.display()),
        NatsAuth::TokenFile(p) => format!("token_file {}", p.display()),
    };
    let show = |p: &Option<PathBuf>| path_or_none(p);
    writeln!(out, "{:<28} {}", "nats.url", nats.redacted_url())?;
    writeln!(out, "{:<28} {credential}", "nats credential")?;
    writeln!(
        out,
        "{:<28} {}",
        "nats.tls.ca_file",
        show(&c.nats.tls.ca_file)
    )?;
    writeln!(
        out,
        "{:<28} {}",
        "nats.tls.cert_file",
        show(&c.nats.tls.cert_file)
    )?;
    writeln!(
        out,
        "{:<28} {}",
        "nats.tls.key_file",
        show(&c.nats.tls.key_file)
    )?;
    writeln!(out, "{:<28} {}", "nats.tls.require", nats.tls.require)?;
    Ok(())
}
