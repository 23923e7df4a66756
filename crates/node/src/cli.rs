//! The command line: `tessera start | config | backup | restore | identity | initiator | peers |
//! cluster | bans | keygen | sign | reshare | refresh | bench`. Every flag and subcommand has help text (a test
//! walks the whole tree).
//!
//! Secret values are never flags or config values; flags name the files that
//! hold them (`--identity-passphrase-file`, `--storage-password-file`, ...).
//! The client commands' arguments are in `client`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tessera_security::InitiatorKeyKind;

use crate::config::{Config, NatsConfig};

mod client;
mod reshare;

pub use client::{
    parse_path, BenchArgs, ClientArgs, DerivationPath, KeyTypeArg, KeygenArgs, SignArgs,
};
pub use reshare::{RefreshArgs, ReshareArgs};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera threshold-signing node and operator tools"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: NATS, Consul readiness, the key store, the request consumers
    /// and the health endpoints, until SIGTERM or SIGINT.
    Start(StartArgs),
    /// Check a node's configuration without starting it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write an encrypted backup of this node's key store to a new file.
    /// Stop the node first: a running node holds the store's lock.
    Backup(BackupArgs),
    /// Restore a backup into this node's storage.dir (which must hold no
    /// database yet), sealing the shares under the node's storage key.
    Restore(RestoreArgs),
    /// Node identity files.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Initiator (client request signing) keys.
    #[command(subcommand)]
    Initiator(InitiatorCommand),
    /// Peer identities published in Consul (hints only; the config decides).
    #[command(subcommand)]
    Peers(PeersCommand),
    /// The cluster as Consul sees it: ready nodes and published identities.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Parties this node banned for cheating (it runs no session with them).
    /// Works while the node runs.
    #[command(subcommand)]
    Bans(BansCommand),
    /// The audit log (one hash-chained JSON line per operation).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Client: request a distributed key generation for a wallet.
    Keygen(KeygenArgs),
    /// Client: request a signature from a wallet's key.
    Sign(SignArgs),
    /// Client: move a wallet's key to a node set and threshold (optionally
    /// making lost shares anew with --replace).
    Reshare(ReshareArgs),
    /// Client: refresh a wallet's keys (new shares for the same nodes,
    /// threshold and public key).
    Refresh(RefreshArgs),
    /// Client: measure signing latency and throughput, verifying every signature.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The node's YAML configuration.
    #[arg(long, env = "TESSERA_CONFIG", default_value = "config.yaml")]
    pub config: PathBuf,
}

#[derive(Debug, Default, Args)]
pub struct IdentityFlags {
    /// The node's identity file (overrides `identity.file`).
    #[arg(long)]
    pub identity_file: Option<PathBuf>,
    /// File holding the identity file's passphrase (overrides `identity.passphrase_file`).
    #[arg(long)]
    pub identity_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
pub struct StorageFlags {
    /// File holding the key store's password (overrides `storage.*_file`).
    #[arg(long, conflicts_with = "storage_key_file")]
    pub storage_password_file: Option<PathBuf>,
    /// File holding the key store's 32-byte key (overrides `storage.*_file`).
    #[arg(long)]
    pub storage_key_file: Option<PathBuf>,
}

/// This process's NATS credential and TLS files (each overrides its
/// `nats.*` config key; the environment form is `TESSERA_NATS_*`).
#[derive(Debug, Default, Clone, Args)]
pub struct NatsFlags {
    /// `.creds` file (user JWT and nkey seed).
    #[arg(long, env = "TESSERA_NATS_CREDS_FILE")]
    pub nats_creds_file: Option<PathBuf>,
    /// File holding a user nkey seed.
    #[arg(long, env = "TESSERA_NATS_NKEY_SEED_FILE")]
    pub nats_nkey_seed_file: Option<PathBuf>,
    /// NATS user name (with --nats-password-file).
    #[arg(long, env = "TESSERA_NATS_USER")]
    pub nats_user: Option<String>,
    /// File holding the NATS user's password.
    #[arg(long, env = "TESSERA_NATS_PASSWORD_FILE")]
    pub nats_password_file: Option<PathBuf>,
    /// File holding a NATS token.
    #[arg(long, env = "TESSERA_NATS_TOKEN_FILE")]
    pub nats_token_file: Option<PathBuf>,
    /// PEM CA file for the NATS server's certificate.
    #[arg(long, env = "TESSERA_NATS_TLS_CA_FILE")]
    pub nats_tls_ca_file: Option<PathBuf>,
    /// PEM client certificate (with --nats-tls-key-file).
    #[arg(long, env = "TESSERA_NATS_TLS_CERT_FILE")]
    pub nats_tls_cert_file: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(long, env = "TESSERA_NATS_TLS_KEY_FILE")]
    pub nats_tls_key_file: Option<PathBuf>,
}

