//! Key lifecycle with three `tessera start` processes, a real nats-server
//! (locked: the reference permissions, TLS) and a real Consul: a wallet's
//! shares are refreshed on both curves through the SDK, and signatures before
//! and after verify (k256, ed25519-dalek) under the same master and child
//! keys; a reshare published as mpcium's clients publish it (core NATS
//! `mpc:reshare`, written by hand here) gets exactly one result in mpcium's
//! format; a threshold change is refused with its code within 2 s.

mod common;

use std::time::{Duration, Instant};

use common::check;
use common::raw::RawSigner;
use common::{ClusterOptions, ProcCluster};
use sha2::{Digest, Sha256};
use tessera_client::{derive, KeyType, ReshareRequest, SignRequest};
use tessera_transport::async_nats::{self, jetstream, HeaderMap};
use tessera_transport::mpc;
use tessera_types::ErrorCode;

const WALLET: &str = "wallet-life";

fn request(key_type: KeyType, tx_id: &str, tx: &[u8], path: Option<Vec<u32>>) -> SignRequest {
    SignRequest {
        key_type,
        wallet_id: WALLET.into(),
        tx_id: tx_id.into(),
        tx: tx.to_vec(),
        network_internal_code: "life".into(),
        derivation_path: path,
        session: None,
    }
}

