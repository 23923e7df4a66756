//! The contract between the generic session driver and one protocol.
//!
//! A protocol is a fixed number of rounds. In every round each player sends a
//! broadcast, a p2p message to every other player, or both ([`RoundShape`]).
//! The driver collects a whole round, then calls [`RoundProtocol::finish_round`]
//! with everything received; the protocol answers with the next round's
//! messages or its output. The protocol never sees a message twice, from a
//! stranger, or for another round: the driver has already checked all that.

use std::collections::BTreeMap;

use tessera_types::NodeId;

use crate::repair_failure::RepairFailure;

/// What one round carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundShape {
    pub broadcast: bool,
    pub p2p: bool,
}

/// Messages one party sends in one round.
#[derive(Clone, Debug, Default)]
pub struct RoundOutput {
    pub broadcast: Option<Vec<u8>>,
    pub p2p: BTreeMap<NodeId, Vec<u8>>,
}

impl RoundOutput {
    /// A round that only broadcasts `payload`.
    pub fn broadcast_only(payload: Vec<u8>) -> Self {
        Self {
            broadcast: Some(payload),
            p2p: BTreeMap::new(),
        }
    }
}

/// Everything one party received in one round. `broadcasts` includes its own.
#[derive(Clone, Debug, Default)]
pub struct RoundInput {
    pub broadcasts: BTreeMap<NodeId, Vec<u8>>,
    pub p2p: BTreeMap<NodeId, Vec<u8>>,
}

/// What a finished round leads to.
#[derive(Debug)]
pub enum Step<O> {
    Next(RoundOutput),
    Done(O),
}

/// Why a protocol step failed, as the protocol sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A message could not be decoded; the sender is at fault.
    Malformed { from: NodeId, detail: String },
    /// The library detected cheating and named the culprits.
    /// `ban` is set when DKLs23 demands the culprit be excluded from all future sessions.
    Cheating {
        culprits: Vec<NodeId>,
        ban: bool,
        detail: String,
    },
    /// The protocol finished but its signature does not verify; nobody is named.
    InvalidSignature,
    /// This party's own inputs are unusable (key share, derivation path, ...).
    Local(String),
    /// A repair produced no share; nobody can be named.
    Repair(RepairFailure),
}

impl Fault {
    /// `from` sent something that does not decode.
    pub(crate) fn malformed(from: &NodeId, detail: impl std::fmt::Display) -> Self {
        Fault::Malformed {
            from: from.clone(),
            detail: detail.to_string(),
        }
    }
}

/// One party's side of one protocol.
pub trait RoundProtocol {
    type Output;

    /// Number of protocol rounds (not counting the driver's echo round).
    fn rounds(&self) -> u16;

    /// What round `round` carries.
    fn shape(&self, round: u16) -> RoundShape;

    /// This party's round-0 messages.
    fn start(&mut self) -> Result<RoundOutput, Fault>;

    /// Consumes everything of `round` and produces the next round or the output.
    /// Returns `Done` exactly for the last round.
    fn finish_round(&mut self, round: u16, input: RoundInput) -> Result<Step<Self::Output>, Fault>;
}
