//! Test harness: real `nats-server` (JetStream on) and a real Consul agent on free
//! loopback ports, each with its own temporary directory, stopped and cleaned up on
//! drop. Integration tests use these instead of mocks.
//!
//! Binaries are looked up in the project's `.tools/bin` (filled by
//! `scripts/install-tools.sh`, which `make setup` runs), then on `PATH`. A missing
//! binary fails with the command that installs it.
//!
//! Modules:
//! - [`tools`]: finding the binaries.
//! - [`ports`]: free loopback ports.
//! - [`process`]: a child process killed on drop, with its log kept for errors.
//! - [`nats`]: [`Nats`], a JetStream-enabled nats-server.
//! - [`consul`]: [`Consul`], a single-node dev agent with a short session TTL floor.

pub mod consul;
pub mod nats;
pub mod ports;
pub mod process;
pub mod tools;

pub use consul::Consul;
pub use nats::{Nats, NatsOptions};

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
