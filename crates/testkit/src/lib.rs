//! Test harness: real `nats-server` (JetStream on) and a real Consul agent on free
//! loopback ports, each with its own temporary directory, stopped and cleaned up on
//! drop. Integration tests use these instead of mocks.
//!
//! nats-server runs open ([`Nats::start`]), locked down with the repository's
//! reference permissions (`deploy/nats`), per-role users and TLS
//! ([`Nats::start_secure`]), or as a three-server JetStream cluster ([`NatsCluster`]).
//!
//! Binaries are looked up in the project's `.tools/bin` (filled by
//! `scripts/install-tools.sh`, which `make setup` runs), then on `PATH`. A missing
//! binary fails with the command that installs it.
//!
//! Modules:
//! - [`tools`]: finding the binaries.
//! - [`certs`]: a private test CA issuing server and client certificates (PEM files).
//! - [`ports`]: free loopback ports.
//! - [`process`]: a child process killed on drop, with its log kept for errors.
//! - [`nats`]: [`Nats`], a JetStream-enabled nats-server.
//! - [`nats_security`]: [`NatsSecurity`]: TLS and users (node, client, tenant) of a
//!   locked-down server; password files.
//! - [`nats_perms`]: the reference permissions in `deploy/nats`: rendering the
//!   per-client and per-tenant blocks as its README documents.
//! - [`nats_cluster`]: [`NatsCluster`], three routed servers with clustered JetStream:
//!   kill and restart one, find a stream's leader, wait until healthy.
//! - `nats_monitor` (private): reading the monitoring endpoint's JSON.
//! - [`consul`]: [`Consul`], a single-node dev agent with a short session TTL floor.
//! - [`ids`]: node ids, generated identities, labels unique to a test run.
//! - [`signatures`]: checking signatures with `k256` and `ed25519-dalek`.
//! - [`wait`]: polling a condition with a deadline, and windows in which
//!   something must not happen (no fixed sleeps in tests).

pub mod certs;
pub mod consul;
pub mod ids;
pub mod nats;
pub mod nats_cluster;
mod nats_monitor;
pub mod nats_perms;
pub mod nats_security;
pub mod ports;
pub mod process;
pub mod signatures;
pub mod tools;
pub mod wait;

pub use certs::{CertFiles, TestCa};
pub use consul::Consul;
pub use nats::{Nats, NatsOptions};
pub use nats_cluster::NatsCluster;
pub use nats_security::{NatsRole, NatsSecret, NatsSecurity, NatsServerTls, NatsUser};

/// Why a test service could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error("{name} not found in .tools/bin or on PATH; install it with: {install}")]
    Missing { name: String, install: String },
    #[error("could not start {name}: {source}")]
    Spawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} did not become ready within {secs} s; its log:\n{log}")]
    NotReady {
        name: String,
        secs: u64,
        log: String,
    },
    #[error("{name} exited early ({status}); its log:\n{log}")]
    Exited {
        name: String,
        status: String,
        log: String,
    },
    #[error("test harness i/o: {0}")]
    Io(#[from] std::io::Error),
}
