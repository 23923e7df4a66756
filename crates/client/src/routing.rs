//! Matching results to waiters: the state a pump task owns (no I/O here).
//!
//! A waiter registers by id (wallet id for keygen, tx id for signing) before
//! its request is published. A result for an id nobody waits for is kept,
//! bounded in number and age, so a later `await_*` call still gets it: the
//! caller may have timed out just before the result arrived, or may await a
//! request some other process published.
//!
//! "Before the request" is decided by the result stream's sequence numbers,
//! which the server assigns in publication order (no clocks involved): just
//! before a request is published the client reads the stream's last sequence
//! (its *mark*), and only a result stored after it, with a greater sequence,
//! can answer that request. A result at or before the mark is older than the
//! request (a previous run's result for the same id, or a forgery planted in
//! advance) and is never handed out. For an id this client did not request,
//! the mark is where the stream stood when the client connected, unless the
//! caller gives one (`await_*_since`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// A map bounded in size and age, oldest entries dropped first.
#[derive(Debug)]
pub(crate) struct Bounded<V> {
    entries: HashMap<String, (u64, Instant, V)>,
    /// Insertion number -> id; insertion order is also age order.
    order: BTreeMap<u64, String>,
    next: u64,
    capacity: usize,
    ttl: Duration,
}

impl<V> Bounded<V> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// Keeps `value` for `id`, replacing an older one for the same id.
    pub fn insert(&mut self, id: String, value: V, now: Instant) {
        if let Some((seq, _, _)) = self.entries.remove(&id) {
            self.order.remove(&seq);
        }
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, id.clone());
        self.entries.insert(id, (seq, now, value));
        while self.entries.len() > self.capacity {
            self.pop_oldest();
        }
    }

    /// The value for `id`, unless it has expired.
    pub fn get(&self, id: &str, now: Instant) -> Option<&V> {
        let (_, at, value) = self.entries.get(id)?;
        (now.saturating_duration_since(*at) <= self.ttl).then_some(value)
    }

    /// Removes and returns the value for `id`, unless it has expired.
    pub fn take(&mut self, id: &str, now: Instant) -> Option<V> {
        let (seq, at, value) = self.entries.remove(id)?;
        self.order.remove(&seq);
        (now.saturating_duration_since(at) <= self.ttl).then_some(value)
    }

    /// Drops expired entries.
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

/// A result with the result stream sequence it was stored at.
#[derive(Debug, Clone)]
struct Arrived<E> {
    seq: u64,
    event: E,
}

/// A registered waiter: it takes only results stored after `after`.
#[derive(Debug)]
struct Pending<E> {
    after: u64,
    reply: oneshot::Sender<E>,
}

/// What became of a result handed to [`Routing::deliver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// At least one waiter got it.
    Delivered,
    /// Nobody waits for it: kept for a later `await_*`.
    Kept,
    /// Stored before this client's request for its id: dropped.
    BeforeRequest,
}

/// Waiters by id, the unclaimed results, and where the result stream stood
/// when each request was published.
#[derive(Debug)]
pub(crate) struct Routing<E> {
    waiting: HashMap<String, Vec<Pending<E>>>,
    unclaimed: Bounded<Arrived<E>>,
    /// Id -> the result stream's last sequence just before this client
    /// published a request for it.
    requested: Bounded<u64>,
    /// The result stream's last sequence when the client connected: the mark
    /// of ids it never requested itself.
    floor: u64,
}

impl<E: Clone> Routing<E> {
    pub fn new(capacity: usize, ttl: Duration, floor: u64) -> Self {
        Self {
            waiting: HashMap::new(),
            unclaimed: Bounded::new(capacity, ttl),
            requested: Bounded::new(capacity, ttl),
            floor,
        }
    }

    /// Records that a request for `id` is about to be published while the
    /// result stream's last sequence is `after`. A result held for `id` that
    /// is not newer is dropped; returns `true` if there was one.
    pub fn expect(&mut self, id: String, after: u64, now: Instant) -> bool {
        let stale = self
            .unclaimed
            .get(&id, now)
            .is_some_and(|held| held.seq <= after);
        if stale {
            self.unclaimed.take(&id, now);
        }
        self.requested.insert(id, after, now);
        stale
    }

