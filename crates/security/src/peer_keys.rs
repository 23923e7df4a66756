//! What a node knows about a peer: its validated public keys, and the p2p
//! encryption keys derived with it.
//!
//! p2p key: `HKDF-SHA256(ikm = X25519(me, peer), salt = label, info = session
//! id, run tag, sender id and keys, receiver id and keys)`. Every input is
//! length-prefixed or fixed-size, so no two contexts encode alike. Because the
//! sender comes first in `info`, the two directions between a pair get different
//! keys; the session id makes them per session and the run tag (the run id, or
//! in the join barrier the sender's nonce, see [`crate::replay`]) per run. The X25519 keys are static (no forward
//! secrecy): a node whose X25519 key leaks exposes the p2p payloads sent to it
//! that an eavesdropper recorded; rotating identities bounds that window.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId};

use crate::identity::NodeIdentity;
use crate::replay::RunTag;
use crate::secret::Secret;

const HKDF_SALT: &[u8] = b"tessera/envelope/p2p-key/v2";

/// A peer's public identity cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerKeyError {
    #[error("signing key of {node_id} is not a valid ed25519 key")]
    InvalidSigningKey { node_id: NodeId },
    #[error("agreement key of {node_id} is a low-order x25519 point")]
    WeakAgreementKey { node_id: NodeId },
    #[error("{node_id} appears twice in the peer set")]
    DuplicatePeer { node_id: NodeId },
    #[error("p2p key derivation failed")]
    KeyDerivation,
}

impl PeerKeyError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PeerKeyError::InvalidSigningKey { .. } | PeerKeyError::WeakAgreementKey { .. } => {
                ErrorCode::KeyDecoding
            }
            PeerKeyError::DuplicatePeer { .. } => ErrorCode::InvalidConfiguration,
            PeerKeyError::KeyDerivation => ErrorCode::Internal,
        }
    }

    pub fn node_id(&self) -> Option<&NodeId> {
        match self {
            PeerKeyError::InvalidSigningKey { node_id }
            | PeerKeyError::WeakAgreementKey { node_id }
            | PeerKeyError::DuplicatePeer { node_id } => Some(node_id),
            PeerKeyError::KeyDerivation => None,
        }
    }
}

/// A signature by a node does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature by {node_id} does not verify")]
pub struct BadNodeSignature {
    pub node_id: NodeId,
}

impl BadNodeSignature {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::SignatureVerification
    }
}

/// A peer's public identity with its Ed25519 key checked and parsed.
#[derive(Clone)]
pub struct PeerKey {
    public: PublicIdentity,
    verifying: VerifyingKey,
}

impl PeerKey {
    /// Rejects keys that are not curve points or have small order.
    pub fn new(public: PublicIdentity) -> Result<Self, PeerKeyError> {
        let invalid = || PeerKeyError::InvalidSigningKey {
            node_id: public.node_id.clone(),
        };
        let verifying = VerifyingKey::from_bytes(&public.signing_key).map_err(|_| invalid())?;
        if verifying.is_weak() {
            return Err(invalid());
        }
        Ok(Self { public, verifying })
    }

    pub fn public(&self) -> &PublicIdentity {
        &self.public
    }

    pub fn node_id(&self) -> &NodeId {
        &self.public.node_id
    }

    /// Checks an Ed25519 signature by this peer with `verify_strict`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), BadNodeSignature> {
        let bad = || BadNodeSignature {
            node_id: self.public.node_id.clone(),
        };
        let sig = Signature::from_slice(sig).map_err(|_| bad())?;
        self.verifying.verify_strict(msg, &sig).map_err(|_| bad())
    }
}

impl fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PeerKey").field(&self.public).finish()
    }
}

/// Which way a p2p key protects traffic, seen from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// This node sends to the peer.
    ToPeer,
    /// The peer sends to this node.
    FromPeer,
}

/// The ChaCha20-Poly1305 key for one direction between this node and `peer`
/// in one run (`run`) of `session`.
pub(crate) fn p2p_key(
    me: &NodeIdentity,
    peer: &PublicIdentity,
    session: &SessionId,
    run: &RunTag,
    direction: Direction,
) -> Result<Secret<[u8; 32]>, PeerKeyError> {
    let shared = shared_secret(me, peer)?;
    expand_p2p_key(&shared, &me.public(), peer, session, run, direction)
}

/// X25519 between this node and `peer`; refuses a non-contributory result.
pub(crate) fn shared_secret(
    me: &NodeIdentity,
    peer: &PublicIdentity,
) -> Result<Secret<[u8; 32]>, PeerKeyError> {
    me.agree(&peer.agreement_key)
        .ok_or_else(|| PeerKeyError::WeakAgreementKey {
            node_id: peer.node_id.clone(),
        })
}

