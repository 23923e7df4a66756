//! A locked-down test nats-server: TLS, one account with JetStream, and users
//! in the roles of `deploy/nats/permissions.conf` (node, client, tenant).
//!
//! The generated configuration `include`s a copy of the repository's
//! `deploy/nats/permissions.conf` (nodes get its `NODE`); every client and
//! tenant gets its own block rendered from the repository's templates as
//! `deploy/nats/README.md` documents (see [`crate::nats_perms`]). Passwords are
//! written to files (mode 0600) whose paths tests hand to the product, as an
//! operator would.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::certs::{write_private, CertFiles, TestCa};
use crate::nats_perms;
use crate::TestkitError;

/// The account every user is in (one account per Tessera cluster).
pub const ACCOUNT: &str = "TESSERA";

/// The server's TLS: its certificate and the CA that clients must trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsServerTls {
    /// CA certificate (PEM): what clients trust, and what client certificates must chain to.
    pub ca_file: PathBuf,
    /// The server's certificate and key (valid for `127.0.0.1` and `localhost`).
    pub server: CertFiles,
    /// `verify: true`: every client must present a certificate signed by the CA.
    pub verify: bool,
}

impl NatsServerTls {
    /// A server certificate issued by `ca`; clients need no certificate.
    pub fn from_ca(ca: &mut TestCa) -> Result<Self, TestkitError> {
        Ok(Self {
            ca_file: ca.ca_file().to_path_buf(),
            server: ca.server("nats", &[])?,
            verify: false,
        })
    }
}

/// How a user authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum NatsSecret {
    /// A password; the harness writes it to a file (see `password_file`).
    Password(String),
    /// An nkey: the user's public key (`U...`); the user keeps the seed.
    Nkey(String),
}

impl std::fmt::Debug for NatsSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::Nkey(public) => f.debug_tuple("Nkey").field(public).finish(),
        }
    }
}

/// Which role of `permissions.conf` a user has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsRole {
    /// `NODE`, as it is.
    Node,
    /// `CLIENT` plus the result consumers of `client_id` (`None`: mpcium's
    /// unscoped consumers `mpc_keygen_result` etc.).
    Client { client_id: Option<String> },
    /// `TENANT` plus the p2p and control inboxes of device `tenant_id`.
    Tenant { tenant_id: String },
}

/// One user of the test server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsUser {
    /// The user name (for an nkey user, only the key of [`Nats`](crate::Nats)'s lookups).
    pub name: String,
    pub secret: NatsSecret,
    pub role: NatsRole,
}

impl NatsUser {
    /// A node with a password.
    pub fn node(name: &str, password: &str) -> Self {
        Self::with(name, NatsSecret::Password(password.into()), NatsRole::Node)
    }

    /// A node authenticating with an nkey (`public_key` starts with `U`).
    pub fn node_nkey(name: &str, public_key: &str) -> Self {
        Self::with(name, NatsSecret::Nkey(public_key.into()), NatsRole::Node)
    }

    /// A client reading the results of `client_id`.
    pub fn client(name: &str, password: &str, client_id: Option<&str>) -> Self {
        let role = NatsRole::Client {
            client_id: client_id.map(str::to_string),
        };
        Self::with(name, NatsSecret::Password(password.into()), role)
    }

    /// A tenant device whose node id is `tenant_id`.
    pub fn tenant(name: &str, password: &str, tenant_id: &str) -> Self {
        let role = NatsRole::Tenant {
            tenant_id: tenant_id.into(),
        };
        Self::with(name, NatsSecret::Password(password.into()), role)
    }

    fn with(name: &str, secret: NatsSecret, role: NatsRole) -> Self {
        Self {
            name: name.into(),
            secret,
            role,
        }
    }
}

/// What makes a test server locked down: TLS (optional) and its users.
/// Without users nobody can connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsSecurity {
    pub tls: Option<NatsServerTls>,
    pub users: Vec<NatsUser>,
}

impl NatsSecurity {
    pub fn new(tls: Option<NatsServerTls>) -> Self {
        Self {
            tls,
            users: Vec::new(),
        }
    }

    /// Adds a user.
    pub fn user(mut self, user: NatsUser) -> Self {
        self.users.push(user);
        self
    }
}

/// The files a secured server was given: password files per user name.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecureFiles {
    pub tls: Option<NatsServerTls>,
    pub passwords: BTreeMap<String, PathBuf>,
}

