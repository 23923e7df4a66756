//! Pauses between retries: capped exponential backoff with jitter, computed by
//! [`backon`], so the node, the client and the registry all pace their retries
//! the same way. Only the delays live here (no I/O, no runtime): a plain
//! "retry until success or a final error" hands [`jittered`] to
//! `backon::Retryable::retry`; a long-running loop that only backs off between
//! failures (a watch that reconnects) draws its pauses from [`Backoff`].

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Pauses doubling from `first` up to `max`, without a limit on their number.
///
/// backon's jitter adds up to one step on top of each step, so the steps here
/// are half of `first`..`max`: pause `n` lies between half and all of
/// `first × 2ⁿ⁻¹`, and never above `max`. Callers started together (nodes
/// after an outage) spread out instead of retrying in lockstep.
pub fn jittered(first: Duration, max: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(first / 2)
        .with_max_delay(max / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
}

/// The pauses of [`jittered`] for a loop that retries on its own: take
/// [`Backoff::next_delay`] after each failure and [`Backoff::reset`] after a
/// success.
#[derive(Debug)]
pub struct Backoff {
    policy: ExponentialBuilder,
    max: Duration,
    delays: <ExponentialBuilder as BackoffBuilder>::Backoff,
}

impl Backoff {
    /// Pauses from `first` up to `max` (see [`jittered`]).
    pub fn new(first: Duration, max: Duration) -> Self {
        let policy = jittered(first, max);
        Self {
            policy,
            max,
            delays: policy.build(),
        }
    }

    /// The pause after the next failure: longer each time, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        // `jittered` sets no limit on the number of pauses.
        self.delays.next().unwrap_or(self.max)
    }

    /// Starts again from the first, shortest pause.
    pub fn reset(&mut self) {
        self.delays = self.policy.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(5);

    #[test]
    fn pauses_grow_stay_capped_and_never_end() {
        let pauses: Vec<Duration> = jittered(FIRST, MAX).build().take(200).collect();
        assert_eq!(pauses.len(), 200);
        assert!(pauses[0] >= FIRST / 2 && pauses[0] <= FIRST, "{pauses:?}");
        assert!(
            pauses[2] >= FIRST * 2 && pauses[2] <= FIRST * 4,
            "{pauses:?}"
        );
        for p in &pauses[10..] {
            assert!(*p >= MAX / 2 && *p <= MAX, "{p:?}");
        }
        assert!(pauses.iter().all(|p| *p <= MAX));
    }

    #[test]
    fn pauses_are_jittered() {
        let a: Vec<Duration> = jittered(FIRST, MAX).build().take(20).collect();
        let b: Vec<Duration> = jittered(FIRST, MAX).build().take(20).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn reset_starts_again_from_the_first_pause() {
        let mut b = Backoff::new(FIRST, MAX);
        for _ in 0..10 {
            b.next_delay();
        }
        assert!(b.next_delay() >= MAX / 2);
        b.reset();
        assert!(b.next_delay() <= FIRST);
    }
}
