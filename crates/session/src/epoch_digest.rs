//! The epoch digest: one 32-byte value every holder of a key computes from the
//! public part of its share at an epoch (key, chain code, threshold, epoch,
//! holders with their indices, the group's verifying shares). Holders that
//! ended a lifecycle session with the same digest hold shares of the same
//! attempt; the runner compares it before anyone commits.
//!
//! The verifying shares move with every refresh attempt (fresh corrections),
//! so two attempts at the same epoch number have different digests.

use sha2::{Digest, Sha256};

use crate::share::KeyShare;
use crate::share_info::ShareEncodeError;

const DOMAIN: &[u8] = b"tessera/epoch/v1";

impl KeyShare {
    /// The digest of this share's public data (never of its secret).
    pub fn epoch_digest(&self) -> Result<[u8; 32], ShareEncodeError> {
        let info = self.info();
        let (scheme, package) = match self {
            KeyShare::Ecdsa(s) => (
                1u8,
                match &s.package {
                    Some(p) => {
                        postcard::to_allocvec(p).map_err(|e| ShareEncodeError(e.to_string()))?
                    }
                    None => Vec::new(),
                },
            ),
            KeyShare::Eddsa(s) => (
                2u8,
                s.public_package
                    .serialize()
                    .map_err(|e| ShareEncodeError(e.to_string()))?,
            ),
        };
        let mut h = Sha256::new();
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        part(DOMAIN);
        part(&[scheme]);
        part(&info.public_key);
        part(&info.chain_code);
        part(&info.threshold.0.to_be_bytes());
        part(&info.epoch.to_be_bytes());
        for (node, index) in info.participants.iter().zip(&info.indices) {
            part(node.as_str().as_bytes());
            part(&[*index]);
        }
        part(&package);
        Ok(h.finalize().into())
    }
}
