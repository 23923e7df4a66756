//! `tessera start`: load and check the configuration, then bring the node up
//! in dependency order, each step failing with a message that says what to fix:
//!
//! health endpoints (bound first, `/readyz` says `starting`) -> identity ->
//! roster (peers from the config) -> NATS and Consul secret files checked ->
//! key store -> NATS -> Consul readiness -> node runtime -> event consumer.
//! NATS, Consul and JetStream that cannot be reached yet are waited for
//! (see [`crate::retry`]); a refused credential or certificate ends start-up. Then wait for a signal and shut down
//! (see [`crate::shutdown`]).

use std::sync::Arc;

use anyhow::{bail, Context};
use tessera_eventconsumer::{AuthorizerPolicy, ConsumerConfig, EventConsumer, RequestError};
use tessera_registry::{Registry, RegistryConfig, RegistryError};
use tessera_runner::{Directory, Node, RunnerOptions};
use tessera_security::NodeIdentity;
use tessera_transport::{Transport, TransportError, TransportOptions};
use tessera_types::{PublicIdentity, Threshold};

use crate::cli::StartArgs;
use crate::config::Config;
use crate::health::{HealthServer, Probes};
use crate::secrets::read_secret_file;
use crate::shutdown::{self, Running, Signals};
use crate::{keystore, logging, retry, roster};

/// Loads the config for `start` (flags applied) and validates it.
pub fn load_config(args: &StartArgs) -> anyhow::Result<(Config, Vec<String>)> {
    let (mut config, unknown) = Config::load(&args.config.config)?;
    args.identity.apply(&mut config);
    args.storage.apply(&mut config);
    args.consul.apply(&mut config);
    args.nats.apply(&mut config.nats);
    config.validate()?;
    keystore::require_secret(&config)?;
    Ok((config, unknown))
}

pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    // The log format first: a config error below is then logged in it.
    logging::init_from_file(&args.config.config)?;
    let (config, unknown) = load_config(&args)?;
    // Before any secret is read: a core dump would write shares to disk.
    crate::no_core_dumps::disable().context("cannot disable core dumps")?;
    for var in unknown {
        tracing::warn!(%var, "environment variable matches no config key; ignored");
    }
    tracing::info!(
        node_id = %config.node_id,
        config = %args.config.config.display(),
        version = env!("CARGO_PKG_VERSION"),
        "starting tessera node"
    );
    let mut signals = Signals::install().context("cannot install signal handlers")?;
    let health = HealthServer::bind(config.health_addr()?).await?;
    health.set_metrics(crate::metrics::install()?);
    let running = tokio::select! {
        r = bring_up(&config, health) => r?,
        sig = signals.recv() => {
            tracing::info!(signal = sig, "signal during start-up; stopping");
            return Ok(());
        }
    };
    tracing::info!(node_id = %config.node_id, "node is running");
    let sig = signals.recv().await;
    tracing::info!(signal = sig, "shutting down");
    shutdown::shutdown(running).await;
    Ok(())
}

async fn bring_up(config: &Config, health: HealthServer) -> anyhow::Result<Running> {
    let identity = Arc::new(load_identity(config).await?);
    let roster = roster::resolve(config, &identity.public())?;
    tracing::info!(
        nodes = roster.len(),
        threshold = config.threshold,
        "cluster roster from config"
    );
    if roster.len() == 1 {
        tracing::info!(
            "single server node: every new key needs tenant players (tessera_session.players)"
        );
    }
    // Every secret file is read and checked before anything is created on disk.
    let nats = config.nats.access()?;
    nats.check()?;
    let mut registry_config = registry_config(config)?;
    // Its ready record in Consul is signed, so observers can check it.
    registry_config.signer = Some(identity.clone());
    let store = keystore::open(config).await?;
    tracing::info!(path = %store.path().display(), "key store open");
    let nats_url = nats.redacted_url();
    let transport = retry::until_up("nats", TransportError::is_transient, || {
        Transport::connect_with(&nats, identity.clone(), TransportOptions::default())
    })
    .await
    .with_context(|| format!("cannot connect to nats.url {nats_url}"))?;
    let registry = retry::until_up("consul", RegistryError::is_transient, || {
        Registry::start(registry_config.clone())
    })
    .await
    .with_context(|| format!("cannot register with consul.addr {}", config.consul.addr))?;
    tracing::info!(
        ttl_ms = config.consul.ttl.as_millis() as u64,
        "ready in consul"
    );
    let node = Node::new(
        identity,
        transport.clone(),
        store,
        Directory::new(roster.iter().cloned()),
        Some(registry.clone()),
        runner_options(config),
    );
    let mut consumer_config = consumer_config(config, &roster)?;
    consumer_config.audit = open_audit(config)?;
    let consumer = match retry::until_up("jetstream", RequestError::is_transient, || {
        EventConsumer::start(node.clone(), consumer_config.clone())
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            // Leave Consul at once rather than look ready for a TTL.
            node.shutdown().await;
            return Err(e).context("cannot start the request consumers");
        }
    };
    tracing::info!("request consumers started");
    health.set_probes(Probes {
        transport: transport.clone(),
        streams: consumer.stream_health().clone(),
        registry,
        node: node.clone(),
        // Quorum for readiness: t+1 servers, or every server when there are fewer.
        threshold: config.threshold.min(roster.len().saturating_sub(1) as u16),
    });
    Ok(Running {
        consumer,
        node,
        transport,
        health,
        grace: config.timeouts.shutdown_grace,
    })
}

