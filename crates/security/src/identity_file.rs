//! Saving and loading a [`NodeIdentity`].
//!
//! The private file is JSON, mode 0600, written atomically, never overwritten:
//!
//! ```json
//! {"format":"tessera-node-identity","version":1,"node_id":"node0",
//!  "secret_key":"<hex: ed25519 seed (32) || x25519 secret (32)>"}
//! ```
//!
//! or, sealed with a passphrase, `"sealed_secret_key":"<hex of an at-rest record>"`
//! in place of `secret_key`. The record (see [`crate::at_rest`]) carries its own
//! Argon2id parameters and salt and binds the node id as its record id, so
//! editing `node_id` in a sealed file makes it fail to open.
//!
//! Beside it, `<file>.pub.json` holds the [`PublicIdentity`] to hand to peers.
//! Error messages never include file contents: a parse error could quote a key.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tessera_types::{ErrorCode, NodeId, PublicIdentity};

use crate::at_rest::{AtRestError, AtRestKey};
use crate::identity::{NodeIdentity, SECRET_LEN};
use crate::kdf::KdfParams;
use crate::private_file::{read_private, write_private, write_public, Overwrite, PrivateFileError};
use crate::secret::{Secret, SecretBytes};

const FORMAT: &str = "tessera-node-identity";
const VERSION: u32 = 1;
const MAX_FILE_LEN: u64 = 64 * 1024;
const RECORD_VERSION: u32 = 1;

/// How the private keys are stored.
#[derive(Clone, Copy)]
pub enum KeyProtection<'a> {
    /// Hex in a 0600 file; for deployments whose secret store already protects the file.
    Plain,
    /// Sealed with Argon2id + XChaCha20-Poly1305 under an operator passphrase.
    Passphrase {
        passphrase: &'a [u8],
        params: KdfParams,
    },
}

impl std::fmt::Debug for KeyProtection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyProtection::Plain => f.write_str("Plain"),
            KeyProtection::Passphrase { params, .. } => f
                .debug_struct("Passphrase")
                .field("passphrase", &crate::secret::REDACTED)
                .field("params", params)
                .finish(),
        }
    }
}

