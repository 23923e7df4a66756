//! Lifecycle sessions over a real NATS server and Consul, three nodes, both
//! curves: a refresh leaves every player with the same pending epoch while
//! signing goes on with the old one; once promoted, signatures verify (k256,
//! ed25519-dalek) under the same keys; a player that did not move on is named
//! stale by the join barrier, on every side, and never banned; a retired
//! epoch still signs until it is erased. Then a node that lost its data gets
//! its share back by repair and refresh, and signs again.

mod common;

use std::time::Duration;

use common::{check_ecdsa, check_eddsa, id, keygen_all, sid, sign_at, sign_with, Cluster};
use sha2::{Digest, Sha256};
use tessera_runner::{LifecycleRequest, Node, Prepared};
use tessera_session::derive::DerivationPath;
use tessera_storage::EpochState;
use tessera_types::{ErrorCode, KeyType, NodeId, SessionId, Threshold, WalletId};

const WALLET: &str = "wallet-life";

fn wallet() -> WalletId {
    WalletId::new(WALLET).unwrap()
}

/// Runs one lifecycle session on `players` (the committee, indices by sorted
/// position as keygen gives them) with `targets` repaired.
async fn lifecycle(
    players: &[&Node],
    key_type: KeyType,
    from_epoch: u64,
    public_key: &[u8],
    targets: &[NodeId],
) -> (SessionId, Vec<Prepared>) {
    let mut ids: Vec<NodeId> = players.iter().map(|n| n.node_id().clone()).collect();
    ids.sort();
    let committee: Vec<(NodeId, u8)> = ids.iter().cloned().zip(1u8..).collect();
    let session_id = sid("refresh");
    let running: Vec<_> = players
        .iter()
        .map(|n| {
            n.start_lifecycle_traced(
                LifecycleRequest {
                    session_id: session_id.clone(),
                    wallet_id: wallet(),
                    key_type,
                    committee: committee.clone(),
                    targets: targets.to_vec(),
                    removed: Vec::new(),
                    from_epoch,
                    public_key: public_key.to_vec(),
                    threshold: Threshold(1),
                },
                None,
            )
        })
        .collect();
    let mut out = Vec::new();
    for r in running {
        let prepared = tokio::time::timeout(Duration::from_secs(120), r.wait())
            .await
            .expect("lifecycle in time")
            .unwrap_or_else(|e| panic!("lifecycle failed: {e}"));
        out.push(prepared);
    }
    (session_id, out)
}

fn message(key_type: KeyType) -> Vec<u8> {
    match key_type {
        KeyType::Secp256k1 => Sha256::digest(b"pay after the refresh").to_vec(),
        KeyType::Ed25519 => b"pay after the refresh".to_vec(),
    }
}

fn check(key_type: KeyType, pk: &[u8], sig: &tessera_runner::Signature) {
    let m = message(key_type);
    match key_type {
        KeyType::Secp256k1 => check_ecdsa(pk, &m.try_into().unwrap(), sig),
        KeyType::Ed25519 => check_eddsa(pk, &m, sig),
    }
}

/// Each pair signs at the master key; each signature verifies under `pk`.
async fn sign_pairs(pairs: &[[&Node; 2]], key_type: KeyType, pk: &[u8]) {
    for pair in pairs {
        let sig = sign_with(
            pair,
            WALLET,
            key_type,
            &message(key_type),
            &DerivationPath::root(),
        )
        .await;
        check(key_type, pk, &sig);
    }
}

fn promote(nodes: &[&Node], key_type: KeyType, session_id: &SessionId) {
    for n in nodes {
        n.store().promote(&wallet(), key_type, session_id).unwrap();
    }
}

