//! Waiting in tests without sleeping a fixed time: poll a condition with a
//! deadline until it holds, or watch for a window in which something must
//! *not* happen.
//!
//! - [`wait_until`] / [`wait_for`]: an async check, polled until it holds (or
//!   gives a value); `false` / `None` once the deadline passed.
//! - [`poll_until`]: the same for a plain (synchronous) condition.
//! - [`holds_for`]: a condition that must stay true for a whole window (a
//!   counter that must not move, say).
//! - [`within`]: a future that must finish in time.
//! - [`still_pending`]: a future (a task, a receive) that must not finish
//!   within a window.
//!
//! Every check runs at least once, even with a zero deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The usual pause between two polls.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls the async `check` every `every` until it answers true: `true` then,
/// `false` once `within` has passed without that.
pub async fn wait_until<F, Fut>(within: Duration, every: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(within, every, || {
        let answer = check();
        async move { answer.await.then_some(()) }
    })
    .await
    .is_some()
}

/// Polls the async `check` every `every` until it gives a value, and returns
/// it; `None` once `within` has passed without one.
pub async fn wait_for<T, F, Fut>(within: Duration, every: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every.min(deadline - Instant::now())).await;
    }
}

/// Polls the plain `condition` every `every` until it holds: `true` then,
/// `false` once `within` has passed without that.
pub async fn poll_until(
    within: Duration,
    every: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    wait_until(within, every, || std::future::ready(condition())).await
}

/// Checks `condition` every `every` for the whole of `window`: `true` if it
/// held at every check, `false` as soon as it did not. For asserting that
/// something does *not* happen within a window.
pub async fn holds_for(
    window: Duration,
    every: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    // It breaks as soon as the negation holds; it holds for the window when
    // waiting for the negation times out.
    let broke = poll_until(window, every, || !condition()).await;
    !broke
}

/// Awaits `fut` for at most `limit`, panicking with `what` after that.
pub async fn within<F: std::future::IntoFuture>(limit: Duration, what: &str, fut: F) -> F::Output {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {limit:?}"))
}

/// Whether `fut` is still unfinished after `window`: a bounded wait for
/// something that must not happen (a task that must keep waiting, a message
/// that must not arrive). `fut` is only borrowed, so it can be awaited later.
pub async fn still_pending<F: Future + Unpin>(window: Duration, fut: &mut F) -> bool {
    tokio::time::timeout(window, fut).await.is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wait_for_returns_the_first_value_and_gives_up_at_the_deadline() {
        let mut n = 0;
        let got = wait_for(Duration::from_secs(1), POLL, || {
            n += 1;
            let v = (n == 3).then_some(n);
            async move { v }
        })
        .await;
        assert_eq!(got, Some(3));
        let started = Instant::now();
        assert!(!poll_until(Duration::from_millis(100), POLL, || false).await);
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(poll_until(Duration::ZERO, POLL, || true).await);
    }

    #[tokio::test(start_paused = true)]
    async fn holds_for_and_still_pending_watch_a_whole_window() {
        assert!(holds_for(Duration::from_millis(100), POLL, || true).await);
        let mut checks = 0;
        assert!(
            !holds_for(Duration::from_secs(10), POLL, || {
                checks += 1;
                checks < 3
            })
            .await
        );
        let mut never = Box::pin(std::future::pending::<()>());
        assert!(still_pending(Duration::from_millis(50), &mut never).await);
        let mut now = Box::pin(async {});
        assert!(!still_pending(Duration::from_millis(50), &mut now).await);
    }
}
