//! The message plumbing FROST's DKG and its refresh share: round-0
//! commitments read from the broadcasts, round-1 shares written to and read
//! from the point-to-point messages, keyed by FROST identifier.

use std::collections::BTreeMap;

use frost_ed25519::keys::dkg::{round1, round2};
use frost_ed25519::Identifier;
use tessera_types::NodeId;

use super::identifier_of;
use crate::codec::take;
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput};

/// Every party but `me`.
pub(super) fn others(parties: &Parties, me: &NodeId) -> Vec<NodeId> {
    parties.ids().iter().filter(|p| *p != me).cloned().collect()
}

/// The other parties' round-0 packages, from the broadcasts.
pub(super) fn read_round1(
    parties: &Parties,
    me: &NodeId,
    input: &RoundInput,
) -> Result<BTreeMap<Identifier, round1::Package>, Fault> {
    let mut packages = BTreeMap::new();
    for p in others(parties, me) {
        let pkg = round1::Package::deserialize(take(&input.broadcasts, &p)?)
            .map_err(|e| Fault::malformed(&p, e))?;
        packages.insert(identifier_of(parties, &p)?, pkg);
    }
    Ok(packages)
}

/// Round 1's output: each other party's package, point to point.
pub(super) fn write_round2(
    parties: &Parties,
    me: &NodeId,
    packages: &BTreeMap<Identifier, round2::Package>,
) -> Result<RoundOutput, Fault> {
    let mut p2p = BTreeMap::new();
    for p in others(parties, me) {
        let pkg = packages
            .get(&identifier_of(parties, &p)?)
            .ok_or_else(|| Fault::Local(format!("no share for {p}")))?;
        p2p.insert(p, pkg.serialize().map_err(|e| Fault::Local(e.to_string()))?);
    }
    Ok(RoundOutput {
        broadcast: None,
        p2p,
    })
}

/// The other parties' round-1 packages, from the point-to-point messages.
pub(super) fn read_round2(
    parties: &Parties,
    me: &NodeId,
    input: &RoundInput,
) -> Result<BTreeMap<Identifier, round2::Package>, Fault> {
    let mut packages = BTreeMap::new();
    for p in others(parties, me) {
        let pkg = round2::Package::deserialize(take(&input.p2p, &p)?)
            .map_err(|e| Fault::malformed(&p, e))?;
        packages.insert(identifier_of(parties, &p)?, pkg);
    }
    Ok(packages)
}
