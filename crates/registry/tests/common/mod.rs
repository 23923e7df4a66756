//! Shared test helpers: a Consul per test, a unique KV prefix, timeouts.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use tessera_registry::{ConsulClient, ConsulTls, Registry, RegistryConfig, SessionBehavior};
use tessera_testkit::wait::{self, wait_for};
use tessera_testkit::Consul;
use tessera_types::NodeId;

#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::ids::node_id as node;

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tessera_registry=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A fresh dev agent that can hold sessions. The testkit waits for a leader;
/// sessions also need the agent's own node in the catalog, which comes a moment
/// later ("Missing node registration" until then), so wait for that too.
pub async fn consul() -> Consul {
    init_tracing();
    let consul = within(60, Consul::start()).await.expect("consul starts");
    let c = client(&consul);
    let c = &c;
    let usable = wait_for(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async move {
            c.session_create("probe", Duration::from_secs(10), SessionBehavior::Delete)
                .await
                .ok()
        },
    )
    .await
    .expect("consul holds sessions within 20 s");
    c.session_destroy(&usable).await.unwrap();
    consul
}

/// A KV prefix no other test uses.
pub fn prefix(test: &str) -> String {
    format!("test-{}", tessera_testkit::ids::unique(test))
}

pub fn client(consul: &Consul) -> ConsulClient {
    ConsulClient::new(
        &consul.http_addr(),
        None,
        &ConsulTls::default(),
        Duration::from_secs(5),
    )
    .unwrap()
}

pub fn config(consul: &Consul, prefix: &str, name: &str, ttl: Duration) -> RegistryConfig {
    config_at(&consul.http_addr(), prefix, name, ttl)
}

pub fn config_at(addr: &str, prefix: &str, name: &str, ttl: Duration) -> RegistryConfig {
    let mut c = RegistryConfig::new(addr, prefix, node(name));
    c.ttl = ttl;
    c.request_timeout = Duration::from_secs(2);
    c
}

pub async fn start(consul: &Consul, prefix: &str, name: &str, ttl: Duration) -> Registry {
    within(15, Registry::start(config(consul, prefix, name, ttl)))
        .await
        .expect("registry starts")
}

/// Runs `fut` under a timeout of `secs`, panicking with a clear message.
pub async fn within<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    wait::within(Duration::from_secs(secs), "registry test step", fut).await
}

pub fn ids(names: &[&str]) -> std::collections::BTreeSet<NodeId> {
    names.iter().map(|n| node(n)).collect()
}

/// A TCP forwarder to Consul that can be cut (open connections dropped, new
/// ones refused) and restored on the same address: Consul "going away and
/// coming back" without restarting it.
#[derive(Debug)]
pub struct Proxy {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(consul: &Consul) -> Proxy {
        let upstream = consul.http_addr().trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = tokio::sync::watch::channel(true);
        let rx = up.subscribe();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut rx = rx.clone();
                if !*rx.borrow_and_update() {
                    continue; // dropped: the client sees the connection close
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { addr, up, task }
    }

    pub fn http_addr(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
