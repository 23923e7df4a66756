//! A snapshot of every record, and its byte encoding inside a backup's sealed body.
//!
//! ```text
//! schema u32 | created_at u64
//! | n u32 | n x bytes(metadata JSON)
//! | n u32 | n x (str wallet | str key_type | version u32 | bytes(share plaintext))
//! | n u32 | n x (str kind | str request_key | bytes(result record))
//! | n u32 | n x bytes(epoch record JSON)                  schema >= 2 only
//! ```
//!
//! Integers are big-endian; `bytes` and `str` are a u32 length and the bytes.
//! The encoding holds share plaintexts, so it is built in one [`SecretBytes`]
//! allocated at its final size (no reallocation leaves a copy behind).

use tessera_security::SecretBytes;

use crate::error::StorageError;

/// One share version in clear.
#[derive(Debug)]
pub(crate) struct ShareEntry {
    pub wallet: String,
    pub key_type: String,
    pub version: u32,
    pub plaintext: SecretBytes,
}

/// One stored result, as its raw record.
#[derive(Debug)]
pub(crate) struct ResultEntry {
    pub kind: String,
    pub request_key: String,
    pub record: Vec<u8>,
}

/// Every record of a store at one moment.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub schema: u32,
    pub created_at_unix: u64,
    pub keys: Vec<Vec<u8>>,
    pub shares: Vec<ShareEntry>,
    pub results: Vec<ResultEntry>,
    /// Epoch records (`EpochRow` JSON); schema 1 snapshots have none.
    pub epochs: Vec<Vec<u8>>,
}

impl Snapshot {
    pub fn encode(&self) -> SecretBytes {
        let field = |len: usize| 4 + len;
        let len = 4
            + 8
            + 4
            + self.keys.iter().map(|k| field(k.len())).sum::<usize>()
            + 4
            + self
                .shares
                .iter()
                .map(|s| {
                    field(s.wallet.len()) + field(s.key_type.len()) + 4 + field(s.plaintext.len())
                })
                .sum::<usize>()
            + 4
            + self
                .results
                .iter()
                .map(|r| field(r.kind.len()) + field(r.request_key.len()) + field(r.record.len()))
                .sum::<usize>()
            + self.epochs_len();
        let mut out = SecretBytes::new(Vec::with_capacity(len));
        let buf = out.expose_mut();
        buf.extend_from_slice(&self.schema.to_be_bytes());
        buf.extend_from_slice(&self.created_at_unix.to_be_bytes());
        put_len(buf, self.keys.len());
        for k in &self.keys {
            put_bytes(buf, k);
        }
        put_len(buf, self.shares.len());
        for s in &self.shares {
            put_bytes(buf, s.wallet.as_bytes());
            put_bytes(buf, s.key_type.as_bytes());
            buf.extend_from_slice(&s.version.to_be_bytes());
            put_bytes(buf, s.plaintext.as_slice());
        }
        put_len(buf, self.results.len());
        for r in &self.results {
            put_bytes(buf, r.kind.as_bytes());
            put_bytes(buf, r.request_key.as_bytes());
            put_bytes(buf, &r.record);
        }
        if self.has_epochs() {
            put_len(buf, self.epochs.len());
            for e in &self.epochs {
                put_bytes(buf, e);
            }
        }
        debug_assert_eq!(buf.len(), len, "snapshot length was miscounted");
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Snapshot, StorageError> {
        let mut r = Reader(bytes);
        let mut snap = Snapshot {
            schema: r.u32()?,
            created_at_unix: r.u64()?,
            ..Snapshot::default()
        };
        for _ in 0..r.u32()? {
            snap.keys.push(r.bytes()?.to_vec());
        }
        for _ in 0..r.u32()? {
            snap.shares.push(ShareEntry {
                wallet: r.str()?,
                key_type: r.str()?,
                version: r.u32()?,
                plaintext: SecretBytes::from_slice(r.bytes()?),
            });
        }
        for _ in 0..r.u32()? {
            snap.results.push(ResultEntry {
                kind: r.str()?,
                request_key: r.str()?,
                record: r.bytes()?.to_vec(),
            });
        }
        if snap.has_epochs() {
            for _ in 0..r.u32()? {
                snap.epochs.push(r.bytes()?.to_vec());
            }
        }
        if !r.0.is_empty() {
            return Err(bad("trailing bytes after the records"));
        }
        Ok(snap)
    }
}

impl Snapshot {
    /// Schema 2 added the epochs section.
    fn has_epochs(&self) -> bool {
        self.schema >= 2
    }

    fn epochs_len(&self) -> usize {
        if !self.has_epochs() {
            return 0;
        }
        4 + self.epochs.iter().map(|e| 4 + e.len()).sum::<usize>()
    }
}

fn put_len(buf: &mut Vec<u8>, len: usize) {
    // Lengths come from redb values, which are far below 4 GiB.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
}

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_len(buf, b.len());
    buf.extend_from_slice(b);
}

fn bad(reason: &'static str) -> StorageError {
    StorageError::BadBackup { reason }
}

/// Bounds-checked reads; every failure is a typed error, never a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.0.len() < n {
            return Err(bad("backup body is truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, StorageError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, StorageError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        Ok(hi << 32 | lo)
    }

    fn bytes(&mut self) -> Result<&'a [u8], StorageError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Result<String, StorageError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| bad("a record name is not utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            schema: 1,
            created_at_unix: 1_700_000_000,
            keys: vec![b"{}".to_vec()],
            shares: vec![ShareEntry {
                wallet: "w1".into(),
                key_type: "ed25519".into(),
                version: 2,
                plaintext: SecretBytes::from_slice(&[7; 100]),
            }],
            results: vec![ResultEntry {
                kind: "sign".into(),
                request_key: "tx".into(),
                record: vec![1; 41],
            }],
            epochs: Vec::new(),
        }
    }

    #[test]
    fn round_trip() {
        let enc = sample().encode();
        let back = Snapshot::decode(enc.as_slice()).unwrap();
        assert_eq!(back.schema, 1);
        assert_eq!(back.created_at_unix, 1_700_000_000);
        assert_eq!(back.keys, vec![b"{}".to_vec()]);
        assert_eq!(back.shares[0].plaintext.as_slice(), &[7; 100]);
        assert_eq!(back.shares[0].version, 2);
        assert_eq!(back.results[0].record, vec![1; 41]);
    }

    #[test]
    fn schema_2_carries_epoch_records() {
        let mut snap = sample();
        snap.schema = 2;
        snap.epochs = vec![b"{\"epoch\":0}".to_vec()];
        let back = Snapshot::decode(snap.encode().as_slice()).unwrap();
        assert_eq!(back.epochs, snap.epochs);
        // Schema 1 has no epochs section: its encoding ends after the results.
        snap.schema = 1;
        let v1 = snap.encode();
        assert!(Snapshot::decode(v1.as_slice()).unwrap().epochs.is_empty());
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let mut snap = sample();
        snap.schema = 2;
        snap.epochs = vec![b"{}".to_vec()];
        let enc = snap.encode();
        for cut in 0..enc.len() {
            let err = Snapshot::decode(&enc.as_slice()[..cut]).unwrap_err();
            assert!(
                matches!(err, StorageError::BadBackup { .. }),
                "{cut}: {err}"
            );
        }
        let mut long = enc.as_slice().to_vec();
        long.push(0);
        assert!(Snapshot::decode(&long).is_err());
    }

    #[test]
    fn huge_counts_do_not_allocate_or_panic() {
        let mut b = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(Snapshot::decode(&b).is_err());
    }
}
