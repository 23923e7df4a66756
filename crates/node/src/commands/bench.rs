//! `tessera bench`: signs `-n` random messages with `-c` requests in flight,
//! verifies every signature locally (k256 / ed25519-dalek, through the SDK's
//! `verify`), prints progress to stderr while it runs, then the summary line,
//! the latency percentiles and a histogram. With `--metrics`, it also reads
//! the nodes' `/metrics` before and after and prints their CPU per signature
//! and the mean time of each phase of a request (`scrape.rs`). Exits non-zero if a request failed
//! or a signature did not verify.
//!
//! The wallet's public key comes from the keygen bench runs first, or from
//! `--public-key` with `--wallet`: a client cannot look a wallet's keys up (the
//! SDK has no such call, and the reference NATS permissions keep clients out
//! of the nodes' request ledger), and a repeated keygen is refused.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rand_core::{OsRng, RngCore};
use tessera_client::{KeyType, SignRequest};

use crate::cli::BenchArgs;
use crate::commands::client_cmds::{check, connect, create_wallet, random_id, waited};
use crate::commands::latency::{percentile, print_histogram};
use crate::commands::scrape::{self, NodeFigures};

/// What finished so far, shared by the request tasks and the progress printer.
#[derive(Default)]
struct Counters {
    done: AtomicUsize,
    failed: AtomicUsize,
    invalid: AtomicUsize,
}

/// What one request ended with.
enum Outcome {
    /// Signed, and the signature verified (`true`) or not.
    Signed {
        latency: Duration,
        valid: bool,
    },
    Failed(anyhow::Error),
}

/// One progress line: `bench: 40/100 (40%), 12.5 signatures/s, 0 failed, 0 invalid`.
fn progress_line(
    done: usize,
    total: usize,
    failed: usize,
    invalid: usize,
    elapsed: Duration,
) -> String {
    let rate = (done - failed.min(done)) as f64 / elapsed.as_secs_f64().max(1e-9);
    format!(
        "bench: {done}/{total} ({}%), {rate:.1} signatures/s, {failed} failed, {invalid} invalid",
        done * 100 / total.max(1)
    )
}

/// The wallet and the public key of `key_type` every signature must verify under.
async fn wallet_key(
    args: &BenchArgs,
    client: &tessera_client::Client,
    key_type: KeyType,
) -> anyhow::Result<(String, Vec<u8>)> {
    if let Some(w) = &args.wallet {
        let hex_key = args
            .public_key
            .as_deref()
            .ok_or_else(|| anyhow!("--wallet needs --public-key"))?;
        let key = hex::decode(hex_key).context("--public-key is not hex")?;
        return Ok((w.clone(), key));
    }
    let w = random_id("bench");
    let t = Instant::now();
    let r = create_wallet(client, &w, args.client.timeout).await?;
    println!(
        "keygen (both curves): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let key = match key_type {
        KeyType::Secp256k1 => r.ecdsa_public_key_sec1().map(|p| p.to_vec()),
        KeyType::Ed25519 => r.eddsa_public_key().map(|p| p.to_vec()),
    }
    .ok_or_else(|| anyhow!("the keygen result has no {key_type} key"))?;
    Ok((w, key))
}

