//! What every kind of key share has in common: its public facts
//! ([`ShareInfo`]) and why share bytes could not be read. A leaf module, so the
//! ECDSA and EdDSA shares and the versioned format in `share` can all use it
//! without importing each other.

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
