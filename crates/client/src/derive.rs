//! Child public keys, offline: the same non-hardened derivation the nodes
//! apply when a signing request names a `derivation_path`.
//!
//! - secp256k1: BIP-32 `CKDpub` from the master key and its **chain code**.
//!   The chain code is not derivable from the public key: DKLs23 draws it at
//!   keygen, jointly and at random (each node commits to a random value; the
//!   chain code is their XOR). A `KeygenResultEvent` does not carry it, so it
//!   has to be obtained from the cluster out of band until the nodes publish it.
//! - Ed25519: Tessera's additive scheme (see `tessera_session::derive::ed25519`);
//!   its chain code *is* a hash of the public key, so the public key suffices.
//!
//! Only non-hardened indices (< 2^31) exist for threshold keys.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use tessera_session::derive::{ed25519, DeriveError};

pub use tessera_session::derive::secp256k1::ExtendedPublicKey;
pub use tessera_session::derive::HARDENED;

use crate::ClientError;

/// The secp256k1 child key (SEC1 compressed) of `master_sec1` (compressed or
/// uncompressed SEC1) along `path`.
pub fn ecdsa_child_public_key(
    master_sec1: &[u8],
    chain_code: [u8; 32],
    path: &[u32],
) -> Result<[u8; 33], ClientError> {
    Ok(ecdsa_child(master_sec1, chain_code, path)?.public_key)
}

/// Like [`ecdsa_child_public_key`], with the child's chain code, for deriving further.
pub fn ecdsa_child(
    master_sec1: &[u8],
    chain_code: [u8; 32],
    path: &[u32],
) -> Result<ExtendedPublicKey, ClientError> {
    Ok(ExtendedPublicKey::new(master_sec1, chain_code)?.derive(path)?)
}

/// The Ed25519 child key of `master` along `path`.
pub fn eddsa_child_public_key(master: [u8; 32], path: &[u32]) -> Result<[u8; 32], ClientError> {
    Ok(ed25519::derive(&master, path)?.public_key)
}

/// The chain code Tessera uses for an Ed25519 master key.
pub fn eddsa_master_chain_code(master: &[u8; 32]) -> [u8; 32] {
    ed25519::master_chain_code(master)
}

/// A secp256k1 key in uncompressed SEC1 form (`0x04‖X‖Y`, 65 bytes), as
/// Ethereum addresses need it.
pub fn ecdsa_uncompressed(sec1: &[u8]) -> Result<[u8; 65], ClientError> {
    let key = k256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| ClientError::Derive(DeriveError::InvalidPublicKey))?;
    key.to_encoded_point(false)
        .as_bytes()
        .try_into()
        .map_err(|_| ClientError::Derive(DeriveError::InvalidPublicKey))
}
