//! The records callers put in and get back: key metadata, decrypted shares and
//! stored request results.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use tessera_security::SecretBytes;
use tessera_types::{KeyType, PublicIdentity, Threshold, WalletId};

use crate::error::StorageError;

/// Longest request key accepted for a stored result (bytes).
pub const MAX_REQUEST_KEY_LEN: usize = 512;

/// Public facts about one key of a wallet. Not secret: stored in clear (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMetadata {
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    /// Every party holding a share, with the public keys it had at keygen.
    pub participants: Vec<PublicIdentity>,
    /// mpcium's `t`: `t + 1` participants sign.
    pub threshold: Threshold,
    /// The master public key: SEC1 compressed (33 bytes) or Ed25519 (32 bytes).
    #[serde(with = "hex_bytes")]
    pub public_key: Vec<u8>,
    /// Chain code for non-hardened child keys, if the key has one.
    #[serde(default, with = "hex_opt32")]
    pub chain_code: Option<[u8; 32]>,
    pub created_at_unix: u64,
    /// The share version this metadata belongs to. Set by the store on write:
    /// whatever the caller passes is replaced.
    pub share_version: u32,
}

impl KeyMetadata {
    /// Checks what the store relies on: a valid threshold for the participants,
    /// no duplicate participant, a public key.
    pub(crate) fn validate(&self) -> Result<(), StorageError> {
        let invalid = |reason| Err(StorageError::InvalidMetadata { reason });
        let n = self.participants.len();
        let unique: BTreeSet<_> = self.participants.iter().map(|p| &p.node_id).collect();
        if unique.len() != n {
            return invalid("a participant is listed twice");
        }
        if self.threshold.check(n).is_err() {
            return invalid("threshold does not fit the participants (need 1 <= t < n <= 16)");
        }
        if self.public_key.is_empty() {
            return invalid("public key is empty");
        }
        Ok(())
    }
}

/// A decrypted share: the plaintext is zeroized on drop and `Debug` prints `<redacted>`.
#[derive(Clone, Debug)]
pub struct StoredShare {
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    pub version: u32,
    /// The share bytes as given to the store (e.g. `KeyShare::to_bytes`).
    pub plaintext: SecretBytes,
}

/// Which protocol a stored result answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultKind {
    Keygen,
    Sign,
    Reshare,
}

impl ResultKind {
    pub const ALL: [ResultKind; 3] = [ResultKind::Keygen, ResultKind::Sign, ResultKind::Reshare];

    pub fn as_str(self) -> &'static str {
        match self {
            ResultKind::Keygen => "keygen",
            ResultKind::Sign => "sign",
            ResultKind::Reshare => "reshare",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ResultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A completed request's result, kept so a retry returns it instead of running again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResult {
    /// Digest of the request that produced the result; a retry must match it.
    pub digest: [u8; 32],
    /// The result event exactly as published.
    pub result_json: Vec<u8>,
    pub stored_at_unix: u64,
}

impl StoredResult {
    const FIXED: usize = 32 + 8;

    /// `digest [32] | stored_at u64 BE | result_json`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::FIXED + self.result_json.len());
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.stored_at_unix.to_be_bytes());
        out.extend_from_slice(&self.result_json);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        if bytes.len() < Self::FIXED {
            return Err(StorageError::Corrupt {
                what: "result record is truncated",
            });
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[..32]);
        let mut at = [0u8; 8];
        at.copy_from_slice(&bytes[32..40]);
        Ok(Self {
            digest,
            stored_at_unix: u64::from_be_bytes(at),
            result_json: bytes[Self::FIXED..].to_vec(),
        })
    }
}

/// What [`crate::Store::put_result`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutResult {
    /// The result was new and is now stored.
    Stored(StoredResult),
    /// The same request was already stored; this is the earlier result, unchanged.
    AlreadyStored(StoredResult),
}

impl PutResult {
    /// The result now in the store, whichever way it got there.
    pub fn result(&self) -> &StoredResult {
        match self {
            PutResult::Stored(r) | PutResult::AlreadyStored(r) => r,
        }
    }
}

mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(D::Error::custom)
    }
}

mod hex_opt32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(h) => {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).map_err(D::Error::custom)?;
                Ok(Some(out))
            }
        }
    }
}
