//! `tessera keygen | sign`, and what `bench` shares with them: client commands
//! over the SDK (`tessera-client`). They publish signed requests exactly as any
//! client would and print the results; `sign` and `bench` verify signatures
//! locally. Each waits for a result at most `--timeout` (default 60 s).
//!
//! Like the SDK, they accept only results signed by a cluster node: the
//! nodes' public identity documents come from `--peers-dir` (or
//! `TESSERA_PEERS_DIR`) and `--peer-file`; `--accept-unsigned-results` is the
//! migration opt-out.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rand_core::{OsRng, RngCore};
use tessera_client::{
    derive, verify, Client, ClientConfig, ClientError, KeyType, KeygenResult, SignRequest,
};

use crate::cli::{ClientArgs, KeygenArgs, SignArgs};
use crate::commands::initiator;

pub(crate) async fn connect(args: &ClientArgs) -> anyhow::Result<Client> {
    let signer = initiator::load(&args.initiator_key_file)?;
    let mut config =
        ClientConfig::new(args.nats_url.clone(), signer).with_result_timeout(args.timeout);
    config.nats = args.nats_access()?;
    if let Some(id) = &args.client_id {
        config = config.with_client_id(id.clone());
    }
    if let Some(dir) = &args.peers_dir {
        config = config.with_cluster_identities_dir(dir)?;
    }
    if !args.peer_files.is_empty() {
        config = config.with_cluster_identity_files(&args.peer_files)?;
    }
    if args.accept_unsigned_results {
        config = config.accepting_unsigned_results();
    }
    if config.cluster_identities.is_empty() && !config.accept_unsigned_results {
        bail!(
            "no cluster identities: give --peers-dir (the nodes' *.pub.json documents) or --peer-file \
             (or, for a migration from unsigned results only, --accept-unsigned-results)"
        );
    }
    Client::connect(config).await.context("connecting to NATS")
}

pub(crate) fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    OsRng.fill_bytes(&mut b);
    format!("{prefix}-{}", hex::encode(b))
}

/// A client error, with how long was waited when it is a timeout (the SDK's
/// text names the result and the id waited for).
pub(crate) fn waited(e: ClientError, timeout: Duration) -> anyhow::Error {
    match e {
        ClientError::Timeout { .. } => anyhow!(
            "{e}: gave up after {} (--timeout)",
            humantime::format_duration(timeout)
        ),
        other => other.into(),
    }
}

pub(crate) async fn create_wallet(
    client: &Client,
    wallet: &str,
    timeout: Duration,
) -> anyhow::Result<KeygenResult> {
    let result = client
        .keygen(wallet)
        .await
        .map_err(|e| waited(e, timeout))?;
    result
        .into_result()
        .map_err(|e| anyhow!("keygen of {wallet} failed: {e}"))
}

pub async fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let client = connect(&args.client).await?;
    let wallet = args.wallet.clone().unwrap_or_else(|| random_id("wallet"));
    let started = Instant::now();
    let result = create_wallet(&client, &wallet, args.client.timeout).await?;
    let ecdsa = result
        .ecdsa_public_key_sec1()
        .ok_or_else(|| anyhow!("no ecdsa key in the result"))?;
    let eddsa = result
        .eddsa_public_key()
        .ok_or_else(|| anyhow!("no eddsa key in the result"))?;
    println!("wallet:            {wallet}");
    println!("ecdsa_public_key:  {}", hex::encode(ecdsa));
    if let Some(cc) = result.ecdsa_chain_code() {
        println!("ecdsa_chain_code:  {}", hex::encode(cc));
    }
    println!("eddsa_public_key:  {}", hex::encode(eddsa));
    println!(
        "took:              {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

pub async fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let client = connect(&args.client).await?;
    let key_type = KeyType::from(args.key_type);
    let tx = match (&args.tx_hex, &args.message) {
        (Some(h), _) => hex::decode(h).context("--tx-hex is not hex")?,
        (None, Some(m)) => m.as_bytes().to_vec(),
        (None, None) => bail!("give --tx-hex or --message"),
    };
    let path = args.path.as_ref().map(|p| p.0.clone()).unwrap_or_default();
    let request = SignRequest {
        key_type,
        wallet_id: args.wallet.clone(),
        tx_id: random_id("tx"),
        tx: tx.clone(),
        network_internal_code: "tessera-cli".into(),
        derivation_path: (!path.is_empty()).then(|| path.clone()),
        session: None,
    };
    let started = Instant::now();
    let result = client
        .sign(request)
        .await
        .map_err(|e| waited(e, args.client.timeout))?
        .into_result()?;
    let took = started.elapsed();
    match key_type {
        KeyType::Secp256k1 => {
            let sig = result
                .ecdsa_signature()
                .ok_or_else(|| anyhow!("no ecdsa signature"))?;
            println!("r:         {}", hex::encode(sig.r));
            println!("s:         {}", hex::encode(sig.s));
            println!("recovery:  {}", sig.recovery_id);
        }
        KeyType::Ed25519 => {
            let sig = result
                .ed25519_signature()
                .ok_or_else(|| anyhow!("no ed25519 signature"))?;
            println!("signature: {}", hex::encode(sig));
        }
    }
    println!("took:      {:.1} ms", took.as_secs_f64() * 1000.0);
    if let Some(pk) = &args.public_key {
        let pk = hex::decode(pk).context("--public-key is not hex")?;
        let ok = check(
            key_type,
            &pk,
            args.chain_code.as_deref(),
            &path,
            &tx,
            &result,
        )?;
        let lib = if key_type == KeyType::Secp256k1 {
            "k256"
        } else {
            "ed25519-dalek"
        };
        if !ok {
            bail!("signature does NOT verify under the wallet's key");
        }
        println!(
            "verified:  VALID ({lib}, {})",
            if path.is_empty() {
                "master key".to_string()
            } else {
                format!(
                    "child key m/{}",
                    path.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join("/")
                )
            }
        );
    }
    Ok(())
}

/// Verifies a signing result under the wallet key (or its child at `path`).
pub(crate) fn check(
    key_type: KeyType,
    master: &[u8],
    chain_code: Option<&str>,
    path: &[u32],
    tx: &[u8],
    result: &tessera_client::SigningResult,
) -> anyhow::Result<bool> {
    Ok(match key_type {
        KeyType::Secp256k1 => {
            let key = if path.is_empty() {
                master.to_vec()
            } else {
                let cc: [u8; 32] = hex::decode(
                    chain_code.ok_or_else(|| anyhow!("--path needs --chain-code to verify"))?,
                )?
                .try_into()
                .map_err(|_| anyhow!("--chain-code must be 32 bytes"))?;
                derive::ecdsa_child_public_key(master, cc, path)?.to_vec()
            };
            let digest: [u8; 32] = tx
                .try_into()
                .map_err(|_| anyhow!("secp256k1 signs a 32-byte digest"))?;
            verify::ecdsa(&key, &digest, &result.event)
        }
        KeyType::Ed25519 => {
            let master: [u8; 32] = master
                .try_into()
                .map_err(|_| anyhow!("ed25519 keys are 32 bytes"))?;
            let key = if path.is_empty() {
                master
            } else {
                derive::eddsa_child_public_key(master, path)?
            };
            verify::ed25519(&key, tx, &result.event)
        }
    })
}