    /// The sequence a result for `id` must exceed: the caller's mark, or this
    /// client's last request for `id`, or the connect-time floor; the highest
    /// of what applies.
    fn mark(&self, id: &str, explicit: Option<u64>, now: Instant) -> u64 {
        let base = explicit.unwrap_or(self.floor);
        let requested = self.requested.get(id, now).copied().unwrap_or(0);
        base.max(requested)
    }

    /// Registers a waiter; answers at once if an acceptable result is already
    /// here. Returns `true` when a held result was dropped as older than the
    /// waiter's request.
    pub fn wait(
        &mut self,
        id: String,
        after: Option<u64>,
        reply: oneshot::Sender<E>,
        now: Instant,
    ) -> bool {
        let after = self.mark(&id, after, now);
        let mut stale = false;
        if let Some(held) = self.unclaimed.take(&id, now) {
            if held.seq > after {
                if let Err(event) = reply.send(held.event) {
                    self.unclaimed.insert(
                        id,
                        Arrived {
                            seq: held.seq,
                            event,
                        },
                        now,
                    );
                }
                return false;
            }
            stale = true;
        }
        self.waiting
            .entry(id)
            .or_default()
            .push(Pending { after, reply });
        stale
    }

    /// Hands `event`, stored at sequence `seq`, to every live waiter for `id`
    /// whose request came before it, or keeps it if there is none.
    pub fn deliver(&mut self, id: String, seq: u64, event: E, now: Instant) -> Delivery {
        if self.requested.get(&id, now).is_some_and(|m| seq <= *m) {
            return Delivery::BeforeRequest;
        }
        let mut delivered = false;
        let mut too_old_for = 0usize;
        let mut still: Vec<Pending<E>> = Vec::new();
        for p in self.waiting.remove(&id).unwrap_or_default() {
            if p.reply.is_closed() {
                continue;
            }
            if seq > p.after {
                delivered |= p.reply.send(event.clone()).is_ok();
            } else {
                too_old_for += 1;
                still.push(p);
            }
        }
        if !still.is_empty() {
            self.waiting.insert(id.clone(), still);
        }
        if delivered {
            return Delivery::Delivered;
        }
        if too_old_for > 0 {
            return Delivery::BeforeRequest;
        }
        // Keep the newest result per id: a redelivered older one must not
        // replace it.
        let newer_held = self
            .unclaimed
            .get(&id, now)
            .is_some_and(|held| held.seq > seq);
        if !newer_held {
            self.unclaimed.insert(id, Arrived { seq, event }, now);
        }
        Delivery::Kept
    }

    /// Forgets waiters that gave up, and results and marks that expired.
    pub fn prune(&mut self, now: Instant) {
        self.waiting.retain(|_, replies| {
            replies.retain(|p| !p.reply.is_closed());
            !replies.is_empty()
        });
        self.unclaimed.prune(now);
        self.requested.prune(now);
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
    fn bounded_maps_are_bounded_and_expire() {
        let t0 = Instant::now();
        let mut u = Bounded::new(2, TTL);
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
        assert_eq!(u.get("b", later), Some(&20));
        assert_eq!(u.take("b", later), Some(20));
        u.insert("d".into(), 4, t0);
        assert_eq!(u.get("d", t0 + TTL + Duration::from_secs(1)), None);
        assert_eq!(u.take("d", t0 + TTL + Duration::from_secs(1)), None);
        assert_eq!(u.len(), 0);
    }

    #[test]
    fn results_reach_waiters_registered_before_or_after() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 0);
        let (tx, mut rx) = oneshot::channel();
        r.wait("t1".into(), None, tx, now);
        assert_eq!(r.deliver("t1".into(), 1, 1, now), Delivery::Delivered);
        assert_eq!(rx.try_recv(), Ok(1));