/// The HKDF step of [`p2p_key`], from the X25519 result `shared`.
pub(crate) fn expand_p2p_key(
    shared: &Secret<[u8; 32]>,
    mine: &PublicIdentity,
    peer: &PublicIdentity,
    session: &SessionId,
    run: &RunTag,
    direction: Direction,
) -> Result<Secret<[u8; 32]>, PeerKeyError> {
    let (sender, receiver) = match direction {
        Direction::ToPeer => (mine, peer),
        Direction::FromPeer => (peer, mine),
    };
    let mut info = Vec::with_capacity(512);
    put_str(&mut info, session.as_str());
    match run {
        RunTag::Joining(nonce) => {
            info.push(0);
            info.extend_from_slice(&nonce.0);
        }
        RunTag::Bound(id) => {
            info.push(1);
            info.extend_from_slice(&id.0);
        }
    }
    for party in [sender, receiver] {
        put_str(&mut info, party.node_id.as_str());
        info.extend_from_slice(&party.signing_key);
        info.extend_from_slice(&party.agreement_key);
    }
    let mut key = Secret::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(HKDF_SALT), shared.expose())
        .expand(&info, key.expose_mut())
        .map_err(|_| PeerKeyError::KeyDerivation)?;
    Ok(key)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> NodeIdentity {
        NodeIdentity::generate(NodeId::new(name).unwrap())
    }

    fn sid(s: &str) -> SessionId {
        SessionId::new(s).unwrap()
    }

    const RUN: RunTag = RunTag::Bound(crate::replay::RunId([7; 32]));

    #[test]
    fn both_ends_agree_per_direction_and_session() {
        let (a, b) = (node("a"), node("b"));
        let s = sid("s1");
        let a_to_b = p2p_key(&a, &b.public(), &s, &RUN, Direction::ToPeer).unwrap();
        let b_from_a = p2p_key(&b, &a.public(), &s, &RUN, Direction::FromPeer).unwrap();
        assert_eq!(a_to_b.expose(), b_from_a.expose());
        let b_to_a = p2p_key(&b, &a.public(), &s, &RUN, Direction::ToPeer).unwrap();
        assert_ne!(a_to_b.expose(), b_to_a.expose());
        let other_session = p2p_key(&a, &b.public(), &sid("s2"), &RUN, Direction::ToPeer).unwrap();
        assert_ne!(a_to_b.expose(), other_session.expose());
    }

    #[test]
    fn keys_differ_by_run_and_by_nonce() {
        use crate::replay::{RunId, RunNonce};
        let (a, b) = (node("a"), node("b"));
        let s = sid("s1");
        let key = |run: RunTag| {
            let k = p2p_key(&a, &b.public(), &s, &run, Direction::ToPeer).unwrap();
            *k.expose()
        };
        let (n1, n2) = (RunNonce([1; 32]), RunNonce([2; 32]));
        let bound = |n: &RunNonce| {
            let ids = [NodeId::new("a").unwrap(), NodeId::new("b").unwrap()];
            RunTag::Bound(RunId::derive(&s, [(&ids[0], n), (&ids[1], &n2)]))
        };
        assert_ne!(
            key(bound(&n1)),
            key(bound(&n2)),
            "run ids from other nonces"
        );
        assert_ne!(key(RunTag::Joining(n1)), key(RunTag::Joining(n2)));
        // The same 32 bytes as a nonce and as a run id give different keys.
        assert_ne!(key(RunTag::Joining(n1)), key(RunTag::Bound(RunId(n1.0))));
        // And both ends still agree.
        let b_from_a = p2p_key(&b, &a.public(), &s, &bound(&n1), Direction::FromPeer).unwrap();
        assert_eq!(key(bound(&n1)), *b_from_a.expose());
    }

    #[test]
    fn a_third_party_derives_a_different_key() {
        let (a, b, c) = (node("a"), node("b"), node("c"));
        let s = sid("s1");
        let real = p2p_key(&b, &a.public(), &s, &RUN, Direction::FromPeer).unwrap();
        // c pretends to be b: same public identity claimed, but c's own X25519 secret.
        let c_as_b = NodeIdentity::generate(NodeId::new("b").unwrap());
        let guess = p2p_key(&c_as_b, &a.public(), &s, &RUN, Direction::FromPeer).unwrap();
        assert_ne!(real.expose(), guess.expose());
        let guess = p2p_key(&c, &a.public(), &s, &RUN, Direction::FromPeer).unwrap();
        assert_ne!(real.expose(), guess.expose());
    }

    #[test]
    fn weak_keys_are_rejected() {
        let a = node("a");
        let mut bad = node("b").public();
        bad.agreement_key = [0u8; 32];
        assert!(matches!(
            p2p_key(&a, &bad, &sid("s"), &RUN, Direction::ToPeer),
            Err(PeerKeyError::WeakAgreementKey { .. })
        ));
        let mut bad = node("b").public();
        bad.signing_key = [0u8; 32];
        bad.signing_key[0] = 1; // the identity point: small order
        let err = PeerKey::new(bad).unwrap_err();
        assert!(matches!(err, PeerKeyError::InvalidSigningKey { .. }));
        assert_eq!(err.node_id().map(|n| n.as_str()), Some("b"));
        assert_eq!(err.code(), ErrorCode::KeyDecoding);
    }

    #[test]
    fn peer_signatures_verify() {
        let a = node("a");
        let pk = PeerKey::new(a.public()).unwrap();
        pk.verify(b"m", &a.sign(b"m")).unwrap();
        assert!(pk.verify(b"n", &a.sign(b"m")).is_err());
        assert!(pk.verify(b"m", &[0u8; 3]).is_err());
        assert_eq!(pk.node_id().as_str(), "a");
    }
}
