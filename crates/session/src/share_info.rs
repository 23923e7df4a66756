//! What every kind of key share has in common: its public facts
//! ([`ShareInfo`]) and why share bytes could not be read. A leaf module, so the
//! ECDSA and EdDSA shares and the versioned format in `share` can all use it
//! without importing each other.
//!
//! Format version 1 had no epoch: [`ShareInfoV1`] is that layout, read as epoch 0.

use serde::{Deserialize, Serialize};
use tessera_types::{NodeId, Threshold};

/// Public facts about a key, identical on every participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInfo {
    /// All participants, sorted; a participant's protocol index is its position + 1.
    pub participants: Vec<NodeId>,
    /// mpcium's `t`: `t + 1` participants sign.
    pub threshold: Threshold,
    /// The participant holding this share.
    pub me: NodeId,
    /// The master public key: SEC1 compressed (33 bytes) or Ed25519 (32 bytes).
    pub public_key: Vec<u8>,
    /// Chain code for non-hardened child keys (see `derive`).
    pub chain_code: [u8; 32],
    /// 0 after keygen, +1 per refresh. Shares of different epochs never sign
    /// together (the libraries refuse it), so players compare it first.
    pub epoch: u64,
}

/// `ShareInfo` as format version 1 stored it (no epoch). Written for epoch 0,
/// so a node of the previous release still reads every share that was never
/// refreshed.
#[derive(Serialize, Deserialize)]
pub(crate) struct ShareInfoV1 {
    participants: Vec<NodeId>,
    threshold: Threshold,
    me: NodeId,
    public_key: Vec<u8>,
    chain_code: [u8; 32],
}

impl From<ShareInfoV1> for ShareInfo {
    fn from(v: ShareInfoV1) -> Self {
        Self {
            participants: v.participants,
            threshold: v.threshold,
            me: v.me,
            public_key: v.public_key,
            chain_code: v.chain_code,
            epoch: 0,
        }
    }
}

impl From<&ShareInfo> for ShareInfoV1 {
    fn from(v: &ShareInfo) -> Self {
        Self {
            participants: v.participants.clone(),
            threshold: v.threshold,
            me: v.me.clone(),
            public_key: v.public_key.clone(),
            chain_code: v.chain_code,
        }
    }
}

/// The share format version that holds `info`: 1 while the epoch is 0 (so
/// older readers keep working), 2 once a refresh has moved it.
pub(crate) fn format_version(info: &ShareInfo) -> u8 {
    if info.epoch == 0 {
        1
    } else {
        2
    }
}

/// Why a share could not be written out (nothing is stored then: an empty or
/// partial share must never reach the store).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key share not encodable: {0}")]
pub struct ShareEncodeError(pub String);

/// Why share bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShareDecodeError {
    #[error("not a key share (bad magic)")]
    BadMagic,
    #[error("unsupported key share format version {0}")]
    UnsupportedVersion(u8),
    #[error("unknown key scheme {0}")]
    UnknownScheme(u8),
    #[error("corrupt key share: {0}")]
    Corrupt(String),
}
