//! Proposals a player has answered, remembered until they are too old to be
//! accepted anyway (`proposal::MAX_AGE_SECS` past their issue time): a
//! replayed proposal is refused before it can take a join slot. Time is
//! passed in (unix seconds), so this is plain data.

use std::collections::{BTreeSet, HashMap};

use crate::proposal::ProposalId;

#[derive(Debug)]
pub(crate) struct SeenProposals {
    /// When each id may be forgotten.
    until: HashMap<ProposalId, u64>,
    /// The same, ordered by that time, for pruning.
    by_time: BTreeSet<(u64, [u8; 32])>,
    capacity: usize,
}

/// Why a proposal is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Answered before: a replay.
    Replayed,
    /// So many live proposals are remembered that no more can be: refused
    /// rather than forgotten too early.
    Full,
}

impl SeenProposals {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            until: HashMap::new(),
            by_time: BTreeSet::new(),
            capacity,
        }
    }

    /// Remembers `id` until `until_unix`; an error if it was seen, or if
    /// nothing can be remembered now.
    pub(crate) fn first_time(
        &mut self,
        id: ProposalId,
        until_unix: u64,
        now_unix: u64,
    ) -> Result<(), Seen> {
        self.prune(now_unix);
        if self.until.contains_key(&id) {
            return Err(Seen::Replayed);
        }
        if self.until.len() >= self.capacity {
            return Err(Seen::Full);
        }
        self.until.insert(id, until_unix);
        self.by_time.insert((until_unix, id.0));
        Ok(())
    }

    fn prune(&mut self, now_unix: u64) {
        while let Some(&(until, id)) = self.by_time.first() {
            if until >= now_unix {
                break;
            }
            self.by_time.pop_first();
            self.until.remove(&ProposalId(id));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposal_is_taken_once_until_it_could_no_longer_be_accepted() {
        let mut seen = SeenProposals::new(2);
        let (a, b, c) = (
            ProposalId::of(b"a"),
            ProposalId::of(b"b"),
            ProposalId::of(b"c"),
        );
        assert_eq!(seen.first_time(a, 100, 10), Ok(()));
        assert_eq!(seen.first_time(a, 100, 50), Err(Seen::Replayed));
        assert_eq!(seen.first_time(b, 200, 50), Ok(()));
        // Full of live ids: refused, nothing forgotten early.
        assert_eq!(seen.first_time(c, 300, 60), Err(Seen::Full));
        assert_eq!(seen.first_time(a, 100, 100), Err(Seen::Replayed));
        // Past a's time it is forgotten (it would be refused as stale anyway).
        assert_eq!(seen.first_time(c, 300, 101), Ok(()));
        assert_eq!(seen.len(), 2);
        assert_eq!(seen.first_time(b, 200, 150), Err(Seen::Replayed));
    }
}
