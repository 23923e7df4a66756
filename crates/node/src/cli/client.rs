//! The client commands' arguments (`tessera keygen | sign | bench`; `reshare`
//! and `refresh` are in `commands::reshare_cmds`): where
//! NATS is and this client's credential, the timeouts, and each command's flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tessera_types::KeyType;

use super::NatsFlags;
use crate::config::NatsConfig;

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// NATS server(s) the cluster listens on.
    #[arg(
        long,
        env = "TESSERA_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    #[command(flatten)]
    pub nats: NatsFlags,
    /// The initiator private key file (from `tessera initiator generate`).
    #[arg(long)]
    pub initiator_key_file: PathBuf,
    /// Results for this client id arrive on their own subject.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Directory of the cluster nodes' public identity documents
    /// (`*.pub.json`, from `tessera identity generate`): a result is accepted
    /// only if one of these nodes signed it.
    #[arg(long, env = "TESSERA_PEERS_DIR")]
    pub peers_dir: Option<PathBuf>,
    /// A node's public identity document (repeatable; with or instead of --peers-dir).
    #[arg(long = "peer-file")]
    pub peer_files: Vec<PathBuf>,
    /// Migration only: also accept results without a node signature (mpcium
    /// nodes, or nodes older than signed results). Anyone allowed to publish
    /// results could then forge them.
    #[arg(long)]
    pub accept_unsigned_results: bool,
    /// How long to wait for each result (keygen, signature or reshare), e.g. `90s`, `5m`.
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA over secp256k1 (DKLs23).
    Secp256k1,
    /// EdDSA over Ed25519 (FROST).
    Ed25519,
}

impl From<KeyTypeArg> for KeyType {
    fn from(k: KeyTypeArg) -> Self {
        match k {
            KeyTypeArg::Secp256k1 => KeyType::Secp256k1,
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
        }
    }
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Wallet id to create (a new random one if omitted).
    #[arg(long)]
    pub wallet: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["tx_hex", "message"])))]
pub struct SignArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The wallet whose key signs (as `tessera keygen` created it).
    #[arg(long)]
    pub wallet: String,
    /// Which of the wallet's keys signs.
    #[arg(long, value_enum)]
    pub key_type: KeyTypeArg,
    /// What to sign, as hex (for secp256k1: the 32-byte digest).
    #[arg(long)]
    pub tx_hex: Option<String>,
    /// What to sign, as UTF-8 text.
    #[arg(long)]
    pub message: Option<String>,
    /// Non-hardened child key path, e.g. m/44/60/0/0/7.
    #[arg(long, value_parser = parse_path)]
    pub path: Option<DerivationPath>,
    /// The wallet's public key (hex, as `tessera keygen` prints it): the
    /// signature is then verified locally before it is printed.
    #[arg(long)]
    pub public_key: Option<String>,
    /// The secp256k1 chain code (hex, from `tessera keygen`), to verify a
    /// signature under `--path` against the child key derived offline.
    #[arg(long)]
    pub chain_code: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Requests to send.
    #[arg(short = 'n', long = "requests", default_value_t = 100)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(short = 'c', long = "concurrency", default_value_t = 8)]
    pub concurrency: usize,
    /// Which of the wallet's keys signs.
    #[arg(long, value_enum, default_value = "secp256k1")]
    pub key_type: KeyTypeArg,
    /// Wallet to sign with (one is generated first if omitted). An existing
    /// wallet needs --public-key: clients cannot look a wallet's keys up, and
    /// every signature is verified.
    #[arg(long, requires = "public_key")]
    pub wallet: Option<String>,
    /// The wallet's public key for --key-type (hex, as `tessera keygen`
    /// printed it); every signature is verified under it.
    #[arg(long, requires = "wallet")]
    pub public_key: Option<String>,
    /// Time between progress lines on stderr, e.g. `1s` (`0s`: none).
    #[arg(long, default_value = "1s", value_parser = parse_timeout_or_zero)]
    pub progress: Duration,
    /// The nodes' metrics URLs (`http://<health.listen>/metrics`, comma
    /// separated or repeated): read before and after the run, to print the
    /// nodes' CPU per signature and the mean time of each request phase.
    #[arg(long = "metrics", value_delimiter = ',')]
    pub metrics: Vec<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be positive".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (e.g. 30s, 2m)")),
    }
}

fn parse_timeout_or_zero(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 1s, 500ms, 0s)"))
}

/// A non-hardened BIP-32 path's indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivationPath(pub Vec<u32>);

/// `m/44/60/0/0/7` (or without `m/`) into indices; hardened steps are refused
/// because child keys are derived from public data only.
pub fn parse_path(s: &str) -> Result<DerivationPath, String> {
    let body = s
        .strip_prefix("m/")
        .or(if s == "m" { Some("") } else { None });
    let body = body.unwrap_or(s);
    if body.is_empty() {
        return Ok(DerivationPath(Vec::new()));
    }
    body.split('/')
        .map(|step| {
            if step.ends_with('\'') || step.ends_with('h') {
                return Err(format!(
                    "hardened step {step:?}: only non-hardened paths are supported"
                ));
            }
            match step.parse::<u32>() {
                Ok(i) if i < 0x8000_0000 => Ok(i),
                _ => Err(format!("path step {step:?} is not a number below 2^31")),
            }
        })
        .collect::<Result<_, _>>()
        .map(DerivationPath)
}

impl ClientArgs {
    /// Where NATS is and this client's credential, checked like a node's.
    pub fn nats_access(&self) -> Result<tessera_transport::NatsAccess, crate::config::ConfigError> {
        let mut nats = NatsConfig {
            url: self.nats_url.clone(),
            ..NatsConfig::default()
        };
        self.nats.apply(&mut nats);
        nats.access()
    }
}
