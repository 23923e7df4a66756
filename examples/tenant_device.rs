//! A user's device as an MPC party next to the local cluster of `make run`
//! (split custody: the device holds one share of each wallet key, node0 and
//! node1 hold the others; any two of the three sign).
//!
//! `make run` builds this example and runs it after its demo. By hand, while
//! the cluster of `make run` is up (without RUN_ONCE=1 it keeps running):
//!
//! ```text
//! cargo build --release -p tessera-node --example tenant_device
//! target/release/examples/tenant_device --state .state/run
//! ```
//!
//! From the state directory it reads `cluster.env` (`NATS_URL=...`, the device
//! id, and the files of the NATS credentials of the device and of the
//! application's client, `make run`'s NATS requiring authentication), the
//! servers' public identity documents `public/<node>.pub.json` (never their
//! private files) and `initiator.key`, the application's request-signing key
//! (the one the client commands use). The device's share store goes to
//! `devices/<device id>/`, sealed with a random key that lives only in this
//! process; a real application keeps that key in the platform's keystore.
//!
//! It prints each step (numbered as in `run`) and exits non-zero on any failure.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, ensure, Context};
use clap::Parser;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tessera_client::{Client, ClientConfig, ClientError, SignRequest, SigningResult};
use tessera_node::commands::initiator;
use tessera_security::identity_file::read_public_document;
use tessera_tenant::{
    AtRestKey, KeyType, NodeId, NodeIdentity, PublicIdentity, SessionId, Signature, StoreKey,
    Tenant, TenantConfig, TenantError, TenantKeygen, TenantSign, Threshold, WalletId, WalletKeys,
};
use tessera_transport::{NatsAccess, NatsAuth, NatsTls};
use tessera_types::wire::SessionSpec;

/// The servers that hold the wallet's other shares (t = 1: any two of the three sign).
const KEYGEN_SERVERS: [&str; 2] = ["node0", "node1"];
/// The server that signs with the device.
const SIGN_SERVER: &str = "node1";
const MESSAGE: &[u8] = b"hello from the device";
/// Bound on each step (a keygen's deadline on the nodes is 120 s).
const STEP_LIMIT: Duration = Duration::from_secs(150);

#[derive(Parser)]
#[command(about = "A user's device as an MPC party next to the cluster of `make run`")]
struct Args {
    /// The state directory of `make run` (scripts/run-cluster.sh).
    #[arg(long, default_value = ".state/run")]
    state: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let state = Args::parse().state;
    let env = state.join("cluster.env");
    let nats_url = read_env_value(&env, "NATS_URL")?;
    let servers = read_servers(&state.join("public"))?;
    let initiator = initiator::load(&state.join("initiator.key"))?;
    // Each party has its own NATS user: the server allows a device only its own subjects.
    let credential = |user: &str, file: &str| -> anyhow::Result<NatsAccess> {
        Ok(NatsAccess {
            url: nats_url.clone(),
            auth: NatsAuth::UserPassword {
                user: read_env_value(&env, user)?,
                password_file: read_env_value(&env, file)?.into(),
            },
            tls: NatsTls::default(),
        })
    };

    // 1. The device: its own identity, share store and NATS connection.
    let device = NodeId::new(read_env_value(&env, "DEVICE_ID")?)?;
    let store_dir = state.join("devices").join(device.as_str());
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    let mut config = TenantConfig::new(
        nats_url.clone(),
        Arc::new(NodeIdentity::generate(device.clone())),
        &store_dir,
        StoreKey::Key(AtRestKey::from_key_bytes(&key)?),
        servers,
    );
    config.nats = credential("TENANT_USER", "TENANT_PASSWORD_FILE")?;
    key.fill(0);
    let tenant = Tenant::start(config).await.context("starting the device")?;
    println!(
        "== 1. device {device} started, shares in {}",
        store_dir.display()
    );

