//! Three nodes over a real NATS server and Consul: keygen of both curves, signing
//! by every 2-node subset and by all three, a restart from storage, and signing
//! again with the same keys. Every signature is checked with `k256` or
//! `ed25519-dalek`, not with the code that produced it.

mod common;

use std::time::{Duration, Instant};

use common::{check_ecdsa, check_eddsa, id, keygen_all, sid, sign_with, Cluster};
use sha2::{Digest, Sha256};
use tessera_runner::{KeygenRequest, SignRequest};
use tessera_session::derive::secp256k1::ExtendedPublicKey;
use tessera_session::derive::DerivationPath;
use tessera_types::{ErrorCode, KeyType, NodeId, Threshold, WalletId};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keygen_sign_every_subset_restart_and_sign_again() {
    let mut cluster = Cluster::start(3, Default::default()).await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let all = [a, b, c];

    // Both curves at once, 2-of-3 (t = 1).
    let (ecdsa_pk, eddsa_pk) = tokio::join!(
        keygen_all(&all, "wallet-1", KeyType::Secp256k1, 1),
        keygen_all(&all, "wallet-1", KeyType::Ed25519, 1),
    );
    assert_eq!(ecdsa_pk.len(), 33);
    assert_eq!(eddsa_pk.len(), 32);

    let digest: [u8; 32] = Sha256::digest(b"pay 1 BTC to bob").into();
    let message = b"solana transfer: 5 SOL to carol".to_vec();
    let root = DerivationPath::root();
    for pair in [[a, b], [a, c], [b, c]] {
        let sig = sign_with(&pair, "wallet-1", KeyType::Secp256k1, &digest, &root).await;
        check_ecdsa(&ecdsa_pk, &digest, &sig);
        let sig = sign_with(&pair, "wallet-1", KeyType::Ed25519, &message, &root).await;
        check_eddsa(&eddsa_pk, &message, &sig);
    }
    // All three: FROST takes any t+1 or more signers.
    let sig = sign_with(&all, "wallet-1", KeyType::Ed25519, &message, &root).await;
    check_eddsa(&eddsa_pk, &message, &sig);
    // DKLs23 signs with exactly t+1, so "all three" for ECDSA is a 3-of-3 key.
    let pk3 = keygen_all(&all, "wallet-3", KeyType::Secp256k1, 2).await;
    let sig = sign_with(&all, "wallet-3", KeyType::Secp256k1, &digest, &root).await;
    check_ecdsa(&pk3, &digest, &sig);

    // A child key: the signature verifies under the key derived offline from public data.
    let path = DerivationPath::new(vec![44, 60, 0, 0, 7]);
    let meta = a
        .store()
        .get_metadata(&WalletId::new("wallet-1").unwrap(), KeyType::Secp256k1)
        .unwrap()
        .unwrap();
    let child = ExtendedPublicKey::new(&ecdsa_pk, meta.chain_code.unwrap())
        .unwrap()
        .derive(path.indices())
        .unwrap();
    let sig = sign_with(&[b, c], "wallet-1", KeyType::Secp256k1, &digest, &path).await;
    check_ecdsa(&child.public_key, &digest, &sig);

    // A second keygen for an existing wallet is refused on every node, before any session.
    let again = a
        .keygen(KeygenRequest {
            session_id: sid("again"),
            wallet_id: WalletId::new("wallet-1").unwrap(),
            key_type: KeyType::Ed25519,
            participants: cluster.ids(),
            threshold: Threshold(1),
            dynamic_keys: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), ErrorCode::KeyAlreadyExists);

    // Restart every node from its storage directory and sign again with the same keys.
    cluster.restart_all().await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let sig = sign_with(&[c, a], "wallet-1", KeyType::Secp256k1, &digest, &root).await;
    check_ecdsa(&ecdsa_pk, &digest, &sig);
    let sig = sign_with(&[b, c], "wallet-1", KeyType::Ed25519, &message, &root).await;
    check_eddsa(&eddsa_pk, &message, &sig);

    // A node shut down cleanly leaves the others' ready sets within a second.
    let started = Instant::now();
    c.shutdown().await;
    for n in [a, b] {
        let left = n
            .registry()
            .unwrap()
            .wait_until(|v| !v.nodes.contains(&id("node-c")), Duration::from_secs(1))
            .await;
        assert!(left.is_some(), "node-c still ready after 1 s");
        assert!(!n.registry().unwrap().are_majority_ready(2));
        assert!(n.registry().unwrap().are_majority_ready(1));
    }
    println!(
        "node-c left the ready set {:?} after shutdown began",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_wallet_and_non_participant_get_typed_errors() {
    let cluster = Cluster::start(3, Default::default()).await;
    let [a, b] = [&cluster.nodes[0], &cluster.nodes[1]];
    let request = |signers: Vec<NodeId>| SignRequest {
        session_id: sid("nokey"),
        wallet_id: WalletId::new("no-such-wallet").unwrap(),
        key_type: KeyType::Ed25519,
        signers,
        message: b"m".to_vec(),
        path: DerivationPath::root(),
        dynamic_keys: Default::default(),
        epoch: None,
    };
    let err = a
        .sign(request(vec![id("node-a"), id("node-b")]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    assert_eq!(a.transport().open_sessions(), 0);

    keygen_all(&[a, b], "pair", KeyType::Ed25519, 1).await;
    let mut req = request(vec![id("node-a"), id("node-c")]);
    req.wallet_id = WalletId::new("pair").unwrap();
    let err = a.sign(req).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ParticipantNotFound, "{err}");
}
