//! Test certificates: a private CA, server certificates for loopback and client
//! certificates, written as PEM files into a temporary directory. Tests use them
//! to run nats-server and Consul with TLS the way an operator with a private CA does.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tempfile::TempDir;

use crate::TestkitError;

/// A certificate and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A private CA in its own temporary directory (removed on drop).
#[derive(Debug)]
pub struct TestCa {
    dir: TempDir,
    issuer: CertifiedIssuer<'static, KeyPair>,
    ca_file: PathBuf,
    issued: usize,
}

fn tls_err(e: rcgen::Error) -> TestkitError {
    TestkitError::Io(std::io::Error::other(format!("test certificate: {e}")))
}

impl TestCa {
    /// A new CA named `name` (its common name), its certificate in `ca.pem`.
    pub fn new(name: &str) -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new().prefix("tessera-ca-").tempdir()?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(tls_err)?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(tls_err)?;
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, issuer.pem())?;
        Ok(Self {
            dir,
            issuer,
            ca_file,
            issued: 0,
        })
    }

    /// The CA certificate (PEM): what clients and servers trust.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The directory the files are written to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A server certificate for `127.0.0.1`, `localhost` and `extra_names`
    /// (Consul wants `server.<dc>.consul`), usable for client auth too
    /// (cluster routes between nats-servers present it both ways).
    pub fn server(&mut self, name: &str, extra_names: &[&str]) -> Result<CertFiles, TestkitError> {
        let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        names.extend(extra_names.iter().map(|n| n.to_string()));
        self.issue(
            name,
            names,
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )
    }

    /// A client certificate with common name `name`.
    pub fn client(&mut self, name: &str) -> Result<CertFiles, TestkitError> {
        self.issue(
            name,
            vec![name.to_string()],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        )
    }

    fn issue(
        &mut self,
        name: &str,
        names: Vec<String>,
        usages: Vec<ExtendedKeyUsagePurpose>,
    ) -> Result<CertFiles, TestkitError> {
        let mut params = CertificateParams::new(names).map_err(tls_err)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = usages;
        let key = KeyPair::generate().map_err(tls_err)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(tls_err)?;
        self.issued += 1;
        let stem = format!("{}-{}", self.issued, sanitize(name));
        let files = CertFiles {
            cert: self.dir.path().join(format!("{stem}.pem")),
            key: self.dir.path().join(format!("{stem}-key.pem")),
        };
        std::fs::write(&files.cert, cert.pem())?;
        write_private(&files.key, &key.serialize_pem())?;
        Ok(files)
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_pem_files_under_one_ca() {
        let mut ca = TestCa::new("test ca").unwrap();
        let server = ca.server("nats", &[]).unwrap();
        let client = ca.client("node0").unwrap();
        for f in [ca.ca_file(), &server.cert, &client.cert] {
            assert!(std::fs::read_to_string(f)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----"));
        }
        assert!(std::fs::read_to_string(&client.key)
            .unwrap()
            .contains("PRIVATE KEY"));
        assert_ne!(server.cert, client.cert);
    }
}
