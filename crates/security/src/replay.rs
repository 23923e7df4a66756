//! Replay protection, within one run of a session and across runs.
//!
//! Within a run: a per-sender sliding window over sequence numbers, as in
//! IPsec and DTLS (RFC 4303, section 3.4.3). A strictly increasing counter would
//! be simpler, but one sender's broadcast and p2p messages travel on different
//! subjects and may arrive out of order, and an honest reordering must not abort
//! a session. The window accepts each sequence number once, in any order, within
//! [`WINDOW`] of the highest seen; anything older is treated as a replay. Memory
//! is constant per sender.
//!
//! Across runs: session ids can be reused (clients choose them), so every run of
//! a session has its own identity. Each player draws a fresh [`RunNonce`] when it
//! opens the session and announces it in its signed join; once every player's
//! join is in, every envelope carries the [`RunId`], a hash over the session id
//! and all players' `(id, nonce)` pairs in id order ([`RunTag::Bound`]). Before
//! that (joins, aborts in the join barrier) an envelope carries its sender's own
//! nonce ([`RunTag::Joining`]). The receiver's own fresh nonce is part of every
//! run id it accepts, so no envelope recorded in another run ever verifies.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_types::{NodeId, SessionId};

const RUN_ID_LABEL: &[u8] = b"tessera/run-id/v1";

/// One player's random contribution to one run of a session. Public.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunNonce(pub [u8; 32]);

impl RunNonce {
    /// A fresh nonce from the OS's generator.
    pub fn generate() -> Self {
        use rand_core::{OsRng, RngCore};
        let mut n = [0u8; 32];
        OsRng.fill_bytes(&mut n);
        Self(n)
    }
}

impl fmt::Debug for RunNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunNonce({})", hex::encode(&self.0[..8]))
    }
}

/// The identity of one run of a session: every player's nonce, hashed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId(pub [u8; 32]);

impl RunId {
    /// `SHA-256(label || session id || (player id, nonce)...)` with the players
    /// in id order and every variable-length part length-prefixed, so two
    /// different sets of pairs never encode alike. Duplicate ids are a caller bug;
    /// they are hashed as given (sorted), so they cannot collide with a set without.
    pub fn derive<'a>(
        session_id: &SessionId,
        nonces: impl IntoIterator<Item = (&'a NodeId, &'a RunNonce)>,
    ) -> Self {
        let mut pairs: Vec<(&NodeId, &RunNonce)> = nonces.into_iter().collect();
        pairs.sort();
        let mut h = Sha256::new();
        h.update(RUN_ID_LABEL);
        let put = |h: &mut Sha256, b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        put(&mut h, session_id.as_str().as_bytes());
        h.update((pairs.len() as u64).to_be_bytes());
        for (id, nonce) in pairs {
            put(&mut h, id.as_str().as_bytes());
            h.update(nonce.0);
        }
        Self(h.finalize().into())
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({})", hex::encode(&self.0[..8]))
    }
}

/// Which run an envelope belongs to. Part of the signed header and of the p2p
/// key derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunTag {
    /// Sent before the run id is known (the join barrier): the sender's nonce.
    Joining(RunNonce),
    /// Sent once every player's nonce is known: the run id.
    Bound(RunId),
}

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
    fn run_ids_depend_on_every_pair_and_not_on_order() {
        let sid = |s: &str| SessionId::new(s).unwrap();
        let (a, b) = (NodeId::new("a").unwrap(), NodeId::new("b").unwrap());
        let (n1, n2, n3) = (RunNonce([1; 32]), RunNonce([2; 32]), RunNonce([3; 32]));
        let r = RunId::derive(&sid("s"), [(&a, &n1), (&b, &n2)]);
        assert_eq!(r, RunId::derive(&sid("s"), [(&b, &n2), (&a, &n1)]));
        assert_ne!(r, RunId::derive(&sid("s"), [(&a, &n1), (&b, &n3)]));
        assert_ne!(r, RunId::derive(&sid("t"), [(&a, &n1), (&b, &n2)]));
        assert_ne!(r, RunId::derive(&sid("s"), [(&a, &n2), (&b, &n1)]));
        assert_ne!(r, RunId::derive(&sid("s"), [(&a, &n1)]));
        assert_ne!(RunNonce::generate(), RunNonce::generate());
        assert!(format!("{r:?}").starts_with("RunId("));
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
