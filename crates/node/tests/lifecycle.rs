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
use tessera_client::{derive, new_session_id, Client, KeyType, ReshareRequest, SignRequest};
use tessera_transport::async_nats::{self, jetstream, HeaderMap};
use tessera_transport::mpc;
use tessera_types::wire::SessionSpec;
use tessera_types::ErrorCode;

const WALLET: &str = "wallet-life";

/// Who signs: any ready nodes (`None`) or these.
type Signers<'a> = Option<&'a [String]>;

fn request(
    key_type: KeyType,
    tx_id: &str,
    tx: &[u8],
    path: Option<Vec<u32>>,
    signers: Signers<'_>,
) -> SignRequest {
    SignRequest {
        key_type,
        wallet_id: WALLET.into(),
        tx_id: tx_id.into(),
        tx: tx.to_vec(),
        network_internal_code: "life".into(),
        derivation_path: path,
        session: signers.map(|players| SessionSpec {
            session_id: Some(new_session_id()),
            players: Some(players.to_vec()),
            dynamic_public_keys: Default::default(),
            threshold: None,
        }),
    }
}

/// Signs at the master key and at a child key on both curves and checks
/// each signature under keys derived offline from the keygen result.
async fn sign_everything(
    client: &Client,
    signers: Signers<'_>,
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
            .sign(request(KeyType::Secp256k1, &tx_id, &digest, p, signers))
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
            .sign(request(KeyType::Ed25519, &tx_id, &message, p, signers))
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
    sign_everything(&client, None, "before", &ecdsa, chain_code, eddsa).await;

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
    sign_everything(&client, None, "after", &ecdsa, chain_code, eddsa).await;

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
    sign_everything(&client, None, "after-mpcium", &ecdsa, chain_code, eddsa).await;
    // No second result reached mpcium's consumer (the signings above gave
    // any duplicate time to arrive; this bounds the wait for one more).
    let second = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut results),
    )
    .await;
    assert!(second.is_err(), "a second reshare result: {second:?}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Refreshes both curves; whether each succeeded.
async fn refresh_both(client: &Client, nodes: &[String]) -> Vec<bool> {
    let mut ok = Vec::new();
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let r = client
            .refresh(WALLET, key_type, nodes.to_vec(), 1)
            .await
            .unwrap();
        ok.push(r.is_success());
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_refresh_then_its_data_lost_and_replaced() {
    const EXIT: &str = "TESSERA_FAULT_EXIT_IN_LIFECYCLE";
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    // Short deadlines: a retired epoch is erased one signing deadline (plus
    // 5 s) after its successor is committed.
    options.env = vec![
        ("TESSERA_TIMEOUTS_CONNECT_TIMEOUT".into(), "3s".into()),
        ("TESSERA_TIMEOUTS_SIGN_DEADLINE".into(), "5s".into()),
    ];
    let mut cluster = ProcCluster::start(options).await;
    let client = cluster.sdk(&key, "sdk").await;
    let wallet = client.keygen(WALLET).await.unwrap().into_result().unwrap();
    let ecdsa = wallet.ecdsa_public_key_sec1().unwrap();
    let chain_code = wallet.ecdsa_chain_code().unwrap();
    let eddsa = wallet.eddsa_public_key().unwrap();
    let nodes = cluster.node_ids();

    // node2 exits after storing the new epoch as pending, before telling the others.
    cluster.set_env(EXIT, Some(&nodes[2]));
    cluster.terminate(2);
    cluster.restart(2);
    cluster.wait_all_ready().await;
    let r = client
        .refresh(WALLET, KeyType::Secp256k1, nodes.clone(), 1)
        .await
        .unwrap();
    assert!(
        !r.is_success(),
        "a refresh whose player died cannot succeed"
    );
    let exited = cluster
        .wait_for_log_of(2, Duration::from_secs(30), |l| {
            l.contains("exiting in the middle of a lifecycle session")
        })
        .await;
    assert!(exited);
    cluster.kill(2);
    // Every key still signs, at the old epoch, without node2.
    let (n0, n1, n2) = (nodes[0].clone(), nodes[1].clone(), nodes[2].clone());
    let survivors = [n0.clone(), n1.clone()];
    sign_everything(
        &client,
        Some(&survivors),
        "killed",
        &ecdsa,
        chain_code,
        eddsa,
    )
    .await;

    // node2 comes back: it follows the attempt's decision (abort) and drops
    // its pending epoch; the refresh then runs to completion.
    cluster.set_env(EXIT, None);
    cluster.restart(2);
    cluster.wait_all_ready().await;
    let discarded = cluster
        .wait_for_log_of(2, Duration::from_secs(30), |l| {
            l.contains("lifecycle decision applied") && l.contains("Abort")
        })
        .await;
    assert!(discarded, "node2 discarded the aborted attempt");
    // A copy of node2's store before the refresh (an old backup).
    cluster.terminate(2);
    let stale = tempfile::tempdir().unwrap();
    copy_dir(&cluster.data_dir(2), stale.path());
    cluster.restart(2);
    cluster.wait_all_ready().await;
    assert_eq!(refresh_both(&client, &nodes).await, [true, true]);
    sign_everything(&client, None, "rerun", &ecdsa, chain_code, eddsa).await;

    // node2 restored from that copy holds the old epoch: signing with it
    // fails with the epoch error naming it, never with a ban.
    cluster.terminate(2);
    std::fs::remove_dir_all(cluster.data_dir(2)).unwrap();
    copy_dir(stale.path(), &cluster.data_dir(2));
    cluster.restart(2);
    cluster.wait_all_ready().await;
    let digest: [u8; 32] = Sha256::digest(b"stale").into();
    let pair = [n0.clone(), n2.clone()];
    let r = client
        .sign(request(
            KeyType::Secp256k1,
            "stale-ecdsa",
            &digest,
            None,
            Some(&pair),
        ))
        .await
        .unwrap();
    let (code, reason) = r.error().expect("an error result");
    assert_eq!(code, ErrorCode::EpochMismatch, "{reason}");
    assert!(reason.contains(&format!("{n2} is stale")), "{reason}");

    // node2 loses its data directory and its identity file: a new identity
    // is configured on every node (each reads the peers directory when it
    // starts), and its shares come back by repair from node0 and node1, then
    // the refresh by all three.
    cluster.terminate_all();
    let old = tempfile::tempdir().unwrap();
    cluster.new_identity(2, old.path());
    let old_disk = old.path().join("data");
    std::fs::rename(cluster.data_dir(2), &old_disk).unwrap();
    std::fs::create_dir_all(cluster.data_dir(2)).unwrap();
    cluster.start_all().await;
    // A client that trusts node2's new identity for results (another client
    // id: the first client's result consumers are its own).
    drop(client);
    let client = cluster.sdk(&key, "sdk-after").await;
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let r = client
            .reshare(ReshareRequest {
                wallet_id: WALLET.into(),
                key_type,
                node_ids: nodes.clone(),
                new_threshold: 1,
                session_id: None,
                replace: vec![n2.clone()],
            })
            .await
            .unwrap();
        assert!(r.is_success(), "{:?}", r.error());
    }
    for (tag, pair) in [
        ("replaced-a", [n0.clone(), n2.clone()]),
        ("replaced-b", [n1, n2.clone()]),
    ] {
        sign_everything(&client, Some(&pair), tag, &ecdsa, chain_code, eddsa).await;
    }
    // The epochs the refreshes and the replace retired are erased on the
    // helpers, once the signing grace has passed.
    for i in 0..2 {
        let erased = cluster
            .wait_for_log_of(i, Duration::from_secs(60), |l| {
                l.contains("retired epoch erased")
            })
            .await;
        assert!(erased, "node{i} erased its retired epochs");
    }

    // node2's old identity file and disk come back: the others refuse it.
    cluster.terminate(2);
    let ids = cluster.identities_dir();
    std::fs::copy(
        old.path().join(format!("{n2}.key")),
        ids.join(format!("{n2}.key")),
    )
    .unwrap();
    std::fs::remove_dir_all(cluster.data_dir(2)).unwrap();
    copy_dir(&old_disk, &cluster.data_dir(2));
    // Its old machine's configuration lists its old public identity.
    let old_peers = old.path().join("peers");
    copy_dir(&ids, &old_peers);
    let doc = format!("{n2}.key.pub.json");
    std::fs::copy(old.path().join(&doc), old_peers.join(&doc)).unwrap();
    cluster.set_env("TESSERA_PEERS_DIR", Some(old_peers.to_str().unwrap()));
    let starts = |c: &ProcCluster| {
        c.log(2)
            .lines()
            .filter(|l| l.contains("event consumer started"))
            .count()
    };
    let before = starts(&cluster);
    cluster.restart(2);
    let up = tessera_testkit::wait::poll_until(
        Duration::from_secs(30),
        tessera_testkit::wait::POLL,
        || starts(&cluster) > before,
    )
    .await;
    assert!(up, "node2 with its old identity: {}", cluster.log_tail(2));
    let digest: [u8; 32] = Sha256::digest(b"old identity").into();
    let r = client
        .sign(request(
            KeyType::Secp256k1,
            "old-identity",
            &digest,
            None,
            Some(&[n0, n2]),
        ))
        .await
        .unwrap();
    let code = r.error().map(|e| e.0);
    eprintln!("old identity refused with {:?}", r.error());
    assert!(
        matches!(
            code,
            Some(
                ErrorCode::PublicKeyMismatch | ErrorCode::PeerNotReady | ErrorCode::PeerUnavailable
            )
        ),
        "node2's old identity: {:?}",
        r.event
    );
}

/// One signature by `signers` on `key_type` over a tagged message; the result as the client got it.
async fn sign_one(
    client: &Client,
    key_type: KeyType,
    signers: &[String],
    tag: &str,
) -> tessera_client::SigningResult {
    let tx: Vec<u8> = match key_type {
        KeyType::Secp256k1 => Sha256::digest(tag.as_bytes()).to_vec(),
        KeyType::Ed25519 => tag.as_bytes().to_vec(),
    };
    client
        .sign(request(key_type, tag, &tx, None, Some(signers)))
        .await
        .unwrap()
}

async fn reshare(
    client: &Client,
    key_type: KeyType,
    nodes: &[String],
) -> tessera_client::ReshareResult {
    client
        .reshare(ReshareRequest {
            wallet_id: WALLET.into(),
            key_type,
            node_ids: nodes.to_vec(),
            new_threshold: 1,
            session_id: None,
            replace: Vec::new(),
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fourth_node_joins_a_wallet_and_node1_leaves_it() {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.nodes = 4;
    options.env = vec![
        ("TESSERA_TIMEOUTS_CONNECT_TIMEOUT".into(), "3s".into()),
        ("TESSERA_TIMEOUTS_SIGN_DEADLINE".into(), "5s".into()),
    ];
    let cluster = ProcCluster::start(options).await;
    let client = cluster.sdk(&key, "sdk").await;
    let nodes = cluster.node_ids();
    let (n0, n1, n2, n3) = (
        nodes[0].clone(),
        nodes[1].clone(),
        nodes[2].clone(),
        nodes[3].clone(),
    );
    // A 2-of-3 wallet on node0..node2.
    let wallet = client
        .keygen_in_session(
            WALLET,
            SessionSpec {
                session_id: None,
                players: Some(vec![n0.clone(), n1.clone(), n2.clone()]),
                dynamic_public_keys: Default::default(),
                threshold: Some(1),
            },
        )
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let ecdsa = wallet.ecdsa_public_key_sec1().unwrap();
    let eddsa = wallet.eddsa_public_key().unwrap();

    // DKLs23 fixes the number of shares: growing the ECDSA key is refused at once.
    let asked = Instant::now();
    let r = reshare(&client, KeyType::Secp256k1, &nodes).await;
    assert_eq!(r.error().map(|e| e.0), Some(ErrorCode::IncompatiblePeerIds));
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    // The EdDSA key grows to node3, which signs with node0.
    let r = reshare(&client, KeyType::Ed25519, &nodes).await;
    assert!(r.is_success(), "{:?}", r.error());
    let s = sign_one(
        &client,
        KeyType::Ed25519,
        &[n3.clone(), n0.clone()],
        "grown",
    )
    .await;
    check::ed25519(&eddsa, b"grown", &s.event);

    // node1 leaves both keys: its ECDSA index moves to node3, and the EdDSA
    // key is refreshed without it.
    let without_1 = [n0.clone(), n2.clone(), n3.clone()];
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let r = reshare(&client, key_type, &without_1).await;
        assert!(r.is_success(), "{key_type:?}: {:?}", r.error());
    }
    let digest: [u8; 32] = Sha256::digest(b"moved").into();
    let s = sign_one(
        &client,
        KeyType::Secp256k1,
        &[n3.clone(), n0.clone()],
        "moved",
    )
    .await;
    check::ecdsa(&ecdsa, &digest, &s.event);
    let s = sign_one(
        &client,
        KeyType::Ed25519,
        &[n2.clone(), n3.clone()],
        "removed",
    )
    .await;
    check::ed25519(&eddsa, b"removed", &s.event);

    // node1 retired both shares once the attempts committed; it no longer
    // signs with the others.
    let retired = || {
        cluster
            .log(1)
            .lines()
            .filter(|l| l.contains("no longer a holder: share retired"))
            .count()
    };
    let both = tessera_testkit::wait::poll_until(
        Duration::from_secs(30),
        tessera_testkit::wait::POLL,
        || retired() >= 2,
    )
    .await;
    assert!(both, "node1 retired its shares");
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let tag = format!("old-{}", key_type.as_str());
        let s = sign_one(&client, key_type, &[n1.clone(), n0.clone()], &tag).await;
        assert!(!s.is_success(), "{key_type:?}: node1 signed after leaving");
    }
}
