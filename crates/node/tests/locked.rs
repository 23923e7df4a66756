//! A cluster locked down as in production: nats-server with the reference
//! permissions of `deploy/nats/` and TLS from a private CA, one credential per
//! node and per client, Consul over HTTPS with the same CA. One cluster serves
//! the whole file, in steps:
//!
//! - keygen and signing through the SDK with the client's own credential,
//!   results read through mpcium's consumer name for a ClientID with `-`;
//! - what a client may not do is refused by the server, and nothing breaks;
//! - mpcium's Go client's stream update succeeds against Tessera's streams;
//! - a node with a wrong password or an untrusted CA stops with one clear line;
//! - `/readyz` follows the NATS connection;
//! - a request that waited past `limits.max_request_age` gets `ERROR_SESSION_STALE`,
//!   a younger one is signed;
//! - nodes started before NATS and Consul become ready by themselves.

mod common;

use std::time::Duration;

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};
use sha2::{Digest, Sha256};
use tessera_client::{KeyType, SignRequest};
use tessera_testkit::wait;
use tessera_transport::async_nats::{self, jetstream, Event};
use tessera_transport::mpc;
use tessera_types::wire::ResultType;
use tessera_types::ErrorCode;
use tokio::sync::mpsc;

const CLIENT_ID: &str = "app-1";
/// A second client (raw mpcium JSON); results are per client id.
const RAW_ID: &str = "raw-1";
const WALLET: &str = "wallet-locked";
/// `limits.max_request_age` of this cluster.
const MAX_AGE: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(60);

fn request(key_type: KeyType, tx_id: &str, tx: &[u8]) -> SignRequest {
    SignRequest {
        key_type,
        wallet_id: WALLET.into(),
        tx_id: tx_id.into(),
        tx: tx.to_vec(),
        network_internal_code: "e2e-net".into(),
        derivation_path: None,
        session: None,
    }
}

/// Signs a digest and a message and checks both with k256 / ed25519-dalek.
async fn sign_both(client: &tessera_client::Client, ecdsa: &[u8], eddsa: &[u8], tag: &str) {
    let digest: [u8; 32] = Sha256::digest(tag.as_bytes()).into();
    let ev = client
        .sign(request(KeyType::Secp256k1, &format!("{tag}-k1"), &digest))
        .await
        .unwrap()
        .into_event();
    check::ecdsa(ecdsa, &digest, &ev);
    let message = format!("locked {tag}").into_bytes();
    let ev = client
        .sign(request(KeyType::Ed25519, &format!("{tag}-ed"), &message))
        .await
        .unwrap()
        .into_event();
    check::ed25519(eddsa, &message, &ev);
}

/// A raw connection with the client's credential that reports the server's errors.
async fn raw_client(
    cluster: &ProcCluster,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let access = cluster.client_access(Some(CLIENT_ID));
    let (tx, rx) = mpsc::unbounded_channel();
    let nc = access
        .apply(async_nats::ConnectOptions::new())
        .unwrap()
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(access.addrs().unwrap())
        .await
        .expect("client connects with its credential");
    (nc, rx)
}

/// Publishes on `subject` and waits for the server's permission violation naming it.
async fn refused(
    nc: &async_nats::Client,
    errors: &mut mpsc::UnboundedReceiver<String>,
    subject: &str,
) {
    nc.publish(subject.to_string(), "x".into()).await.unwrap();
    nc.flush().await.unwrap();
    let want = format!("publish to \"{subject}\"").to_lowercase();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = tokio::time::timeout_at(deadline, errors.recv())
            .await
            .unwrap_or_else(|_| panic!("the server did not refuse a publish to {subject}"))
            .expect("event channel open");
        let e = e.to_lowercase();
        if e.contains("permissions violation") && e.contains(&want) {
            return;
        }
    }
}