impl SecureFiles {
    pub fn password_file(&self, user: &str) -> Option<&Path> {
        self.passwords.get(user).map(PathBuf::as_path)
    }
}

/// Writes the password files and `permissions.conf` into `dir`, and returns the
/// configuration lines that lock the server down (include, per-user blocks,
/// TLS, the account and its users).
pub(crate) fn write_security(
    security: &NatsSecurity,
    dir: &Path,
) -> Result<(String, SecureFiles), TestkitError> {
    std::fs::write(
        dir.join("permissions.conf"),
        nats_perms::read("permissions.conf")?,
    )?;
    let client_template = nats_perms::read("client.conf.template")?;
    let tenant_template = nats_perms::read("tenant.conf.template")?;
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let mut conf = String::from("include \"permissions.conf\"\n");
    let mut users = String::new();
    let mut files = SecureFiles {
        tls: security.tls.clone(),
        passwords: BTreeMap::new(),
    };
    for (i, user) in security.users.iter().enumerate() {
        let var = match &user.role {
            NatsRole::Node => "NODE".to_string(),
            NatsRole::Client { client_id } => {
                let name = format!("U{i}");
                conf.push_str(&nats_perms::client_block(
                    &client_template,
                    &name,
                    client_id.as_deref(),
                )?);
                format!("CLIENT_{name}")
            }
            NatsRole::Tenant { tenant_id } => {
                let name = format!("U{i}");
                conf.push_str(&nats_perms::tenant_block(
                    &tenant_template,
                    &name,
                    tenant_id,
                )?);
                format!("TENANT_{name}")
            }
        };
        let who = match &user.secret {
            NatsSecret::Password(password) => {
                let file = secrets.join(format!("{i}.password"));
                write_private(&file, password)?;
                files.passwords.insert(user.name.clone(), file);
                format!("user: {}, password: {}", quote(&user.name), quote(password))
            }
            NatsSecret::Nkey(public) => format!("nkey: {}", quote(public)),
        };
        let _ = writeln!(users, "      {{ {who}, permissions: ${var} }}");
    }
    if let Some(tls) = &security.tls {
        conf.push_str(&tls_block("tls", tls, tls.verify));
    }
    let _ = write!(
        conf,
        "accounts {{\n  {ACCOUNT} {{\n    jetstream: enabled\n    users: [\n{users}    ]\n  }}\n}}\n"
    );
    Ok((conf, files))
}

/// A `tls { ... }` block named `name` (`tls` for clients, routes use it inside `cluster`).
pub(crate) fn tls_block(name: &str, tls: &NatsServerTls, verify: bool) -> String {
    format!(
        "{name} {{\n  cert_file: {}\n  key_file: {}\n  ca_file: {}\n  verify: {verify}\n  timeout: 5\n}}\n",
        quote_path(&tls.server.cert),
        quote_path(&tls.server.key),
        quote_path(&tls.ca_file),
    )
}

/// A configuration string literal.
pub(crate) fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(crate) fn quote_path(p: &Path) -> String {
    quote(&p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_private_password_files_and_per_user_blocks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let security = NatsSecurity::new(None)
            .user(NatsUser::node("node0", "pw0"))
            .user(NatsUser::node_nkey("node1", "UABC"))
            .user(NatsUser::client("app", "pw\"1", Some("app-1")))
            .user(NatsUser::tenant("dev", "pw2", "device-7"));
        let (conf, files) = write_security(&security, dir.path()).unwrap();
        let file = files.password_file("app").unwrap();
        assert_eq!(std::fs::read_to_string(file).unwrap(), "pw\"1");
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(files.password_file("node1").is_none());
        assert!(conf.contains("{ user: \"node0\", password: \"pw0\", permissions: $NODE }"));
        assert!(conf.contains("{ nkey: \"UABC\", permissions: $NODE }"));
        assert!(conf.contains("password: \"pw\\\"1\", permissions: $CLIENT_U2 }"));
        assert!(conf.contains("CLIENT_U2 = {"));
        assert!(conf.contains("TENANT_U3 = {"));
        assert!(dir.path().join("permissions.conf").exists());
        assert!(format!("{:?}", security).contains("<redacted>"));
        assert!(!format!("{:?}", security).contains("pw0"));
    }
}
