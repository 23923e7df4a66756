//! Three nats-servers on loopback, routed to each other, with clustered
//! JetStream (each its own store), optionally locked down like
//! [`Nats::start_secure`](crate::Nats::start_secure) (routes then use TLS too).
//! A server can be killed and restarted on the same ports and store; the
//! monitoring endpoints say who leads the cluster and each stream.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::nats_monitor::{get_json, stream_leader_in, stream_leaders_in, STREAMS_JSZ};
use crate::nats_security::{
    quote, quote_path, tls_block, write_security, NatsSecurity, SecureFiles,
};
use crate::ports::free_ports;
use crate::process::{http_ok, wait_ready, Service};
use crate::{tools, TestkitError};

/// Servers in a [`NatsCluster`].
pub const CLUSTER_SIZE: usize = 3;

#[derive(Debug)]
struct Server {
    service: Option<Service>,
    name: String,
    port: u16,
    monitor_port: u16,
}

/// A running three-server cluster; killed and its directory removed on drop.
#[derive(Debug)]
pub struct NatsCluster {
    servers: Vec<Server>,
    dir: TempDir,
    secure: Option<SecureFiles>,
}

impl NatsCluster {
    /// Starts an open cluster and waits until it is healthy (see [`NatsCluster::wait_healthy`]).
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_inner(None).await
    }

    /// Starts a cluster with the users and TLS of `security` on every server.
    pub async fn start_secure(security: NatsSecurity) -> Result<Self, TestkitError> {
        Self::start_inner(Some(&security)).await
    }

    async fn start_inner(security: Option<&NatsSecurity>) -> Result<Self, TestkitError> {
        let binary = tools::find("nats-server")?;
        let mut last = None;
        // A port picked as free can be taken before a server binds it: retry.
        for _ in 0..3 {
            match Self::try_start(&binary, security).await {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts"))
    }

    async fn try_start(
        binary: &Path,
        security: Option<&NatsSecurity>,
    ) -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new()
            .prefix("tessera-nats-cluster-")
            .tempdir()?;
        let ports = free_ports(3 * CLUSTER_SIZE)?;
        let (extra, secure) = match security {
            Some(s) => {
                let (conf, files) = write_security(s, dir.path())?;
                (conf, Some(files))
            }
            None => (String::new(), None),
        };
        let cluster_name = format!("tessera_{}", ports[0]);
        let route_ports = &ports[2 * CLUSTER_SIZE..];
        let mut cluster = Self {
            servers: Vec::new(),
            dir,
            secure,
        };
        for i in 0..CLUSTER_SIZE {
            let server = Server {
                service: None,
                name: format!("{cluster_name}_s{i}"),
                port: ports[i],
                monitor_port: ports[CLUSTER_SIZE + i],
            };
            let conf = cluster.server_conf(&server, i, &cluster_name, route_ports, &extra);
            std::fs::write(cluster.conf_path(i), conf)?;
            cluster.servers.push(server);
        }
        for i in 0..CLUSTER_SIZE {
            cluster.spawn(binary, i)?;
        }
        for i in 0..CLUSTER_SIZE {
            cluster.wait_started(i).await?;
        }
        cluster.wait_healthy(Duration::from_secs(30)).await?;
        Ok(cluster)
    }

    fn server_conf(
        &self,
        server: &Server,
        i: usize,
        cluster_name: &str,
        route_ports: &[u16],
        extra: &str,
    ) -> String {
        let route_pw = format!("route-{cluster_name}");
        let tls = self.secure.as_ref().and_then(|s| s.tls.as_ref());
        // Routes authenticate with their own credential when the cluster is locked down.
        let auth = if self.secure.is_some() {
            format!("route:{route_pw}@")
        } else {
            String::new()
        };
        let routes: Vec<String> = route_ports
            .iter()
            .map(|p| quote(&format!("nats-route://{auth}127.0.0.1:{p}")))
            .collect();
        let mut cluster = format!(
            "cluster {{\n  name: {cluster_name}\n  listen: 127.0.0.1:{}\n  routes: [ {} ]\n",
            route_ports[i],
            routes.join(", ")
        );
        if self.secure.is_some() {
            cluster.push_str(&format!(
                "  authorization {{ user: route, password: {} }}\n",
                quote(&route_pw)
            ));
        }
        if let Some(tls) = tls {
            cluster.push_str(&tls_block("tls", tls, true));
        }
        cluster.push_str("}\n");
        format!(
            "listen: 127.0.0.1:{}\nhttp: 127.0.0.1:{}\nserver_name: {}\njetstream {{\n  store_dir: {}\n}}\n{cluster}{extra}",
            server.port,
            server.monitor_port,
            server.name,
            quote_path(&self.dir.path().join(format!("store{i}"))),
        )
    }

    fn conf_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("s{i}.conf"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("s{i}.log"))
    }

    fn spawn(&mut self, binary: &Path, i: usize) -> Result<(), TestkitError> {
        let mut cmd = Command::new(binary);
        cmd.arg("-c").arg(self.conf_path(i));
        let service = Service::spawn(
            &format!("nats-server {}", self.servers[i].name),
            cmd,
            &self.log_path(i),
        )?;
        self.servers[i].service = Some(service);
        Ok(())
    }

    /// Waits until server `i` answers with JetStream enabled (not yet clustered).
    async fn wait_started(&mut self, i: usize) -> Result<(), TestkitError> {
        let health = format!(
            "http://127.0.0.1:{}/healthz?js-enabled-only=true",
            self.servers[i].monitor_port
        );
        let service = self.servers[i]
            .service
            .as_mut()
            .expect("spawned before waiting");
        wait_ready(service, 20, || http_ok(&health, |_| true)).await
    }

    /// The client URLs of all servers, comma-separated (the seeds a client is given).
    pub fn urls(&self) -> String {
        (0..CLUSTER_SIZE)
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Server `i`'s client URL: `nats://` or, with TLS, `tls://127.0.0.1:<port>`.
    pub fn url(&self, i: usize) -> String {
        let tls = self.secure.as_ref().is_some_and(|s| s.tls.is_some());
        let scheme = if tls { "tls" } else { "nats" };
        format!("{scheme}://127.0.0.1:{}", self.servers[i].port)
    }

    /// Server `i`'s `server_name` (what the monitoring endpoints call it).
    pub fn server_name(&self, i: usize) -> &str {
        &self.servers[i].name
    }

    /// Server `i`'s monitoring port (plain HTTP on loopback).
    pub fn monitor_port(&self, i: usize) -> u16 {
        self.servers[i].monitor_port
    }

    /// Whether server `i` runs (was not killed).
    pub fn is_running(&self, i: usize) -> bool {
        self.servers[i].service.is_some()
    }

    /// The file (mode 0600) holding the password of `user`, on a secured cluster.
    pub fn password_file(&self, user: &str) -> Option<&Path> {
        self.secure.as_ref().and_then(|s| s.password_file(user))
    }

    /// Server `i`'s log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// Kills server `i` (SIGKILL), keeping its ports and store for [`NatsCluster::restart`].
    pub fn kill(&mut self, i: usize) {
        if let Some(mut s) = self.servers[i].service.take() {
            s.kill();
        }
    }

    /// Starts server `i` again on the same ports with the same store, and waits
    /// until it answers (call [`NatsCluster::wait_healthy`] for it to catch up).
    pub async fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.kill(i);
        let binary = tools::find("nats-server")?;
        self.spawn(&binary, i)?;
        self.wait_started(i).await
    }

    /// Waits until every running server answers `/healthz` (JetStream current),
    /// names the same running JetStream meta leader, which counts the others as
    /// current followers, and knows a running leader
    /// for every replicated stream it holds (a restarted server can trigger
    /// elections after `/healthz` is fine).
    pub async fn wait_healthy(&mut self, timeout: Duration) -> Result<(), TestkitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            for s in &mut self.servers {
                if let Some(service) = s.service.as_mut() {
                    service.check_running()?;
                }
            }
            if self.healthy().await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.not_ready("became healthy", timeout));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn healthy(&self) -> bool {
        let mut leaders = Vec::new();
        for i in self.running() {
            let port = self.servers[i].monitor_port;
            if !http_ok(&format!("http://127.0.0.1:{port}/healthz"), |_| true).await {
                return false;
            }
            let Some(jsz) = self.monitor(i, STREAMS_JSZ).await else {
                return false;
            };
            let leader = jsz["meta_cluster"]["leader"]
                .as_str()
                .and_then(|name| self.index_of(name));
            match leader {
                Some(l) if self.is_running(l) => leaders.push(l),
                _ => return false,
            }
            if leader == Some(i) && !self.followers_current(&jsz, i) {
                return false;
            }
            let led = |name: &str| self.index_of(name).is_some_and(|l| self.is_running(l));
            if !stream_leaders_in(&jsz).iter().all(|l| l.is_some_and(led)) {
                return false;
            }
        }
        leaders.windows(2).all(|w| w[0] == w[1])
    }

    /// Whether the meta leader `leader` (its `/jsz` answer) counts every other
    /// running server as a current follower.
    fn followers_current(&self, jsz: &Value, leader: usize) -> bool {
        let followers = jsz["meta_cluster"]["replicas"].as_array();
        self.running()
            .into_iter()
            .filter(|i| *i != leader)
            .all(|i| {
                followers.into_iter().flatten().any(|r| {
                    r["name"].as_str() == Some(self.server_name(i)) && r["current"] == true
                })
            })
    }

    /// The running server that leads the JetStream meta group, as it says itself.
    pub async fn meta_leader(&self) -> Option<usize> {
        for i in self.running() {
            let jsz = self.monitor(i, "jsz").await?;
            if jsz["meta_cluster"]["leader"].as_str() == Some(self.server_name(i)) {
                return Some(i);
            }
        }
        None
    }

    /// The running server that leads `stream` (in any account), as it says itself.
    pub async fn stream_leader(&self, stream: &str) -> Option<usize> {
        for i in self.running() {
            let Some(jsz) = self.monitor(i, STREAMS_JSZ).await else {
                continue;
            };
            if stream_leader_in(&jsz, stream) == Some(self.server_name(i)) {
                return Some(i);
            }
        }
        None
    }

    /// Waits until a running server other than `except` leads `stream`.
    pub async fn wait_stream_leader(
        &self,
        stream: &str,
        except: Option<usize>,
        timeout: Duration,
    ) -> Result<usize, TestkitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.stream_leader(stream).await {
                Some(l) if Some(l) != except => return Ok(l),
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.not_ready(&format!("elected a leader for {stream}"), timeout));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn running(&self) -> Vec<usize> {
        (0..CLUSTER_SIZE).filter(|i| self.is_running(*i)).collect()
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.servers.iter().position(|s| s.name == name)
    }

    async fn monitor(&self, i: usize, path: &str) -> Option<Value> {
        get_json(self.servers[i].monitor_port, path).await
    }

    fn not_ready(&self, what: &str, timeout: Duration) -> TestkitError {
        let log = (0..CLUSTER_SIZE)
            .map(|i| {
                let text = self.log(i);
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                format!("--- {}:\n{tail}", self.server_name(i))
            })
            .collect::<Vec<_>>()
            .join("\n");
        TestkitError::NotReady {
            name: format!("nats cluster ({what})"),
            secs: timeout.as_secs(),
            log,
        }
    }
}