impl NatsFlags {
    /// A credential flag replaces whichever credential the config names.
    pub fn apply(&self, nats: &mut NatsConfig) {
        let credential = self.nats_creds_file.is_some()
            || self.nats_nkey_seed_file.is_some()
            || self.nats_user.is_some()
            || self.nats_password_file.is_some()
            || self.nats_token_file.is_some();
        if credential {
            nats.creds_file = self.nats_creds_file.clone();
            nats.nkey_seed_file = self.nats_nkey_seed_file.clone();
            nats.user = self.nats_user.clone();
            nats.password_file = self.nats_password_file.clone();
            nats.token_file = self.nats_token_file.clone();
        }
        if let Some(p) = &self.nats_tls_ca_file {
            nats.tls.ca_file = Some(p.clone());
        }
        if let Some(p) = &self.nats_tls_cert_file {
            nats.tls.cert_file = Some(p.clone());
        }
        if let Some(p) = &self.nats_tls_key_file {
            nats.tls.key_file = Some(p.clone());
        }
    }
}

#[derive(Debug, Default, Args)]
pub struct ConsulFlags {
    /// File holding the Consul ACL token (overrides `consul.token_file`).
    #[arg(long)]
    pub consul_token_file: Option<PathBuf>,
}

impl IdentityFlags {
    pub fn apply(&self, config: &mut Config) {
        if let Some(p) = &self.identity_file {
            config.identity.file = p.clone();
        }
        if let Some(p) = &self.identity_passphrase_file {
            config.identity.passphrase_file = Some(p.clone());
        }
    }
}

impl StorageFlags {
    /// A flag replaces whichever storage secret the config names.
    pub fn apply(&self, config: &mut Config) {
        if let Some(p) = &self.storage_password_file {
            config.storage.password_file = Some(p.clone());
            config.storage.key_file = None;
        }
        if let Some(p) = &self.storage_key_file {
            config.storage.key_file = Some(p.clone());
            config.storage.password_file = None;
        }
    }
}

