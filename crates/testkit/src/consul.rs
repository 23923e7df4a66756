//! A single-node Consul dev agent on free loopback ports. Its `session_ttl_min` is
//! lowered to 1 s so readiness tests can use short TTLs.
//!
//! [`Consul::start`] serves plain HTTP. [`Consul::start_tls`] and
//! [`Consul::start_mtls`] serve HTTPS only (the plain port is off) with a server
//! certificate from a [`TestCa`]; `start_mtls` also requires a client certificate
//! signed by that CA (`verify_incoming_https`). The certificate files are copied
//! into the agent's own directory, so it can restart after the CA is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::certs::{CertFiles, TestCa};
use crate::ports::free_ports;
use crate::process::{wait_ready, Service};
use crate::{tools, TestkitError};

/// A running Consul agent; killed and its directory removed on drop.
#[derive(Debug)]
pub struct Consul {
    service: Option<Service>,
    // Held for its drop: the agent's log and certificate copies live here.
    dir: TempDir,
    /// http (https when TLS is on), serf_lan, serf_wan, server.
    ports: [u16; 4],
    starts: usize,
    tls: Option<Tls>,
}

/// The HTTPS settings, as files in the agent's directory.
#[derive(Debug, Clone)]
struct Tls {
    ca_file: PathBuf,
    server: CertFiles,
    /// The readiness probe's client certificate, when clients must present one.
    probe: Option<CertFiles>,
}

/// The certificates issued for an agent, before they are copied into its directory.
#[derive(Debug)]
struct Issued {
    ca_file: PathBuf,
    server: CertFiles,
    probe: Option<CertFiles>,
}

impl Consul {
    /// Starts a dev agent serving plain HTTP and waits until it has elected
    /// itself leader and can hold sessions.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_with(None).await
    }

    /// Starts a dev agent serving HTTPS only, with a server certificate from
    /// `ca` (for `127.0.0.1`, `localhost` and `server.dc1.consul`). Clients need
    /// not present a certificate.
    pub async fn start_tls(ca: &mut TestCa) -> Result<Self, TestkitError> {
        Self::start_with(Some(issue(ca, false)?)).await
    }

    /// Like [`Consul::start_tls`], but clients must present a certificate signed
    /// by `ca` (`verify_incoming_https = true`), e.g. one from `ca.client(..)`.
    pub async fn start_mtls(ca: &mut TestCa) -> Result<Self, TestkitError> {
        Self::start_with(Some(issue(ca, true)?)).await
    }

    async fn start_with(issued: Option<Issued>) -> Result<Self, TestkitError> {
        let mut last = None;
        // A port picked as free can be taken before the agent binds it: retry.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("tessera-consul-")
                .tempdir()?;
            let tls = issued
                .as_ref()
                .map(|i| copy_certs(i, dir.path()))
                .transpose()?;
            let p = free_ports(4)?;
            let mut consul = Self {
                service: None,
                dir,
                ports: [p[0], p[1], p[2], p[3]],
                starts: 0,
                tls,
            };
            match consul.spawn().await {
                Ok(()) => return Ok(consul),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts"))
    }

    async fn spawn(&mut self) -> Result<(), TestkitError> {
        let binary = tools::find("consul")?;
        let p = self.ports;
        let hcl = match &self.tls {
            None => format!(
                "ports {{ http = {}, serf_lan = {}, serf_wan = {}, server = {}, dns = -1, grpc = -1, https = -1 }}\nsession_ttl_min = \"1s\"\n",
                p[0], p[1], p[2], p[3]
            ),
            Some(tls) => format!(
                "ports {{ https = {}, serf_lan = {}, serf_wan = {}, server = {}, dns = -1, grpc = -1, http = -1 }}\n\
                 session_ttl_min = \"1s\"\n\
                 ca_file = {}\ncert_file = {}\nkey_file = {}\n\
                 verify_incoming_https = {}\nverify_outgoing = true\n",
                p[0],
                p[1],
                p[2],
                p[3],
                hcl_string(&tls.ca_file),
                hcl_string(&tls.server.cert),
                hcl_string(&tls.server.key),
                tls.probe.is_some()
            ),
        };
        let mut cmd = Command::new(&binary);
        cmd.args([
            "agent",
            "-dev",
            "-bind",
            "127.0.0.1",
            "-client",
            "127.0.0.1",
        ])
        .args(["-node", &format!("tessera-test-{}", p[0])])
        .arg("-hcl")
        .arg(hcl);
        let log = self.dir.path().join(format!("consul.{}.log", self.starts));
        self.starts += 1;
        let mut service = Service::spawn("consul", cmd, &log)?;
        let client = probe_client(self.tls.as_ref())?;
        let base = self.addr();
        let leader = format!("{base}/v1/status/leader");
        // An empty leader is `""`; an elected one is `"127.0.0.1:<port>"`. Even
        // with a leader, sessions fail ("Missing node registration") until the
        // agent has registered itself: wait until one can be created.
        let usable = || async {
            get_ok(&client, &leader, |b| b.len() > 2).await && session_works(&client, &base).await
        };
        wait_ready(&mut service, 30, usable).await?;
        self.service = Some(service);
        Ok(())
    }

    /// The API address: `http://` or `https://127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.ports[0])
    }

    /// `http://127.0.0.1:<port>`. Panics for an HTTPS agent (use [`Consul::https_addr`]).
    pub fn http_addr(&self) -> String {
        assert!(
            self.tls.is_none(),
            "this consul serves https only: use https_addr()"
        );
        self.addr()
    }

    /// `https://127.0.0.1:<port>`. Panics for a plain agent (use [`Consul::http_addr`]).
    pub fn https_addr(&self) -> String {
        assert!(
            self.tls.is_some(),
            "this consul serves plain http: use http_addr()"
        );
        self.addr()
    }

    /// True when clients must present a certificate ([`Consul::start_mtls`]).
    pub fn requires_client_cert(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.probe.is_some())
    }

    /// Whether the agent still knows session `id`: false once it expired or
    /// was destroyed. An agent that does not answer is an error.
    pub async fn session_exists(&self, id: &str) -> Result<bool, TestkitError> {
        let client = probe_client(self.tls.as_ref())?;
        let resp = client
            .get(format!("{}/v1/session/info/{id}", self.addr()))
            .send()
            .await
            .map_err(probe_err)?;
        // A list with the session, or an empty list (`null` on old agents).
        let body: serde_json::Value = resp.json().await.map_err(probe_err)?;
        Ok(body.as_array().is_some_and(|a| !a.is_empty()))
    }

    /// Kills the agent (SIGKILL): Consul becomes unreachable.
    pub fn kill(&mut self) {
        if let Some(mut s) = self.service.take() {
            s.kill();
        }
    }

    /// Starts the agent again on the same ports. A dev agent keeps nothing: its
    /// sessions and keys are gone, as after losing a Consul cluster's state.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.kill();
        self.spawn().await
    }
}

