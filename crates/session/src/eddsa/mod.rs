//! EdDSA on Ed25519 with FROST (`frost-ed25519 =3.0.0`, RFC 9591).
//!
//! - [`keygen`]: FROST's three-part DKG as two rounds (broadcast; p2p).
//! - [`sign`]: signing by `t + 1` or more participants, two rounds (broadcast
//!   commitments; broadcast signature shares), without a coordinator: every
//!   signer aggregates, with FROST's culprit detection.
//! - [`refresh`]: FROST's refresh by DKG with every holder, two rounds
//!   (broadcast; p2p); same key, new shares.
//! - [`replace`]: repair (RTS) for existing or new identifiers, then the
//!   refresh by the new committee, 4 rounds.
//! - [`share`]: the key share a participant keeps, and the additive tweak for child keys.

mod dkg_io;
pub mod keygen;
mod public_packages;
pub mod refresh;
pub mod replace;
pub mod share;
pub mod sign;

use frost_ed25519::{Error as FrostError, Identifier};
use tessera_types::NodeId;

use crate::parties::Parties;
use crate::round::Fault;

pub use keygen::EddsaKeygen;
pub use refresh::EddsaRefresh;
pub use replace::EddsaReplace;
pub use share::EddsaKeyShare;
pub use sign::{EddsaSign, EddsaSignature};

pub(crate) fn identifier(index: u8) -> Result<Identifier, Fault> {
    Identifier::try_from(u16::from(index)).map_err(|e| Fault::Local(e.to_string()))
}

pub(crate) fn identifier_of(parties: &Parties, node: &NodeId) -> Result<Identifier, Fault> {
    identifier(
        parties
            .index(node)
            .map_err(|e| Fault::Local(e.to_string()))?,
    )
}

/// Maps a FROST error to a fault naming its culprits.
pub(crate) fn fault(e: FrostError, parties: &Parties) -> Fault {
    let culprits: Vec<NodeId> = e
        .culprits()
        .iter()
        .filter_map(|id| {
            parties
                .by_index()
                .into_iter()
                .find(|(_, i)| identifier(*i).ok() == Some(*id))
                .map(|(n, _)| n)
        })
        .collect();
    if culprits.is_empty() {
        Fault::Local(e.to_string())
    } else {
        Fault::Cheating {
            culprits,
            ban: false,
            detail: e.to_string(),
        }
    }
}
