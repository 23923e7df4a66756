//! A cluster of nodes in one test process: a real nats-server and Consul, and per
//! node its own NATS connection, Consul session and storage directory.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tessera_registry::{Registry, RegistryConfig};
use tessera_runner::{Directory, KeygenRequest, Node, RunnerOptions, SignRequest, Signature};
use tessera_security::{AtRestKey, NodeIdentity};
use tessera_session::derive::DerivationPath;
use tessera_storage::Store;
use tessera_testkit::ids::{identity, lettered_names, unique};
#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::ids::{node_id as id, session_id as sid};
use tessera_testkit::signatures;
use tessera_testkit::wait::wait_for;
use tessera_testkit::{Consul, Nats};
use tessera_transport::{Transport, TransportOptions};
use tessera_types::{KeyType, NodeId, Threshold, WalletId};

pub const TTL: Duration = Duration::from_secs(2);

pub struct Cluster {
    pub nats: Nats,
    pub consul: Consul,
    pub identities: Vec<Arc<NodeIdentity>>,
    pub nodes: Vec<Node>,
    pub options: RunnerOptions,
    prefix: String,
    dir: tempfile::TempDir,
}

/// Every warn (and error) line this test process logged, for tests that
/// assert a log line (filter by session id: tests run in parallel).
static CAPTURED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs to the test's output (`RUST_LOG`, default warn) and captures every
/// warn line for [`logged`]. The first call in a process installs it.
pub fn init_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let shown = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        );
    let captured = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(|| Capture)
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    let _ = tracing_subscriber::registry()
        .with(shown)
        .with(captured)
        .try_init();
}

/// The captured warn lines that contain every one of `needles`.
pub fn logged(needles: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(&CAPTURED.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// Waits up to `within` for exactly one captured line with all `needles`, and
/// returns it (panicking if there are none or several).
pub async fn one_line(within: Duration, needles: &[&str]) -> String {
    let some = || {
        let lines = logged(needles);
        std::future::ready((!lines.is_empty()).then_some(lines))
    };
    let lines = wait_for(within, Duration::from_millis(50), some)
        .await
        .unwrap_or_default();
    assert_eq!(lines.len(), 1, "lines with {needles:?}: {lines:#?}");
    lines.into_iter().next().unwrap()
}

/// Asserts `line` contains every one of `needles`.
pub fn assert_has(line: &str, needles: &[&str]) {
    for n in needles {
        assert!(line.contains(n), "{n:?} not in {line}");
    }
}

impl Cluster {
    /// Starts NATS, Consul and `n` nodes named node-a, node-b, ...; returns once
    /// every node sees every node ready.
    pub async fn start(n: usize, options: RunnerOptions) -> Cluster {
        init_logs();
        let nats = Nats::start().await.expect("nats");
        let consul = Consul::start().await.expect("consul");
        let dir = tempfile::tempdir().unwrap();
        let identities = lettered_names(n).iter().map(|n| identity(n)).collect();
        let prefix = format!("tessera-test-{}", unique("p").replace('-', ""));
        let mut cluster = Cluster {
            nats,
            consul,
            identities,
            nodes: Vec::new(),
            options,
            prefix,
            dir,
        };
        for i in 0..n {
            let node = cluster.start_node(i).await;
            cluster.nodes.push(node);
        }
        cluster.wait_all_ready().await;
        cluster
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.identities
            .iter()
            .map(|i| i.node_id().clone())
            .collect()
    }

    pub fn storage_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(self.identities[i].node_id().as_str())
    }

    /// Builds node `i` from its identity and storage directory.
    pub async fn start_node(&self, i: usize) -> Node {
        self.start_node_as(i, self.identities[i].clone(), self.storage_dir(i))
            .await
    }

    /// Builds node `i` with `identity` instead of its own (the others still
    /// have its original public identity configured) and its store in `dir`.
    pub async fn start_node_as(&self, i: usize, identity: Arc<NodeIdentity>, dir: PathBuf) -> Node {
        assert_eq!(identity.node_id(), self.identities[i].node_id());
        let transport = Transport::connect(
            &self.nats.url(),
            identity.clone(),
            TransportOptions::default(),
        )
        .await
        .expect("transport");
        let store =
            Store::open(&dir, AtRestKey::from_key_bytes(&[42; 32]).unwrap()).expect("store");
        let mut config = RegistryConfig::new(
            self.consul.http_addr(),
            self.prefix.clone(),
            identity.node_id().clone(),
        );
        config.ttl = TTL;
        let registry = Registry::start(config).await.expect("registry");
        let directory = Directory::new(self.identities.iter().map(|i| i.public()));
        Node::new(
            identity,
            transport,
            store,
            directory,
            Some(registry),
            self.options.clone(),
        )
    }

    /// Waits until every node's registry sees every node.
    pub async fn wait_all_ready(&self) {
        let all: std::collections::BTreeSet<NodeId> = self.ids().into_iter().collect();
        for node in &self.nodes {
            let registry = node.registry().expect("registry");
            let want = all.clone();
            registry
                .wait_until(move |v| v.nodes == want, Duration::from_secs(10))
                .await
                .expect("all nodes ready");
        }
    }

    /// Shuts every node down (readiness given up), then NATS and Consul.
    pub async fn stop(mut self) {
        for node in self.nodes.drain(..) {
            node.shutdown().await;
        }
    }

    /// Shuts every node down, lets `change` edit the cluster (identities,
    /// storage directories), then starts every node again.
    pub async fn restart_all_with(&mut self, change: impl FnOnce(&mut Self)) {
        for node in self.nodes.drain(..) {
            node.shutdown().await;
        }
        change(self);
        for i in 0..self.identities.len() {
            let node = self.start_node(i).await;
            self.nodes.push(node);
        }
        self.wait_all_ready().await;
    }

    /// Shuts every node down and starts it again from its storage.
    pub async fn restart_all(&mut self) {
        for node in self.nodes.drain(..) {
            node.shutdown().await;
        }
        for i in 0..self.identities.len() {
            let node = self.start_node(i).await;
            self.nodes.push(node);
        }
        self.wait_all_ready().await;
    }
}

pub async fn keygen_all(nodes: &[&Node], wallet: &str, key_type: KeyType, t: u16) -> Vec<u8> {
    let participants: Vec<NodeId> = nodes.iter().map(|n| n.node_id().clone()).collect();
    let session_id = sid("keygen");
    let running: Vec<_> = nodes
        .iter()
        .map(|n| {
            n.start_keygen(KeygenRequest {
                session_id: session_id.clone(),
                wallet_id: WalletId::new(wallet).unwrap(),
                key_type,
                participants: participants.clone(),
                threshold: Threshold(t),
                dynamic_keys: Default::default(),
            })
        })
        .collect();
    let mut keys = Vec::new();
    for r in running {
        let meta = tokio::time::timeout(Duration::from_secs(60), r.wait())
            .await
            .expect("keygen in time")
            .expect("keygen succeeds");
        assert_eq!(meta.participants.len(), participants.len());
        assert_eq!(meta.share_version, 1);
        keys.push(meta.public_key);
    }
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "all players got the same key"
    );
    keys.remove(0)
}

