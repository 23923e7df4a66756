//! Completed request results, for idempotency: a retried request returns the
//! stored result and never runs a protocol twice.
//!
//! A result is keyed by its kind and the request's idempotency key and carries
//! the digest of the request that produced it. The same key with another digest
//! is a client reusing an id for a different request: [`StorageError::Conflict`].

use redb::{ReadableDatabase, ReadableTable};

use crate::error::{rd, wr, StorageError};
use crate::records::{PutResult, ResultKind, StoredResult, MAX_REQUEST_KEY_LEN};
use crate::store::Store;
use crate::tables::{now_unix, RESULTS};

impl Store {
    /// Stores a result unless one is already stored for `(kind, request_key)`.
    /// The same digest again returns the earlier result untouched; another
    /// digest is a [`StorageError::Conflict`]. Check and write are one transaction.
    pub fn put_result(
        &self,
        kind: ResultKind,
        request_key: &str,
        request_digest: [u8; 32],
        result_json: &[u8],
    ) -> Result<PutResult, StorageError> {
        check_request_key(request_key)?;
        let db = self.db();
        let txn = db.begin_write().map_err(wr)?;
        let stored = {
            let mut results = txn.open_table(RESULTS).map_err(wr)?;
            let k = (kind.as_str(), request_key);
            if let Some(existing) = results.get(k).map_err(rd)? {
                let existing = StoredResult::decode(existing.value())?;
                if existing.digest != request_digest {
                    return Err(StorageError::Conflict {
                        kind: kind.as_str(),
                        request_key: request_key.to_owned(),
                    });
                }
                // Nothing written: dropping the transaction aborts it.
                return Ok(PutResult::AlreadyStored(existing));
            }
            let stored = StoredResult {
                digest: request_digest,
                result_json: result_json.to_vec(),
                stored_at_unix: now_unix(),
            };
            results.insert(k, stored.encode().as_slice()).map_err(wr)?;
            stored
        };
        txn.commit().map_err(wr)?;
        Ok(PutResult::Stored(stored))
    }

    /// The stored result for `(kind, request_key)`, if any.
    pub fn get_result(
        &self,
        kind: ResultKind,
        request_key: &str,
    ) -> Result<Option<StoredResult>, StorageError> {
        check_request_key(request_key)?;
        let db = self.db();
        let txn = db.begin_read().map_err(rd)?;
        let results = txn.open_table(RESULTS).map_err(rd)?;
        let got = results.get((kind.as_str(), request_key)).map_err(rd)?;
        got.map(|v| StoredResult::decode(v.value())).transpose()
    }
}

fn check_request_key(key: &str) -> Result<(), StorageError> {
    if key.is_empty() {
        return Err(StorageError::InvalidInput {
            reason: "request key is empty",
        });
    }
    if key.len() > MAX_REQUEST_KEY_LEN {
        return Err(StorageError::InvalidInput {
            reason: "request key is too long",
        });
    }
    Ok(())
}
