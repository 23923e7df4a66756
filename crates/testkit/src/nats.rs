//! A `nats-server` with JetStream, on free loopback ports, with its own store
//! directory. It can be killed and restarted on the same port and store, which the
//! failure tests use. [`Nats::start`] is open to anyone; [`Nats::start_secure`]
//! runs the repository's permissions with TLS and per-role users
//! (see [`crate::nats_security`]).

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::nats_security::{write_security, NatsSecurity, NatsServerTls, SecureFiles};
use crate::ports::free_ports;
use crate::process::{http_ok, wait_ready, Service};
use crate::{tools, TestkitError};

/// Settings for a test nats-server.
#[derive(Debug, Clone, Default)]
pub struct NatsOptions {
    /// The server's `max_payload` in bytes (nats-server's default is 1 MiB).
    pub max_payload: Option<usize>,
}

/// A running nats-server; killed and its directory removed on drop.
#[derive(Debug)]
pub struct Nats {
    service: Option<Service>,
    dir: TempDir,
    port: u16,
    monitor_port: u16,
    secure: Option<SecureFiles>,
}

impl Nats {
    /// Starts a server with default options.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_with(NatsOptions::default()).await
    }

    /// Starts a server and waits until JetStream answers its health check.
    pub async fn start_with(options: NatsOptions) -> Result<Self, TestkitError> {
        Self::start_inner(options, None).await
    }

    /// Starts a locked-down server: `deploy/nats/permissions.conf`, the users of
    /// `security` in one JetStream account, and TLS when `security.tls` is set.
    pub async fn start_secure(security: NatsSecurity) -> Result<Self, TestkitError> {
        Self::start_inner(NatsOptions::default(), Some(&security)).await
    }

    /// [`Nats::start_secure`] with other options.
    pub async fn start_secure_with(
        options: NatsOptions,
        security: NatsSecurity,
    ) -> Result<Self, TestkitError> {
        Self::start_inner(options, Some(&security)).await
    }

    async fn start_inner(
        options: NatsOptions,
        security: Option<&NatsSecurity>,
    ) -> Result<Self, TestkitError> {
        let binary = tools::find("nats-server")?;
        let mut last = None;
        // A port picked as free can be taken before the server binds it: retry.
        for _ in 0..3 {
            let dir = tempfile::Builder::new().prefix("tessera-nats-").tempdir()?;
            let ports = free_ports(2)?;
            let (extra, secure) = match security {
                Some(s) => {
                    let (conf, files) = write_security(s, dir.path())?;
                    (conf, Some(files))
                }
                None => (String::new(), None),
            };
            write_config(&dir, ports[0], ports[1], &options, &extra)?;
            let mut nats = Self {
                service: None,
                dir,
                port: ports[0],
                monitor_port: ports[1],
                secure,
            };
            match nats.spawn(&binary).await {
                Ok(()) => return Ok(nats),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts"))
    }

    /// `nats://127.0.0.1:<port>`, or `tls://127.0.0.1:<port>` when the server
    /// requires TLS (async-nats then insists on TLS from the first byte).
    pub fn url(&self) -> String {
        let scheme = if self.tls().is_some() { "tls" } else { "nats" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The server's TLS settings, when it has TLS.
    pub fn tls(&self) -> Option<&NatsServerTls> {
        self.secure.as_ref().and_then(|s| s.tls.as_ref())
    }

    /// The file (mode 0600) holding the password of `user`, on a secured server.
    pub fn password_file(&self, user: &str) -> Option<&Path> {
        self.secure.as_ref().and_then(|s| s.password_file(user))
    }

    /// The monitoring port (plain HTTP on loopback).
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL), keeping its port and JetStream store for [`Nats::restart`].
    pub fn kill(&mut self) {
        if let Some(mut s) = self.service.take() {
            s.kill();
        }
    }

    /// Starts the server again on the same port with the same JetStream store.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.kill();
        let binary = tools::find("nats-server")?;
        self.spawn(&binary).await
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }

    async fn spawn(&mut self, binary: &Path) -> Result<(), TestkitError> {
        let mut cmd = Command::new(binary);
        cmd.arg("-c").arg(self.dir.path().join("nats.conf"));
        let mut service = Service::spawn("nats-server", cmd, &self.dir.path().join("nats.log"))?;
        let health = format!(
            "http://127.0.0.1:{}/healthz?js-enabled-only=true",
            self.monitor_port
        );
        wait_ready(&mut service, 20, || http_ok(&health, |_| true)).await?;
        self.service = Some(service);
        Ok(())
    }
}

fn write_config(
    dir: &TempDir,
    port: u16,
    monitor_port: u16,
    options: &NatsOptions,
    extra: &str,
) -> std::io::Result<()> {
    let store = dir.path().join("jetstream");
    let mut conf = format!(
        "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor_port}\nserver_name: tessera_test_{port}\njetstream {{\n  store_dir: \"{}\"\n}}\n",
        store.display()
    );
    if let Some(max) = options.max_payload {
        conf.push_str(&format!("max_payload: {max}\n"));
    }
    conf.push_str(extra);
    std::fs::write(dir.path().join("nats.conf"), conf)
}
