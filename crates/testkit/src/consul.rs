//! A single-node Consul dev agent on free loopback ports. Its `session_ttl_min` is
//! lowered to 1 s so readiness tests can use short TTLs.

use std::process::Command;

use tempfile::TempDir;

use crate::ports::free_ports;
use crate::process::{http_ok, wait_ready, Service};
use crate::{tools, TestkitError};

/// A running Consul agent; killed and its directory removed on drop.
#[derive(Debug)]
pub struct Consul {
    service: Option<Service>,
    // Held for its drop: the agent's log lives here.
    dir: TempDir,
    /// http, serf_lan, serf_wan, server.
    ports: [u16; 4],
    starts: usize,
}

impl Consul {
    /// Starts a dev agent and waits until it has elected itself leader.
    pub async fn start() -> Result<Self, TestkitError> {
        let mut last = None;
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("tessera-consul-")
                .tempdir()?;
            let p = free_ports(4)?;
            let mut consul = Self {
                service: None,
                dir,
                ports: [p[0], p[1], p[2], p[3]],
                starts: 0,
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
        let hcl = format!(
            "ports {{ http = {}, serf_lan = {}, serf_wan = {}, server = {}, dns = -1, grpc = -1, https = -1 }}\nsession_ttl_min = \"1s\"\n",
            p[0], p[1], p[2], p[3]
        );
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
        let leader = format!("http://127.0.0.1:{}/v1/status/leader", p[0]);
        // An empty leader is `""`; an elected one is `"127.0.0.1:<port>"`. Even
        // with a leader, sessions fail ("Missing node registration") until the
        // agent has registered itself: wait until one can be created.
        let base = format!("http://127.0.0.1:{}", p[0]);
        let usable =
            || async { http_ok(&leader, |b| b.len() > 2).await && session_works(&base).await };
        wait_ready(&mut service, 30, usable).await?;
        self.service = Some(service);
        Ok(())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
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

/// Creates and destroys a throwaway session: true when both work.
async fn session_works(base: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
    else {
        return false;
    };
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
