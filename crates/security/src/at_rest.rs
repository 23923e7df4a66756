//! At-rest sealing of key shares and other secret records.
//!
//! A record is XChaCha20-Poly1305 ciphertext under a key from Argon2id (the
//! operator's password) or from a 32-byte key file. Format v1, fixed 58-byte header:
//!
//! ```text
//! magic "TSAR" | format 0x01 | kdf (0 key file, 1 argon2id v1.3)
//! | m_cost KiB u32 BE | t_cost u32 BE | p_cost u32 BE | salt [16]   (zeros for a key file)
//! | nonce [24] | ciphertext || tag [16]
//! ```
//!
//! The header carries the KDF parameters and salt so a record can be opened with
//! the password alone. The associated data is a domain label, the whole header,
//! the record id and the record version, so a record copied under another id or
//! rolled back to another version fails to open. The nonce is random: 192 bits
//! make collisions negligible without keeping a counter on disk.
//!
//! AEAD cannot say *why* a record fails to open: a wrong password, a wrong
//! record id or version and tampering all give [`AtRestError::Decryption`]. Only
//! format problems (too short, bad magic, unknown version, key of the wrong kind)
//! are told apart.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use tessera_types::ErrorCode;

use crate::kdf::{derive_key, InvalidKdfParams, KdfFailed, KdfParams, Salt, SALT_LEN};
use crate::private_file::{read_private, write_private, Overwrite, PrivateFileError};
use crate::secret::{Secret, SecretBytes};

/// First bytes of every record.
pub const MAGIC: [u8; 4] = *b"TSAR";
/// The record format this code writes.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 12 + SALT_LEN + NONCE_LEN;
/// Length of a key file.
pub const KEY_FILE_LEN: usize = 32;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KDF_KEY_FILE: u8 = 0;
const KDF_ARGON2ID: u8 = 1;
const AAD_LABEL: &[u8] = b"tessera/at-rest/v1";
/// Password-derived keys for salts other than the primary one kept at most.
const MAX_CACHED_KEYS: usize = 8;

/// Why a record could not be sealed or opened, or a key not be made.
#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    #[error("record is malformed: {reason}")]
    Malformed { reason: &'static str },
    #[error("record format version {version} is not supported")]
    UnsupportedFormat { version: u8 },
    #[error("record was sealed with a {record} key but opened with a {key} key")]
    KeyKindMismatch {
        record: &'static str,
        key: &'static str,
    },
    #[error("record cannot be decrypted (wrong key, wrong record id or version, or tampered)")]
    Decryption,
    #[error("record could not be encrypted")]
    Encryption,
    #[error("password is empty")]
    EmptyPassword,
    #[error("key file must hold exactly {KEY_FILE_LEN} bytes, found {len}")]
    BadKeyLength { len: usize },
    #[error(transparent)]
    InvalidParams(#[from] InvalidKdfParams),
    #[error(transparent)]
    Kdf(#[from] KdfFailed),
    #[error(transparent)]
    KeyFile(#[from] PrivateFileError),
}

impl AtRestError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AtRestError::Malformed { .. } => ErrorCode::DataCorruption,
            AtRestError::UnsupportedFormat { .. } => ErrorCode::KeyDecoding,
            AtRestError::KeyKindMismatch { .. } => ErrorCode::InvalidConfiguration,
            AtRestError::Decryption => ErrorCode::KeyLoad,
            AtRestError::Encryption => ErrorCode::KeySave,
            AtRestError::EmptyPassword => ErrorCode::InvalidConfiguration,
            AtRestError::BadKeyLength { .. } => ErrorCode::InvalidConfiguration,
            AtRestError::InvalidParams(_) => ErrorCode::InvalidConfiguration,
            AtRestError::Kdf(_) => ErrorCode::Internal,
            AtRestError::KeyFile(e) => e.code(),
        }
    }
}

/// How a record's key is made, as read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKdf {
    KeyFile,
    Argon2id { params: KdfParams, salt: Salt },
}

impl RecordKdf {
    fn kind(&self) -> &'static str {
        match self {
            RecordKdf::KeyFile => "key file",
            RecordKdf::Argon2id { .. } => "password",
        }
    }
}

