//! Client ("initiator") request signatures, in both formats mpcium clients use.
//!
//! - Ed25519: a 32-byte public key, hex in config; a 64-byte signature over the
//!   signed bytes, checked with `verify_strict` (rejects small-order keys and
//!   non-canonical signatures).
//! - P-256: a PKIX/SPKI DER public key, hex in config; an ASN.1 DER ECDSA
//!   signature over SHA-256 of the signed bytes. High-S signatures are accepted
//!   because Go's `crypto/ecdsa` produces them; malleability does not matter here
//!   since replays are caught by the request's idempotency key, not its signature.
//!
//! What the signed bytes are (the compact JSON of a request) is the caller's
//! business; this module only checks keys and signatures.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use rand_core::{CryptoRng, OsRng, RngCore};
use serde::{Deserialize, Serialize};
use tessera_types::ErrorCode;

use crate::secret::SecretBytes;

/// The algorithm of an initiator key (`event_initiator_algorithm` in mpcium's config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitiatorKeyKind {
    Ed25519,
    P256,
}

impl InitiatorKeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InitiatorKeyKind::Ed25519 => "ed25519",
            InitiatorKeyKind::P256 => "p256",
        }
    }
}

impl fmt::Display for InitiatorKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InitiatorKeyKind {
    type Err = InitiatorKeyError;
    fn from_str(s: &str) -> Result<Self, InitiatorKeyError> {
        match s {
            "ed25519" => Ok(InitiatorKeyKind::Ed25519),
            "p256" => Ok(InitiatorKeyKind::P256),
            _ => Err(InitiatorKeyError::UnknownKind),
        }
    }
}

/// A configured initiator public key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitiatorKeyError {
    #[error("unknown initiator key algorithm (expected ed25519 or p256)")]
    UnknownKind,
    #[error("initiator key is not valid hex")]
    BadHex,
    #[error("{kind} initiator key must be {expected} bytes, found {found}")]
    BadLength {
        kind: InitiatorKeyKind,
        expected: usize,
        found: usize,
    },
    #[error("{kind} initiator key is not a valid public key")]
    InvalidKey { kind: InitiatorKeyKind },
    #[error("ed25519 initiator key is a weak (small-order) key")]
    WeakKey,
}

impl InitiatorKeyError {
    pub fn code(&self) -> ErrorCode {
        match self {
            InitiatorKeyError::UnknownKind
            | InitiatorKeyError::BadHex
            | InitiatorKeyError::BadLength { .. }
            | InitiatorKeyError::InvalidKey { .. }
            | InitiatorKeyError::WeakKey => ErrorCode::InvalidConfiguration,
        }
    }
}

/// A request signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("{kind} initiator signature is malformed: {reason}")]
    Malformed {
        kind: InitiatorKeyKind,
        reason: &'static str,
    },
    #[error("{kind} initiator signature does not verify")]
    Invalid { kind: InitiatorKeyKind },
}

impl SignatureError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SignatureError::Malformed { .. } | SignatureError::Invalid { .. } => {
                ErrorCode::InvalidInitiatorSignature
            }
        }
    }
}

/// An initiator's public key.
#[derive(Clone, PartialEq, Eq)]
pub enum InitiatorKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl InitiatorKey {
    /// Parses a key as it appears in config: hex of the raw Ed25519 key or of the
    /// P-256 SPKI DER. Surrounding whitespace is ignored; either case is accepted.
    pub fn from_hex(kind: InitiatorKeyKind, hex_str: &str) -> Result<Self, InitiatorKeyError> {
        let bytes = hex::decode(hex_str.trim()).map_err(|_| InitiatorKeyError::BadHex)?;
        Self::from_bytes(kind, &bytes)
    }

    /// Parses raw key bytes (32 bytes for Ed25519, SPKI DER for P-256).
    pub fn from_bytes(kind: InitiatorKeyKind, bytes: &[u8]) -> Result<Self, InitiatorKeyError> {
        match kind {
            InitiatorKeyKind::Ed25519 => {
                let raw: [u8; 32] = bytes.try_into().map_err(|_| InitiatorKeyError::BadLength {
                    kind,
                    expected: 32,
                    found: bytes.len(),
                })?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map_err(|_| InitiatorKeyError::InvalidKey { kind })?;
                if vk.is_weak() {
                    return Err(InitiatorKeyError::WeakKey);
                }
                Ok(InitiatorKey::Ed25519(vk))
            }
            InitiatorKeyKind::P256 => p256::ecdsa::VerifyingKey::from_public_key_der(bytes)
                .map(InitiatorKey::P256)
                .map_err(|_| InitiatorKeyError::InvalidKey { kind }),
        }
    }

