//! What a reshare request does to a key, decided without I/O
//! (docs/design/key-lifecycle.md §2.3): the key's stored holders (node id,
//! index, identity) are compared with the request's `node_ids`, the
//! directory's current identities and the signed `tessera_replace` list.
//! The result is a refresh, replace, move, grow or remove with its new
//! committee and each member's role; what the libraries cannot do is refused
//! at once, with a code and a reason an operator can act on.
//!
//! Rules (both curves): the threshold is fixed for the key's lifetime; every
//! member of the new committee must be known, ready and not banned (both
//! refreshes need all of them); the helpers of a repair are the staying
//! holders that are not targets, at least t+1 of them; targets are never
//! helpers. ECDSA (dkls23) keeps `n` fixed: a new node can only take over a
//! leaving node's index (move, pairing leaving and joining nodes in sorted
//! order), never grow or shrink the key. EdDSA (frost) can: a joining node is
//! enrolled under a new identifier (the largest stored index + 1, + 2, ...;
//! also when another node leaves in the same request, as the design's table
//! says: "remove X + enrol Y (repair new id)"), a leaving node is dropped by
//! the refresh.
//!
//! Checks run structural first (they hold whatever the cluster's state),
//! then the transient ones (bans, readiness), so a request that can never
//! work is not refused for a node that happens to be down. Within a check,
//! the first offending node in sorted order is named.
//!
//! Every code below exists in `ErrorCode` under the name the design uses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use tessera_session::parties::Parties;
use tessera_session::{Abort, ReplacePlan};
use tessera_types::wire::KeyType;
use tessera_types::{ErrorCode, NodeId, PublicIdentity, Threshold};

use crate::refused::names;
use crate::reshare_request::Reshare;

/// One holder of the key's share, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub node: NodeId,
    /// Its party index (DKLs23 index, FROST identifier).
    pub index: u8,
    /// The identity stored with the key for this holder.
    pub identity: PublicIdentity,
    /// A tenant (a user's device), not a server of this cluster.
    pub tenant: bool,
}

/// What this node knows when it plans a reshare.
#[derive(Clone, Debug)]
pub struct LifecycleFacts {
    pub key_type: KeyType,
    /// The key's threshold t (t+1 sign).
    pub threshold: Threshold,
    /// The key's holders, as stored.
    pub holders: Vec<Holder>,
    /// The directory's current identity of each node it knows; a node absent
    /// here is unknown.
    pub directory: BTreeMap<NodeId, PublicIdentity>,
    /// The servers the registry reports ready.
    pub ready: BTreeSet<NodeId>,
    /// Parties this node banned.
    pub banned: BTreeSet<NodeId>,
}

/// The parts of a checked reshare request the planner reads.
#[derive(Clone, Copy, Debug)]
pub struct LifecycleRequest<'a> {
    /// The holders after the reshare (`node_ids`).
    pub nodes: &'a [NodeId],
    pub new_threshold: Threshold,
    /// `tessera_replace`: holders whose share is repaired.
    pub replace: &'a [NodeId],
}

impl<'a> From<&'a Reshare> for LifecycleRequest<'a> {
    fn from(r: &'a Reshare) -> Self {
        LifecycleRequest {
            nodes: &r.nodes,
            new_threshold: r.new_threshold,
            replace: &r.replace,
        }
    }
}

/// What a reshare does, derived from the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleKind {
    /// Same nodes, same identities, nothing to replace: a refresh by all.
    Refresh,
    /// Same nodes; the listed ones get a repaired share, then a refresh.
    Replace,
    /// Some nodes leave and others join (ECDSA: same number, the joining
    /// nodes take the leaving nodes' indices).
    Move,
    /// EdDSA only: nodes join, none leaves.
    Grow,
    /// EdDSA only: nodes leave, none joins.
    Remove,
}

impl LifecycleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleKind::Refresh => "refresh",
            LifecycleKind::Replace => "replace",
            LifecycleKind::Move => "move",
            LifecycleKind::Grow => "grow",
            LifecycleKind::Remove => "remove",
        }
    }
}

/// The new committee of a reshare and each member's role. Every list is sorted by node id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecyclePlan {
    pub kind: LifecycleKind,
    /// Every holder after the reshare, with its index.
    pub committee: Vec<(NodeId, u8)>,
    /// Staying holders that keep their share at their index (and repair for the targets).
    pub helpers: Vec<NodeId>,
    /// Members that get a repaired share: replaced holders and joining nodes.
    pub targets: Vec<NodeId>,
    /// Holders that leave; not in the session.
    pub removed: Vec<NodeId>,
}

