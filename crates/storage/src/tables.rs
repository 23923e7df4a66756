//! The database layout: tables, keys, the schema version and record ids.
//!
//! ```text
//! meta     &str -> bytes                       "schema_version" (u32 BE), "key_check" (sealed)
//! keys     (wallet, key_type) -> JSON          KeyMetadata of the active epoch, in clear
//! shares   (wallet, key_type, version) -> TSAR share sealed as "share/<wallet>/<key_type>" @ version
//! epochs   (wallet, key_type, epoch) -> JSON   EpochRow: share version, state, metadata (schema 2)
//! results  (kind, request_key) -> bytes        StoredResult::encode, in clear
//! ```
//!
//! Key types are stored as their wire strings (`secp256k1`, `ed25519`).
//!
//! Schema history: 1 had no `epochs` table; opening a schema-1 database adds
//! it in the open's write transaction (`migrate`). Invariants of schema 2:
//! every `epochs` row names an existing share version; a share version exists
//! if and only if exactly one row names it; a key has a `keys` entry if and
//! only if it has an `Active` row, and the entry equals that row's metadata.

use redb::TableDefinition;
use tessera_types::{KeyType, WalletId};

use crate::error::StorageError;
use crate::records::KeyMetadata;

/// The layout this build reads and writes. Bump it when the layout changes.
pub const SCHEMA_VERSION: u32 = 2;

/// Name of the database file inside the store directory.
pub const DB_FILE: &str = "tessera.redb";

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const KEYS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("keys");
pub(crate) const SHARES: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("shares");
pub(crate) const EPOCHS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("epochs");
pub(crate) const RESULTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("results");

pub(crate) const META_SCHEMA: &str = "schema_version";
pub(crate) const META_KEY_CHECK: &str = "key_check";

/// Record id and version of the key-check record: a sealed constant that tells
/// a wrong at-rest key at open rather than at the first share read.
pub(crate) const KEY_CHECK_ID: &str = "meta/key-check";
pub(crate) const KEY_CHECK_VERSION: u32 = 1;
pub(crate) const KEY_CHECK_PLAINTEXT: &[u8] = b"tessera-storage key check v1";

/// The at-rest record id of a share; the version is the share version. Both are
/// bound as associated data, so a record moved to another wallet, key type or
/// version does not open. The key type never contains `/`, so the id is unambiguous.
pub fn share_record_id(wallet: &WalletId, key_type: KeyType) -> String {
    format!("share/{}/{}", wallet.as_str(), key_type.as_str())
}

pub(crate) fn parse_key_type(s: &str) -> Result<KeyType, StorageError> {
    match s {
        "secp256k1" => Ok(KeyType::Secp256k1),
        "ed25519" => Ok(KeyType::Ed25519),
        _ => Err(StorageError::Corrupt {
            what: "unknown key type in a record key",
        }),
    }
}

pub(crate) fn encode_metadata(meta: &KeyMetadata) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(meta).map_err(|_| StorageError::InvalidMetadata {
        reason: "cannot be encoded",
    })
}

pub(crate) fn decode_metadata(bytes: &[u8]) -> Result<KeyMetadata, StorageError> {
    serde_json::from_slice(bytes).map_err(|_| StorageError::Corrupt {
        what: "key metadata record does not parse",
    })
}

pub(crate) fn decode_u32(bytes: &[u8]) -> Result<u32, StorageError> {
    let b: [u8; 4] = bytes.try_into().map_err(|_| StorageError::Corrupt {
        what: "schema version record",
    })?;
    Ok(u32::from_be_bytes(b))
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
