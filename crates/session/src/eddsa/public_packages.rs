//! Decoded FROST public key packages, remembered by their bytes.
//!
//! A share is decoded for every signature. Decoding its public key package
//! checks each point (decompression and a torsion check: the group key and a
//! verifying share per holder), which was about a tenth of a node's CPU per
//! EdDSA signature (docs/performance.md). The package is public data and the
//! decoding is a pure function of its bytes, so a package decoded once is
//! reused for the same bytes: a changed share (refresh, repair) has other
//! bytes and is decoded afresh. Secret parts are never kept here.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use frost_ed25519::keys::PublicKeyPackage;

/// Packages remembered at most (one per wallet signing often); past that the
/// cache starts over.
const MAX_PACKAGES: usize = 4096;

fn cache() -> &'static Mutex<HashMap<Vec<u8>, PublicKeyPackage>> {
    static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, PublicKeyPackage>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// `PublicKeyPackage::deserialize(bytes)`, decoded once per distinct bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<PublicKeyPackage, frost_ed25519::Error> {
    if let Some(hit) = cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(bytes)
    {
        return Ok(hit.clone());
    }
    let package = PublicKeyPackage::deserialize(bytes)?;
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAX_PACKAGES {
        cache.clear();
    }
    cache.insert(bytes.to_vec(), package.clone());
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_refused_every_time_and_never_remembered() {
        for _ in 0..2 {
            assert!(decode(&[0u8; 40]).is_err());
        }
        assert!(!cache().lock().unwrap().contains_key([0u8; 40].as_slice()));
    }
}
