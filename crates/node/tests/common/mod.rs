//! A cluster of real `tessera start` processes for end-to-end tests: a real
//! nats-server (JetStream) and a real Consul agent from `tessera-testkit` on free
//! loopback ports, identities made by `tessera identity generate`, one shared
//! config file written here and the per-node settings as `TESSERA_*`
//! variables, exactly as an operator would run them.
//!
//! Node processes are stopped on drop; their logs stay in the cluster's
//! temporary directory and are printed when a wait fails.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod check;
pub mod infra;
pub mod queue;
pub mod raw;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use tessera_testkit::ports::free_ports;
use tessera_testkit::process::Service;
use tessera_testkit::wait;
use tessera_testkit::Consul;
use tessera_transport::NatsAccess;

use infra::{Locked, NatsUnderTest};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// The client key the nodes accept requests from, as config.yaml names it.
#[derive(Clone, Debug)]
pub struct InitiatorConfig {
    /// `ed25519` or `p256`.
    pub kind: &'static str,
    /// Hex: a raw Ed25519 key, or a P-256 key as SPKI DER.
    pub public_key: String,
}

/// A required authorizer, as config.yaml names it.
#[derive(Clone, Debug)]
pub struct AuthorizerConfig {
    pub id: String,
    pub kind: &'static str,
    pub public_key: String,
}

/// What differs between test clusters.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub nodes: usize,
    pub threshold: usize,
    pub initiator: InitiatorConfig,
    pub authorizers: Vec<AuthorizerConfig>,
    pub connect_timeout: &'static str,
    /// JetStream redelivers a request not acked within this.
    pub ack_wait: &'static str,
    /// Extra environment of every node (e.g. the fault-injection delay).
    pub env: Vec<(String, String)>,
    /// Locked down as in production: the reference NATS permissions, a
    /// credential per node and per client, TLS to NATS and Consul.
    pub locked: bool,
    /// nats-servers: 1, or 3 (a JetStream cluster).
    pub nats_servers: usize,
    /// Client ids that get their own NATS credential (locked clusters).
    pub clients: Vec<String>,
    /// Tenant (device) ids that get their own NATS credential (locked clusters).
    pub tenants: Vec<String>,
    /// More YAML for the shared config file (top-level sections).
    pub extra_yaml: String,
}

impl ClusterOptions {
    /// Three nodes, 2-of-3, requests signed by `initiator`, no authorizers.
    pub fn new(initiator: InitiatorConfig) -> Self {
        Self {
            nodes: 3,
            threshold: 1,
            initiator,
            authorizers: Vec::new(),
            connect_timeout: "2s",
            ack_wait: "30s",
            env: Vec::new(),
            locked: false,
            nats_servers: 1,
            clients: Vec::new(),
            tenants: Vec::new(),
            extra_yaml: String::new(),
        }
    }
}

/// One `tessera start` process and what it needs to be started again.
struct NodeProc {
    id: String,
    health_port: u16,
    service: Option<Service>,
    starts: usize,
}

pub struct ProcCluster {
    pub nats: NatsUnderTest,
    pub consul: Consul,
    pub locked: Option<Locked>,
    dir: TempDir,
    options: ClusterOptions,
    nodes: Vec<NodeProc>,
}

