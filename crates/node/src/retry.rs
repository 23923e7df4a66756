//! Waiting for a dependency at start-up: NATS or Consul unreachable is retried
//! with capped, jittered exponential backoff and one log line per attempt, not
//! an exit (which under Kubernetes would be a crash loop). Errors that waiting
//! cannot fix (a refused credential, an untrusted certificate) end at once.

use std::future::Future;
use std::time::Duration;

use backon::Retryable;
use tessera_types::backoff;

/// First pause after a failed attempt (at most; the jitter shortens it).
const FIRST: Duration = Duration::from_millis(200);
/// Longest pause between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `attempt` until it succeeds or fails for good (`transient` false),
/// pausing as [`backoff::jittered`] says: doubling from 200 ms, at most
/// [`MAX_DELAY`], jittered so nodes started together do not retry in lockstep.
/// Each transient failure is logged once with `what` and the next delay.
pub async fn until_up<T, E, F, Fut>(
    what: &str,
    transient: impl Fn(&E) -> bool,
    attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failed: u32 = 0;
    let v = attempt
        .retry(backoff::jittered(FIRST, MAX_DELAY))
        .when(transient)
        .notify(|e, wait| {
            failed = failed.saturating_add(1);
            tracing::warn!(
                attempt = failed,
                retry_in_ms = wait.as_millis() as u64,
                "{what} not reachable yet: {e}"
            );
        })
        .await?;
    if failed > 0 {
        tracing::info!(attempts = failed.saturating_add(1), "{what} reachable");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        use backon::BackoffBuilder;
        let delays: Vec<Duration> = backoff::jittered(FIRST, MAX_DELAY)
            .build()
            .take(40)
            .collect();
        assert!(delays[0] <= FIRST && delays[0] >= FIRST / 2);
        assert!(delays[2] >= Duration::from_millis(400));
        for d in &delays[8..] {
            assert!(*d <= MAX_DELAY && *d >= MAX_DELAY / 2, "{d:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_and_stops_at_a_final_one() {
        let mut calls = 0;
        let r: Result<u8, String> = until_up(
            "x",
            |e: &String| e == "down",
            || {
                calls += 1;
                let c = calls;
                async move {
                    match c {
                        1 | 2 => Err("down".to_string()),
                        _ => Ok(7),
                    }
                }
            },
        )
        .await;
        assert_eq!((r, calls), (Ok(7), 3));
        let mut calls = 0;
        let r: Result<u8, String> = until_up(
            "x",
            |e: &String| e == "down",
            || {
                calls += 1;
                async { Err("refused".to_string()) }
            },
        )
        .await;
        assert_eq!((r, calls), (Err("refused".to_string()), 1));
    }
}
