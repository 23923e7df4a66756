//! ECDSA on secp256k1 with DKLs23 (`dkls23 =0.6.2`).
//!
//! - [`keygen`]: distributed key generation, 3 rounds (p2p; broadcast+p2p; broadcast+p2p).
//! - [`sign`]: signing by exactly `t + 1` participants, 3 rounds (p2p; p2p; broadcast),
//!   optionally under a BIP-32 non-hardened child key.
//! - [`refresh`]: DKLs23's complete refresh by every holder, 3 rounds (p2p;
//!   broadcast+p2p; p2p); same key and chain code, new shares and OT state.
//! - [`replace`]: repair of one or more indices for their (new) holders, then
//!   the complete refresh, 4 rounds.
//! - [`share`]: the key share a participant keeps.
//!
//! DKLs23's own `threshold` parameter counts signers, so Tessera's `t` maps to `t + 1`.

mod fragments;
pub mod keygen;
pub mod refresh;
pub mod replace;
pub mod share;
pub mod sign;

use dkls23::protocols::{Abort as DklsAbort, AbortKind, AbortReason, PartyIndex};

use crate::parties::Parties;
use crate::round::Fault;

pub use keygen::EcdsaKeygen;
pub use refresh::EcdsaRefresh;
pub use replace::EcdsaReplace;
pub use share::EcdsaKeyShare;
pub use sign::{EcdsaSign, EcdsaSignature};

pub(crate) type Curve = dkls_k256::Secp256k1;

/// Turns a DKLs23 abort into a fault naming the counterparty it blames.
pub(crate) fn fault(abort: DklsAbort, parties: &Parties) -> Fault {
    let detail = abort.description();
    let blamed: Option<PartyIndex> = match (&abort.kind, &abort.reason) {
        (AbortKind::BanCounterparty(p), _) => Some(*p),
        (_, AbortReason::UnexpectedSender { sender })
        | (_, AbortReason::DuplicateSender { sender }) => Some(*sender),
        (_, AbortReason::MissingMessageFromParty { party })
        | (_, AbortReason::MissingCommittedPoint { party })
        | (_, AbortReason::ChainCodeCommitmentFailed { party }) => Some(*party),
        (_, AbortReason::SessionBindingMismatch { counterparty })
        | (_, AbortReason::ProofVerificationFailed { counterparty })
        | (_, AbortReason::CommitmentMismatch { counterparty })
        | (_, AbortReason::TrivialInstancePoint { counterparty })
        | (_, AbortReason::OtConsistencyCheckFailed { counterparty })
        | (_, AbortReason::MultiplicationVerificationFailed { counterparty, .. })
        | (_, AbortReason::GammaUInconsistency { counterparty })
        | (_, AbortReason::ZeroShareDecommitFailed { counterparty }) => Some(*counterparty),
        (_, AbortReason::SignatureVerificationFailed) => return Fault::InvalidSignature,
        // Everything else is about our own inputs or state.
        _ => None,
    };
    // A party that blames itself (`check_own_point`: the fragments it received
    // do not add up to its committed point) cannot tell which sender lied:
    // nobody is named, and nobody is banned.
    if blamed == Some(abort.index) {
        return Fault::Cheating {
            culprits: Vec::new(),
            ban: false,
            detail,
        };
    }
    match blamed.and_then(|p| parties.node(p.as_u8())) {
        Some(node) => Fault::Cheating {
            culprits: vec![node.clone()],
            ban: matches!(abort.kind, AbortKind::BanCounterparty(_)),
            detail,
        },
        None => Fault::Local(detail),
    }
}

pub(crate) fn party_index(i: u8) -> Result<PartyIndex, Fault> {
    PartyIndex::new(i).map_err(|e| Fault::Local(e.to_string()))
}

/// The id DKLs23 binds every message of a run to, derived from Tessera's session id
/// under a per-protocol tag.
pub(crate) fn dkls_id(tag: &[u8], session: &tessera_types::SessionId) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(tag)
        .chain_update(session.as_str())
        .finalize()
        .to_vec()
}