/// A server certificate (and the probe's client certificate) from `ca`.
fn issue(ca: &mut TestCa, verify_incoming: bool) -> Result<Issued, TestkitError> {
    let server = ca.server("consul", &["server.dc1.consul"])?;
    let probe = if verify_incoming {
        Some(ca.client("testkit-probe")?)
    } else {
        None
    };
    Ok(Issued {
        ca_file: ca.ca_file().to_path_buf(),
        server,
        probe,
    })
}

/// Copies the certificate files into the agent's directory (keys stay 0600).
fn copy_certs(issued: &Issued, dir: &Path) -> Result<Tls, TestkitError> {
    let copy = |from: &Path, name: &str| -> Result<PathBuf, TestkitError> {
        let to = dir.join(name);
        std::fs::copy(from, &to)?;
        Ok(to)
    };
    let pair = |files: &CertFiles, name: &str| -> Result<CertFiles, TestkitError> {
        Ok(CertFiles {
            cert: copy(&files.cert, &format!("{name}.pem"))?,
            key: copy(&files.key, &format!("{name}-key.pem"))?,
        })
    };
    Ok(Tls {
        ca_file: copy(&issued.ca_file, "ca.pem")?,
        server: pair(&issued.server, "server")?,
        probe: issued
            .probe
            .as_ref()
            .map(|p| pair(p, "probe"))
            .transpose()?,
    })
}

/// A quoted HCL string (temporary paths hold no quotes or backslashes, but
/// escape them anyway).
fn hcl_string(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// The readiness probe's HTTP client: for HTTPS it trusts only the test CA and
/// presents the probe certificate when the agent requires one.
fn probe_client(tls: Option<&Tls>) -> Result<reqwest::Client, TestkitError> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(2));
    if let Some(tls) = tls {
        let ca = std::fs::read(&tls.ca_file)?;
        let ca = reqwest::Certificate::from_pem(&ca).map_err(probe_err)?;
        builder = builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca);
        if let Some(probe) = &tls.probe {
            let mut pem = std::fs::read(&probe.cert)?;
            pem.push(b'\n');
            pem.extend(std::fs::read(&probe.key)?);
            builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(probe_err)?);
        }
    }
    builder.build().map_err(probe_err)
}

fn probe_err(e: reqwest::Error) -> TestkitError {
    TestkitError::Io(std::io::Error::other(format!("consul probe client: {e}")))
}

/// One GET: true on a 2xx answer whose body satisfies `check`.
async fn get_ok(client: &reqwest::Client, url: &str, check: impl Fn(&str) -> bool) -> bool {
    match client.get(url).send().await {
        Ok(resp) if resp.status().is_success() => {
            resp.text().await.map(|b| check(&b)).unwrap_or(false)
        }
        _ => false,
    }
}

/// Creates and destroys a throwaway session: true when both work.
async fn session_works(client: &reqwest::Client, base: &str) -> bool {
    let created = client
        .put(format!("{base}/v1/session/create"))
        .body(r#"{"TTL":"10s","Name":"testkit-probe"}"#)
        .send()
        .await;
    let Ok(resp) = created else { return false };
    if !resp.status().is_success() {
        return false;
    }
    let Ok(body) = resp.json::<serde_json::Value>().await else {
        return false;
    };
    let Some(id) = body.get("ID").and_then(|v| v.as_str()) else {
        return false;
    };
    client
        .put(format!("{base}/v1/session/destroy/{id}"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}