impl ConsulFlags {
    pub fn apply(&self, config: &mut Config) {
        if let Some(p) = &self.consul_token_file {
            config.consul.token_file = Some(p.clone());
        }
    }
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub identity: IdentityFlags,
    #[command(flatten)]
    pub storage: StorageFlags,
    #[command(flatten)]
    pub consul: ConsulFlags,
    #[command(flatten)]
    pub nats: NatsFlags,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The backup file to write (mode 0600); an existing file is never replaced.
    #[arg(long)]
    pub out: PathBuf,
    /// File holding the password the backup is sealed with (Argon2id). Keep it
    /// apart from the backup: the password alone opens the backup.
    #[arg(long)]
    pub backup_password_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The backup file (from `tessera backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// File holding the password the backup was sealed with.
    #[arg(long)]
    pub backup_password_file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Write a new identity file (mode 0600) and its `.pub.json`; print the public document.
    Generate {
        /// The node's id (e.g. node0); also a NATS subject token.
        #[arg(long)]
        node_id: String,
        /// Where to write the private file; `<out>.pub.json` is written beside it.
        #[arg(long)]
        out: PathBuf,
        /// Seal the private keys with the passphrase in this file (Argon2id).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum InitiatorCommand {
    /// Write a new initiator private key file (mode 0600); print the public key for config.yaml.
    Generate {
        /// Key type: `ed25519` or `p256` (the nodes' `initiator.kind`).
        #[arg(long, value_parser = parse_initiator_kind)]
        kind: InitiatorKeyKind,
        /// Where to write the private key file (never replaced if it exists).
        #[arg(long)]
        out: PathBuf,
        /// Also write the key as mpcium's Go and TypeScript clients read it
        /// (`keyPath`): the Ed25519 seed in hex, mode 0600. ed25519 only.
        #[arg(long)]
        mpcium_seed_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeersCommand {
    /// Publish this node's public identity under `<consul.prefix>/peers/<node_id>`.
    Register {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        identity: IdentityFlags,
        #[command(flatten)]
        consul: ConsulFlags,
    },
    /// List the identities published in Consul and compare them with the config.
    List {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        consul: ConsulFlags,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate a node's config and every file it names (identity,
    /// peers, key store secret, NATS and Consul credentials and TLS files),
    /// then print the values a node would use, after `TESSERA_*` overrides and
    /// flags. Prints paths, never a secret. Starts nothing, connects to nothing;
    /// exits non-zero with the error when the node would refuse to start.
    Check(StartArgs),
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Which nodes are ready in Consul (with when each started and the age of
    /// its own ready view) and which identities are published, each compared
    /// with this node's configuration. Read-only.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        consul: ConsulFlags,
    },
}

#[derive(Debug, Subcommand)]
pub enum BansCommand {
    /// Print each ban: party, reason, session, time (tab-separated).
    List {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Lift a party's ban: the node plays with it again from its next session.
    Clear {
        #[command(flatten)]
        config: ConfigArg,
        /// The banned party's node id (as `tessera bans list` prints it).
        party: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of audit files, given oldest first (e.g.
    /// `audit.jsonl.1 audit.jsonl`); names the first line that breaks it.
    Verify {
        /// Audit files, oldest first; checked as one chain.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn parse_initiator_kind(s: &str) -> Result<InitiatorKeyKind, String> {
    s.parse().map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::time::Duration;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every subcommand and every argument says what it is for in `--help`.
    #[test]
    fn every_subcommand_and_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "tessera", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }

    #[test]
    fn client_timeout_is_a_duration_with_a_60s_default() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["tessera", "keygen", "--initiator-key-file", "i"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Keygen(k) => k.client.timeout,
                _ => panic!("not keygen"),
            })
        };
        assert_eq!(parse(&[]).unwrap(), Duration::from_secs(60));
        assert_eq!(
            parse(&["--timeout", "2m 30s"]).unwrap(),
            Duration::from_secs(150)
        );
        assert!(parse(&["--timeout", "0s"]).is_err());
        assert!(parse(&["--timeout", "soon"]).is_err());
    }

    #[test]
    fn paths() {
        let p = |v: &[u32]| Ok(DerivationPath(v.to_vec()));
        assert_eq!(parse_path("m/44/60/0/0/7"), p(&[44, 60, 0, 0, 7]));
        assert_eq!(parse_path("1/2"), p(&[1, 2]));
        assert_eq!(parse_path("m"), p(&[]));
        assert!(parse_path("m/44'/0").is_err());
        assert!(parse_path("m/2147483648").is_err());
        assert!(parse_path("m//1").is_err());
    }

    #[test]
    fn parses_start_and_sign() {
        let cli = Cli::try_parse_from([
            "tessera",
            "start",
            "--config",
            "c.yaml",
            "--storage-key-file",
            "k",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Start(_)));
        let both = Cli::try_parse_from([
            "tessera",
            "start",
            "--storage-key-file",
            "k",
            "--storage-password-file",
            "p",
        ]);
        assert!(both.is_err());
        let backup = Cli::try_parse_from([
            "tessera",
            "backup",
            "--config",
            "c.yaml",
            "--out",
            "b.tsbk",
            "--backup-password-file",
            "pw",
            "--storage-key-file",
            "k",
        ])
        .unwrap();
        let Command::Backup(b) = backup.command else {
            panic!("not backup")
        };
        assert_eq!(b.out, PathBuf::from("b.tsbk"));
        assert_eq!(b.backup_password_file, PathBuf::from("pw"));
        assert_eq!(b.storage.storage_key_file, Some(PathBuf::from("k")));
        // The backup password is a file, never a value.
        assert!(Cli::try_parse_from(["tessera", "backup", "--out", "b"]).is_err());
        assert!(
            Cli::try_parse_from(["tessera", "backup", "--out", "b", "--backup-password", "x"])
                .is_err()
        );
        let restore = Cli::try_parse_from([
            "tessera",
            "restore",
            "--from",
            "b.tsbk",
            "--backup-password-file",
            "pw",
        ])
        .unwrap();
        let Command::Restore(r) = restore.command else {
            panic!("not restore")
        };
        assert_eq!(r.from, PathBuf::from("b.tsbk"));
        let sign = Cli::try_parse_from([
            "tessera",
            "sign",
            "--initiator-key-file",
            "i",
            "--wallet",
            "w",
            "--key-type",
            "ed25519",
            "--message",
            "hi",
            "--path",
            "m/44/60/0/0/7",
        ])
        .unwrap();
        let Command::Sign(s) = sign.command else {
            panic!("not sign")
        };
        assert_eq!(s.path, Some(DerivationPath(vec![44, 60, 0, 0, 7])));
        let bench = Cli::try_parse_from([
            "tessera",
            "bench",
            "--initiator-key-file",
            "i",
            "-n",
            "10",
            "-c",
            "2",
        ])
        .unwrap();
        let Command::Bench(b) = bench.command else {
            panic!("not bench")
        };
        assert_eq!((b.requests, b.concurrency), (10, 2));
        assert!(
            !b.client.accept_unsigned_results,
            "results are verified by default"
        );
        let keygen = Cli::try_parse_from([
            "tessera",
            "keygen",
            "--initiator-key-file",
            "i",
            "--peers-dir",
            "peers",
            "--peer-file",
            "a.pub.json",
            "--peer-file",
            "b.pub.json",
        ])
        .unwrap();
        let Command::Keygen(k) = keygen.command else {
            panic!("not keygen")
        };
        assert_eq!(k.client.peers_dir, Some(PathBuf::from("peers")));
        assert_eq!(k.client.peer_files.len(), 2);
    }
}
