//! The X25519 results of this node's static key with peers' static keys,
//! computed once per peer key.
//!
//! Every session derives its p2p keys from the static-static X25519 result
//! with each peer (HKDF over session, run and direction, `peer_keys.rs`), so
//! the result is the same for every session with that peer; computing it
//! again cost one scalar multiplication per peer per session (about 3% of a
//! node's CPU per EdDSA signature, docs/performance.md). The cached values
//! are no more secret than the static key they come from, live as long as the
//! identity and are wiped on drop (`Secret`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::secret::Secret;

/// Peers' agreement keys remembered at most; past that the cache starts over
/// (tenant devices each have their own key, so the set is open-ended).
const MAX_PEERS: usize = 4096;

/// The X25519 result with one peer key (`None`: non-contributory).
type Result32 = Option<Secret<[u8; 32]>>;

/// Peer agreement key → the X25519 result.
#[derive(Default)]
pub(crate) struct Agreed {
    results: Mutex<HashMap<[u8; 32], Result32>>,
}

impl Agreed {
    /// The remembered result for `their`, or `compute`'s, remembered.
    pub(crate) fn get_or(&self, their: &[u8; 32], compute: impl FnOnce() -> Result32) -> Result32 {
        let mut results = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = results.get(their) {
            return hit.clone();
        }
        if results.len() >= MAX_PEERS {
            results.clear();
        }
        let got = compute();
        results.insert(*their, got.clone());
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_per_peer_key() {
        let agreed = Agreed::default();
        let mut calls = 0;
        for _ in 0..3 {
            let got = agreed.get_or(&[1; 32], || {
                calls += 1;
                Some(Secret::new([7; 32]))
            });
            assert_eq!(got.unwrap().expose(), &[7; 32]);
        }
        assert_eq!(calls, 1);
        assert!(agreed.get_or(&[2; 32], || None).is_none());
        assert!(agreed.get_or(&[2; 32], || unreachable!()).is_none());
    }
}
