//! Prometheus metrics at `/metrics` on the health listener (text format).
//!
//! The crates record through the `metrics` facade (the request path in
//! `tessera_eventconsumer::metrics`, sessions and bans in
//! `tessera_runner::metrics`); this module installs the exporter once per
//! process, describes every metric, and at each scrape sets what is read, not
//! counted: peers ready, the Consul view's age, NATS connected, parties
//! banned, the build, and the process's CPU, memory and threads.
//!
//! Label values are bounded (kinds, phases, outcomes, pools, error codes);
//! never wallet, tx or session ids. Durations are histograms in seconds.

use std::sync::OnceLock;

use anyhow::Context;
use metrics::{describe_gauge, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use tessera_registry::Registry;
use tessera_runner::Node;
use tessera_transport::Transport;

pub const PEERS_READY: &str = "tessera_peers_ready";
pub const VIEW_AGE: &str = "tessera_consul_view_age_seconds";
pub const NATS_CONNECTED: &str = "tessera_nats_connected";
pub const BANNED: &str = "tessera_banned_parties";
pub const BUILD_INFO: &str = "tessera_build_info";
/// A gauge, not a counter: the facade's counters are integers, and the
/// process collector's `process_cpu_seconds_total` counts whole seconds,
/// too coarse for CPU per signature (`tessera bench --metrics`).
pub const PROCESS_CPU: &str = "tessera_process_cpu_seconds";

/// Latency buckets (seconds): an EdDSA signature takes milliseconds, a
/// keygen a second or more, a session deadline a minute.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The installed exporter and the process collector.
#[derive(Debug, Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

static INSTALLED: OnceLock<Metrics> = OnceLock::new();

/// Installs the exporter (once per process; later calls return the same).
pub fn install() -> anyhow::Result<Metrics> {
    if let Some(m) = INSTALLED.get() {
        return Ok(m.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let process = metrics_process::Collector::default();
    process.describe();
    tessera_eventconsumer::metrics::describe();
    tessera_runner::metrics::describe();
    describe();
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(INSTALLED
        .get_or_init(|| Metrics { handle, process })
        .clone())
}

fn describe() {
    describe_gauge!(
        PEERS_READY,
        "Nodes in the ready set this node reads from Consul (itself included)."
    );
    describe_gauge!(
        VIEW_AGE,
        "Seconds since Consul last answered this node's watch (the ready set's age)."
    );
    describe_gauge!(NATS_CONNECTED, "1 while this node's NATS connection is up.");
    describe_gauge!(
        BANNED,
        "Parties this node has banned now (`tessera bans list`)."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build.");
    describe_gauge!(
        PROCESS_CPU,
        "CPU time (user + system, all threads) this process has used since it started, in seconds, to the nanosecond the kernel counts; process_cpu_seconds_total is the same in whole seconds."
    );
}

/// This process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`).
#[cfg(target_os = "linux")]
fn process_cpu_seconds() -> Option<f64> {
    use rustix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Some(t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
}

#[cfg(not(target_os = "linux"))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

/// What a scrape reads live, once the node is wired.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    pub registry: &'a Registry,
    pub transport: &'a Transport,
    pub node: &'a Node,
}

impl Metrics {
    /// The scrape: what is read now, then every metric in the text format.
    pub fn render(&self, live: Option<Live<'_>>) -> String {
        self.process.collect();
        if let Some(cpu) = process_cpu_seconds() {
            gauge!(PROCESS_CPU).set(cpu);
        }
        if let Some(p) = live {
            gauge!(PEERS_READY).set(p.registry.ready_nodes().len() as f64);
            if let Some(age) = p.registry.view_age() {
                gauge!(VIEW_AGE).set(age.as_secs_f64());
            }
            gauge!(NATS_CONNECTED).set(if p.transport.is_connected() { 1.0 } else { 0.0 });
            gauge!(BANNED).set(p.node.banned().len() as f64);
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_eventconsumer::metrics as ec;
    use tessera_runner::metrics as runner;

    /// Every `tessera_*` metric the Grafana dashboard in deploy/ queries is
    /// one the node exports (histograms: `_bucket`, `_count`, `_sum`).
    #[test]
    fn the_dashboard_queries_only_exported_metrics() {
        let known = [
            ec::REQUESTS,
            ec::REQUEST_DURATION,
            ec::PHASE_DURATION,
            ec::REDELIVERIES,
            ec::PROPOSALS,
            ec::PERMITS_IN_USE,
            ec::CONSUMER_PENDING,
            ec::CONSUMER_ACK_PENDING,
            ec::CONSUMER_REDELIVERED,
            runner::SESSIONS_IN_FLIGHT,
            runner::SESSIONS,
            runner::BANS,
            PEERS_READY,
            VIEW_AGE,
            NATS_CONNECTED,
            BANNED,
            BUILD_INFO,
        ];
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/grafana/tessera-dashboard.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut queried = 0;
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !token.starts_with("tessera_") {
                continue;
            }
            let name = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| token.strip_suffix(s))
                .unwrap_or(token);
            assert!(
                known.contains(&name),
                "the dashboard queries {token}, which is not exported"
            );
            queried += 1;
        }
        assert!(queried >= known.len(), "{queried} queries");
        for name in known {
            assert!(text.contains(name), "no panel shows {name}");
        }
        assert!(dashboard["panels"].as_array().unwrap().len() >= 10);
    }
}
