//! Control messages for sessions this node has not opened yet.
//!
//! A peer may send a control message (a proposal follow-up, an abort) before
//! this node has opened the session. Such messages wait here for the hold
//! period, counted from the session's first held message, and are handed over
//! if the session opens in time; otherwise they are dropped with one log line
//! per session, naming the senders the messages claimed (at most
//! [`MAX_SENDERS`] of them). Limits bound what strangers can make a node keep: whatever
//! exceeds them is dropped at once and counted, per session while the session
//! table has room, in one overflow count when it does not.
//!
//! Pure bookkeeping: time comes in as an argument, the router does the logging.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use tessera_types::{NodeId, SessionId};
use tokio::time::Instant;

use crate::options::HoldLimits;

/// Senders remembered per held session, for the log line.
pub(crate) const MAX_SENDERS: usize = 8;

#[derive(Debug)]
struct HeldSession {
    messages: Vec<Bytes>,
    bytes: usize,
    over_limit: u64,
    deadline: Instant,
    /// The senders the messages claim (unverified: nothing was opened).
    senders: BTreeSet<NodeId>,
}

/// What became of a pushed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Held,
    /// Over a limit: dropped now (and counted for the log line).
    Dropped,
}

/// Messages handed to a session that opened in time.
#[derive(Debug, Default)]
pub(crate) struct Released {
    pub messages: Vec<Bytes>,
    /// Messages for it that were dropped over the limits meanwhile.
    pub over_limit: u64,
}

/// Something the hold period ran out on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    Session {
        session_id: SessionId,
        /// Messages held until now and dropped at expiry.
        held: usize,
        /// Messages already dropped over the limits.
        over_limit: u64,
        /// The senders the messages claimed, sorted.
        senders: Vec<NodeId>,
    },
    /// Messages dropped because the session table was full.
    Overflow { dropped: u64 },
}

#[derive(Debug)]
pub(crate) struct HoldQueue {
    hold: Duration,
    limits: HoldLimits,
    sessions: HashMap<SessionId, HeldSession>,
    /// Sessions in deadline order (the hold period is fixed, so pushes arrive
    /// sorted). Entries of sessions released early are skipped when reached.
    expiry: VecDeque<(Instant, SessionId)>,
    bytes_total: usize,
    overflow: u64,
    overflow_report_at: Option<Instant>,
}

impl HoldQueue {
    pub(crate) fn new(hold: Duration, limits: HoldLimits) -> Self {
        Self {
            hold,
            limits,
            sessions: HashMap::new(),
            expiry: VecDeque::new(),
            bytes_total: 0,
            overflow: 0,
            overflow_report_at: None,
        }
    }

    pub(crate) fn push(
        &mut self,
        session_id: &SessionId,
        sender: &NodeId,
        msg: Bytes,
        now: Instant,
    ) -> Push {
        if !self.sessions.contains_key(session_id) {
            if self.sessions.len() >= self.limits.sessions {
                self.overflow += 1;
                self.overflow_report_at.get_or_insert(now + self.hold);
                return Push::Dropped;
            }
            let deadline = now + self.hold;
            self.expiry.push_back((deadline, session_id.clone()));
            self.sessions.insert(
                session_id.clone(),
                HeldSession {
                    messages: Vec::new(),
                    bytes: 0,
                    over_limit: 0,
                    deadline,
                    senders: BTreeSet::new(),
                },
            );
        }
        let limits = self.limits;
        let Some(session) = self.sessions.get_mut(session_id) else {
            return Push::Dropped;
        };
        if session.senders.len() < MAX_SENDERS {
            session.senders.insert(sender.clone());
        }
        let len = msg.len();
        if session.messages.len() >= limits.messages_per_session
            || session.bytes + len > limits.bytes_per_session
            || self.bytes_total + len > limits.bytes_total
        {
            session.over_limit += 1;
            return Push::Dropped;
        }
        session.bytes += len;
        self.bytes_total += len;
        session.messages.push(msg);
        Push::Held
    }

    /// Hands over (and forgets) what is held for a session that just opened.
    pub(crate) fn release(&mut self, session_id: &SessionId) -> Option<Released> {
        let session = self.sessions.remove(session_id)?;
        self.bytes_total -= session.bytes;
        Some(Released {
            messages: session.messages,
            over_limit: session.over_limit,
        })
    }