        assert_eq!(r.deliver("t2".into(), 2, 2, now), Delivery::Kept);
        let (tx, mut rx) = oneshot::channel();
        assert!(!r.wait("t2".into(), None, tx, now));
        assert_eq!(rx.try_recv(), Ok(2));
    }

    #[test]
    fn a_result_for_a_waiter_that_gave_up_is_kept() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 0);
        let (tx, rx) = oneshot::channel();
        r.wait("t1".into(), None, tx, now);
        drop(rx);
        assert_eq!(r.deliver("t1".into(), 1, 7, now), Delivery::Kept);
        let (tx, mut rx) = oneshot::channel();
        r.wait("t1".into(), None, tx, now);
        assert_eq!(rx.try_recv(), Ok(7));

        let (tx, rx) = oneshot::channel::<i32>();
        r.wait("t3".into(), None, tx, now);
        drop(rx);
        assert_eq!(r.waiters(), 1);
        r.prune(now);
        assert_eq!(r.waiters(), 0);
    }

    #[test]
    fn every_waiter_for_an_id_gets_the_result() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 0);
        let (a, mut ra) = oneshot::channel();
        let (b, mut rb) = oneshot::channel();
        r.wait("w".into(), None, a, now);
        r.wait("w".into(), None, b, now);
        r.deliver("w".into(), 1, 5, now);
        assert_eq!((ra.try_recv(), rb.try_recv()), (Ok(5), Ok(5)));
    }

    #[test]
    fn a_result_stored_before_the_request_never_answers_it() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 0);
        // An old result (sequence 3) arrives and is held ...
        assert_eq!(r.deliver("tx".into(), 3, 30, now), Delivery::Kept);
        // ... then the client requests tx with the stream at sequence 5.
        assert!(r.expect("tx".into(), 5, now), "held one dropped");
        let (tx, mut rx) = oneshot::channel();
        assert!(!r.wait("tx".into(), Some(5), tx, now));
        assert!(rx.try_recv().is_err());
        // Another old one, delivered late (sequence 4 <= 5): not for the waiter.
        assert_eq!(r.deliver("tx".into(), 4, 40, now), Delivery::BeforeRequest);
        assert!(rx.try_recv().is_err());
        // The request's own result.
        assert_eq!(r.deliver("tx".into(), 6, 60, now), Delivery::Delivered);
        assert_eq!(rx.try_recv(), Ok(60));
    }

    #[test]
    fn a_result_after_the_request_is_kept_for_a_later_await() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 0);
        // publish_* then await_* later: the mark is remembered per id.
        r.expect("w".into(), 10, now);
        assert_eq!(r.deliver("w".into(), 9, 90, now), Delivery::BeforeRequest);
        assert_eq!(r.deliver("w".into(), 11, 110, now), Delivery::Kept);
        // A redelivered older copy does not replace the newer result.
        r.expect("x".into(), 0, now);
        assert_eq!(r.deliver("x".into(), 12, 120, now), Delivery::Kept);
        assert_eq!(r.deliver("x".into(), 2, 20, now), Delivery::Kept);
        let (tx, mut rx) = oneshot::channel();
        r.wait("w".into(), None, tx, now);
        assert_eq!(rx.try_recv(), Ok(110));
        let (tx, mut rx) = oneshot::channel();
        r.wait("x".into(), None, tx, now);
        assert_eq!(rx.try_recv(), Ok(120));
    }

    #[test]
    fn ids_never_requested_accept_only_results_after_connect_unless_told() {
        let now = Instant::now();
        let mut r = Routing::new(8, TTL, 100);
        assert_eq!(r.deliver("old".into(), 50, 5, now), Delivery::Kept);
        assert_eq!(r.deliver("new".into(), 150, 15, now), Delivery::Kept);
        let (tx, mut rx) = oneshot::channel();
        assert!(!r.wait("new".into(), None, tx, now));
        assert_eq!(rx.try_recv(), Ok(15));
        // Published before the client connected: only with the caller's mark.
        assert_eq!(r.deliver("old2".into(), 60, 6, now), Delivery::Kept);
        let (tx, mut rx) = oneshot::channel();
        assert!(r.wait("old".into(), None, tx, now));
        assert!(rx.try_recv().is_err());
        let (tx, mut rx) = oneshot::channel();
        assert!(!r.wait("old2".into(), Some(40), tx, now));
        assert_eq!(rx.try_recv(), Ok(6));
    }
}
