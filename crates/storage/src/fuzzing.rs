//! Entry points for the fuzz targets in `fuzz/` (not a stable API; hidden from docs).
//!
//! Each function is exactly the decoder the store runs on bytes it reads back
//! from disk or from a backup file, so a fuzzer can feed them arbitrary bytes
//! without a database, a password or a file. They must return an error, never
//! panic, whatever the input.

use crate::error::StorageError;
use crate::records::{KeyMetadata, StoredResult};

/// A `keys` table value: key metadata JSON, as [`crate::Store::get_metadata`] reads it.
pub fn decode_metadata(bytes: &[u8]) -> Result<KeyMetadata, StorageError> {
    crate::tables::decode_metadata(bytes)
}

/// A `results` table value, as [`crate::Store::get_result`] reads it.
pub fn decode_result_record(bytes: &[u8]) -> Result<StoredResult, StorageError> {
    StoredResult::decode(bytes)
}

/// A backup's decrypted body, decoded and checked as [`crate::Store::restore`]
/// does before it writes anything. Returns the record counts.
pub fn decode_backup_body(bytes: &[u8]) -> Result<(usize, usize, usize), StorageError> {
    let snap = crate::snapshot::Snapshot::decode(bytes)?;
    crate::backup_check::check_consistent(&snap)?;
    Ok((snap.keys.len(), snap.shares.len(), snap.results.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_typed_error() {
        for bytes in [&b""[..], b"{", &[0xff; 64], &[0; 39]] {
            assert!(decode_metadata(bytes).is_err());
            assert!(decode_backup_body(bytes).is_err());
        }
        assert!(decode_result_record(&[0; 39]).is_err());
        let r = decode_result_record(&[1; 41]).unwrap();
        assert_eq!(
            (r.digest, r.stored_at_unix),
            ([1; 32], 0x0101_0101_0101_0101)
        );
        assert_eq!(r.result_json, [1]);
        // An empty store's backup: schema 1, no keys, no shares, no results.
        let mut empty = 1u32.to_be_bytes().to_vec();
        empty.extend_from_slice(&[0; 8 + 12]);
        assert_eq!(decode_backup_body(&empty).unwrap(), (0, 0, 0));
    }
}