impl LifecyclePlan {
    /// Whether a repair runs before the refresh.
    pub fn repairs(&self) -> bool {
        !self.targets.is_empty()
    }

    /// The committee as the session crate's [`Parties`].
    pub fn parties(&self) -> Result<Parties, Abort> {
        Parties::from_pairs(self.committee.iter().cloned())
    }

    /// The session crate's plan of the repair (when [`Self::repairs`]).
    pub fn replace_plan(&self) -> Result<ReplacePlan, Abort> {
        Ok(ReplacePlan {
            committee: self.parties()?,
            helpers: self.helpers.clone(),
            targets: self.targets.clone(),
        })
    }
}

/// Why a reshare is refused before any session: the result's code and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Refusal {}

fn refuse<T>(code: ErrorCode, reason: String) -> Result<T, Refusal> {
    Err(Refusal { code, reason })
}

/// The plan of reshare `req` for the key described by `facts`.
pub fn plan_lifecycle(
    facts: &LifecycleFacts,
    req: LifecycleRequest<'_>,
) -> Result<LifecyclePlan, Refusal> {
    let t = facts.threshold;
    let kt = facts.key_type;
    if req.new_threshold != t {
        return refuse(
            ErrorCode::InvalidThreshold,
            format!(
                "threshold change not supported: the key's threshold is fixed at t={} for its \
                 lifetime (dkls23 and frost keep it on refresh and repair); reshare with \
                 new_threshold={} or create a new wallet",
                t.0, t.0
            ),
        );
    }
    let mut holders = facts.holders.clone();
    holders.sort_by(|a, b| a.node.cmp(&b.node));
    let is_holder = |n: &NodeId| holders.iter().any(|h| h.node == *n);
    let nodes: BTreeSet<NodeId> = req.nodes.iter().cloned().collect();
    let replace: BTreeSet<NodeId> = req.replace.iter().cloned().collect();

    let tenants: Vec<NodeId> = holders
        .iter()
        .filter(|h| h.tenant)
        .map(|h| h.node.clone())
        .collect();
    if !tenants.is_empty() {
        return refuse(
            ErrorCode::TenantRequired,
            format!(
                "this {kt} key has tenant holders ({}): a reshare needs every holder to run the \
                 refresh, and tenant holders cannot take part in one yet; the key can only be \
                 used as it is",
                names(&tenants)
            ),
        );
    }
    if let Some(x) = replace.iter().find(|&n| !is_holder(n)) {
        return refuse(
            ErrorCode::ParticipantNotFound,
            format!(
                "tessera_replace names {x}, which holds no share of this {kt} key; only a holder \
                 can be replaced (to add a node, list it in node_ids only)"
            ),
        );
    }
    if let Some(x) = replace.iter().find(|n| !nodes.contains(*n)) {
        return refuse(
            ErrorCode::IncompatiblePeerIds,
            format!(
                "tessera_replace names {x} but node_ids leaves it out; a replaced node stays a \
                 holder, so list it in node_ids (to retire {x}, leave it out of node_ids and out \
                 of tessera_replace)"
            ),
        );
    }

    let removed: Vec<NodeId> = holders
        .iter()
        .filter(|h| !nodes.contains(&h.node))
        .map(|h| h.node.clone())
        .collect();
    let added: Vec<NodeId> = nodes.iter().filter(|&n| !is_holder(n)).cloned().collect();
    let n = holders.len();
    if kt == KeyType::Secp256k1 && added.len() != removed.len() {
        let reason = if added.len() > removed.len() {
            format!(
                "dkls23 fixes the number of shares (n={n}) at key generation; a node can take \
                 over an existing index (replace one node with another) but no index can be \
                 added: node_ids lists {} nodes, list {n}",
                nodes.len()
            )
        } else {
            format!(
                "dkls23 fixes the number of shares (n={n}) at key generation and every index \
                 must stay filled: node_ids lists {} nodes, list {n}; to retire a node, hand its \
                 index to another node by listing that node in its place",
                nodes.len()
            )
        };
        return refuse(ErrorCode::IncompatiblePeerIds, reason);
    }

    // Every member must be known to the directory: its identity is what
    // the session authenticates (and what a target's share is repaired for).
    if let Some(x) = nodes.iter().find(|n| !facts.directory.contains_key(*n)) {
        let why = if is_holder(x) {
            "holds a share of this key"
        } else {
            "is listed in node_ids"
        };
        return refuse(
            ErrorCode::ParticipantNotFound,
            format!(
                "{x} {why} but is unknown to this node's directory (no configured identity); add \
                 it to every node's configuration first"
            ),
        );
    }
    // A staying holder whose identity changed is a replace only when the
    // initiator says so: giving its index to whoever now claims the id,
    // unasked, could hand a second share to an impostor.
    for h in holders.iter().filter(|h| nodes.contains(&h.node)) {
        let current = &facts.directory[&h.node];
        if *current != h.identity && !replace.contains(&h.node) {
            let x = &h.node;
            return refuse(
                ErrorCode::PublicKeyMismatch,
                format!(
                    "{x}'s identity differs from the one stored with the wallet's {kt} key; if \
                     {x} was rebuilt, replace it explicitly (tessera_replace: [\"{x}\"]), \
                     otherwise restore its old identity"
                ),
            );
        }
    }

    // Indices: staying holders keep theirs.
    let mut committee: Vec<(NodeId, u8)> = holders
        .iter()
        .filter(|h| nodes.contains(&h.node))
        .map(|h| (h.node.clone(), h.index))
        .collect();
    match kt {
        KeyType::Secp256k1 => {
            // Same number joining and leaving: pair them in sorted order.
            for (new, old) in added.iter().zip(&removed) {
                let index = holders
                    .iter()
                    .find(|h| h.node == *old)
                    .map(|h| h.index)
                    .unwrap_or_default();
                committee.push((new.clone(), index));
            }
        }
        KeyType::Ed25519 => {
            let max = holders.iter().map(|h| h.index).max().unwrap_or(0);
            for (k, new) in added.iter().enumerate() {
                let index = u8::try_from(usize::from(max) + k + 1).or_else(|_| {
                    refuse(
                        ErrorCode::InvalidConfiguration,
                        format!(
                            "no free FROST identifier for {new}: the key's largest is {max} and \
                             identifiers stop at 255; create a new wallet"
                        ),
                    )
                })?;
                committee.push((new.clone(), index));
            }
        }
    }
    committee.sort();

    let mut targets: Vec<NodeId> = replace.iter().cloned().chain(added.clone()).collect();
    targets.sort();
    let helpers: Vec<NodeId> = committee
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !targets.contains(n))
        .collect();
    let needed = t.signers();
    if helpers.len() < needed {
        let at_most = committee.len().saturating_sub(needed);
        let limit = if at_most == 0 {
            "with t+1 = n no share of this key can ever be repaired (a refresh still works)"
                .to_string()
        } else {
            format!("at most {at_most} can be replaced or moved in one reshare")
        };
        return refuse(
            ErrorCode::InsufficientParticipants,
            format!(
                "a repair needs t+1={needed} helpers (holders that stay and keep their share); \
                 this reshare leaves {} ({}) for {} target(s) ({}): {limit}",
                helpers.len(),
                names(&helpers),
                targets.len(),
                names(&targets)
            ),
        );
    }

    if let Some(x) = nodes.iter().find(|n| facts.banned.contains(*n)) {
        return refuse(
            ErrorCode::PartyBanned,
            format!(
                "{x} is banned on this node for cheating (see `tessera bans list`) and the \
                 reshare needs it in the new committee; clear the ban (`tessera bans clear {x}`) \
                 or leave {x} out"
            ),
        );
    }
    if let Some(x) = nodes.iter().find(|n| !facts.ready.contains(*n)) {
        return refuse(
            ErrorCode::PeerUnavailable,
            format!(
                "{x} is not ready and every node of the new committee must take part in the \
                 refresh; retry when {x} is ready, or reshare without it"
            ),
        );
    }

    let kind = match (added.is_empty(), removed.is_empty()) {
        (true, true) if replace.is_empty() => LifecycleKind::Refresh,
        (true, true) => LifecycleKind::Replace,
        (false, false) => LifecycleKind::Move,
        (false, true) => LifecycleKind::Grow,
        (true, false) => LifecycleKind::Remove,
    };
    Ok(LifecyclePlan {
        kind,
        committee,
        helpers,
        targets,
        removed,
    })
}

#[cfg(test)]
#[path = "plan_lifecycle_tests.rs"]
mod tests;