/// Signs at the master key and at a child key on both curves and checks
/// each signature under keys derived offline from the keygen result.
async fn sign_everything(
    client: &tessera_client::Client,
    tag: &str,
    ecdsa: &[u8],
    chain_code: [u8; 32],
    eddsa: [u8; 32],
) {
    let path = vec![44, 60, 0, 0, 9];
    let digest: [u8; 32] = Sha256::digest(tag.as_bytes()).into();
    let message = tag.as_bytes().to_vec();
    let ecdsa_child = derive::ecdsa_child_public_key(ecdsa, chain_code, &path).unwrap();
    let eddsa_child = derive::eddsa_child_public_key(eddsa, &path).unwrap();
    for (p, key) in [
        (None, ecdsa.to_vec()),
        (Some(path.clone()), ecdsa_child.to_vec()),
    ] {
        let tx_id = format!("{tag}-ecdsa-{}", p.is_some());
        let r = client
            .sign(request(KeyType::Secp256k1, &tx_id, &digest, p))
            .await
            .unwrap()
            .into_result()
            .unwrap();
        check::ecdsa(&key, &digest, &r.event);
    }
    for (p, key) in [
        (None, eddsa.to_vec()),
        (Some(path.clone()), eddsa_child.to_vec()),
    ] {
        let tx_id = format!("{tag}-eddsa-{}", p.is_some());
        let r = client
            .sign(request(KeyType::Ed25519, &tx_id, &message, p))
            .await
            .unwrap()
            .into_result()
            .unwrap();
        check::ed25519(&key, &message, &r.event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_both_curves_and_an_mpcium_reshare_on_core_nats() {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.locked = true;
    options.clients = vec!["sdk".into(), "mpcium".into()];
    let cluster = ProcCluster::start(options).await;
    let client = cluster.sdk(&key, "sdk").await;
    let wallet = client.keygen(WALLET).await.unwrap().into_result().unwrap();
    let ecdsa = wallet.ecdsa_public_key_sec1().expect("ecdsa key");
    let chain_code = wallet.ecdsa_chain_code().expect("chain code");
    let eddsa = wallet.eddsa_public_key().expect("eddsa key");
    sign_everything(&client, "before", &ecdsa, chain_code, eddsa).await;

    // Refresh both curves: same public keys reported, and everything signs
    // under the same keys afterwards.
    let nodes = cluster.node_ids();
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let r = client
            .refresh(WALLET, key_type, nodes.clone(), 1)
            .await
            .unwrap();
        assert!(r.is_success(), "{:?}", r.error());
        let expected = match key_type {
            KeyType::Secp256k1 => wallet.event.ecdsa_pub_key.clone().unwrap(),
            KeyType::Ed25519 => eddsa.to_vec(),
        };
        assert_eq!(r.pub_key(), Some(expected.as_slice()));
    }
    sign_everything(&client, "after", &ecdsa, chain_code, eddsa).await;

    // A threshold change cannot be built from the libraries: refused at once.
    let asked = Instant::now();
    let r = client
        .reshare(ReshareRequest {
            wallet_id: WALLET.into(),
            key_type: KeyType::Ed25519,
            node_ids: nodes.clone(),
            new_threshold: 2,
            session_id: None,
            replace: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(r.error().map(|e| e.0), Some(ErrorCode::InvalidThreshold));
    assert!(r.pub_key().is_none());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    // mpcium's way: the signed ResharingMessage JSON on core NATS, with a
    // ClientID header; the result on mpcium's subject, exactly once.
    let sid = "mpcium-reshare-1";
    let message = client.reshare_message(
        &ReshareRequest {
            wallet_id: WALLET.into(),
            key_type: KeyType::Secp256k1,
            node_ids: nodes.clone(),
            new_threshold: 1,
            session_id: None,
            replace: Vec::new(),
        },
        sid,
    );
    let json = serde_json::to_vec(&message).unwrap();
    let access = cluster.client_access(Some("mpcium"));
    let nc = access
        .apply(async_nats::ConnectOptions::new())
        .unwrap()
        .connect(access.addrs().unwrap())
        .await
        .unwrap();
    let js = jetstream::new(nc.clone());
    let subject = mpc::reshare_result(Some("mpcium"), sid);
    // The durable consumer mpcium's client reads its reshare results from.
    let mut results = js
        .create_consumer_on_stream(
            jetstream::consumer::pull::Config {
                durable_name: Some(mpc::reshare_result_consumer(Some("mpcium"))),
                filter_subject: mpc::reshare_result(Some("mpcium"), "*"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
            mpc::RESULT_STREAM,
        )
        .await
        .unwrap()
        .messages()
        .await
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(mpc::CLIENT_ID_HEADER, "mpcium");
    nc.publish_with_headers(mpc::MPCIUM_RESHARE_SUBJECT, headers, json.into())
        .await
        .unwrap();
    nc.flush().await.unwrap();
    let first = tokio::time::timeout(
        Duration::from_secs(60),
        futures::StreamExt::next(&mut results),
    )
    .await
    .expect("a reshare result in time")
    .expect("a reshare result")
    .unwrap();
    assert_eq!(first.subject.as_str(), subject);
    first.ack().await.unwrap();
    let event: tessera_types::wire::ResharingResultEvent =
        serde_json::from_slice(&first.payload).unwrap();
    assert_eq!(event.wallet_id, WALLET);
    assert_eq!(
        event.result_type,
        tessera_types::wire::ResultType::Success,
        "{event:?}"
    );
    assert_eq!(event.pub_key, wallet.event.ecdsa_pub_key);
    assert!(first
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::RESULT_SIGNATURE_HEADER))
        .is_some());
    // The same request again (a client retry): one result still.
    let mut headers = HeaderMap::new();
    headers.insert(mpc::CLIENT_ID_HEADER, "mpcium");
    let json = serde_json::to_vec(&message).unwrap();
    nc.publish_with_headers(mpc::MPCIUM_RESHARE_SUBJECT, headers, json.into())
        .await
        .unwrap();
    nc.flush().await.unwrap();
    // The bridge carries it into the stream again, where its message id
    // makes it a duplicate of the first.
    let carried = || {
        (0..3)
            .map(|i| {
                cluster
                    .log(i)
                    .lines()
                    .filter(|l| l.contains("carried into the reshare stream") && l.contains(sid))
                    .count()
            })
            .sum::<usize>()
    };
    let twice = tessera_testkit::wait::poll_until(
        Duration::from_secs(30),
        tessera_testkit::wait::POLL,
        || carried() >= 2,
    )
    .await;
    assert!(twice, "the repeat reached the bridge");
    sign_everything(&client, "after-mpcium", &ecdsa, chain_code, eddsa).await;
    // No second result reached mpcium's consumer (the signings above gave
    // any duplicate time to arrive; this bounds the wait for one more).
    let second = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut results),
    )
    .await;
    assert!(second.is_err(), "a second reshare result: {second:?}");
}