    pub fn kind(&self) -> InitiatorKeyKind {
        match self {
            InitiatorKey::Ed25519(_) => InitiatorKeyKind::Ed25519,
            InitiatorKey::P256(_) => InitiatorKeyKind::P256,
        }
    }

    /// The config encoding: raw 32 bytes, or SPKI DER.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            InitiatorKey::Ed25519(vk) => vk.to_bytes().to_vec(),
            // Encoding a valid point as SPKI cannot fail; an empty result would
            // simply not parse back, never pass as a key.
            InitiatorKey::P256(vk) => vk
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Lowercase hex of [`InitiatorKey::to_bytes`], as written in config.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Checks `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        let kind = self.kind();
        match self {
            InitiatorKey::Ed25519(vk) => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| {
                    SignatureError::Malformed {
                        kind,
                        reason: "expected 64 bytes",
                    }
                })?;
                vk.verify_strict(msg, &sig)
                    .map_err(|_| SignatureError::Invalid { kind })
            }
            InitiatorKey::P256(vk) => {
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| {
                    SignatureError::Malformed {
                        kind,
                        reason: "expected asn.1 der ecdsa",
                    }
                })?;
                vk.verify(msg, &sig)
                    .map_err(|_| SignatureError::Invalid { kind })
            }
        }
    }
}

impl fmt::Debug for InitiatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InitiatorKey({}:{})", self.kind(), self.to_hex())
    }
}

/// An initiator's private key, for tests, the CLI and the client SDK.
pub struct InitiatorSigner(SignerInner);

enum SignerInner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl InitiatorSigner {
    pub fn generate(kind: InitiatorKeyKind) -> Self {
        Self::generate_with(kind, &mut OsRng)
    }

    pub fn generate_with<R: RngCore + CryptoRng>(kind: InitiatorKeyKind, rng: &mut R) -> Self {
        match kind {
            InitiatorKeyKind::Ed25519 => Self(SignerInner::Ed25519(
                ed25519_dalek::SigningKey::generate(rng),
            )),
            InitiatorKeyKind::P256 => Self(SignerInner::P256(p256::ecdsa::SigningKey::random(rng))),
        }
    }

    /// From a 32-byte secret: the Ed25519 seed, or the P-256 scalar (big-endian).
    pub fn from_secret_bytes(
        kind: InitiatorKeyKind,
        secret: &[u8],
    ) -> Result<Self, InitiatorKeyError> {
        let bad_len = InitiatorKeyError::BadLength {
            kind,
            expected: 32,
            found: secret.len(),
        };
        match kind {
            InitiatorKeyKind::Ed25519 => {
                let seed: &[u8; 32] = secret.try_into().map_err(|_| bad_len)?;
                Ok(Self(SignerInner::Ed25519(
                    ed25519_dalek::SigningKey::from_bytes(seed),
                )))
            }
            InitiatorKeyKind::P256 => {
                if secret.len() != 32 {
                    return Err(bad_len);
                }
                p256::ecdsa::SigningKey::from_slice(secret)
                    .map(|k| Self(SignerInner::P256(k)))
                    .map_err(|_| InitiatorKeyError::InvalidKey { kind })
            }
        }
    }

    /// The 32-byte secret [`InitiatorSigner::from_secret_bytes`] takes.
    pub fn secret_bytes(&self) -> SecretBytes {
        match &self.0 {
            SignerInner::Ed25519(k) => SecretBytes::from_slice(k.as_bytes()),
            SignerInner::P256(k) => {
                let mut bytes = k.to_bytes();
                let s = SecretBytes::from_slice(&bytes);
                zeroize::Zeroize::zeroize(&mut bytes[..]);
                s
            }
        }
    }

    pub fn kind(&self) -> InitiatorKeyKind {
        match &self.0 {
            SignerInner::Ed25519(_) => InitiatorKeyKind::Ed25519,
            SignerInner::P256(_) => InitiatorKeyKind::P256,
        }
    }

    pub fn public(&self) -> InitiatorKey {
        match &self.0 {
            SignerInner::Ed25519(k) => InitiatorKey::Ed25519(k.verifying_key()),
            SignerInner::P256(k) => InitiatorKey::P256(*k.verifying_key()),
        }
    }

    /// Signs `msg`: 64 raw bytes (Ed25519) or ASN.1 DER ECDSA over SHA-256 (P-256).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.0 {
            SignerInner::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SignerInner::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl fmt::Debug for InitiatorSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InitiatorSigner({:?}, secret: <redacted>)",
            self.public()
        )
    }
}

#[cfg(test)]
#[path = "initiator_tests.rs"]
mod tests;