    // The application's backend: signs the requests the servers act on.
    // It accepts only results signed by one of the servers.
    let mut config = ClientConfig::new(nats_url.clone(), initiator)
        .with_client_id(format!("{device}-app"))
        .with_cluster_identities_dir(state.join("public"))?;
    config.nats = credential("CLIENT_USER", "CLIENT_PASSWORD_FILE")?;
    let client = Client::connect(config)
        .await
        .context("connecting the client")?;
    let outcome = run(&tenant, &client).await;
    tenant.shutdown().await;
    outcome
}

async fn run(tenant: &Tenant, client: &Client) -> anyhow::Result<()> {
    let device = tenant.node_id().clone();
    let mut players = vec![device.clone()];
    players.extend(KEYGEN_SERVERS.map(|s| NodeId::new(s).expect("valid id")));
    let signers = [device, NodeId::new(SIGN_SERVER)?];

    // 2. A session id for the keygen; the servers learn it from the request.
    let session = random_hex(16);
    println!("== 2. keygen session id {session}");

    // 3. The servers learn the device's public key for that session.
    client
        .register_tenant_key(&session, &tenant.public_identity())
        .await
        .context("registering the device's key")?;
    println!("== 3. registered the device's public key for the session");

    // 4. Keygen: the device and the servers run the same two sessions.
    let wallet = format!("device-wallet-{}", random_hex(6));
    println!("== 4. keygen of {wallet} by {} (t = 1)", list(&players));
    let spec = SessionSpec {
        session_id: Some(session.clone()),
        players: Some(players.iter().map(NodeId::to_string).collect()),
        dynamic_public_keys: Default::default(), // registered in step 3
        threshold: Some(1),
    };
    let on_device = TenantKeygen {
        session_id: SessionId::new(session)?,
        wallet_id: WalletId::new(wallet.as_str())?,
        players,
        threshold: Threshold(1),
    };
    let (keys, theirs) = both("keygen", tenant.keygen(on_device), async {
        client.keygen_in_session(&wallet, spec).await?.into_result()
    })
    .await?;

    // 5. Both sides report the same keys.
    let ecdsa = theirs.ecdsa_public_key_sec1();
    ensure!(
        ecdsa.as_ref().map(|k| &k[..]) == Some(&keys.ecdsa_public_key[..])
            && theirs.ecdsa_chain_code() == Some(keys.ecdsa_chain_code)
            && theirs.eddsa_public_key() == Some(keys.eddsa_public_key),
        "device and servers report different keys"
    );
    println!("== 5. device and servers agree on the wallet's keys");
    println!(
        "   ecdsa_public_key:  {}",
        hex::encode(&keys.ecdsa_public_key)
    );
    println!(
        "   ecdsa_chain_code:  {}",
        hex::encode(keys.ecdsa_chain_code)
    );
    println!(
        "   eddsa_public_key:  {}",
        hex::encode(keys.eddsa_public_key)
    );

    // 6. and 7. Signing by the device and one server, each in a fresh session.
    let digest = Sha256::digest(MESSAGE).to_vec();
    let text = String::from_utf8_lossy(MESSAGE);
    for (key_type, tx, what) in [
        (KeyType::Secp256k1, digest, format!("sha256(\"{text}\")")),
        (KeyType::Ed25519, MESSAGE.to_vec(), format!("\"{text}\"")),
    ] {
        println!("== 6. {key_type} signing of {what} by {}", list(&signers));
        let (mine, theirs) = sign(tenant, client, &keys, key_type, &tx, &signers).await?;
        println!("== 7. both signatures against the keygen public key");
        verify(&keys, &tx, &mine, &theirs)?;
    }
    Ok(())
}

