//! End to end with three `tessera start` processes, a real nats-server and a
//! real Consul: keygen and signing on both curves through the SDK (master and
//! child keys), requests published as raw mpcium JSON with an Ed25519 and then
//! a P-256 initiator, a repeated request answered from the stored result, and
//! every wallet still signing after all nodes restart. On the way, the
//! operator's commands against this cluster: `tessera cluster status` (the
//! signed ready set from Consul), `tessera bench` (every signature verified)
//! and a client command's `--timeout`.

mod common;

use std::time::Duration;

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};
use sha2::{Digest, Sha256};
use tessera_client::{derive, KeyType, SignRequest};
use tessera_types::wire::{KeygenResultEvent, ResultType};

const RESULT_WAIT: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// `key` as `tessera initiator generate` writes it (mode 0600).
fn initiator_key_file(dir: &std::path::Path, key: &RawSigner) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let kind = key.initiator_config().kind;
    let public = match key {
        RawSigner::Ed25519(k) => hex::encode(k.verifying_key().as_bytes()),
        RawSigner::P256(_) => panic!("ed25519 only here"),
    };
    let json = serde_json::json!({
        "format": "tessera-initiator-key",
        "version": 1,
        "kind": kind,
        "secret_key": hex::encode(key.secret()),
        "public_key": public,
    });
    let path = dir.join("initiator.json");
    std::fs::write(&path, json.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Runs a client command (`bench`, `sign`, ...) as client `bench` would, with
/// its own NATS credential and the CA, trusting the nodes' identity documents.
fn client_cmd(
    cluster: &ProcCluster,
    key_file: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let access = cluster.client_access(Some("bench"));
    let tessera_transport::NatsAuth::UserPassword {
        user,
        password_file,
    } = access.auth
    else {
        panic!("a locked cluster gives clients a user and password");
    };
    std::process::Command::new(BIN)
        .args(args)
        .arg("--nats-url")
        .arg(cluster.nats_url())
        .arg("--nats-user")
        .arg(user)
        .arg("--nats-password-file")
        .arg(password_file)
        .arg("--nats-tls-ca-file")
        .arg(access.tls.ca_file.expect("a CA"))
        .arg("--initiator-key-file")
        .arg(key_file)
        .args(["--client-id", "bench"])
        .arg("--peers-dir")
        .arg(cluster.identities_dir())
        .env_remove("RUST_LOG")
        .output()
        .expect("tessera runs")
}

/// Signs through the SDK with `wallet-sdk`'s key; the result must be a success.
async fn sign_ok(
    client: &tessera_client::Client,
    key_type: KeyType,
    tx_id: &str,
    tx: &[u8],
    path: Option<Vec<u32>>,
) -> tessera_client::SigningResult {
    client
        .sign(request(key_type, "wallet-sdk", tx_id, tx, path))
        .await
        .unwrap()
        .into_result()
        .unwrap()
}

fn request(
    key_type: KeyType,
    wallet: &str,
    tx_id: &str,
    tx: &[u8],
    path: Option<Vec<u32>>,
) -> SignRequest {
    SignRequest {
        key_type,
        wallet_id: wallet.into(),
        tx_id: tx_id.into(),
        tx: tx.to_vec(),
        network_internal_code: "e2e-net".into(),
        derivation_path: path,
        session: None,
    }
}

async fn raw_keygen(client: &mut RawClient, key: &RawSigner, wallet: &str) -> KeygenResultEvent {
    client
        .publish_keygen(wallet, raw::keygen(key, wallet, &[]))
        .await;
    let kg = client
        .next_keygen(RESULT_WAIT)
        .await
        .expect("keygen result");
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    assert_eq!(kg.wallet_id, wallet);
    assert_eq!(kg.ecdsa_pub_key.as_ref().map(Vec::len), Some(64));
    assert_eq!(kg.eddsa_pub_key.as_ref().map(Vec::len), Some(32));
    kg
}

/// Signs a digest and a message for `wallet` with raw requests and checks both.
async fn raw_sign_both(
    client: &mut RawClient,
    key: &RawSigner,
    wallet: &str,
    kg: &KeygenResultEvent,
    tag: &str,
) {
    let digest: [u8; 32] = Sha256::digest(format!("raw {tag}").as_bytes()).into();
    let tx_id = format!("{tag}-ecdsa");
    let f = SignFields {
        key_type: "secp256k1",
        wallet,
        tx_id: &tx_id,
        tx: &digest,
    };
    client.publish_sign(&tx_id, raw::sign(key, &f, &[])).await;
    let ev = client
        .next_signing(RESULT_WAIT)
        .await
        .expect("ecdsa result");
    assert_eq!(ev.tx_id, tx_id);
    assert_eq!(ev.network_internal_code, "e2e-net");
    check::ecdsa(kg.ecdsa_pub_key.as_ref().unwrap(), &digest, &ev);

    let message = format!("raw ed25519 {tag}").into_bytes();
    let tx_id = format!("{tag}-eddsa");
    let f = SignFields {
        key_type: "ed25519",
        wallet,
        tx_id: &tx_id,
        tx: &message,
    };
    client.publish_sign(&tx_id, raw::sign(key, &f, &[])).await;
    let ev = client
        .next_signing(RESULT_WAIT)
        .await
        .expect("eddsa result");
    assert_eq!(ev.tx_id, tx_id);
    check::ed25519(kg.eddsa_pub_key.as_ref().unwrap(), &message, &ev);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_and_raw_mpcium_requests_sign_on_both_curves_and_survive_a_full_restart() {
    let ed_key = RawSigner::ed25519();
    // Locked down as in production: the reference NATS permissions, a
    // credential per node and per client, TLS to NATS and Consul.
    let mut options = ClusterOptions::new(ed_key.initiator_config());
    options.locked = true;
    options.clients = vec!["sdk".into(), "bench".into()];
    let mut cluster = ProcCluster::start(options).await;

    // A running node writes no core dump (shares would land on disk).
    for i in 0..3 {
        let pid = cluster.pid(i).expect("node running");
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .expect("core limit line");
        assert_eq!(
            core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
            ["0", "0"],
            "{core}"
        );
    }

    // --- Through the SDK: a wallet, both curves, master and child keys.
    let client = cluster.sdk(&ed_key, "sdk").await;
    let wallet = client
        .keygen("wallet-sdk")
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let ecdsa_master = wallet.ecdsa_public_key_sec1().expect("ecdsa key");
    let chain_code = wallet.ecdsa_chain_code().expect("chain code");
    let eddsa_master = wallet.eddsa_public_key().expect("eddsa key");

    let digest: [u8; 32] = Sha256::digest(b"send 1 BTC").into();
    let signed = sign_ok(&client, KeyType::Secp256k1, "sdk-ecdsa", &digest, None).await;
    check::ecdsa(&ecdsa_master, &digest, &signed.event);

    let message = b"solana transfer".to_vec();
    let signed = sign_ok(&client, KeyType::Ed25519, "sdk-eddsa", &message, None).await;
    check::ed25519(&eddsa_master, &message, &signed.event);

    // An authenticated derivation path: each signature verifies under the
    // child key derived offline from the keygen result alone.
    let path = vec![44, 60, 0, 0, 7];
    let child = derive::ecdsa_child_public_key(&ecdsa_master, chain_code, &path).unwrap();
    let path_tx = Some(path.clone());
    let signed = sign_ok(
        &client,
        KeyType::Secp256k1,
        "sdk-ecdsa-path",
        &digest,
        path_tx,
    )
    .await;
    check::ecdsa(&child, &digest, &signed.event);
    assert!(
        !check::ecdsa_verifies(&ecdsa_master, &digest, &signed.event),
        "a child-key signature must not verify under the master key"
    );
    let ed_child = derive::eddsa_child_public_key(eddsa_master, &path).unwrap();
    let signed = sign_ok(
        &client,
        KeyType::Ed25519,
        "sdk-eddsa-path",
        &message,
        Some(path),
    )
    .await;
    check::ed25519(&ed_child, &message, &signed.event);

    // The same request again: the stored result, with no second protocol run.
    // ECDSA nonces are random, so an identical (r, s) already proves it; the
    // node logs show one session for the tx id.
    let first = sign_ok(&client, KeyType::Secp256k1, "sdk-repeat", &digest, None).await;
    let again = sign_ok(&client, KeyType::Secp256k1, "sdk-repeat", &digest, None).await;
    assert_eq!(
        (&again.event.r, &again.event.s),
        (&first.event.r, &first.event.s)
    );
    check::ecdsa(&ecdsa_master, &digest, &again.event);
    assert_eq!(
        cluster.signing_sessions_joined("sdk-repeat"),
        1,
        "one protocol run for a repeated request"
    );

    // --- `tessera cluster status`: the ready set from Consul (over TLS), each
    // node's record believed only with its signature checked against the
    // configured identities, and the quorum.
    let out = cluster.cli(0, &["cluster", "status"]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{status}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for node in cluster.node_ids() {
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{node}\tREADY\t")))
            .unwrap_or_else(|| panic!("{node} not ready: {status}"));
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[2], "signed", "{line}");
        assert!(cols[5].ends_with("ms"), "no view age: {line}");
    }
    assert!(status.contains("quorum: yes (3 of 3"), "{status}");

    // --- `tessera bench` on this wallet, given its public key: progress on
    // stderr, every signature verified, a histogram; and under another key
    // every signature counts as invalid and the exit status says so.
    let tmp = tempfile::tempdir().unwrap();
    let key_file = initiator_key_file(tmp.path(), &ed_key);
    let eddsa_hex = hex::encode(eddsa_master);
    let metrics = (0..3)
        .map(|i| format!("http://127.0.0.1:{}/metrics", cluster.health_port(i)))
        .collect::<Vec<_>>()
        .join(",");
    let bench = |public_key: &str, n: &str| {
        client_cmd(
            &cluster,
            &key_file,
            &[
                "bench",
                "--wallet",
                "wallet-sdk",
                "--public-key",
                public_key,
                "--key-type",
                "ed25519",
                "-n",
                n,
                "-c",
                "2",
                "--progress",
                "100ms",
                "--metrics",
                &metrics,
            ],
        )
    };
    let out = bench(&eddsa_hex, "4");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ed25519: 4 requests at concurrency 2: p50 "),
        "{stdout}"
    );
    assert!(stdout.contains("; 0 failed, 0 did not verify"), "{stdout}");
    assert!(
        stdout.contains("verified: 4 of 4 signatures VALID (ed25519-dalek)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("latency histogram (4 samples):"),
        "{stdout}"
    );
    assert!(stderr.contains("bench: 4/4 (100%)"), "{stderr}");
    // With --metrics: the nodes' CPU per signature and the phases, read from
    // the nodes' /metrics before and after.
    let figure = |after: &str| -> f64 {
        let rest = &stdout[stdout
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {stdout}"))
            + after.len()..];
        rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number after {after}: {stdout}"))
    };
    assert!(figure("node CPU per signature: ") > 0.0, "{stdout}");
    assert!(stdout.contains("(all 3 nodes; per node: "), "{stdout}");
    assert!(
        stdout.contains("phases (mean ms per sign request, on the node that pulled it): claim "),
        "{stdout}"
    );
    assert!(figure(", protocol ") > 0.0, "{stdout}");
    assert!(
        figure("; pull to ack ") >= figure(", protocol "),
        "{stdout}"
    );
    let stranger = hex::encode(
        ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng)
            .verifying_key()
            .as_bytes(),
    );
    let out = bench(&stranger, "2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("0 failed, 2 did not verify"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 signatures did not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --- `--timeout`: a result that cannot come that fast is a clear error.
    let out = client_cmd(
        &cluster,
        &key_file,
        &[
            "sign",
            "--wallet",
            "wallet-sdk",
            "--key-type",
            "ed25519",
            "--message",
            "m",
            "--timeout",
            "1ms",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no signing result for tx-")
            && stderr.contains("gave up after 1ms (--timeout)"),
        "{stderr}"
    );

    // --- Raw mpcium JSON, Ed25519 initiator, no ClientID (mpcium's default consumers).
    let mut raw_client = RawClient::connect_with(&cluster.client_access(None), None).await;
    let kg_ed = raw_keygen(&mut raw_client, &ed_key, "wallet-raw-ed").await;
    raw_sign_both(&mut raw_client, &ed_key, "wallet-raw-ed", &kg_ed, "raw-ed").await;

    // --- Every node restarts; the nodes now trust a P-256 initiator instead.
    let p256_key = RawSigner::p256();
    // The SDK client goes too: two live clients with one ClientID would share
    // one work-queue consumer and each see only some of the results.
    drop(client);
    cluster.terminate_all();
    cluster.set_initiator(p256_key.initiator_config());
    cluster.start_all().await;

    // Wallets made before the restart still sign, for raw and SDK clients.
    raw_sign_both(
        &mut raw_client,
        &p256_key,
        "wallet-raw-ed",
        &kg_ed,
        "after-restart",
    )
    .await;
    let p256_client = cluster.sdk(&p256_key, "sdk").await;
    let signed = sign_ok(
        &p256_client,
        KeyType::Secp256k1,
        "sdk-after-restart",
        &digest,
        None,
    )
    .await;
    check::ecdsa(&ecdsa_master, &digest, &signed.event);

    // The stored result survives the restart too. The repeat is signed by the
    // new initiator, but its signed fields are the same, so it is the same
    // request: the stored signature comes back and nothing is signed again.
    let again = sign_ok(
        &p256_client,
        KeyType::Secp256k1,
        "sdk-repeat",
        &digest,
        None,
    )
    .await;
    assert_eq!(
        (&again.event.r, &again.event.s),
        (&first.event.r, &first.event.s)
    );
    assert_eq!(
        cluster.signing_sessions_joined("sdk-repeat"),
        1,
        "still one protocol run"
    );

    // --- Raw mpcium JSON with a P-256 initiator: a new wallet and both curves.
    let kg_p = raw_keygen(&mut raw_client, &p256_key, "wallet-raw-p256").await;
    raw_sign_both(
        &mut raw_client,
        &p256_key,
        "wallet-raw-p256",
        &kg_p,
        "raw-p256",
    )
    .await;

    // The old Ed25519 initiator is refused now. Its signature does not verify,
    // so its ids could be anyone's: the error names none and goes where no
    // client's waiter listens, and the node logs it.
    let f = SignFields {
        key_type: "ed25519",
        wallet: "wallet-raw-p256",
        tx_id: "old-key",
        tx: b"m",
    };
    raw_client
        .publish_sign("old-key", raw::sign(&ed_key, &f, &[]))
        .await;
    let refused = cluster
        .wait_for_log(Duration::from_secs(5), |l| {
            l.contains("unverified signing request refused")
                && l.contains("claimed_id=old-key ")
                && l.contains("ERROR_INVALID_INITIATOR_SIGNATURE")
        })
        .await;
    assert!(refused.is_some(), "the old key's request was not refused");
    assert!(
        raw_client
            .next_signing(Duration::from_millis(500))
            .await
            .is_none(),
        "an unverified request's error reached the client's subject"
    );
}
