//! The checks a backup's snapshot passes before restore writes anything: every
//! record parses, and the records keep the store's invariants.
//!
//! - Schema 1: metadata if and only if shares, the metadata naming the newest
//!   version (older versions may be present; the import's migration drops them).
//! - Schema 2: one epoch record per key, active, equal to the key's metadata,
//!   and exactly the share versions those records name.

use std::collections::{BTreeMap, BTreeSet};

use tessera_types::WalletId;

use crate::epochs::decode_row;
use crate::error::StorageError;
use crate::records::{ResultKind, StoredResult};
use crate::snapshot::Snapshot;
use crate::tables::{decode_metadata, parse_key_type, share_record_id};

fn bad(reason: &'static str) -> StorageError {
    StorageError::BadBackup { reason }
}

fn record_id(wallet: &str, key_type: &str) -> Result<String, StorageError> {
    let wallet = WalletId::new(wallet).map_err(|_| StorageError::Corrupt {
        what: "share stored under an invalid wallet id",
    })?;
    Ok(share_record_id(&wallet, parse_key_type(key_type)?))
}

pub(crate) fn check_consistent(snap: &Snapshot) -> Result<(), StorageError> {
    if snap.schema == 0 {
        return Err(bad("schema version 0"));
    }
    let mut named = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for json in &snap.keys {
        let meta = decode_metadata(json).map_err(|_| bad("key metadata does not parse"))?;
        let k = (
            meta.wallet_id.to_string(),
            meta.key_type.as_str().to_owned(),
        );
        if named.insert(k.clone(), meta.share_version).is_some() {
            return Err(bad("a key is listed twice"));
        }
        metadata.insert(k, meta);
    }
    let mut versions: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
    for s in &snap.shares {
        record_id(&s.wallet, &s.key_type)
            .map_err(|_| bad("share has a bad wallet id or key type"))?;
        versions
            .entry((s.wallet.clone(), s.key_type.clone()))
            .or_default()
            .insert(s.version);
    }
    if snap.schema == 1 {
        // Share versions are unique in a store (its table key), so the newest one
        // equal to the named one means the named one is present.
        let newest: BTreeMap<_, _> = versions
            .iter()
            .filter_map(|(k, v)| v.last().map(|n| (k.clone(), *n)))
            .collect();
        if named != newest {
            return Err(bad("key metadata and shares do not match"));
        }
    } else {
        check_epochs(snap, &metadata, &versions)?;
    }
    for r in &snap.results {
        if ResultKind::parse(&r.kind).is_none() || r.request_key.is_empty() {
            return Err(bad("result has an unknown kind or an empty key"));
        }
        StoredResult::decode(&r.record).map_err(|_| bad("result record does not parse"))?;
    }
    Ok(())
}

/// Schema 2: exactly one active record per key, matching its metadata, and
/// exactly its share version.
fn check_epochs(
    snap: &Snapshot,
    metadata: &BTreeMap<(String, String), crate::records::KeyMetadata>,
    versions: &BTreeMap<(String, String), BTreeSet<u32>>,
) -> Result<(), StorageError> {
    let mut seen = BTreeSet::new();
    for json in &snap.epochs {
        let row = decode_row(json).map_err(|_| bad("epoch record does not parse"))?;
        if !row.state.is_active() {
            return Err(bad("a backup holds a pending or retired epoch"));
        }
        let k = (
            row.metadata.wallet_id.to_string(),
            row.metadata.key_type.as_str().to_owned(),
        );
        if metadata.get(&k) != Some(&row.metadata)
            || row.share_version != row.metadata.share_version
        {
            return Err(bad("an epoch record does not match its key's metadata"));
        }
        if !seen.insert(k) {
            return Err(bad("a key has two epoch records"));
        }
    }
    let one_version_each = versions.iter().all(|(k, v)| {
        v.len() == 1 && metadata.get(k).map(|m| m.share_version) == v.first().copied()
    });
    if seen.len() != metadata.len() || versions.len() != metadata.len() || !one_version_each {
        return Err(bad("key metadata, epoch records and shares do not match"));
    }
    Ok(())
}
