//! How a NATS user reaches the server: the server URLs, its credential and TLS.
//! One type for every NATS user Tessera has (node, SDK and CLI, tenant devices,
//! `tessera bench`), so they all authenticate the same way.
//!
//! Secrets stay in files: the settings hold paths only, and the files are read
//! when connecting (and refused when group or others may read them, like `ssh`
//! does). No error text or `Debug` output carries a secret or a URL's userinfo.

use std::path::{Path, PathBuf};

use async_nats::{ConnectOptions, ServerAddr};
use tessera_security::private_file::read_private;

use crate::error::TransportError;

/// Largest credential file read (a `.creds` file is about 1 KiB).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// How a NATS user proves who it is. Each variant names files, never secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credential (a server without authorization, e.g. a developer's).
    #[default]
    None,
    /// A `.creds` file (user JWT and nkey seed), as `nsc` writes it.
    CredsFile(PathBuf),
    /// A file holding a user nkey seed (`SU...`).
    NkeySeedFile(PathBuf),
    /// A user name and a file holding the password.
    UserPassword {
        user: String,
        password_file: PathBuf,
    },
    /// A file holding an authorization token.
    TokenFile(PathBuf),
}

/// TLS to the NATS server. Without `ca_file` the system's roots are trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// PEM file of the CA(s) that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that verify clients (`verify: true`).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Refuse to talk to a server that does not offer TLS.
    pub require: bool,
}

/// Where the NATS servers are and how to authenticate to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatsAccess {
    /// One server URL or several separated by commas (a cluster's seeds).
    /// Must not hold a user or password: use [`NatsAuth`].
    pub url: String,
    pub auth: NatsAuth,
    pub tls: NatsTls,
}

impl NatsAccess {
    /// Plain access to `url`, without credential or TLS settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The server addresses; a URL holding credentials is refused.
    pub fn addrs(&self) -> Result<Vec<ServerAddr>, TransportError> {
        parse_urls(&self.url)
    }

    /// The URLs with any userinfo removed, safe for a log line.
    pub fn redacted_url(&self) -> String {
        self.url
            .split(',')
            .map(|u| redact_url(u.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Checks every file now, so a bad setting fails before anything else
    /// starts: credential files readable, private and not empty; TLS files present.
    pub fn check(&self) -> Result<(), TransportError> {
        self.addrs()?;
        self.apply(ConnectOptions::new()).map(|_| ())
    }

    /// Adds the credential and TLS settings to `options`, reading the files.
    pub fn apply(&self, mut options: ConnectOptions) -> Result<ConnectOptions, TransportError> {
        options = match &self.auth {
            NatsAuth::None => options,
            NatsAuth::CredsFile(path) => {
                let creds = read_text("nats creds_file", path)?;
                options
                    .credentials(&creds)
                    .map_err(|_| TransportError::Credential {
                        setting: "nats creds_file",
                        path: path.clone(),
                        reason: "not a credentials file (user JWT and nkey seed)".into(),
                    })?
            }
            NatsAuth::NkeySeedFile(path) => {
                let seed = read_text("nats nkey_seed_file", path)?;
                if !seed.starts_with('S') {
                    return Err(TransportError::Credential {
                        setting: "nats nkey_seed_file",
                        path: path.clone(),
                        reason: "not an nkey seed (it starts with S)".into(),
                    });
                }
                options.nkey(seed)
            }
            NatsAuth::UserPassword {
                user,
                password_file,
            } => {
                if user.is_empty() {
                    return Err(TransportError::Credential {
                        setting: "nats user",
                        path: password_file.clone(),
                        reason: "user name is empty".into(),
                    });
                }
                let password = read_text("nats password_file", password_file)?;
                options.user_and_password(user.clone(), password)
            }
            NatsAuth::TokenFile(path) => options.token(read_text("nats token_file", path)?),
        };
        let tls = &self.tls;
        if let Some(ca) = &tls.ca_file {
            require_file("nats tls.ca_file", ca)?;
            options = options.add_root_certificates(ca.clone());
        }
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert), Some(key)) => {
                require_file("nats tls.cert_file", cert)?;
                // The key is a secret: same checks as a credential.
                read_private(key, MAX_SECRET_FILE).map_err(|e| TransportError::Credential {
                    setting: "nats tls.key_file",
                    path: key.clone(),
                    reason: e.to_string(),
                })?;
                options = options.add_client_certificate(cert.clone(), key.clone());
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(TransportError::InvalidSetting {
                    setting: "nats tls",
                    reason: "cert_file and key_file go together".into(),
                })
            }
        }
        if tls.require || tls.ca_file.is_some() || tls.cert_file.is_some() {
            options = options.require_tls(true);
        }
        Ok(options)
    }
}

