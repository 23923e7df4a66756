//! Who does what in a replace (repair, then refresh by the new committee),
//! for both curves, and the preconditions both libraries put on it.
//!
//! The new committee is a set of node ids with explicit indices. Every member
//! is either a *helper* (holds a share of the key at its own, unchanged
//! index) or a *target* (gets a repaired share for its index: a node that
//! lost its share, a new node taking over an index, or for FROST a new
//! identifier). Old holders left out of the committee are removed by the
//! refresh that follows the repair.
//!
//! Preconditions, from the libraries (docs/design/key-lifecycle.md §1.1, §1.2):
//! - at least `t + 1` helpers (dkls23 `validate_helpers`, frost
//!   `repair_share_part1`);
//! - no target is a helper (dkls23 refuses it; frost does not check, so this
//!   module does for both);
//! - a complete refresh by the whole new committee right after the repair
//!   (dkls23: the repaired share is hollow and cannot sign before; frost: it
//!   makes the replaced holder's old share useless). The replace sessions
//!   always run it.
//! - Target authorization (that the target really is who should get the
//!   index) is the caller's job: the libraries say so, and Tessera's planner
//!   does it from a signed request.

use tessera_types::{NodeId, SessionConfig, Threshold};

use crate::error::Abort;
use crate::parties::Parties;
pub use crate::replace_error::ReplaceError;

/// The new committee of a replace and each member's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacePlan {
    /// Every holder after the replace, with its index.
    pub committee: Parties,
    /// Members holding a share at their committee index; they repair.
    pub helpers: Vec<NodeId>,
    /// Members that get a repaired share for their committee index.
    pub targets: Vec<NodeId>,
}

/// What a target knows of the key before it holds a share of it (from the
/// signed request, not from the helpers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetKey {
    /// The target itself.
    pub me: NodeId,
    /// The key's master public key (SEC1 compressed or Ed25519).
    pub public_key: Vec<u8>,
    pub threshold: Threshold,
    /// The epoch the helpers start from.
    pub epoch: u64,
}

/// One player's part in a replace: a helper brings its share, a target what
/// it knows of the key.
#[derive(Clone, Debug)]
pub enum ReplaceRole<S> {
    Helper(S),
    Target(TargetKey),
}

impl ReplacePlan {
    /// Checks the plan against the session `config` and the key's
    /// `threshold`, and `me`'s role (`helper` is whether it brings a share).
    pub(crate) fn check(
        &self,
        config: &SessionConfig,
        threshold: Threshold,
        me: &NodeId,
        helper: bool,
    ) -> Result<(), Abort> {
        let refuse = |e: ReplaceError| Err(Abort::Replace(e));
        if config.threshold != threshold {
            return Err(Abort::ThresholdChange {
                key: threshold,
                requested: config.threshold,
            });
        }
        if config.players() != self.committee.ids() {
            return refuse(ReplaceError::PlayersNotCommittee);
        }
        if let Some(t) = self.targets.iter().find(|t| self.helpers.contains(t)) {
            return refuse(ReplaceError::TargetIsHelper(t.clone()));
        }
        let mut listed: Vec<&NodeId> = self.helpers.iter().chain(&self.targets).collect();
        listed.sort();
        if let Some(w) = listed.windows(2).find(|w| w[0] == w[1]) {
            return refuse(ReplaceError::Duplicate(w[0].clone()));
        }
        if let Some(n) = listed.iter().find(|n| self.committee.index(n).is_err()) {
            return refuse(ReplaceError::NotInCommittee((*n).clone()));
        }
        if let Some(n) = self.committee.ids().iter().find(|n| !listed.contains(n)) {
            return refuse(ReplaceError::Unassigned(n.clone()));
        }
        if self.committee.index(me).is_err() {
            return Err(Abort::NotAParticipant(me.clone()));
        }
        let needed = threshold.signers();
        if self.helpers.len() < needed {
            return refuse(ReplaceError::TooFewHelpers {
                needed,
                got: self.helpers.len(),
            });
        }
        let planned_helper = self.helpers.contains(me);
        if helper != planned_helper {
            return refuse(ReplaceError::WrongRole {
                node: me.clone(),
                planned: if planned_helper { "helper" } else { "target" },
            });
        }
        Ok(())
    }

    pub(crate) fn is_target(&self, node: &NodeId) -> bool {
        self.targets.contains(node)
    }
}
