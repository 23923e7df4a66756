//! `ConsulTls`: HTTPS to Consul with a private CA and an optional client
//! certificate (for agents with `verify_incoming_https`).
//!
//! With `ca_file` set, Consul's certificate must chain to a CA in that file and
//! **only** there: the built-in (webpki) roots are dropped, so a certificate from a
//! public CA for the same name is not accepted. Without `ca_file` the built-in
//! roots are trusted (a Consul behind a public certificate).
//!
//! The files are read once, when the client is built. Errors name the setting
//! and the path, never the contents; the private key is read like every other
//! key file (refused if group or others may read it) into a buffer wiped on drop.

use std::io::Read;
use std::path::{Path, PathBuf};

use reqwest::{Certificate, ClientBuilder, Identity};
use tessera_security::private_file::{read_private, PrivateFileError};
use tessera_security::SecretBytes;

use crate::error::RegistryError;

/// Largest certificate (or CA bundle) file read.
const MAX_CERT_FILE: u64 = 1024 * 1024;
/// Largest private key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

const CA_FILE: &str = "consul tls.ca_file";
const CERT_FILE: &str = "consul tls.cert_file";
const KEY_FILE: &str = "consul tls.key_file";

/// TLS settings for Consul's HTTPS API. All `None` (the default): plain
/// settings, and an `https://` address trusts the built-in roots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsulTls {
    /// PEM file with the CA certificate(s) that signed Consul's certificate.
    /// When set, these are the only roots trusted.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain), for agents that verify clients.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file` (PKCS#8, PKCS#1 or SEC1, unencrypted),
    /// readable by its owner only.
    pub key_file: Option<PathBuf>,
}

impl ConsulTls {
    /// True when no TLS setting is given.
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.cert_file.is_none() && self.key_file.is_none()
    }

    /// True when a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// Reads the files and adds the roots and the client identity to `builder`.
    pub(crate) fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, RegistryError> {
        if let Some(path) = &self.ca_file {
            let pem = read_cert_file(CA_FILE, path)?;
            let roots = Certificate::from_pem_bundle(&pem)
                .map_err(|_| file_error(CA_FILE, path, "not a PEM certificate bundle"))?;
            if roots.is_empty() {
                return Err(file_error(CA_FILE, path, "holds no PEM certificate"));
            }
            builder = builder.tls_built_in_root_certs(false);
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => builder = builder.identity(identity(cert, key)?),
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(RegistryError::InvalidConfig {
                    reason: "consul tls.cert_file and tls.key_file go together".to_string(),
                })
            }
        }
        Ok(builder)
    }
}

/// The client certificate and key as one PEM identity, built in a wiped buffer.
fn identity(cert: &Path, key: &Path) -> Result<Identity, RegistryError> {
    let cert_pem = read_cert_file(CERT_FILE, cert)?;
    if !contains(&cert_pem, b"-----BEGIN CERTIFICATE-----") {
        return Err(file_error(CERT_FILE, cert, "holds no PEM certificate"));
    }
    let key_pem = read_private(key, MAX_KEY_FILE).map_err(|e| key_error(key, e))?;
    if !contains(key_pem.as_slice(), b"PRIVATE KEY-----") {
        return Err(file_error(KEY_FILE, key, "holds no PEM private key"));
    }
    let mut both = SecretBytes::new(Vec::with_capacity(
        cert_pem.len() + 1 + key_pem.as_slice().len(),
    ));
    both.expose_mut().extend_from_slice(&cert_pem);
    both.expose_mut().push(b'\n');
    both.expose_mut().extend_from_slice(key_pem.as_slice());
    Identity::from_pem(both.as_slice()).map_err(|_| RegistryError::InvalidConfig {
        reason: format!(
            "{CERT_FILE} {} and {KEY_FILE} {}: not a PEM certificate and an unencrypted \
             PKCS#8, PKCS#1 or SEC1 private key",
            cert.display(),
            key.display()
        ),
    })
}

/// Reads a (public) certificate file of bounded size.
fn read_cert_file(setting: &'static str, path: &Path) -> Result<Vec<u8>, RegistryError> {
    let read = |path: &Path| -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_CERT_FILE + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = read(path).map_err(|e| file_error(setting, path, &format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CERT_FILE {
        return Err(file_error(
            setting,
            path,
            &format!("larger than {MAX_CERT_FILE} bytes"),
        ));
    }
    Ok(bytes)
}

fn key_error(path: &Path, e: PrivateFileError) -> RegistryError {
    let reason = match e {
        PrivateFileError::Read { source, .. } => format!("cannot read: {source}"),
        PrivateFileError::InsecurePermissions { mode, .. } => {
            format!("accessible by group or others (mode {mode:03o}); restrict it with chmod 600")
        }
        PrivateFileError::TooLarge { max, .. } => format!("larger than {max} bytes"),
        other => other.to_string(),
    };
    file_error(KEY_FILE, path, &reason)
}

fn file_error(setting: &'static str, path: &Path, reason: &str) -> RegistryError {
    RegistryError::TlsFile {
        setting,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn apply(tls: &ConsulTls) -> Result<(), RegistryError> {
        tls.apply(reqwest::Client::builder()).map(|_| ())
    }

    #[test]
    fn cert_and_key_go_together() {
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "c.pem", "x", 0o644);
        for tls in [
            ConsulTls {
                cert_file: Some(cert.clone()),
                ..ConsulTls::default()
            },
            ConsulTls {
                key_file: Some(cert.clone()),
                ..ConsulTls::default()
            },
        ] {
            let e = apply(&tls).unwrap_err();
            assert!(matches!(e, RegistryError::InvalidConfig { .. }), "{e}");
            assert!(e.to_string().contains("go together"), "{e}");
        }
    }

    #[test]
    fn file_errors_name_setting_and_path_not_contents() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = apply(&ConsulTls {
            ca_file: Some(missing.clone()),
            ..ConsulTls::default()
        })
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("consul tls.ca_file"), "{text}");
        assert!(text.contains(&missing.display().to_string()), "{text}");
        assert!(matches!(e, RegistryError::TlsFile { .. }));

        let junk = write(dir.path(), "junk.pem", "not-a-cert-SECRETISH", 0o644);
        let e = apply(&ConsulTls {
            ca_file: Some(junk.clone()),
            ..ConsulTls::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        assert!(!e.to_string().contains("SECRETISH"), "{e}");

        // A key file others can read is refused, and its contents never shown.
        let cert = write(
            dir.path(),
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            0o644,
        );
        let key = write(
            dir.path(),
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nS3CRET!!\n-----END PRIVATE KEY-----\n",
            0o644,
        );
        let tls = ConsulTls {
            cert_file: Some(cert),
            key_file: Some(key.clone()),
            ..ConsulTls::default()
        };
        let e = apply(&tls).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("consul tls.key_file"), "{text}");
        assert!(text.contains("chmod 600"), "{text}");
        assert!(!text.contains("S3CRET"), "{text}");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = apply(&tls).unwrap_err().to_string();
        assert!(!text.contains("S3CRET"), "{text}");
    }
}
