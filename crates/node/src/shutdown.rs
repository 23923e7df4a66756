//! Signals and the shutdown order.
//!
//! On SIGTERM or SIGINT, in this order, each step logged and bounded:
//! 1. `/readyz` turns 503, so load balancers and probes stop sending work;
//! 2. the consumer stops taking requests and waits for those in flight, up to
//!    `timeouts.shutdown_grace`;
//! 3. the node shuts down: sessions still running abort and tell their peers,
//!    then the Consul session is destroyed so peers see this node leave at once;
//! 4. the NATS connection drains (pending publishes, such as results, are flushed);
//! 5. the health server stops.

use std::future::Future;
use std::time::Duration;

use tessera_eventconsumer::EventConsumer;
use tessera_runner::Node;
use tessera_transport::Transport;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::health::HealthServer;

/// Bound on the node's shutdown (aborting sessions, leaving Consul).
const NODE_SHUTDOWN_LIMIT: Duration = Duration::from_secs(15);
/// Bound on draining NATS.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// SIGTERM and SIGINT handlers, installed at start-up so a signal during
/// start-up is not lost.
#[derive(Debug)]
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next signal; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// What runs while the node serves.
#[derive(Debug)]
pub struct Running {
    pub consumer: EventConsumer,
    pub node: Node,
    pub transport: Transport,
    pub health: HealthServer,
    pub grace: Duration,
}

async fn step(name: &'static str, limit: Duration, fut: impl Future<Output = ()>) {
    tracing::info!(step = name, "shutdown step started");
    match tokio::time::timeout(limit, fut).await {
        Ok(()) => tracing::info!(step = name, "shutdown step done"),
        Err(_) => tracing::warn!(
            step = name,
            limit_ms = limit.as_millis() as u64,
            "shutdown step did not finish in time; going on"
        ),
    }
}

/// Stops everything in order (see the module docs).
pub async fn shutdown(running: Running) {
    let Running {
        consumer,
        node,
        transport,
        health,
        grace,
    } = running;
    health.begin_shutdown();
    tracing::info!("readiness withdrawn from /readyz");
    step("stop taking requests", grace, consumer.shutdown()).await;
    step("node shutdown", NODE_SHUTDOWN_LIMIT, node.shutdown()).await;
    step("drain nats", DRAIN_LIMIT, async {
        let client = transport.client();
        if let Err(e) = client.drain().await {
            tracing::warn!(error = %e, "nats drain failed");
            return;
        }
        // `drain` only queues the request. A flush queued behind it resolves
        // (with an error) once the connection has flushed and closed.
        let _ = client.flush().await;
    })
    .await;
    health.stop().await;
    tracing::info!("health server stopped; shutdown complete");
}