/// Why an identity file could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityFileError {
    #[error(transparent)]
    File(#[from] PrivateFileError),
    #[error("cannot read public identity {}: {source}", path.display())]
    ReadPublic {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("identity file {} is malformed: {reason}", path.display())]
    Malformed { path: PathBuf, reason: &'static str },
    #[error("identity file format version {version} is not supported")]
    UnsupportedVersion { version: u32 },
    #[error("identity file {} is sealed; a passphrase is required", path.display())]
    PassphraseRequired { path: PathBuf },
    #[error("identity file {} is not sealed, but a passphrase was given", path.display())]
    NotSealed { path: PathBuf },
    #[error("wrong passphrase for identity file {} (or the file is damaged)", path.display())]
    WrongPassphrase { path: PathBuf },
    #[error("cannot seal identity: {0}")]
    Seal(#[source] AtRestError),
    #[error("cannot open sealed identity: {0}")]
    Open(#[source] AtRestError),
    #[error("cannot encode identity file")]
    Encode,
}

impl IdentityFileError {
    pub fn code(&self) -> ErrorCode {
        match self {
            IdentityFileError::File(e) => e.code(),
            IdentityFileError::ReadPublic { .. } => ErrorCode::KeyLoad,
            IdentityFileError::Malformed { .. } => ErrorCode::KeyDecoding,
            IdentityFileError::UnsupportedVersion { .. } => ErrorCode::KeyDecoding,
            IdentityFileError::PassphraseRequired { .. } => ErrorCode::InvalidConfiguration,
            IdentityFileError::NotSealed { .. } => ErrorCode::InvalidConfiguration,
            IdentityFileError::WrongPassphrase { .. } => ErrorCode::KeyLoad,
            IdentityFileError::Seal(e) | IdentityFileError::Open(e) => e.code(),
            IdentityFileError::Encode => ErrorCode::KeyEncoding,
        }
    }
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    node_id: &'a NodeId,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed_secret_key: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    format: String,
    version: u32,
    node_id: NodeId,
    #[serde(default)]
    secret_key: Option<String>,
    #[serde(default)]
    sealed_secret_key: Option<String>,
}

/// Where the public document for the private file at `path` goes: `<path>.pub.json`.
pub fn public_document_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub.json");
    PathBuf::from(p)
}

/// Reads a public identity document.
pub fn read_public_document(path: &Path) -> Result<PublicIdentity, IdentityFileError> {
    let bytes = std::fs::read(path).map_err(|source| IdentityFileError::ReadPublic {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|_| IdentityFileError::Malformed {
        path: path.to_path_buf(),
        reason: "not a public identity document",
    })
}

fn record_id(node_id: &NodeId) -> String {
    format!("tessera/node-identity/{node_id}")
}

impl NodeIdentity {
    /// Writes the private file at `path` (refusing to replace one) and the public
    /// document beside it; returns the public document's path.
    pub fn save(
        &self,
        path: &Path,
        protection: KeyProtection<'_>,
    ) -> Result<PathBuf, IdentityFileError> {
        let secret = self.secret_bytes();
        let secret_hex = Secret::new(hex::encode(secret.expose()));
        let sealed_hex = match protection {
            KeyProtection::Plain => None,
            KeyProtection::Passphrase { passphrase, params } => {
                let key = AtRestKey::from_password_new_salt(passphrase, params)
                    .map_err(IdentityFileError::Seal)?;
                let rec = key
                    .seal(&record_id(self.node_id()), RECORD_VERSION, secret.expose())
                    .map_err(IdentityFileError::Seal)?;
                Some(hex::encode(rec))
            }
        };
        let out = FileOut {
            format: FORMAT,
            version: VERSION,
            node_id: self.node_id(),
            secret_key: sealed_hex.is_none().then_some(secret_hex.expose().as_str()),
            sealed_secret_key: sealed_hex.as_deref(),
        };
        // Reserve up front so serialisation never reallocates and strands a copy.
        let mut json = SecretBytes::new(Vec::with_capacity(512 + secret_hex.expose().len() * 4));
        serde_json::to_writer_pretty(json.expose_mut(), &out)
            .map_err(|_| IdentityFileError::Encode)?;
        json.expose_mut().push(b'\n');
        write_private(path, json.as_slice(), Overwrite::Refuse)?;
        self.write_public_document(path)
    }

    /// (Re)writes `<path>.pub.json` for the private file at `path`.
    pub fn write_public_document(&self, path: &Path) -> Result<PathBuf, IdentityFileError> {
        let pub_path = public_document_path(path);
        let mut doc =
            serde_json::to_vec_pretty(&self.public()).map_err(|_| IdentityFileError::Encode)?;
        doc.push(b'\n');
        write_public(&pub_path, &doc)?;
        Ok(pub_path)
    }

    /// Loads the private file at `path`. A sealed file needs its passphrase; a
    /// passphrase for a plain file is an error, since the operator expected encryption.
    pub fn load(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, IdentityFileError> {
        let malformed = |reason| IdentityFileError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = read_private(path, MAX_FILE_LEN)?;
        let file: FileIn = serde_json::from_slice(bytes.as_slice())
            .map_err(|_| malformed("not an identity file"))?;
        // Wrap at once so the hex is wiped on every return path.
        let plain = file.secret_key.map(Secret::new);
        let sealed = file.sealed_secret_key;
        if file.format != FORMAT {
            return Err(malformed("not an identity file"));
        }
        if file.version != VERSION {
            return Err(IdentityFileError::UnsupportedVersion {
                version: file.version,
            });
        }
        let mut secret = Secret::new([0u8; SECRET_LEN]);
        match (plain, sealed, passphrase) {
            (Some(hex_key), None, None) => {
                hex::decode_to_slice(hex_key.expose(), secret.expose_mut())
                    .map_err(|_| malformed("secret_key is not 64 bytes of hex"))?;
            }
            (None, Some(rec_hex), Some(pass)) => {
                let rec =
                    hex::decode(rec_hex).map_err(|_| malformed("sealed_secret_key is not hex"))?;
                let opened = AtRestKey::open_with_password(
                    pass,
                    &record_id(&file.node_id),
                    RECORD_VERSION,
                    &rec,
                )
                .map_err(|e| match e {
                    AtRestError::Decryption => IdentityFileError::WrongPassphrase {
                        path: path.to_path_buf(),
                    },
                    other => IdentityFileError::Open(other),
                })?;
                if opened.len() != SECRET_LEN {
                    return Err(malformed("sealed secret has the wrong length"));
                }
                secret.expose_mut().copy_from_slice(opened.as_slice());
            }
            (None, Some(_), None) => {
                return Err(IdentityFileError::PassphraseRequired {
                    path: path.to_path_buf(),
                })
            }
            (Some(_), None, Some(_)) => {
                return Err(IdentityFileError::NotSealed {
                    path: path.to_path_buf(),
                })
            }
            (Some(_), Some(_), _) | (None, None, _) => {
                return Err(malformed(
                    "needs exactly one of secret_key and sealed_secret_key",
                ))
            }
        }
        Ok(NodeIdentity::from_secret_bytes(file.node_id, &secret))
    }
}

#[cfg(test)]
#[path = "identity_file_tests.rs"]
mod tests;