/// Every node's figures, in the order of `--metrics`.
async fn scrape_all(http: &reqwest::Client, urls: &[String]) -> anyhow::Result<Vec<NodeFigures>> {
    let mut out = Vec::with_capacity(urls.len());
    for url in urls {
        out.push(scrape::scrape(http, url).await?);
    }
    Ok(out)
}

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if args.requests == 0 || args.concurrency == 0 {
        bail!("-n and -c must be at least 1");
    }
    let client = connect(&args.client).await?;
    let key_type = KeyType::from(args.key_type);
    let (wallet, master) = wallet_key(args, &client, key_type).await?;
    let timeout = args.client.timeout;
    let http = reqwest::Client::new();
    let before = scrape_all(&http, &args.metrics).await?;
    let counters = Arc::new(Counters::default());
    let sem = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let started = Instant::now();
    let progress = (!args.progress.is_zero()).then(|| {
        let counters = counters.clone();
        let (every, total) = (args.progress, args.requests);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                let line = progress_line(
                    counters.done.load(Ordering::Relaxed),
                    total,
                    counters.failed.load(Ordering::Relaxed),
                    counters.invalid.load(Ordering::Relaxed),
                    started.elapsed(),
                );
                eprintln!("{line}");
            }
        })
    });
    let mut tasks = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        let permit = sem.clone().acquire_owned().await?;
        let (client, wallet, master, counters) = (
            client.clone(),
            wallet.clone(),
            master.clone(),
            counters.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tx = vec![0u8; 32];
            OsRng.fill_bytes(&mut tx);
            let request = SignRequest {
                key_type,
                wallet_id: wallet,
                tx_id: random_id("bench-tx"),
                tx: tx.clone(),
                network_internal_code: "bench".into(),
                derivation_path: None,
                session: None,
            };
            let t = Instant::now();
            let out = client.sign(request).await;
            let latency = t.elapsed();
            drop(permit);
            let outcome = match out
                .map_err(|e| waited(e, timeout))
                .and_then(|r| Ok(r.into_result()?))
            {
                // A malformed signature is an invalid one, not a failed request.
                Ok(result) => Outcome::Signed {
                    latency,
                    valid: check(key_type, &master, None, &[], &tx, &result).unwrap_or(false),
                },
                Err(e) => Outcome::Failed(e),
            };
            match &outcome {
                Outcome::Signed { valid: false, .. } => {
                    counters.invalid.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Failed(_) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Signed { .. } => {}
            }
            counters.done.fetch_add(1, Ordering::Relaxed);
            outcome
        }));
    }
    let mut latencies = Vec::new();
    let (mut failed, mut bad) = (0usize, 0usize);
    for t in tasks {
        match t.await? {
            Outcome::Signed { latency, valid } => {
                latencies.push(latency);
                if !valid {
                    bad += 1;
                    eprintln!("signature did NOT verify under the wallet's {key_type} key");
                }
            }
            Outcome::Failed(e) => {
                failed += 1;
                eprintln!("request failed: {}", crate::render_error(&e));
            }
        }
    }
    let total = started.elapsed();
    if let Some(p) = progress {
        p.abort();
    }
    eprintln!(
        "{}",
        progress_line(args.requests, args.requests, failed, bad, total)
    );
    latencies.sort();
    if latencies.is_empty() {
        bail!("every request failed");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // This line's shape is kept: scripts parse it.
    println!(
        "{key_type}: {} requests at concurrency {}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {:.1} signatures/s; {} failed, {} did not verify",
        args.requests,
        args.concurrency,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        latencies.len() as f64 / total.as_secs_f64(),
        failed,
        bad,
    );
    println!(
        "verified: {} of {} signatures VALID ({})",
        latencies.len() - bad,
        latencies.len(),
        if key_type == KeyType::Secp256k1 {
            "k256"
        } else {
            "ed25519-dalek"
        }
    );
    if !args.metrics.is_empty() {
        let after = scrape_all(&http, &args.metrics).await?;
        let deltas: Vec<NodeFigures> = before.iter().zip(&after).map(|(b, a)| b.delta(a)).collect();
        for line in scrape::report(&deltas, latencies.len()) {
            println!("{line}");
        }
    }
    let mut stdout = std::io::stdout().lock();
    print_histogram(&latencies, &mut stdout)?;
    stdout.flush()?;
    if failed > 0 || bad > 0 {
        bail!("{failed} requests failed, {bad} signatures did not verify");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_count_done_rate_and_errors() {
        assert_eq!(
            progress_line(40, 100, 2, 1, Duration::from_secs(2)),
            "bench: 40/100 (40%), 19.0 signatures/s, 2 failed, 1 invalid"
        );
        assert_eq!(
            progress_line(0, 100, 0, 0, Duration::ZERO),
            "bench: 0/100 (0%), 0.0 signatures/s, 0 failed, 0 invalid"
        );
    }
}
