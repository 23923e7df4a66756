//! Health endpoints for orchestrators, on `health.listen`:
//!
//! - `GET /healthz`: 200 `ok` while the process runs (liveness).
//! - `GET /readyz`: 200 only when NATS is connected, both request streams answer
//!   (`stream mpc-keygen`, `stream mpc-signing` name the ones that do not), the
//!   Consul view is fresh (Consul answered within one TTL) and at least t+1
//!   nodes are ready; else 503.
//!   Both answer with a short JSON body naming the checks that failed, e.g.
//!   `{"ready":false,"failed":["quorum"],"ready_nodes":1,"needed":2}`.
//!   It is 503 `starting` until the node is wired and `shutting_down` once a
//!   signal arrived, so a load balancer stops sending work first.
//!
//! - `GET /metrics`: Prometheus metrics in the text format (see [`crate::metrics`]).
//!
//! The decision is [`evaluate`], a pure function of the checks.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tessera_eventconsumer::StreamHealth;
use tessera_registry::Registry;
use tessera_runner::Node;
use tessera_transport::Transport;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What `/readyz` looks at, read at request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Running(Checks),
    ShuttingDown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    pub nats_connected: bool,
    /// Request streams that did not answer their last check.
    pub unavailable_streams: Vec<&'static str>,
    pub consul_fresh: bool,
    pub quorum: bool,
    pub ready_nodes: usize,
    pub needed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_nodes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed: Option<usize>,
}

/// The `/readyz` answer: 200 only when running and every check passes.
pub fn evaluate(phase: Phase) -> (StatusCode, Readiness) {
    let not_ready = |what: &str| Readiness {
        ready: false,
        failed: vec![what.to_string()],
        ready_nodes: None,
        needed: None,
    };
    let checks = match phase {
        Phase::Starting => return (StatusCode::SERVICE_UNAVAILABLE, not_ready("starting")),
        Phase::ShuttingDown => {
            return (StatusCode::SERVICE_UNAVAILABLE, not_ready("shutting_down"))
        }
        Phase::Running(c) => c,
    };
    let mut failed: Vec<String> = Vec::new();
    if !checks.nats_connected {
        failed.push("nats".into());
    } else {
        // While disconnected every stream looks unavailable: say only `nats`.
        failed.extend(
            checks
                .unavailable_streams
                .iter()
                .map(|s| format!("stream {s}")),
        );
    }
    failed.extend(
        [(checks.consul_fresh, "consul"), (checks.quorum, "quorum")]
            .into_iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, name)| name.to_string()),
    );
    let ready = failed.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Readiness {
            ready,
            failed,
            ready_nodes: Some(checks.ready_nodes),
            needed: Some(checks.needed),
        },
    )
}

/// The live handles `/readyz` reads.
#[derive(Debug, Clone)]
pub struct Probes {
    pub transport: Transport,
    pub streams: StreamHealth,
    pub registry: Registry,
    pub node: Node,
    pub threshold: u16,
}

impl Probes {
    fn checks(&self) -> Checks {
        Checks {
            nats_connected: self.transport.is_connected(),
            unavailable_streams: self.streams.unavailable(),
            consul_fresh: self.registry.is_fresh(self.registry.ttl()),
            quorum: self.registry.are_majority_ready(self.threshold),
            ready_nodes: self.registry.ready_nodes().len(),
            needed: usize::from(self.threshold) + 1,
        }
    }
}

#[derive(Debug, Default)]
struct HealthState {
    probes: OnceLock<Probes>,
    metrics: OnceLock<crate::metrics::Metrics>,
    shutting_down: AtomicBool,
}

impl HealthState {
    fn phase(&self) -> Phase {
        if self.shutting_down.load(Ordering::Acquire) {
            return Phase::ShuttingDown;
        }
        match self.probes.get() {
            Some(p) => Phase::Running(p.checks()),
            None => Phase::Starting,
        }
    }
}