/// One signing session on both sides: the device through the tenant, the
/// server through a signed request naming the session and its players (the
/// device's key is stored with the wallet since keygen: nothing to register).
async fn sign(
    tenant: &Tenant,
    client: &Client,
    keys: &WalletKeys,
    key_type: KeyType,
    tx: &[u8],
    signers: &[NodeId],
) -> anyhow::Result<(Signature, SigningResult)> {
    let session = random_hex(16);
    println!("   session id {session}");
    let on_device = TenantSign {
        session_id: SessionId::new(session.as_str())?,
        wallet_id: keys.wallet_id.clone(),
        key_type,
        players: signers.to_vec(),
        message: tx.to_vec(),
        path: Vec::new(),
    };
    let request = SignRequest {
        key_type,
        wallet_id: keys.wallet_id.to_string(),
        tx_id: format!("device-tx-{}", random_hex(8)),
        tx: tx.to_vec(),
        network_internal_code: "tessera-example".into(),
        derivation_path: None,
        session: Some(SessionSpec {
            session_id: Some(session),
            players: Some(signers.iter().map(NodeId::to_string).collect()),
            ..Default::default()
        }),
    };
    both("signing", tenant.sign(on_device), async {
        client.sign(request).await?.into_result()
    })
    .await
}

/// Checks the device's and the server's signature with `k256` or
/// `ed25519-dalek` (not Tessera's code) against the keygen public key.
fn verify(
    keys: &WalletKeys,
    tx: &[u8],
    mine: &Signature,
    theirs: &SigningResult,
) -> anyhow::Result<()> {
    let missing = || anyhow!("no signature in the server's result");
    match mine {
        Signature::Ecdsa(device) => {
            let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(&keys.ecdsa_public_key)?;
            let server = theirs.ecdsa_signature().ok_or_else(missing)?;
            for (who, r, s) in [
                ("device", device.r, device.s),
                ("server", server.r, server.s),
            ] {
                let signature = k256::ecdsa::Signature::from_scalars(r, s)?;
                key.verify_prehash(tx, &signature)
                    .with_context(|| format!("the {who}'s ECDSA signature does NOT verify"))?;
                println!("   {who}: r={}  verified: VALID (k256)", hex::encode(r));
            }
        }
        Signature::Eddsa(device) => {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&keys.eddsa_public_key)?;
            let server = theirs.ed25519_signature().ok_or_else(missing)?;
            for (who, bytes) in [("device", device.signature), ("server", server)] {
                key.verify_strict(tx, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .with_context(|| format!("the {who}'s Ed25519 signature does NOT verify"))?;
                println!(
                    "   {who}: R={}  verified: VALID (ed25519-dalek)",
                    hex::encode(&bytes[..32])
                );
            }
        }
    }
    Ok(())
}

/// Runs the device's and the servers' side of a step at once, under
/// [`STEP_LIMIT`]; the first failure ends the step.
async fn both<A, B>(
    what: &str,
    device: impl Future<Output = Result<A, TenantError>>,
    servers: impl Future<Output = Result<B, ClientError>>,
) -> anyhow::Result<(A, B)> {
    let device = async { device.await.context(format!("{what} on the device")) };
    let servers = async { servers.await.context(format!("{what} on the servers")) };
    tokio::time::timeout(STEP_LIMIT, async { tokio::try_join!(device, servers) })
        .await
        .map_err(|_| anyhow!("{what} did not finish within {STEP_LIMIT:?}"))?
}

/// `KEY=value` from a file of such lines (`cluster.env`).
fn read_env_value(path: &Path, key: &str) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim().to_string())
        .ok_or_else(|| anyhow!("{} has no {key}=", path.display()))
}

/// The servers' public identity documents (`*.pub.json`), sorted by node id.
fn read_servers(dir: &Path) -> anyhow::Result<Vec<PublicIdentity>> {
    let mut servers = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".pub.json") {
            servers.push(read_public_document(&path)?);
        }
    }
    ensure!(!servers.is_empty(), "no *.pub.json in {}", dir.display());
    servers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Ok(servers)
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn list(ids: &[NodeId]) -> String {
    let names: Vec<&str> = ids.iter().map(NodeId::as_str).collect();
    names.join(", ")
}