pub async fn load_identity(config: &Config) -> anyhow::Result<NodeIdentity> {
    let file = config.identity.file.clone();
    let pass = config
        .identity
        .passphrase_file
        .as_deref()
        .map(|p| read_secret_file("identity passphrase", p))
        .transpose()?;
    // Argon2 for a sealed file takes a while: off the async threads.
    let identity = tokio::task::spawn_blocking(move || {
        NodeIdentity::load(&file, pass.as_ref().map(|p| p.as_slice()))
    })
    .await?
    .with_context(|| {
        format!(
            "cannot load identity.file {}",
            config.identity.file.display()
        )
    })?;
    if identity.node_id() != &config.node_id {
        bail!(
            "identity.file {} is for {}, but node_id is {}",
            config.identity.file.display(),
            identity.node_id(),
            config.node_id
        );
    }
    Ok(identity)
}

/// The audit log's writer, when enabled (its chain continues the file's).
fn open_audit(
    config: &Config,
) -> anyhow::Result<Option<Arc<dyn tessera_eventconsumer::AuditSink>>> {
    let Some(path) = config.audit_file() else {
        tracing::warn!("audit.enabled is false: no audit log is written");
        return Ok(None);
    };
    let audit = crate::audit::FileAudit::open(
        &path,
        config.node_id.as_str(),
        config.audit.max_bytes,
        config.audit.keep,
    )?;
    tracing::info!(path = %path.display(), "audit log open");
    Ok(Some(Arc::new(audit)))
}

pub fn registry_config(config: &Config) -> anyhow::Result<RegistryConfig> {
    let mut rc = RegistryConfig::new(
        config.consul.addr.clone(),
        config.consul.prefix.clone(),
        config.node_id.clone(),
    );
    rc.ttl = config.consul.ttl;
    rc.token = config.consul.token()?;
    rc.tls = config.consul.tls();
    Ok(rc)
}

fn runner_options(config: &Config) -> RunnerOptions {
    let t = &config.timeouts;
    RunnerOptions {
        connect_timeout: t.connect_timeout,
        peer_silence: t.peer_silence,
        keygen_deadline: t.keygen_deadline,
        sign_deadline: t.sign_deadline,
        ..RunnerOptions::default()
    }
}

/// The consumer's settings; every roster node takes part in keygen.
pub fn consumer_config(
    config: &Config,
    roster: &[PublicIdentity],
) -> anyhow::Result<ConsumerConfig> {
    let participants = roster.iter().map(|p| p.node_id.clone()).collect();
    let mut c = ConsumerConfig::new(
        config.initiator_key()?,
        Threshold(config.threshold),
        participants,
    );
    c.authorizers = config
        .authorizer_keys()?
        .map(|required| AuthorizerPolicy { required });
    c.keygen_concurrency = config.limits.keygen_concurrency;
    c.signing_concurrency = config.limits.signing_concurrency;
    c.max_request_bytes = config.limits.max_request_bytes;
    c.ack_wait = config.timeouts.ack_wait;
    c.progress_interval = config.timeouts.progress_interval;
    c.retry_signing = config.recovery.retry_signing;
    c.max_request_age = config.limits.max_request_age;
    c.require_session = config.requests.require_session;
    c.max_deliver = config.requests.max_deliver;
    c.streams = config.jetstream.settings()?;
    Ok(c)
}
