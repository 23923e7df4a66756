//! Per-sender replay detection: a sliding window over sequence numbers, as in
//! IPsec and DTLS (RFC 4303, section 3.4.3).
//!
//! A strictly increasing counter would be simpler, but one sender's broadcast
//! and p2p messages travel on different subjects and may arrive out of order,
//! and an honest reordering must not abort a session. The window accepts each
//! sequence number once, in any order, within [`WINDOW`] of the highest seen;
//! anything older is treated as a replay. Memory is constant per sender.

/// How far behind the highest sequence number a message may arrive.
pub const WINDOW: u64 = 128;

#[derive(Clone, Debug, Default)]
pub(crate) struct ReplayWindow {
    /// Highest sequence number accepted so far.
    highest: Option<u64>,
    /// Bit `i` set: `highest - i` was accepted.
    seen: u128,
}

impl ReplayWindow {
    /// Whether `seq` has not been accepted yet and is not too old.
    pub(crate) fn is_fresh(&self, seq: u64) -> bool {
        match self.highest {
            None => true,
            Some(h) if seq > h => true,
            Some(h) => {
                let age = h - seq;
                age < WINDOW && self.seen & (1u128 << age) == 0
            }
        }
    }

    /// Marks `seq` accepted. Call only after [`ReplayWindow::is_fresh`] and a
    /// fully successful open, so rejected messages never move the window.
    pub(crate) fn record(&mut self, seq: u64) {
        match self.highest {
            None => {
                self.highest = Some(seq);
                self.seen = 1;
            }
            Some(h) if seq > h => {
                let shift = seq - h;
                self.seen = if shift >= WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.highest = Some(seq);
            }
            Some(h) => {
                let age = h - seq;
                if age < WINDOW {
                    self.seen |= 1u128 << age;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(w: &mut ReplayWindow, seq: u64) -> bool {
        let fresh = w.is_fresh(seq);
        if fresh {
            w.record(seq);
        }
        fresh
    }

    #[test]
    fn each_seq_once_in_any_order() {
        let mut w = ReplayWindow::default();
        for s in [5, 3, 4, 9, 0, 1, 2, 6, 8, 7] {
            assert!(accept(&mut w, s), "{s}");
        }
        for s in 0..10 {
            assert!(!accept(&mut w, s), "{s} replayed");
        }
        assert!(accept(&mut w, 10));
    }

    #[test]
    fn too_old_is_rejected_and_big_jumps_clear() {
        let mut w = ReplayWindow::default();
        assert!(accept(&mut w, 0));
        assert!(accept(&mut w, WINDOW + 5));
        assert!(!accept(&mut w, 5), "older than the window");
        assert!(accept(&mut w, 6));
        assert!(accept(&mut w, u64::MAX));
        assert!(!accept(&mut w, u64::MAX));
        assert!(accept(&mut w, u64::MAX - 1));
        assert!(!accept(&mut w, u64::MAX - WINDOW));
    }

    #[test]
    fn checking_does_not_record() {
        let mut w = ReplayWindow::default();
        assert!(w.is_fresh(3));
        assert!(w.is_fresh(3));
        w.record(3);
        assert!(!w.is_fresh(3));
    }
}
