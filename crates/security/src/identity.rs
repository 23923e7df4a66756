//! A node's own identity: the Ed25519 key that signs everything it sends and
//! the X25519 key that peers encrypt p2p payloads to.
//!
//! Both private keys are wiped on drop (the dalek types zeroize themselves) and
//! `Debug` shows only the public halves. Saving and loading is in
//! [`crate::identity_file`].

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rand_core::{CryptoRng, OsRng, RngCore};
use tessera_types::{NodeId, PublicIdentity};
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};
use zeroize::Zeroize;

use crate::agreed::Agreed;
use crate::secret::Secret;

/// Length of the serialized private keys: Ed25519 seed then X25519 secret.
pub(crate) const SECRET_LEN: usize = 64;

/// This node's private identity.
pub struct NodeIdentity {
    node_id: NodeId,
    signing: SigningKey,
    agreement: StaticSecret,
    /// The public halves, computed once: deriving the X25519 public key is a
    /// scalar multiplication, and every p2p envelope needs it.
    public: PublicIdentity,
    /// X25519 results with peers' static keys, computed once each.
    agreed: Agreed,
}

fn public_of(node_id: &NodeId, signing: &SigningKey, agreement: &StaticSecret) -> PublicIdentity {
    PublicIdentity {
        node_id: node_id.clone(),
        signing_key: signing.verifying_key().to_bytes(),
        agreement_key: X25519Public::from(agreement).to_bytes(),
    }
}

impl NodeIdentity {
    /// New random keys from the operating system's generator.
    pub fn generate(node_id: NodeId) -> Self {
        Self::generate_with(node_id, &mut OsRng)
    }

    /// New keys from `rng` (tests use a seeded generator for reproducible identities).
    pub fn generate_with<R: RngCore + CryptoRng>(node_id: NodeId, rng: &mut R) -> Self {
        let signing = SigningKey::generate(rng);
        let agreement = StaticSecret::random_from_rng(rng);
        let public = public_of(&node_id, &signing, &agreement);
        Self {
            node_id,
            signing,
            agreement,
            public,
            agreed: Agreed::default(),
        }
    }

    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    /// The public identity peers need: node id, Ed25519 and X25519 public keys.
    pub fn public(&self) -> PublicIdentity {
        self.public.clone()
    }

    /// Signs `msg` with the node's Ed25519 key. Every caller must put its own
    /// domain label at the start of `msg` (envelopes use `tessera/envelope/sig/v1`),
    /// so a signature made for one purpose is never valid for another.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }

    /// X25519 with a peer's public key, computed once per key; `None` when
    /// the result is non-contributory (a low-order peer key).
    pub(crate) fn agree(&self, their_public: &[u8; 32]) -> Option<Secret<[u8; 32]>> {
        self.agreed.get_or(their_public, || {
            let shared = self
                .agreement
                .diffie_hellman(&X25519Public::from(*their_public));
            shared
                .was_contributory()
                .then(|| Secret::new(*shared.as_bytes()))
        })
    }

    /// Both private keys, for the identity file.
    pub(crate) fn secret_bytes(&self) -> Secret<[u8; SECRET_LEN]> {
        let mut out = Secret::new([0u8; SECRET_LEN]);
        let mut agreement = self.agreement.to_bytes();
        out.expose_mut()[..32].copy_from_slice(self.signing.as_bytes());
        out.expose_mut()[32..].copy_from_slice(&agreement);
        agreement.zeroize();
        out
    }

    /// Rebuilds an identity from [`NodeIdentity::secret_bytes`].
    pub(crate) fn from_secret_bytes(node_id: NodeId, secret: &Secret<[u8; SECRET_LEN]>) -> Self {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&secret.expose()[..32]);
        let mut agreement = [0u8; 32];
        agreement.copy_from_slice(&secret.expose()[32..]);
        let signing = SigningKey::from_bytes(&seed);
        let agreement_secret = StaticSecret::from(agreement);
        let public = public_of(&node_id, &signing, &agreement_secret);
        let id = Self {
            node_id,
            signing,
            agreement: agreement_secret,
            public,
            agreed: Agreed::default(),
        };
        seed.zeroize();
        agreement.zeroize();
        id
    }
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let public = self.public();
        f.debug_struct("NodeIdentity")
            .field("node_id", &self.node_id)
            .field("signing_key", &hex::encode(public.signing_key))
            .field("agreement_key", &hex::encode(public.agreement_key))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, VerifyingKey};

    use super::*;

    fn id(name: &str) -> NodeIdentity {
        NodeIdentity::generate(NodeId::new(name).unwrap())
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        let a = id("node0");
        let sig = a.sign(b"hello");
        let vk = VerifyingKey::from_bytes(&a.public().signing_key).unwrap();
        vk.verify_strict(b"hello", &Signature::from_bytes(&sig))
            .unwrap();
        assert!(vk
            .verify_strict(b"hellO", &Signature::from_bytes(&sig))
            .is_err());
    }

    #[test]
    fn agreement_is_symmetric() {
        let (a, b) = (id("a"), id("b"));
        // `Some`: contributory (a low-order key gives `None`).
        let ab = a.agree(&b.public().agreement_key).expect("contributory");
        let ba = b.agree(&a.public().agreement_key).expect("contributory");
        assert_eq!(ab.expose(), ba.expose());
        // The remembered result is the same one.
        let again = a.agree(&b.public().agreement_key).unwrap();
        assert_eq!(again.expose(), ab.expose());
        assert!(
            a.agree(&[0u8; 32]).is_none(),
            "the all-zero key is low order"
        );
    }

    #[test]
    fn secret_bytes_round_trip() {
        let a = id("node0");
        let b = NodeIdentity::from_secret_bytes(a.node_id().clone(), &a.secret_bytes());
        assert_eq!(a.public(), b.public());
        assert_eq!(a.sign(b"m"), b.sign(b"m"));
    }

    #[test]
    fn debug_shows_only_public_keys() {
        let a = id("node0");
        let dbg = format!("{a:?}");
        let secret = hex::encode(a.secret_bytes().expose());
        assert!(dbg.contains("node0"));
        assert!(dbg.contains(&hex::encode(a.public().signing_key)));
        assert!(!dbg.contains(&secret[..64]) && !dbg.contains(&secret[64..]));
    }

    #[test]
    fn identities_are_distinct() {
        assert_ne!(id("a").public().signing_key, id("a").public().signing_key);
    }
}
