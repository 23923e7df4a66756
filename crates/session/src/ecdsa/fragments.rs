//! Polynomial fragments, as DKLs23's DKG and its complete refresh exchange
//! them in their first round: fragment i goes to party index i (this party
//! keeps its own), and each party gathers every fragment addressed to it, in
//! party order.

use std::collections::BTreeMap;

use tessera_types::NodeId;

use super::Curve;
use crate::codec::{decode, encode, take};
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput};

/// A scalar of the curve dkls23 runs on.
pub(super) type Scalar = <Curve as dkls_k256::elliptic_curve::CurveArithmetic>::Scalar;

/// Sends fragment i to the party at index i; returns this party's own.
pub(super) fn send(
    parties: &Parties,
    me: &NodeId,
    fragments: Vec<Scalar>,
) -> Result<(Option<Scalar>, RoundOutput), Fault> {
    let mut own = None;
    let mut p2p = BTreeMap::new();
    for (i, fragment) in fragments.into_iter().enumerate() {
        let node = u8::try_from(i + 1)
            .ok()
            .and_then(|i| parties.node(i))
            .cloned()
            .ok_or_else(|| Fault::Local("library made too many fragments".into()))?;
        if node == *me {
            own = Some(fragment);
        } else {
            p2p.insert(node, encode(&fragment)?);
        }
    }
    let output = RoundOutput {
        broadcast: None,
        p2p,
    };
    Ok((own, output))
}

/// Every fragment addressed to this party, in party order (`own` is its own).
pub(super) fn gather(
    parties: &Parties,
    me: &NodeId,
    own: Option<Scalar>,
    input: &RoundInput,
) -> Result<Vec<Scalar>, Fault> {
    let mut own = own;
    let mut fragments = Vec::with_capacity(parties.len());
    for (p, _) in parties.by_index() {
        if p == *me {
            let mine = own.take();
            fragments.push(mine.ok_or_else(|| Fault::Local("own fragment missing".into()))?);
        } else {
            fragments.push(decode::<Scalar>(&p, take(&input.p2p, &p)?)?);
        }
    }
    Ok(fragments)
}