/// Parses one or several comma-separated server URLs.
pub fn parse_urls(url: &str) -> Result<Vec<ServerAddr>, TransportError> {
    url.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, u)| {
            if has_userinfo(u) {
                return Err(TransportError::CredentialInUrl { position: i + 1 });
            }
            u.parse::<ServerAddr>()
                .map_err(|_| TransportError::InvalidUrl { position: i + 1 })
        })
        .collect()
}

fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
}

/// `url` without its userinfo (`nats://user:pw@h:4222` -> `nats://***@h:4222`).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    if scheme.is_empty() {
        format!("{host}{tail}")
    } else {
        format!("{scheme}://{host}{tail}")
    }
}

fn read_text(setting: &'static str, path: &Path) -> Result<String, TransportError> {
    let err = |reason: String| TransportError::Credential {
        setting,
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_private(path, MAX_SECRET_FILE).map_err(|e| err(e.to_string()))?;
    let text = std::str::from_utf8(bytes.as_slice()).map_err(|_| err("not text".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(err("empty".into()));
    }
    Ok(text.to_string())
}

fn require_file(setting: &'static str, path: &Path) -> Result<(), TransportError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(TransportError::Credential {
            setting,
            path: path.to_path_buf(),
            reason: "not a file".into(),
        }),
        Err(e) => Err(TransportError::Credential {
            setting,
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn credentials_in_a_url_are_refused_and_never_printed() {
        let e = parse_urls("nats://a:4222, nats://bob:hunter2@b:4222").unwrap_err();
        assert!(matches!(e, TransportError::CredentialInUrl { position: 2 }));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(
            NatsAccess::new("nats://bob:hunter2@b:4222/x, tls://c:1").redacted_url(),
            "nats://***@b:4222/x,tls://c:1"
        );
        assert_eq!(redact_url("tok@h:1"), "***@h:1");
        assert!(parse_urls("nats://127.0.0.1:4222,tls://[::1]:4443").is_ok());
    }

    #[test]
    fn secret_files_must_be_private_and_are_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let open = file(dir.path(), "pw", "hunter2\n", 0o644);
        let access = NatsAccess {
            url: "nats://127.0.0.1:4222".into(),
            auth: NatsAuth::UserPassword {
                user: "node0".into(),
                password_file: open.clone(),
            },
            tls: NatsTls::default(),
        };
        let e = access.check().unwrap_err().to_string();
        assert!(
            e.contains("chmod 600") && e.contains("password_file"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        access.check().unwrap();

        let empty = file(dir.path(), "tok", "\n", 0o600);
        let e = NatsAccess {
            auth: NatsAuth::TokenFile(empty),
            ..access.clone()
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");

        let not_seed = file(dir.path(), "seed", "hunter2", 0o600);
        let e = NatsAccess {
            auth: NatsAuth::NkeySeedFile(not_seed),
            ..access.clone()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("nkey seed") && !e.contains("hunter2"), "{e}");

        let creds = file(dir.path(), "creds", "hunter2", 0o600);
        let e = NatsAccess {
            auth: NatsAuth::CredsFile(creds),
            ..access.clone()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("credentials file") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn tls_files_are_checked_and_go_in_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let cert = file(dir.path(), "cert.pem", "x", 0o644);
        let mut access = NatsAccess::new("nats://127.0.0.1:4222");
        access.tls.cert_file = Some(cert);
        let e = access.check().unwrap_err();
        assert!(e.to_string().contains("go together"), "{e}");
        access.tls = NatsTls {
            ca_file: Some(dir.path().join("missing.pem")),
            ..NatsTls::default()
        };
        let e = access.check().unwrap_err().to_string();
        assert!(e.contains("ca_file") && e.contains("missing.pem"), "{e}");
    }
}
