//! Three nodes in one process over a real nats-server and Consul (started by the
//! testkit): keygen time and signing latency for both curves.
//!
//! `BENCH_ITERS` signings per curve (default 50), `BENCH_KEYGEN_RUNS` keygens per
//! curve (default 3), `BENCH_CONCURRENCY` for the throughput run (default 8).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{keygen_all, sign_with, Cluster};
use sha2::{Digest, Sha256};
use tessera_session::derive::DerivationPath;
use tessera_types::KeyType;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<34} n={:<4} p50 {:>10}  p99 {:>10}  max {:>10}",
        samples.len(),
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let iters = env("BENCH_ITERS", 50);
    let keygens = env("BENCH_KEYGEN_RUNS", 3);
    let concurrency = env("BENCH_CONCURRENCY", 8);
    let cluster = Cluster::start(3, Default::default()).await;
    let nodes: Vec<_> = cluster.nodes.iter().collect();
    let pair = [nodes[0], nodes[1]];
    println!("3 nodes, one process, real nats-server + consul on loopback; 2-of-3 keys (t=1)");
    println!("keygen: all 3 nodes; signing: node-a + node-b; wall time per operation\n");

    let digest: [u8; 32] = Sha256::digest(b"bench").into();
    let message = b"bench message for ed25519".to_vec();
    let root = DerivationPath::root();
    for (curve, key_type, msg) in [
        (
            "ECDSA secp256k1 (DKLs23)",
            KeyType::Secp256k1,
            digest.to_vec(),
        ),
        ("EdDSA ed25519 (FROST)", KeyType::Ed25519, message.clone()),
    ] {
        let mut times = Vec::new();
        for i in 0..keygens {
            let t = Instant::now();
            keygen_all(&nodes, &format!("bench-{i}"), key_type, 1).await;
            times.push(t.elapsed());
        }
        summary(&format!("{curve} keygen"), times);
        let mut times = Vec::new();
        for _ in 0..iters {
            let t = Instant::now();
            sign_with(&pair, "bench-0", key_type, &msg, &root).await;
            times.push(t.elapsed());
        }
        summary(&format!("{curve} sign"), times);
        let t = Instant::now();
        let mut done = 0;
        while done < iters {
            let batch = concurrency.min(iters - done);
            let jobs = (0..batch).map(|_| sign_with(&pair, "bench-0", key_type, &msg, &root));
            futures::future::join_all(jobs).await;
            done += batch;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{:<34} {iters} signatures at concurrency {concurrency}: {:.1} signatures/s\n",
            format!("{curve} throughput"),
            iters as f64 / secs
        );
    }
    cluster.stop().await;
}