pub async fn sign_with(
    signers: &[&Node],
    wallet: &str,
    key_type: KeyType,
    message: &[u8],
    path: &DerivationPath,
) -> Signature {
    let ids: Vec<NodeId> = signers.iter().map(|n| n.node_id().clone()).collect();
    let mut sigs = Vec::new();
    for r in sign_at(signers, wallet, key_type, message, path, None).await {
        sigs.push(r.unwrap_or_else(|e| panic!("signing by {ids:?} failed: {e}")));
    }
    assert!(
        sigs.windows(2).all(|w| w[0] == w[1]),
        "every signer returned the same signature"
    );
    sigs.remove(0)
}

/// One signing session by `signers` at key `epoch` (`None`: each signer's
/// active one): every signer's outcome.
pub async fn sign_at(
    signers: &[&Node],
    wallet: &str,
    key_type: KeyType,
    message: &[u8],
    path: &DerivationPath,
    epoch: Option<u64>,
) -> Vec<Result<Signature, tessera_runner::SessionError>> {
    let ids: Vec<NodeId> = signers.iter().map(|n| n.node_id().clone()).collect();
    let session_id = sid("sign");
    let running: Vec<_> = signers
        .iter()
        .map(|n| {
            n.start_sign(SignRequest {
                session_id: session_id.clone(),
                wallet_id: WalletId::new(wallet).unwrap(),
                key_type,
                signers: ids.clone(),
                message: message.to_vec(),
                path: path.clone(),
                dynamic_keys: Default::default(),
                epoch,
            })
        })
        .collect();
    let mut out = Vec::new();
    for r in running {
        out.push(
            tokio::time::timeout(Duration::from_secs(30), r.wait())
                .await
                .expect("signing ends in time"),
        );
    }
    out
}

/// Checks an ECDSA signature over `digest` with `k256` (recovery id included).
pub fn check_ecdsa(public_key: &[u8], digest: &[u8; 32], sig: &Signature) {
    let Signature::Ecdsa(s) = sig else {
        panic!("not ecdsa")
    };
    assert_eq!(s.public_key, public_key);
    signatures::check_ecdsa(public_key, digest, s.r, s.s, Some(s.recovery_id));
}

/// Checks an Ed25519 signature over `message` with `ed25519-dalek` (strictly too).
pub fn check_eddsa(public_key: &[u8], message: &[u8], sig: &Signature) {
    let Signature::Eddsa(s) = sig else {
        panic!("not eddsa")
    };
    assert_eq!(s.public_key.as_slice(), public_key);
    signatures::check_ed25519(&s.public_key, message, &s.signature);
}