impl ProcCluster {
    /// Starts NATS, Consul and every node, and waits until each node's
    /// `/readyz` sees all nodes ready.
    pub async fn start(options: ClusterOptions) -> Self {
        let ids: Vec<String> = (0..options.nodes).map(|i| format!("node{i}")).collect();
        let (nats, consul, locked) = infra::start(&options, &ids).await;
        let dir = tempfile::Builder::new()
            .prefix("tessera-e2e-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("identities")).unwrap();
        for id in &ids {
            let key = dir.path().join("identities").join(format!("{id}.key"));
            tessera(&["identity", "generate", "--node-id", id, "--out"], &key);
        }
        let storage_key = dir.path().join("storage.key");
        std::fs::write(&storage_key, rand_bytes()).unwrap();
        set_owner_only(&storage_key);
        let ports = free_ports(options.nodes).unwrap();
        let nodes = ids
            .into_iter()
            .zip(ports)
            .map(|(id, health_port)| NodeProc {
                id,
                health_port,
                service: None,
                starts: 0,
            })
            .collect();
        let mut cluster = Self {
            nats,
            consul,
            locked,
            dir,
            options,
            nodes,
        };
        cluster.write_config();
        cluster.start_all().await;
        cluster
    }

    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// How a client with `client_id` reaches NATS: its own credential and the
    /// CA on a locked cluster, the URL alone on an open one.
    pub fn client_access(&self, client_id: Option<&str>) -> NatsAccess {
        match &self.locked {
            Some(l) => l.access(&self.nats, &infra::client_user(client_id)),
            None => NatsAccess::new(self.nats.url()),
        }
    }

    /// How tenant device `id` reaches NATS (its own credential on a locked cluster).
    pub fn tenant_access(&self, id: &str) -> NatsAccess {
        match &self.locked {
            Some(l) => l.access(&self.nats, &infra::tenant_user(id)),
            None => NatsAccess::new(self.nats.url()),
        }
    }

    /// Node `i`'s own NATS access (locked clusters).
    pub fn node_access(&self, i: usize) -> NatsAccess {
        match &self.locked {
            Some(l) => l.access(&self.nats, &infra::node_user(&self.nodes[i].id)),
            None => NatsAccess::new(self.nats.url()),
        }
    }

    /// Node `i`'s public identity, from the document `tessera identity generate` wrote.
    pub fn public_identity(&self, i: usize) -> tessera_types::PublicIdentity {
        let path = self
            .dir
            .path()
            .join("identities")
            .join(format!("{}.key.pub.json", self.nodes[i].id));
        tessera_security::identity_file::read_public_document(&path)
            .expect("public identity document")
    }

    pub fn node_ids(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.id.clone()).collect()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    /// The shared config file: everything but the per-node settings.
    fn write_config(&self) {
        let o = &self.options;
        let authorizers = if o.authorizers.is_empty() {
            "authorizers:\n  enabled: false\n".to_string()
        } else {
            let mut s = "authorizers:\n  enabled: true\n  keys:\n".to_string();
            for a in &o.authorizers {
                s.push_str(&format!(
                    "    - {{id: {}, kind: {}, public_key: {}}}\n",
                    a.id, a.kind, a.public_key
                ));
            }
            s
        };
        let (nats_tls, consul_tls) = match &self.locked {
            Some(l) => (
                format!("  tls:\n    ca_file: {}\n", l.ca_file.display()),
                format!("  tls:\n    ca_file: {}\n", l.ca_file.display()),
            ),
            None => (String::new(), String::new()),
        };
        let replicas = if o.nats_servers > 1 {
            "jetstream:\n  replicas: 3\n"
        } else {
            ""
        };
        let yaml = format!(
            "threshold: {t}\n\
             nats:\n  url: {nats}\n{nats_tls}\
             {replicas}\
             consul:\n  addr: {consul}\n  prefix: e2e\n  ttl: 2s\n{consul_tls}\
             storage:\n  key_file: {key}\n\
             peers:\n  dir: {peers}\n\
             initiator:\n  kind: {kind}\n  public_key: {pk}\n\
             {authorizers}\
             timeouts:\n  connect_timeout: {ct}\n  peer_silence: 1500ms\n  shutdown_grace: 5s\n  ack_wait: {aw}\n  progress_interval: 1s\n\
             log:\n  level: info,tessera_eventconsumer=debug\n{extra}",
            extra = o.extra_yaml,
            t = o.threshold,
            nats = self.nats.url(),
            consul = self.consul.addr(),
            key = self.dir.path().join("storage.key").display(),
            peers = self.dir.path().join("identities").display(),
            kind = o.initiator.kind,
            pk = o.initiator.public_key,
            ct = o.connect_timeout,
            aw = o.ack_wait,
        );
        std::fs::write(self.config_path(), yaml).unwrap();
    }

    /// Sets (`None`: removes) an environment variable of every node; takes
    /// effect at each node's next start.
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.options.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.options.env.push((key.to_string(), v.to_string()));
        }
    }

    /// Runs `tessera <args> --config <config>` as node `i`'s operator would
    /// (its node id, identity and storage dir), while the node may run.
    pub fn cli(&self, i: usize, args: &[&str]) -> std::process::Output {
        let node = &self.nodes[i];
        let dir = self.dir.path();
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .env("TESSERA_NODE_ID", &node.id)
            .env(
                "TESSERA_IDENTITY_FILE",
                dir.join("identities").join(format!("{}.key", node.id)),
            )
            .env("TESSERA_STORAGE_DIR", dir.join("data").join(&node.id))
            .env_remove("RUST_LOG")
            .output()
            .expect("tessera runs")
    }

    /// Changes the initiator key every node trusts; takes effect at the next start.
    pub fn set_initiator(&mut self, initiator: InitiatorConfig) {
        self.options.initiator = initiator;
        self.write_config();
    }

    fn spawn(&mut self, i: usize) {
        let config = self.config_path();
        let dir = self.dir.path().to_path_buf();
        let credential = self.locked.as_ref().map(|l| {
            let user = infra::node_user(&self.nodes[i].id);
            match l.access(&self.nats, &user).auth {
                tessera_transport::NatsAuth::UserPassword { password_file, .. } => {
                    (user, password_file)
                }
                other => panic!("unexpected test credential {other:?}"),
            }
        });
        let node = &mut self.nodes[i];
        let mut cmd = Command::new(BIN);
        if let Some((user, password_file)) = credential {
            cmd.env("TESSERA_NATS_USER", user)
                .env("TESSERA_NATS_PASSWORD_FILE", password_file);
        }
        cmd.envs(self.options.env.iter().cloned());
        cmd.arg("start")
            .arg("--config")
            .arg(&config)
            .env("TESSERA_NODE_ID", &node.id)
            .env(
                "TESSERA_IDENTITY_FILE",
                dir.join("identities").join(format!("{}.key", node.id)),
            )
            .env("TESSERA_STORAGE_DIR", dir.join("data").join(&node.id))
            .env(
                "TESSERA_HEALTH_LISTEN",
                format!("127.0.0.1:{}", node.health_port),
            )
            .env_remove("RUST_LOG");
        let log = dir.join(format!("{}.{}.log", node.id, node.starts));
        node.starts += 1;
        node.service = Some(Service::spawn(&node.id, cmd, &log).expect("tessera start spawns"));
    }

    /// Starts every node that is not running and waits until all see each other ready.
    pub async fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].service.is_none() {
                self.spawn(i);
            }
        }
        self.wait_all_ready().await;
    }

    /// Waits until every node sees every node ready.
    pub async fn wait_all_ready(&mut self) {
        let all = self.nodes.len();
        for i in 0..all {
            self.wait_ready_nodes(i, all).await;
        }
    }

    /// Waits until node `i`'s `/readyz` reports `count` ready nodes, and
    /// (when that is a quorum) that it is ready: its Consul view is fresh.
    pub async fn wait_ready_nodes(&mut self, i: usize, count: usize) {
        let url = format!("http://127.0.0.1:{}/readyz", self.nodes[i].health_port);
        let want = format!("\"ready_nodes\":{count},");
        let quorum = count > self.options.threshold;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        for _ in 0..600 {
            if let Some(s) = self.nodes[i].service.as_mut() {
                if let Err(e) = s.check_running() {
                    panic!("{e}");
                }
            }
            if let Ok(resp) = http.get(&url).send().await {
                let fits = |body: &str| {
                    body.contains(&want) && (!quorum || body.contains("\"ready\":true"))
                };
                if resp.text().await.is_ok_and(|body| fits(&body)) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} did not see {count} ready nodes within 30 s; its log:\n{}",
            self.nodes[i].id,
            self.log_tail(i)
        );
    }

    /// Node `i`'s `/readyz` body (or why it could not be read).
    pub async fn readyz(&self, i: usize) -> String {
        let url = format!("http://127.0.0.1:{}/readyz", self.health_port(i));
        match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("unreachable: {e}"),
        }
    }

    /// Polls node `i`'s `/readyz` until its body satisfies `pred`, and returns
    /// it; panics with the node's log after `within`.
    pub async fn wait_readyz(
        &self,
        i: usize,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let last = std::cell::RefCell::new(String::new());
        let (last_ref, pred) = (&last, &pred);
        let fits = wait::wait_for(within, Duration::from_millis(50), || async move {
            let body = self.readyz(i).await;
            let fits = pred(&body);
            *last_ref.borrow_mut() = body.clone();
            fits.then_some(body)
        })
        .await;
        fits.unwrap_or_else(|| {
            panic!(
                "readyz of node{i} stayed {}; log:\n{}",
                last.borrow(),
                self.log_tail(i)
            )
        })
    }

    /// SIGTERM to node `i`, waiting for its graceful shutdown.
    pub fn terminate(&mut self, i: usize) {
        if let Some(mut s) = self.nodes[i].service.take() {
            s.terminate(Duration::from_secs(15));
        }
    }

    /// Starts node `i` again (after `kill` or `terminate`) without waiting.
    pub fn restart(&mut self, i: usize) {
        if self.nodes[i].service.is_none() {
            self.spawn(i);
        }
    }

    /// The process id of node `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].service.as_ref().and_then(Service::pid)
    }

    /// Index of the node called `id`.
    pub fn index_of(&self, id: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// SIGKILL to node `i`: a crash.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut s) = self.nodes[i].service.take() {
            s.kill();
        }
    }

    /// Stops every node gracefully.
    pub fn terminate_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.terminate(i);
        }
    }

    /// The last lines of node `i`'s current log.
    pub fn log_tail(&self, i: usize) -> String {
        self.nodes[i]
            .service
            .as_ref()
            .map(Service::log_tail)
            .unwrap_or_default()
    }

    /// Polls every node's logs until a line satisfies `pred`: (node index, line).
    pub async fn wait_for_log(
        &self,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(usize, String)> {
        let found = || {
            (0..self.nodes.len()).find_map(|i| {
                let line = self.log(i).lines().find(|l| pred(l))?.to_string();
                Some((i, line))
            })
        };
        wait::wait_for(within, wait::POLL, || std::future::ready(found())).await
    }

    /// Resident memory of node `i` in KiB (Linux `/proc`).
    pub fn rss_kib(&self, i: usize) -> u64 {
        let pid = self.pid(i).expect("node running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Gives node `i` a new identity (a new identity file and public
    /// document in the peers directory); the old files are moved to
    /// `keep`. Nodes read the peers directory when they start.
    pub fn new_identity(&self, i: usize, keep: &Path) {
        let id = &self.nodes[i].id;
        let dir = self.identities_dir();
        for name in [format!("{id}.key"), format!("{id}.key.pub.json")] {
            std::fs::rename(dir.join(&name), keep.join(&name)).unwrap();
        }
        tessera(
            &["identity", "generate", "--node-id", id, "--out"],
            &dir.join(format!("{id}.key")),
        );
    }

    /// The directory of the nodes' identity files and their `*.pub.json`
    /// documents (the nodes' `peers.dir`).
    pub fn identities_dir(&self) -> PathBuf {
        self.dir.path().join("identities")
    }

    /// An SDK client with `key` as its initiator key; it accepts results
    /// signed by this cluster's nodes only.
    pub async fn sdk(&self, key: &raw::RawSigner, client_id: &str) -> tessera_client::Client {
        let signer =
            tessera_security::InitiatorSigner::from_secret_bytes(key.sdk_kind(), &key.secret())
                .unwrap();
        let mut config = tessera_client::ClientConfig::new(self.nats_url(), signer)
            .with_client_id(client_id)
            .with_result_timeout(Duration::from_secs(60))
            .with_cluster_identities_dir(self.identities_dir())
            .expect("the nodes' public identity documents");
        config.nats = self.client_access(Some(client_id));
        tessera_client::Client::connect(config)
            .await
            .expect("SDK connects")
    }

    /// How many times any node joined a signing session for `tx_id` as a
    /// player: one line per protocol run with t = 1.
    pub fn signing_sessions_joined(&self, tx_id: &str) -> usize {
        let needle = format!("tx_id={tx_id}");
        (0..self.nodes.len())
            .map(|i| {
                self.log(i)
                    .lines()
                    .filter(|l| l.contains("joined signing session"))
                    .filter(|l| l.split_whitespace().any(|w| w == needle))
                    .count()
            })
            .sum()
    }

    /// Node `i`'s health port.
    pub fn health_port(&self, i: usize) -> u16 {
        self.nodes[i].health_port
    }

    /// Runs `tessera start` once more as node `i` with a fresh store and
    /// `env` on top, expecting it to stop by itself (within 30 s): whether it
    /// exited successfully, and all it printed.
    pub async fn run_node_once(&self, i: usize, env: &[(&str, &str)]) -> (bool, String) {
        let node = &self.nodes[i];
        let dir = self.dir.path();
        let store = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("start")
            .arg("--config")
            .arg(self.config_path())
            .env("TESSERA_NODE_ID", &node.id)
            .env(
                "TESSERA_IDENTITY_FILE",
                dir.join("identities").join(format!("{}.key", node.id)),
            )
            .env("TESSERA_STORAGE_DIR", store.path())
            .env("TESSERA_HEALTH_LISTEN", "127.0.0.1:0")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        if let Some(l) = &self.locked {
            let user = infra::node_user(&node.id);
            if let tessera_transport::NatsAuth::UserPassword { password_file, .. } =
                l.access(&self.nats, &user).auth
            {
                cmd.env("TESSERA_NATS_USER", &user)
                    .env("TESSERA_NATS_PASSWORD_FILE", password_file);
            }
        }
        cmd.envs(env.iter().copied());
        let (file, log) = tempfile::NamedTempFile::new_in(dir)
            .unwrap()
            .keep()
            .unwrap();
        cmd.stdout(file.try_clone().unwrap()).stderr(file);
        let mut child = cmd.spawn().expect("tessera start runs");
        let Ok(status) = tokio::time::timeout(Duration::from_secs(30), child.wait()).await else {
            let _ = child.kill().await;
            panic!(
                "the node did not stop by itself within 30 s:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        (status.expect("tessera start waits").success(), text)
    }

    /// Polls node `i`'s logs until a line satisfies `pred`; false after `within`.
    pub async fn wait_for_log_of(
        &self,
        i: usize,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> bool {
        wait::poll_until(within, wait::POLL, || self.log(i).lines().any(&pred)).await
    }

    /// Node `i`'s storage directory (its key store, bans and audit log).
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join("data").join(&self.nodes[i].id)
    }

    /// Every log line any run of node `i` wrote.
    pub fn log(&self, i: usize) -> String {
        let node = &self.nodes[i];
        (0..node.starts)
            .map(|run| {
                std::fs::read_to_string(self.dir.path().join(format!("{}.{run}.log", node.id)))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for ProcCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut s) = node.service.take() {
                s.kill();
            }
        }
    }
}

/// Runs a `tessera` subcommand whose last argument is `path`, panicking with its output on failure.
fn tessera(args: &[&str], path: &Path) {
    let out = Command::new(BIN).args(args).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rand_bytes() -> [u8; 32] {
    use rand_core::{OsRng, RngCore};
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    b
}

fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
