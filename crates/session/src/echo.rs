//! Broadcast consistency ("echo broadcast").
//!
//! Neither DKLs23 nor FROST checks that a sender gave every party the same
//! broadcast, and both assume it. So every party digests each broadcast of a
//! round as it received it and sends those digests, one per player, with its
//! messages of the next round (or in an extra echo-only round after the last
//! one). A receiver compares them with its own digests before it lets the
//! protocol use the next round, and before any output.
//!
//! Blame: if party `k` reports a digest for sender `s` that differs from ours,
//! either `s` sent different broadcasts to `k` and to us, or `k` lies: `s` is
//! named, as `k`'s claim (we hold only one of the two messages, so it is no
//! proof; see `Abort::blame`). When the disputed broadcast is our own, `k`'s
//! signed echo contradicts what we sent it: `k` is named, proven.

use sha2::{Digest as _, Sha256};
use tessera_types::{NodeId, SessionId};

use crate::error::Abort;
use crate::message::Digest;

/// Digest of `payload` as `sender`'s round-`round` broadcast in `session`.
pub fn digest(session: &SessionId, round: u16, sender: &NodeId, payload: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update(b"tessera/echo/v1");
    for part in [session.as_str().as_bytes(), sender.as_str().as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(round.to_be_bytes());
    h.update(payload);
    h.finalize().into()
}

/// Compares `theirs` (reported by `reporter`) with `ours`, both in player order.
pub fn check(
    players: &[NodeId],
    me: &NodeId,
    reporter: &NodeId,
    round: u16,
    ours: &[Digest],
    theirs: &[Digest],
) -> Result<(), Abort> {
    if theirs.len() != players.len() {
        return Err(Abort::Malformed {
            from: reporter.clone(),
            round: round + 1,
            detail: format!(
                "echo has {} digests for {} players",
                theirs.len(),
                players.len()
            ),
        });
    }
    for ((player, a), b) in players.iter().zip(ours).zip(theirs) {
        if a != b {
            let culprit = if player == me { reporter } else { player };
            return Err(Abort::Equivocation {
                culprit: culprit.clone(),
                reported_by: reporter.clone(),
                round,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: &[&str]) -> Vec<NodeId> {
        n.iter().map(|s| NodeId::new(*s).unwrap()).collect()
    }

    #[test]
    fn names_the_equivocating_sender_or_a_lying_reporter() {
        let p = ids(&["a", "b", "c"]);
        let ours = vec![[1; 32], [2; 32], [3; 32]];
        assert!(check(&p, &p[0], &p[1], 0, &ours, &ours).is_ok());
        let mut theirs = ours.clone();
        theirs[2] = [9; 32];
        let e = check(&p, &p[0], &p[1], 0, &ours, &theirs).unwrap_err();
        assert_eq!(e.culprits(), vec![p[2].clone()]);
        // b's word against c: a claim, nobody proven or banned.
        let blame = e.blame();
        assert_eq!(blame.claimed, vec![p[2].clone()]);
        assert!(blame.proven.is_empty() && blame.ban.is_empty());
        let mut lie = ours.clone();
        lie[0] = [9; 32];
        let e = check(&p, &p[0], &p[1], 0, &ours, &lie).unwrap_err();
        assert_eq!(e.culprits(), vec![p[1].clone()]);
        // b misreports our own broadcast: proven, banned.
        let blame = e.blame();
        assert_eq!(blame.proven, vec![p[1].clone()]);
        assert_eq!(blame.ban, vec![p[1].clone()]);
        assert!(blame.claimed.is_empty());
        assert!(check(&p, &p[0], &p[1], 0, &ours, &ours[..2]).is_err());
    }

    #[test]
    fn digest_binds_every_input() {
        let s = SessionId::new("s").unwrap();
        let a = NodeId::new("a").unwrap();
        let base = digest(&s, 1, &a, b"x");
        assert_ne!(base, digest(&s, 2, &a, b"x"));
        assert_ne!(base, digest(&s, 1, &NodeId::new("b").unwrap(), b"x"));
        assert_ne!(base, digest(&SessionId::new("t").unwrap(), 1, &a, b"x"));
        assert_ne!(base, digest(&s, 1, &a, b"y"));
    }
}