/// Reads and checks a record's header without decrypting it.
pub fn inspect(record: &[u8]) -> Result<RecordKdf, AtRestError> {
    if record.len() < 5 || record[..4] != MAGIC {
        return Err(AtRestError::Malformed {
            reason: "bad magic",
        });
    }
    if record[4] != FORMAT_VERSION {
        return Err(AtRestError::UnsupportedFormat { version: record[4] });
    }
    if record.len() < HEADER_LEN + TAG_LEN {
        return Err(AtRestError::Malformed {
            reason: "truncated",
        });
    }
    let u32_at =
        |i: usize| u32::from_be_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]);
    let (m, t, p) = (u32_at(6), u32_at(10), u32_at(14));
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&record[18..18 + SALT_LEN]);
    match record[5] {
        KDF_KEY_FILE if m == 0 && t == 0 && p == 0 && salt == [0u8; SALT_LEN] => {
            Ok(RecordKdf::KeyFile)
        }
        KDF_ARGON2ID => Ok(RecordKdf::Argon2id {
            params: KdfParams::new(m, t, p).map_err(|_| AtRestError::Malformed {
                reason: "kdf parameters out of range",
            })?,
            salt: Salt::from_bytes(salt),
        }),
        _ => Err(AtRestError::Malformed {
            reason: "unknown kdf",
        }),
    }
}

enum Source {
    KeyFile {
        key: Secret<[u8; 32]>,
    },
    Password {
        password: SecretBytes,
        params: KdfParams,
        salt: Salt,
        key: Secret<[u8; 32]>,
    },
}

/// A key that seals and opens records. Build one at start-up and share it: the
/// password key for the primary salt is derived once, in the constructor.
///
/// A password key keeps the password (zeroized on drop) so it can open records
/// sealed under other salts; it derives each such key once and caches it.
pub struct AtRestKey {
    source: Source,
    others: Mutex<Vec<CachedKey>>,
}

/// A password key for a salt other than the primary one.
type CachedKey = (KdfParams, Salt, Secret<[u8; 32]>);

impl AtRestKey {
    /// Derives the key for `salt` now (slow by design). New records use this salt;
    /// a store that keeps one salt in its metadata derives exactly once.
    pub fn from_password(
        password: &[u8],
        params: KdfParams,
        salt: Salt,
    ) -> Result<Self, AtRestError> {
        if password.is_empty() {
            return Err(AtRestError::EmptyPassword);
        }
        let key = derive_key(password, &salt, &params)?;
        Ok(Self::with_source(Source::Password {
            password: SecretBytes::from_slice(password),
            params,
            salt,
            key,
        }))
    }

    /// As [`AtRestKey::from_password`], with a fresh random salt.
    pub fn from_password_new_salt(password: &[u8], params: KdfParams) -> Result<Self, AtRestError> {
        Self::from_password(password, params, Salt::random(&mut OsRng))
    }

