//! Secrets from files: the identity passphrase, the storage password or key
//! file, the Consul token. Their paths come from the config or from flags; the
//! secrets themselves are never in the config, in a log line or in an error.
//!
//! A secret file must not be readable by group or others (like `ssh` keys; on
//! Kubernetes mount the Secret with `defaultMode: 0400`). One trailing newline
//! (`\n` or `\r\n`) is dropped, since `echo` and editors add one.

use std::path::{Path, PathBuf};

use tessera_security::private_file::{read_private, PrivateFileError};
use tessera_security::SecretBytes;

/// Largest secret file read: passphrases and tokens are short.
const MAX_SECRET_LEN: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("{what}: {source}")]
    Read {
        what: &'static str,
        #[source]
        source: PrivateFileError,
    },
    #[error("{what} file {} is empty", path.display())]
    Empty { what: &'static str, path: PathBuf },
    #[error("{what} file {} is not UTF-8 text", path.display())]
    NotText { what: &'static str, path: PathBuf },
}

impl SecretFileError {
    pub fn code(&self) -> tessera_types::ErrorCode {
        match self {
            SecretFileError::Read { source, .. } => source.code(),
            SecretFileError::Empty { .. } | SecretFileError::NotText { .. } => {
                tessera_types::ErrorCode::InvalidConfiguration
            }
        }
    }
}

/// Reads a secret file; `what` names it in errors ("storage password").
pub fn read_secret_file(what: &'static str, path: &Path) -> Result<SecretBytes, SecretFileError> {
    let bytes = read_private(path, MAX_SECRET_LEN)
        .map_err(|source| SecretFileError::Read { what, source })?;
    let s = bytes.as_slice();
    let s = s
        .strip_suffix(b"\r\n")
        .or_else(|| s.strip_suffix(b"\n"))
        .unwrap_or(s);
    if s.is_empty() {
        return Err(SecretFileError::Empty {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(SecretBytes::from_slice(s))
}

/// Reads a token (text) file, e.g. the Consul ACL token.
pub fn read_token_file(what: &'static str, path: &Path) -> Result<String, SecretFileError> {
    let bytes = read_secret_file(what, path)?;
    let text = std::str::from_utf8(bytes.as_slice()).map_err(|_| SecretFileError::NotText {
        what,
        path: path.to_path_buf(),
    })?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, body: &[u8], mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn reads_and_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "pw", b"hunter2\n", 0o600);
        assert_eq!(read_secret_file("pw", &p).unwrap().as_slice(), b"hunter2");
        let p = write(dir.path(), "pw2", b"a b\r\n", 0o400);
        assert_eq!(read_secret_file("pw", &p).unwrap().as_slice(), b"a b");
        let p = write(dir.path(), "tok", b"  abc-123 \n", 0o600);
        assert_eq!(read_token_file("token", &p).unwrap(), "abc-123");
    }

    #[test]
    fn refuses_open_permissions_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "pw", b"secret-value", 0o644);
        let e = read_secret_file("storage password", &p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("storage password") && e.contains("chmod 600"),
            "{e}"
        );
        assert!(!e.contains("secret-value"));
        let p = write(dir.path(), "empty", b"\n", 0o600);
        assert!(matches!(
            read_secret_file("x", &p),
            Err(SecretFileError::Empty { .. })
        ));
    }
}
