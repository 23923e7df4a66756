//! Epoch records: which share version of a key belongs to which epoch, and
//! whether that epoch is the active one, a pending one or a retired one.
//!
//! A key's epoch is 0 after keygen and grows by one with every committed
//! lifecycle operation (refresh, replace, move, grow, remove). Stored in clear
//! as JSON in the `epochs` table (public data: the share itself is in `shares`).

use serde::{Deserialize, Serialize};
use tessera_types::SessionId;

use crate::error::StorageError;
use crate::records::KeyMetadata;

/// Where an epoch is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpochState {
    /// The epoch this node signs with; `KEYS` holds its metadata.
    Active,
    /// Stored by a lifecycle session that has not been decided yet.
    Pending {
        session_id: SessionId,
        /// The epoch digest every holder computed for this attempt.
        #[serde(with = "hex32")]
        digest: [u8; 32],
    },
    /// Replaced by a newer epoch (or the node left the committee); kept until
    /// every holder activated the newer one, then erased.
    Retired { since_unix: u64 },
}

impl EpochState {
    /// `"active"`, `"pending"` or `"retired"`.
    pub fn name(&self) -> &'static str {
        match self {
            EpochState::Active => "active",
            EpochState::Pending { .. } => "pending",
            EpochState::Retired { .. } => "retired",
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, EpochState::Active)
    }

    pub fn is_retired(&self) -> bool {
        matches!(self, EpochState::Retired { .. })
    }

    /// The session of a pending epoch.
    pub fn pending_session(&self) -> Option<&SessionId> {
        match self {
            EpochState::Pending { session_id, .. } => Some(session_id),
            _ => None,
        }
    }
}

/// One epoch of one key: its share version, its state and the key's metadata
/// at that epoch (holders, threshold, public key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRow {
    /// Repeats the row's table key, so a row moved under another key is caught.
    pub epoch: u64,
    /// The share version (`shares` table) holding this epoch's share.
    pub share_version: u32,
    pub state: EpochState,
    /// `share_version` inside equals the row's `share_version`.
    pub metadata: KeyMetadata,
}

pub(crate) fn encode_row(row: &EpochRow) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(row).map_err(|_| StorageError::InvalidMetadata {
        reason: "epoch record cannot be encoded",
    })
}

pub(crate) fn decode_row(bytes: &[u8]) -> Result<EpochRow, StorageError> {
    serde_json::from_slice(bytes).map_err(|_| StorageError::Corrupt {
        what: "epoch record does not parse",
    })
}

mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(String::deserialize(d)?, &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_as_json() {
        for state in [
            EpochState::Active,
            EpochState::Pending {
                session_id: SessionId::new("refresh-1").unwrap(),
                digest: [0xab; 32],
            },
            EpochState::Retired { since_unix: 42 },
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(serde_json::from_str::<EpochState>(&json).unwrap(), state);
        }
        let json = serde_json::to_string(&EpochState::Retired { since_unix: 42 }).unwrap();
        assert_eq!(json, r#"{"Retired":{"since_unix":42}}"#);
        assert!(decode_row(b"{}").is_err());
    }
}
