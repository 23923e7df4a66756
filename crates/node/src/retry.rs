//! Waiting for a dependency at start-up: NATS or Consul unreachable is retried
//! with capped, jittered exponential backoff and one log line per attempt, not
//! an exit (which under Kubernetes would be a crash loop). Errors that waiting
//! cannot fix (a refused credential, an untrusted certificate) end at once.

use std::future::Future;
use std::time::Duration;

use rand_core::{OsRng, RngCore};

/// First pause after a failed attempt.
const FIRST: Duration = Duration::from_millis(200);
/// Longest pause between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// The pause after failed attempt `attempt` (1-based): doubling from 200 ms,
/// at most [`MAX_DELAY`], each between 75 % and 100 % of its step so nodes
/// started together do not retry in lockstep.
pub fn delay(attempt: u32) -> Duration {
    let step = FIRST.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    let step = step.min(MAX_DELAY);
    let jitter = 0.75 + 0.25 * (f64::from(OsRng.next_u32()) / f64::from(u32::MAX));
    step.mul_f64(jitter)
}

/// Runs `attempt` until it succeeds or fails for good (`transient` false).
/// Each transient failure is logged once with `what` and the next delay.
pub async fn until_up<T, E, F, Fut>(
    what: &str,
    transient: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut n: u32 = 0;
    loop {
        n = n.saturating_add(1);
        match attempt().await {
            Ok(v) => {
                if n > 1 {
                    tracing::info!(attempts = n, "{what} reachable");
                }
                return Ok(v);
            }
            Err(e) if transient(&e) => {
                let wait = delay(n);
                tracing::warn!(
                    attempt = n,
                    retry_in_ms = wait.as_millis() as u64,
                    "{what} not reachable yet: {e}"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        assert!(delay(1) <= FIRST && delay(1) >= FIRST.mul_f64(0.75));
        assert!(delay(3) >= Duration::from_millis(600));
        for n in [8, 20, u32::MAX] {
            assert!(delay(n) <= MAX_DELAY && delay(n) >= MAX_DELAY.mul_f64(0.75));
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