async fn refresh_then_stale_then_replace(key_type: KeyType) {
    let mut cluster = Cluster::start(3, Default::default()).await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let all = [a, b, c];
    let pk = keygen_all(&all, WALLET, key_type, 1).await;

    // Refresh: every player stores the same pending epoch 1.
    let (s1, prepared) = lifecycle(&all, key_type, 0, &pk, &[]).await;
    assert!(prepared
        .iter()
        .all(|p| p.epoch == 1 && p.digest == prepared[0].digest));
    for n in all {
        let rows = n.store().list_epochs(&wallet(), key_type).unwrap();
        let states: Vec<&str> = rows.iter().map(|r| r.state.name()).collect();
        assert_eq!(states, ["active", "pending"], "{}", n.node_id());
    }
    // Not decided yet: signing goes on at epoch 0.
    sign_pairs(&[[a, b]], key_type, &pk).await;

    promote(&all, key_type, &s1);
    sign_pairs(&[[a, c], [b, c]], key_type, &pk).await;

    // A second refresh that node c never promotes: c is stale.
    let (s2, _) = lifecycle(&all, key_type, 1, &pk, &[]).await;
    promote(&[a, b], key_type, &s2);
    let results = sign_at(
        &[a, c],
        WALLET,
        key_type,
        &message(key_type),
        &DerivationPath::root(),
        None,
    )
    .await;
    for r in &results {
        let e = r.as_ref().expect_err("a stale player cannot sign");
        assert_eq!(e.code(), ErrorCode::EpochMismatch, "{e}");
        assert!(
            e.to_string().contains(&format!("{} is stale", c.node_id())),
            "{e}"
        );
        assert!(e.culprits().ban.is_empty(), "staleness is never a ban: {e}");
    }
    // a still keeps epoch 1 (retired, not erased): signing at epoch 1 works.
    for r in sign_at(
        &[a, c],
        WALLET,
        key_type,
        &message(key_type),
        &DerivationPath::root(),
        Some(1),
    )
    .await
    {
        check(key_type, &pk, &r.expect("signs at the retired epoch"));
    }
    // Erased: a has only epoch 2, and names c stale again.
    assert!(a.store().erase_retired(&wallet(), key_type, 1).unwrap());
    let results = sign_at(
        &[a, c],
        WALLET,
        key_type,
        &message(key_type),
        &DerivationPath::root(),
        Some(1),
    )
    .await;
    assert!(results.iter().all(|r| r
        .as_ref()
        .is_err_and(|e| e.code() == ErrorCode::EpochMismatch)));
    // c catches up: its pending epoch 2 is promoted.
    promote(&[c], key_type, &s2);

    // Node c loses its data directory (same identity) and gets its index back
    // by repair from a and b, then the refresh by all three.
    let lost = cluster.nodes.pop().unwrap();
    lost.shutdown().await;
    let fresh_dir = cluster.storage_dir(2).with_extension("fresh");
    let node = cluster
        .start_node_as(2, cluster.identities[2].clone(), fresh_dir)
        .await;
    cluster.nodes.push(node);
    cluster.wait_all_ready().await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let all = [a, b, c];
    assert!(c
        .store()
        .get_metadata(&wallet(), key_type)
        .unwrap()
        .is_none());
    let (s3, prepared) = lifecycle(&all, key_type, 2, &pk, &[id("node-c")]).await;
    assert!(prepared
        .iter()
        .all(|p| p.epoch == 3 && p.digest == prepared[0].digest));
    promote(&all, key_type, &s3);
    sign_pairs(&[[a, c], [b, c]], key_type, &pk).await;
    let rows = c.store().list_epochs(&wallet(), key_type).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].epoch, &rows[0].state), (3, &EpochState::Active));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ecdsa_refresh_stale_player_and_replace() {
    refresh_then_stale_then_replace(KeyType::Secp256k1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eddsa_refresh_stale_player_and_replace() {
    refresh_then_stale_then_replace(KeyType::Ed25519).await;
}

/// node-c loses its disk and its identity file: a new identity is configured
/// on every node, and node-c gets its share back by replace. The wallet then
/// records the new identity; node-c's old disk with its old identity is
/// refused by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_a_new_identity_is_replaced_and_its_old_identity_refused() {
    let key_type = KeyType::Secp256k1;
    // The old identity's joins never verify: the barrier gives up after this.
    let options = tessera_runner::RunnerOptions {
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let mut cluster = Cluster::start(3, options).await;
    let all: Vec<&Node> = cluster.nodes.iter().collect();
    let pk = keygen_all(&all, WALLET, key_type, 1).await;
    let old_identity = cluster.identities[2].clone();
    let old_disk = cluster.storage_dir(2).with_extension("old");
    cluster
        .restart_all_with(|c| {
            // Every node is reconfigured with node-c's new public identity; node-c
            // starts with an empty store (its old one kept aside).
            std::fs::rename(c.storage_dir(2), &old_disk).unwrap();
            c.identities[2] =
                std::sync::Arc::new(tessera_security::NodeIdentity::generate(id("node-c")));
        })
        .await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let (s, prepared) = lifecycle(&[a, b, c], key_type, 0, &pk, &[id("node-c")]).await;
    assert!(prepared.iter().all(|p| p.epoch == 1));
    promote(&[a, b, c], key_type, &s);
    sign_pairs(&[[a, c], [b, c]], key_type, &pk).await;
    let stored = a
        .store()
        .get_metadata(&wallet(), key_type)
        .unwrap()
        .unwrap();
    let c_stored = stored
        .participants
        .iter()
        .find(|i| i.node_id == id("node-c"))
        .unwrap();
    assert_eq!(*c_stored, cluster.identities[2].public());
    assert_ne!(*c_stored, old_identity.public());

    // The old disk comes back with the old identity: node-a refuses it.
    cluster.nodes.pop().unwrap().shutdown().await;
    let old = cluster.start_node_as(2, old_identity, old_disk).await;
    let a = &cluster.nodes[0];
    let results = sign_at(
        &[a, &old],
        WALLET,
        key_type,
        &message(key_type),
        &DerivationPath::root(),
        None,
    )
    .await;
    let refused = results[0]
        .as_ref()
        .expect_err("node-a refuses node-c's old identity");
    assert_eq!(refused.code(), ErrorCode::PublicKeyMismatch, "{refused}");
    old.shutdown().await;
    cluster.stop().await;
}
