//! Non-hardened child keys ("HD derivation") for both curves.
//!
//! Child *public* keys come from public data alone (master public key, chain code,
//! path), so a client can derive the address it will be paid to without asking
//! the cluster. Signing under a path shifts every share by the same public tweak.
//!
//! - [`secp256k1`]: BIP-32 `CKDpub`, exactly as the BIP specifies (DKLs23 applies
//!   the same tweak to the shares).
//! - [`ed25519`]: Tessera's additive scheme for Ed25519 (documented there).
//!
//! Hardened indices (>= 2^31) need the whole private key and are refused.

pub mod ed25519;
pub mod secp256k1;

use serde::{Deserialize, Serialize};

use crate::error::Abort;

/// First hardened index.
pub const HARDENED: u32 = 1 << 31;

/// A derivation path such as `44/60/0/0/7` (mpcium's `derivation_path: [u32]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    pub fn new(indices: Vec<u32>) -> Self {
        Self(indices)
    }

    /// The master key.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Refuses hardened indices with a typed error naming the first one.
    pub fn check_non_hardened(&self) -> Result<(), Abort> {
        match self.0.iter().find(|i| **i >= HARDENED) {
            Some(&index) => Err(Abort::HardenedIndex { index }),
            None => Ok(()),
        }
    }
}

impl From<Vec<u32>> for DerivationPath {
    fn from(v: Vec<u32>) -> Self {
        Self(v)
    }
}

/// Why a child key could not be derived.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    #[error("index {0} is hardened; only non-hardened derivation is possible")]
    Hardened(u32),
    #[error("invalid public key")]
    InvalidPublicKey,
    #[error("index {0} gives an invalid child (probability below 2^-127); skip it")]
    InvalidChild(u32),
}

impl From<DeriveError> for Abort {
    fn from(e: DeriveError) -> Self {
        match e {
            DeriveError::Hardened(index) => Abort::HardenedIndex { index },
            other => Abort::Local(other.to_string()),
        }
    }
}