    /// A key from 32 raw bytes.
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Self, AtRestError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AtRestError::BadKeyLength { len: bytes.len() })?;
        Ok(Self::with_source(Source::KeyFile {
            key: Secret::new(key),
        }))
    }

    /// Reads a key file: exactly 32 raw bytes, not accessible by group or others.
    pub fn from_key_file(path: &Path) -> Result<Self, AtRestError> {
        let bytes = read_private(path, KEY_FILE_LEN as u64 + 1)?;
        Self::from_key_bytes(bytes.as_slice())
    }

    /// Writes a new random key file (mode 0600); refuses to replace an existing one.
    pub fn generate_key_file(path: &Path) -> Result<Self, AtRestError> {
        let key: Secret<[u8; 32]> = Secret::random_array(&mut OsRng);
        write_private(path, key.expose(), Overwrite::Refuse)?;
        Self::from_key_bytes(key.expose())
    }

    fn with_source(source: Source) -> Self {
        Self {
            source,
            others: Mutex::new(Vec::new()),
        }
    }

    /// The salt new records are sealed under, for a password key.
    pub fn salt(&self) -> Option<Salt> {
        match &self.source {
            Source::KeyFile { .. } => None,
            Source::Password { salt, .. } => Some(*salt),
        }
    }

    /// Seals `plaintext` as record `record_id` at `version`.
    pub fn seal(
        &self,
        record_id: &str,
        version: u32,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, AtRestError> {
        let mut header = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        header.extend_from_slice(&MAGIC);
        header.push(FORMAT_VERSION);
        let key = match &self.source {
            Source::KeyFile { key } => {
                header.push(KDF_KEY_FILE);
                header.extend_from_slice(&[0u8; 12 + SALT_LEN]);
                key
            }
            Source::Password {
                params, salt, key, ..
            } => {
                header.push(KDF_ARGON2ID);
                header.extend_from_slice(&params.m_cost_kib().to_be_bytes());
                header.extend_from_slice(&params.t_cost().to_be_bytes());
                header.extend_from_slice(&params.p_cost().to_be_bytes());
                header.extend_from_slice(salt.as_bytes());
                key
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        header.extend_from_slice(&nonce);
        let aad = aad(&header, record_id, version);
        let ct = XChaCha20Poly1305::new(key.expose().into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| AtRestError::Encryption)?;
        header.extend_from_slice(&ct);
        Ok(header)
    }

    /// Opens a record sealed by [`AtRestKey::seal`] with the same id and version.
    pub fn open(
        &self,
        record_id: &str,
        version: u32,
        record: &[u8],
    ) -> Result<SecretBytes, AtRestError> {
        let kdf = inspect(record)?;
        match (&self.source, kdf) {
            (Source::KeyFile { key }, RecordKdf::KeyFile) => {
                decrypt(key, record_id, version, record)
            }
            (
                Source::Password {
                    password,
                    params,
                    salt,
                    key,
                },
                RecordKdf::Argon2id {
                    params: rp,
                    salt: rs,
                },
            ) => {
                if rp == *params && rs == *salt {
                    return decrypt(key, record_id, version, record);
                }
                // A record from another salt: derive once and remember. The lock is
                // held while deriving so concurrent openers do not each spend 64 MiB.
                let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((_, _, k)) = others.iter().find(|(p, s, _)| *p == rp && *s == rs) {
                    return decrypt(k, record_id, version, record);
                }
                let k = derive_key(password.as_slice(), &rs, &rp)?;
                let opened = decrypt(&k, record_id, version, record);
                // Only cache keys that opened something, so garbage salts cannot fill it.
                if opened.is_ok() {
                    if others.len() >= MAX_CACHED_KEYS {
                        others.remove(0);
                    }
                    others.push((rp, rs, k));
                }
                opened
            }
            (source, kdf) => Err(AtRestError::KeyKindMismatch {
                record: kdf.kind(),
                key: match source {
                    Source::KeyFile { .. } => "key file",
                    Source::Password { .. } => "password",
                },
            }),
        }
    }

    /// Opens one record with a password alone, deriving its key from the
    /// record's own parameters and salt. For one-off reads such as an identity
    /// file; a store should build an [`AtRestKey`] once instead.
    pub fn open_with_password(
        password: &[u8],
        record_id: &str,
        version: u32,
        record: &[u8],
    ) -> Result<SecretBytes, AtRestError> {
        match inspect(record)? {
            RecordKdf::Argon2id { params, salt } => {
                Self::from_password(password, params, salt)?.open(record_id, version, record)
            }
            RecordKdf::KeyFile => Err(AtRestError::KeyKindMismatch {
                record: "key file",
                key: "password",
            }),
        }
    }
}

impl fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::KeyFile { .. } => f
                .debug_struct("AtRestKey")
                .field("kind", &"key file")
                .finish(),
            Source::Password { params, salt, .. } => f
                .debug_struct("AtRestKey")
                .field("kind", &"password")
                .field("params", params)
                .field("salt", salt)
                .finish_non_exhaustive(),
        }
    }
}

fn aad(header: &[u8], record_id: &str, version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + header.len() + record_id.len() + 12);
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(&header[..HEADER_LEN]);
    aad.extend_from_slice(&(record_id.len() as u64).to_be_bytes());
    aad.extend_from_slice(record_id.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn decrypt(
    key: &Secret<[u8; 32]>,
    record_id: &str,
    version: u32,
    record: &[u8],
) -> Result<SecretBytes, AtRestError> {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&record[HEADER_LEN - NONCE_LEN..HEADER_LEN]);
    let aad = aad(record, record_id, version);
    XChaCha20Poly1305::new(key.expose().into())
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &record[HEADER_LEN..],
                aad: &aad,
            },
        )
        .map(SecretBytes::new)
        .map_err(|_| AtRestError::Decryption)
}

#[cfg(test)]
#[path = "at_rest_tests.rs"]
mod tests;