async fn wait_readyz(cluster: &ProcCluster, i: usize, pred: impl Fn(&str) -> bool) -> String {
    cluster.wait_readyz(i, WAIT, pred).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_down_cluster_serves_its_clients_and_refuses_everything_else() {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.locked = true;
    options.clients = vec![CLIENT_ID.to_string(), RAW_ID.to_string()];
    options.extra_yaml = format!("limits:\n  max_request_age: {}s\n", MAX_AGE.as_secs());
    let mut cluster = ProcCluster::start(options).await;

    // Keygen and signing with the client's own credential, over TLS.
    let sdk = cluster.sdk(&key, CLIENT_ID).await;
    let kg = sdk.keygen(WALLET).await.unwrap().into_result().unwrap();
    let ecdsa = kg.event.ecdsa_pub_key.clone().expect("ecdsa key");
    let eddsa = kg.event.eddsa_pub_key.clone().expect("eddsa key");
    sign_both(&sdk, &ecdsa, &eddsa, "first").await;
    // Results came through mpcium's consumer name for "app-1".
    let (nc, mut errors) = raw_client(&cluster).await;
    let js = jetstream::new(nc.clone());
    let results = js.get_stream(mpc::RESULT_STREAM).await.unwrap();
    assert_eq!(
        mpc::signing_result_consumer(Some(CLIENT_ID)),
        "mpc_signing_result_app_1"
    );
    results
        .consumer_info("mpc_signing_result_app_1")
        .await
        .expect("the SDK reads through mpcium's consumer name");

    // What a client must not do.
    for subject in [
        "mpc.mpc_signing_result.complete".to_string(),
        format!("mpc.mpc_signing_result.{CLIENT_ID}.complete"),
        "$KV.tessera_requests.forged".to_string(),
        "$JS.API.STREAM.DELETE.mpc-signing".to_string(),
        "$JS.API.STREAM.DELETE.mpc".to_string(),
        "tessera.session.s1.bcast".to_string(),
        "tessera.node.node0.control".to_string(),
        "tessera.node.node0.proposal".to_string(),
        "$JS.API.CONSUMER.MSG.NEXT.mpc-signing.mpc_signing_request".to_string(),
    ] {
        refused(&nc, &mut errors, &subject).await;
    }
    assert!(
        js.delete_stream(mpc::SIGNING_STREAM).await.is_err(),
        "a client deleted the signing stream"
    );
    assert!(
        js.get_key_value("tessera_requests").await.is_err(),
        "a client opened the request ledger"
    );

    // mpcium's Go client (v0.3.5 NewMPCClient): CreateOrUpdateStream on both
    // request streams with its own settings.
    for (name, subject) in [
        (mpc::KEYGEN_STREAM, mpc::KEYGEN_REQUESTS),
        (mpc::SIGNING_STREAM, mpc::SIGNING_REQUESTS),
    ] {
        let go = jetstream::stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            retention: jetstream::stream::RetentionPolicy::Limits,
            storage: jetstream::stream::StorageType::File,
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 100_000_000,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        js.update_stream(go)
            .await
            .unwrap_or_else(|e| panic!("mpcium's stream update of {name} refused: {e}"));
    }
    // ... and the cluster still serves.
    sign_both(&sdk, &ecdsa, &eddsa, "after-update").await;

    // A node with a wrong password, or that does not trust the server's CA,
    // stops with one clear line and never prints the secret.
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.password");
    tessera_testkit::certs::write_private(&wrong, "not-the-password-41").unwrap();
    let (ok, out) = cluster
        .run_node_once(
            0,
            &[("TESSERA_NATS_PASSWORD_FILE", wrong.to_str().unwrap())],
        )
        .await;
    assert!(!ok, "a node with a wrong password started:\n{out}");
    let line = out.lines().find(|l| l.contains("authorization violation"));
    assert!(line.is_some(), "no clear line for a wrong password:\n{out}");
    assert!(!out.contains("not-the-password-41"), "{out}");
    let other_ca = tessera_testkit::TestCa::new("someone else").unwrap();
    let (ok, out) = cluster
        .run_node_once(
            0,
            &[(
                "TESSERA_NATS_TLS_CA_FILE",
                other_ca.ca_file().to_str().unwrap(),
            )],
        )
        .await;
    assert!(!ok, "a node that does not trust the server started:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("tls") && l.contains("certificate")),
        "no clear line for an untrusted certificate:\n{out}"
    );

    // /readyz follows the NATS connection.
    cluster.nats.kill();
    let body = wait_readyz(&cluster, 1, |b| b.contains("\"failed\":[\"nats\"")).await;
    assert!(body.contains("\"ready\":false"), "{body}");
    cluster.nats.restart().await.expect("nats-server restarts");
    wait_readyz(&cluster, 1, |b| b.contains("\"ready\":true")).await;

    // Request expiry: published while every node is down.
    cluster.terminate_all();
    let mut raw = RawClient::connect_with(&cluster.client_access(Some(RAW_ID)), Some(RAW_ID)).await;
    // An ECDSA request for `tx_id` over sha256(`text`), as an mpcium client writes it.
    let publish = |tx_id: &'static str, text: &'static [u8]| {
        let (raw, key) = (&raw, &key);
        async move {
            let digest: [u8; 32] = Sha256::digest(text).into();
            let f = SignFields {
                key_type: "secp256k1",
                wallet: WALLET,
                tx_id,
                tx: &digest,
            };
            raw.publish_sign(tx_id, raw::sign(key, &f, &[])).await;
            digest
        }
    };
    publish("stale-old", b"old").await;
    // Let it age past the limit (the condition under test is its age): poll
    // the age JetStream's timestamp gives it until it is over the limit.
    let raw_ref = &raw;
    let aged = wait::wait_until(MAX_AGE + WAIT, Duration::from_millis(100), || async move {
        raw_ref.newest_request_age(mpc::SIGNING_STREAM).await > MAX_AGE + Duration::from_millis(500)
    })
    .await;
    assert!(aged, "the request did not age past {MAX_AGE:?}");
    let young_digest = publish("stale-young", b"young").await;
    cluster.start_all().await;
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let ev = raw
            .next_signing(WAIT)
            .await
            .expect("a result for each request");
        assert!(
            seen.insert(ev.tx_id.clone(), ev).is_none(),
            "two results for one request"
        );
    }
    let stale = &seen["stale-old"];
    assert_eq!(stale.result_type, ResultType::Error, "{stale:?}");
    assert_eq!(stale.error_code, Some(ErrorCode::SessionStale), "{stale:?}");
    assert!(stale.error_reason.contains("old"), "{stale:?}");
    check::ecdsa(&ecdsa, &young_digest, &seen["stale-young"]);
    let started = |tx: &str| {
        let token = format!("tx_id={tx}");
        (0..3)
            .flat_map(|i| {
                cluster
                    .log(i)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.contains("joined signing session"))
            .filter(|l| l.split_whitespace().any(|w| w == token))
            .count()
    };
    assert_eq!(started("stale-old"), 0, "a stale request was started");
    assert!(
        started("stale-young") >= 1,
        "the young request was not signed in a session"
    );

    // Nodes started while NATS and Consul are down wait for them.
    cluster.terminate_all();
    cluster.nats.kill();
    cluster.consul.kill();
    for i in 0..3 {
        cluster.restart(i);
    }
    for i in 0..3 {
        let waiting = cluster
            .wait_for_log_of(i, WAIT, |l| l.contains("nats not reachable yet"))
            .await;
        assert!(
            waiting,
            "node{i} did not wait for nats:\n{}",
            cluster.log_tail(i)
        );
    }
    cluster.nats.restart().await.expect("nats-server restarts");
    cluster.consul.restart().await.expect("consul restarts");
    cluster.wait_all_ready().await;
    sign_both(&sdk, &ecdsa, &eddsa, "after-outage").await;
}
