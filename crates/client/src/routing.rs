//! Matching results to waiters: the state a pump task owns (no I/O here).
//!
//! A waiter registers by id (wallet id for keygen, tx id for signing) before
//! its request is published. A result for an id nobody waits for is kept,
//! bounded in number and age, so a later `await_*` call still gets it: the
//! caller may have timed out just before the result arrived, or may await a
//! request some other process published.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Results nobody has asked for yet, oldest dropped first.
#[derive(Debug)]
pub(crate) struct Unclaimed<E> {
    entries: HashMap<String, (u64, Instant, E)>,
    /// Insertion number -> id; insertion order is also age order.
    order: BTreeMap<u64, String>,
    next: u64,
    capacity: usize,
    ttl: Duration,
}

impl<E> Unclaimed<E> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// Keeps `event` for `id`, replacing an older one for the same id.
    pub fn insert(&mut self, id: String, event: E, now: Instant) {
        if let Some((seq, _, _)) = self.entries.remove(&id) {
            self.order.remove(&seq);
        }
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, id.clone());
        self.entries.insert(id, (seq, now, event));
        while self.entries.len() > self.capacity {
            self.pop_oldest();
        }
    }

    /// Removes and returns the result for `id`, unless it has expired.
    pub fn take(&mut self, id: &str, now: Instant) -> Option<E> {
        let (seq, at, event) = self.entries.remove(id)?;
        self.order.remove(&seq);
        (now.saturating_duration_since(at) <= self.ttl).then_some(event)
    }

    /// Drops expired results.
    pub fn prune(&mut self, now: Instant) {
        while let Some((_, id)) = self.order.first_key_value() {
            let expired = self
                .entries
                .get(id)
                .is_none_or(|(_, at, _)| now.saturating_duration_since(*at) > self.ttl);
            if !expired {
                break;
            }
            self.pop_oldest();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn pop_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_first() {
            self.entries.remove(&id);
        }
    }
}

/// Waiters by id, and the unclaimed results.
#[derive(Debug)]
pub(crate) struct Routing<E> {
    waiting: HashMap<String, Vec<oneshot::Sender<E>>>,
    unclaimed: Unclaimed<E>,
}

impl<E: Clone> Routing<E> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            waiting: HashMap::new(),
            unclaimed: Unclaimed::new(capacity, ttl),
        }
    }

    /// Registers a waiter; answers at once if the result is already here.
    pub fn wait(&mut self, id: String, reply: oneshot::Sender<E>, now: Instant) {
        if let Some(event) = self.unclaimed.take(&id, now) {
            if let Err(event) = reply.send(event) {
                self.unclaimed.insert(id, event, now);
            }
            return;
        }
        self.waiting.entry(id).or_default().push(reply);
    }

    /// Hands `event` to every live waiter for `id`, or keeps it if there is none.
    pub fn deliver(&mut self, id: String, event: E, now: Instant) {
        let mut delivered = false;
        for reply in self.waiting.remove(&id).unwrap_or_default() {
            delivered |= reply.send(event.clone()).is_ok();
        }
        if !delivered {
            self.unclaimed.insert(id, event, now);
        }
    }

    /// Forgets waiters that gave up and results that expired.
    pub fn prune(&mut self, now: Instant) {
        self.waiting.retain(|_, replies| {
            replies.retain(|r| !r.is_closed());
            !replies.is_empty()
        });
        self.unclaimed.prune(now);
    }

    #[cfg(test)]
    fn waiters(&self) -> usize {
        self.waiting.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn unclaimed_is_bounded_and_expires() {
        let t0 = Instant::now();
        let mut u = Unclaimed::new(2, TTL);
        u.insert("a".into(), 1, t0);
        u.insert("b".into(), 2, t0);
        u.insert("c".into(), 3, t0 + Duration::from_secs(5));
        assert_eq!(u.len(), 2);
        assert_eq!(u.take("a", t0), None, "oldest evicted");
        // Replacing keeps one entry per id, and renews its age.
        u.insert("b".into(), 20, t0 + Duration::from_secs(6));
        assert_eq!(u.len(), 2);
        let later = t0 + Duration::from_millis(15_500);
        u.prune(later);
        assert_eq!(u.len(), 1, "c (t0+5 s) expired, b (t0+6 s) kept");
        assert_eq!(u.take("b", later), Some(20));
        u.insert("d".into(), 4, t0);
        assert_eq!(u.take("d", t0 + TTL + Duration::from_secs(1)), None);
        assert_eq!(u.len(), 0);
    }

    #[test]
    fn results_reach_waiters_registered_before_or_after() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL);
        let (tx, mut rx) = oneshot::channel();
        r.wait("t1".into(), tx, now);
        r.deliver("t1".into(), 1, now);
        assert_eq!(rx.try_recv(), Ok(1));

        r.deliver("t2".into(), 2, now);
        let (tx, mut rx) = oneshot::channel();
        r.wait("t2".into(), tx, now);
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn a_result_for_a_waiter_that_gave_up_is_kept() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL);
        let (tx, rx) = oneshot::channel();
        r.wait("t1".into(), tx, now);
        drop(rx);
        r.deliver("t1".into(), 7, now);
        let (tx, mut rx) = oneshot::channel();
        r.wait("t1".into(), tx, now);
        assert_eq!(rx.try_recv(), Ok(7));

        let (tx, rx) = oneshot::channel::<i32>();
        r.wait("t3".into(), tx, now);
        drop(rx);
        assert_eq!(r.waiters(), 1);
        r.prune(now);
        assert_eq!(r.waiters(), 0);
    }

    #[test]
    fn every_waiter_for_an_id_gets_the_result() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL);
        let (a, mut ra) = oneshot::channel();
        let (b, mut rb) = oneshot::channel();
        r.wait("w".into(), a, now);
        r.wait("w".into(), b, now);
        r.deliver("w".into(), 5, now);
        assert_eq!((ra.try_recv(), rb.try_recv()), (Ok(5), Ok(5)));
    }
}