    /// Drops every session whose hold period ended by `now`.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let mut out = Vec::new();
        while self
            .expiry
            .front()
            .is_some_and(|(deadline, _)| *deadline <= now)
        {
            let Some((deadline, session_id)) = self.expiry.pop_front() else {
                break;
            };
            // A session released and held again has a later deadline of its own.
            let current = self
                .sessions
                .get(&session_id)
                .is_some_and(|s| s.deadline == deadline);
            let removed = match current {
                true => self.sessions.remove(&session_id),
                false => None,
            };
            if let Some(session) = removed {
                self.bytes_total -= session.bytes;
                out.push(Expired::Session {
                    session_id,
                    held: session.messages.len(),
                    over_limit: session.over_limit,
                    senders: session.senders.into_iter().collect(),
                });
            }
        }
        if self.overflow_report_at.is_some_and(|at| at <= now) {
            out.push(Expired::Overflow {
                dropped: std::mem::take(&mut self.overflow),
            });
            self.overflow_report_at = None;
        }
        out
    }

    /// When [`HoldQueue::expire`] next has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let session = self.expiry.front().map(|(d, _)| *d);
        match (session, self.overflow_report_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    #[cfg(test)]
    fn bytes_held(&self) -> usize {
        self.bytes_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Duration = Duration::from_secs(2);

    fn sid(s: &str) -> SessionId {
        SessionId::new(s).unwrap()
    }

    fn limits() -> HoldLimits {
        HoldLimits {
            sessions: 2,
            messages_per_session: 3,
            bytes_per_session: 100,
            bytes_total: 150,
        }
    }

    fn from() -> NodeId {
        NodeId::new("peer").unwrap()
    }

    fn msg(len: usize) -> Bytes {
        Bytes::from(vec![7u8; len])
    }

    #[test]
    fn released_in_time_in_order() {
        let mut q = HoldQueue::new(HOLD, limits());
        let t0 = Instant::now();
        assert_eq!(
            q.push(&sid("a"), &from(), Bytes::from_static(b"1"), t0),
            Push::Held
        );
        assert_eq!(
            q.push(&sid("a"), &from(), Bytes::from_static(b"2"), t0),
            Push::Held
        );
        let r = q.release(&sid("a")).unwrap();
        assert_eq!(
            r.messages,
            vec![Bytes::from_static(b"1"), Bytes::from_static(b"2")]
        );
        assert_eq!(r.over_limit, 0);
        assert_eq!(q.bytes_held(), 0);
        assert!(q.release(&sid("a")).is_none());
        // Nothing left to report when the stale deadline passes.
        assert!(q.expire(t0 + HOLD).is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn expires_once_per_session_after_the_hold() {
        let mut q = HoldQueue::new(HOLD, limits());
        let t0 = Instant::now();
        q.push(&sid("a"), &from(), msg(1), t0);
        q.push(&sid("b"), &from(), msg(1), t0 + Duration::from_secs(1));
        q.push(&sid("a"), &from(), msg(1), t0 + Duration::from_secs(1));
        assert_eq!(q.next_deadline(), Some(t0 + HOLD));
        assert!(q.expire(t0 + HOLD - Duration::from_millis(1)).is_empty());
        assert_eq!(
            q.expire(t0 + HOLD),
            vec![Expired::Session {
                session_id: sid("a"),
                held: 2,
                over_limit: 0,
                senders: vec![from()],
            }]
        );
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(q.expire(t0 + Duration::from_secs(10)).len(), 1);
        assert!(q.expire(t0 + Duration::from_secs(20)).is_empty());
        assert_eq!(q.bytes_held(), 0);
    }

    #[test]
    fn per_session_limits_drop_and_count() {
        let mut q = HoldQueue::new(HOLD, limits());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(q.push(&sid("a"), &from(), msg(10), t0), Push::Held);
        }
        assert_eq!(q.push(&sid("a"), &from(), msg(10), t0), Push::Dropped);
        assert_eq!(q.push(&sid("b"), &from(), msg(101), t0), Push::Dropped);
        assert_eq!(
            q.expire(t0 + HOLD),
            vec![
                Expired::Session {
                    session_id: sid("a"),
                    held: 3,
                    over_limit: 1,
                    senders: vec![from()],
                },
                Expired::Session {
                    session_id: sid("b"),
                    held: 0,
                    over_limit: 1,
                    senders: vec![from()],
                }
            ]
        );
    }

    #[test]
    fn total_bytes_and_session_table_are_capped() {
        let mut q = HoldQueue::new(HOLD, limits());
        let t0 = Instant::now();
        assert_eq!(q.push(&sid("a"), &from(), msg(100), t0), Push::Held);
        assert_eq!(q.push(&sid("b"), &from(), msg(60), t0), Push::Dropped);
        assert_eq!(q.push(&sid("b"), &from(), msg(50), t0), Push::Held);
        assert_eq!(q.bytes_held(), 150);
        // The table is full: a third session's messages go to the overflow count.
        assert_eq!(q.push(&sid("c"), &from(), msg(1), t0), Push::Dropped);
        assert_eq!(q.push(&sid("d"), &from(), msg(1), t0), Push::Dropped);
        let r = q.release(&sid("b")).unwrap();
        assert_eq!((r.messages.len(), r.over_limit), (1, 1));
        let expired = q.expire(t0 + HOLD);
        assert!(expired.contains(&Expired::Overflow { dropped: 2 }));
        assert_eq!(expired.len(), 2);
        assert_eq!(q.next_deadline(), None);
    }
}