/// The running HTTP server.
#[derive(Debug)]
pub struct HealthServer {
    state: Arc<HealthState>,
    addr: SocketAddr,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl HealthServer {
    /// Binds `addr` at once (a busy port fails start-up) and serves in the background.
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on health.listen {addr}"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(HealthState::default());
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(state.clone());
        let cancel = CancellationToken::new();
        let stop = cancel.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "health server failed");
            }
        });
        tracing::info!(%addr, "health endpoints listening (/healthz, /readyz, /metrics)");
        Ok(Self {
            state,
            addr,
            cancel,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on `/readyz` reports the real checks.
    pub fn set_probes(&self, probes: Probes) {
        let _ = self.state.probes.set(probes);
    }

    /// From now on `/metrics` serves these metrics (503 until then).
    pub fn set_metrics(&self, metrics: crate::metrics::Metrics) {
        let _ = self.state.metrics.set(metrics);
    }

    /// From now on `/readyz` answers 503 `shutting_down`.
    pub fn begin_shutdown(&self) {
        self.state.shutting_down.store(true, Ordering::Release);
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

async fn readyz(State(state): State<Arc<HealthState>>) -> (StatusCode, Json<Readiness>) {
    let (status, body) = evaluate(state.phase());
    (status, Json(body))
}

/// The Prometheus text format (version 0.0.4).
async fn metrics(State(state): State<Arc<HealthState>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(m) = state.metrics.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics not installed").into_response();
    };
    let live = state.probes.get().map(|p| crate::metrics::Live {
        registry: &p.registry,
        transport: &p.transport,
        node: &p.node,
    });
    let body = m.render(live);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(nats: bool, consul: bool, quorum: bool) -> Checks {
        Checks {
            nats_connected: nats,
            unavailable_streams: Vec::new(),
            consul_fresh: consul,
            quorum,
            ready_nodes: if quorum { 3 } else { 1 },
            needed: 2,
        }
    }

    #[test]
    fn ready_only_when_every_check_passes() {
        let (status, body) = evaluate(Phase::Running(checks(true, true, true)));
        assert_eq!(status, StatusCode::OK);
        assert!(body.ready && body.failed.is_empty());
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"ready":true,"ready_nodes":3,"needed":2}"#
        );
        for (c, failed) in [
            (checks(false, true, true), vec!["nats"]),
            (checks(true, false, true), vec!["consul"]),
            (checks(true, true, false), vec!["quorum"]),
            (
                checks(false, false, false),
                vec!["nats", "consul", "quorum"],
            ),
        ] {
            let (status, body) = evaluate(Phase::Running(c));
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(!body.ready);
            assert_eq!(body.failed, failed);
        }
        let mut c = checks(true, true, true);
        c.unavailable_streams = vec!["mpc-signing"];
        let (status, body) = evaluate(Phase::Running(c.clone()));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.failed, vec!["stream mpc-signing"]);
        c.nats_connected = false;
        assert_eq!(evaluate(Phase::Running(c)).1.failed, vec!["nats"]);
        let (_, body) = evaluate(Phase::Running(checks(true, true, false)));
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"ready":false,"failed":["quorum"],"ready_nodes":1,"needed":2}"#
        );
    }

    #[test]
    fn starting_and_shutting_down_are_not_ready() {
        for (phase, what) in [
            (Phase::Starting, "starting"),
            (Phase::ShuttingDown, "shutting_down"),
        ] {
            let (status, body) = evaluate(phase);
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body.failed, vec![what]);
        }
    }

    #[tokio::test]
    async fn serves_healthz_and_readyz_before_wiring() {
        let server = HealthServer::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr();
        let get = |path: &'static str| async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let live = get("/healthz").await;
        assert!(
            live.starts_with("HTTP/1.1 200") && live.ends_with("ok"),
            "{live}"
        );
        let ready = get("/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains(r#""failed":["starting"]"#), "{ready}");
        server.begin_shutdown();
        assert!(get("/readyz").await.contains("shutting_down"));
        server.stop().await;
    }
}
