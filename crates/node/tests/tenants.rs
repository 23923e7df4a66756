//! Tenants (users' devices) next to real `tessera start` server nodes, over a
//! real nats-server and Consul: 2-of-2 wallets of one server and 20 devices,
//! a 2-of-3 wallet of a device and two servers, and the session rules of
//! dynamic keys (registration per session id, disagreement, static override,
//! a device that never joins). Signatures are checked with k256 and
//! ed25519-dalek against each wallet's own keys.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tessera_client::{new_session_id, Client, SignRequest};
use tessera_tenant::{
    AtRestKey, NodeIdentity, RunnerOptions, StoreKey, Tenant, TenantConfig, TenantKeygen,
    TenantSign, WalletKeys,
};
use tessera_types::wire::{DynamicKey, SessionSpec};
use tessera_types::{ErrorCode, KeyType, NodeId, PublicIdentity, SessionId, Threshold, WalletId};

use common::raw::RawSigner;
use common::{check, ClusterOptions, ProcCluster};

/// The tests here each run a cluster and many sessions: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Device {
    tenant: Tenant,
    _dir: TempDir,
}

impl Device {
    async fn start(
        nats: tessera_transport::NatsAccess,
        name: String,
        servers: Vec<PublicIdentity>,
        connect: Duration,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let identity = Arc::new(NodeIdentity::generate(NodeId::new(name).unwrap()));
        let key = AtRestKey::from_key_bytes(&rand::random::<[u8; 32]>()).unwrap();
        let mut config = TenantConfig::new("", identity, dir.path(), StoreKey::Key(key), servers);
        config.nats = nats;
        config.options = RunnerOptions {
            connect_timeout: connect,
            ..RunnerOptions::default()
        };
        let tenant = Tenant::start(config).await.expect("tenant starts");
        Self { tenant, _dir: dir }
    }

    fn id(&self) -> NodeId {
        self.tenant.node_id().clone()
    }
}

fn ids(names: &[&NodeId]) -> Vec<NodeId> {
    let mut v: Vec<NodeId> = names.iter().map(|n| (*n).clone()).collect();
    v.sort();
    v
}

fn spec(session_id: &str, players: &[NodeId], threshold: Option<u16>) -> SessionSpec {
    SessionSpec {
        session_id: Some(session_id.to_string()),
        players: Some(players.iter().map(|p| p.to_string()).collect()),
        dynamic_public_keys: BTreeMap::new(),
        threshold,
    }
}

fn sid(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

/// Keygen on the servers (through the SDK) and on the device at once; both
/// must report the same keys.
async fn keygen(client: &Client, device: &Device, wallet: &str, spec: SessionSpec) -> WalletKeys {
    let players: Vec<NodeId> = spec
        .players
        .clone()
        .unwrap()
        .iter()
        .map(|p| NodeId::new(p.as_str()).unwrap())
        .collect();
    let mine = TenantKeygen {
        session_id: sid(spec.session_id.as_deref().unwrap()),
        wallet_id: WalletId::new(wallet).unwrap(),
        players,
        threshold: Threshold(spec.threshold.unwrap_or(1)),
    };
    let (server, mine) = tokio::join!(
        client.keygen_in_session(wallet, spec),
        device.tenant.keygen(mine)
    );
    let server = server
        .expect("keygen result")
        .into_result()
        .expect("servers' keygen succeeds");
    let mine = mine.expect("device's keygen succeeds");
    assert_eq!(
        server.ecdsa_public_key_sec1().unwrap().to_vec(),
        mine.ecdsa_public_key
    );
    assert_eq!(server.eddsa_public_key().unwrap(), mine.eddsa_public_key);
    mine
}

/// One signature with `players` (the device among them or not), verified
/// against the wallet's own key with k256 / ed25519-dalek.
async fn sign(
    client: &Client,
    device: Option<&Device>,
    keys: &WalletKeys,
    key_type: KeyType,
    players: &[NodeId],
) {
    let session_id = new_session_id();
    let message = format!("pay {} from {}", session_id, keys.wallet_id).into_bytes();
    let digest: [u8; 32] = Sha256::digest(&message).into();
    let tx = match key_type {
        KeyType::Secp256k1 => digest.to_vec(),
        KeyType::Ed25519 => message.clone(),
    };
    let request = SignRequest {
        key_type,
        wallet_id: keys.wallet_id.to_string(),
        tx_id: format!("tx-{session_id}"),
        tx: tx.clone(),
        network_internal_code: "test".into(),
        derivation_path: None,
        session: Some(spec(&session_id, players, None)),
    };
    let server = client.sign(request);
    let ev = match device {
        Some(d) => {
            let mine = TenantSign {
                session_id: sid(&session_id),
                wallet_id: keys.wallet_id.clone(),
                key_type,
                players: players.to_vec(),
                message: tx.clone(),
                path: Vec::new(),
            };
            let (ev, mine) = tokio::join!(server, d.tenant.sign(mine));
            mine.expect("device's signing succeeds");
            ev
        }
        None => server.await,
    };
    let ev = ev.expect("signing result").into_event();
    match key_type {
        KeyType::Secp256k1 => check::ecdsa(&keys.ecdsa_public_key, &digest, &ev),
        KeyType::Ed25519 => check::ed25519(&keys.eddsa_public_key, &message, &ev),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_devices_each_create_and_use_a_two_of_two_wallet_with_one_server() {
    let _serial = SERIAL.lock().await;
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.nodes = 1;
    options.connect_timeout = "20s";
    options.env = vec![("TESSERA_LIMITS_KEYGEN_CONCURRENCY".into(), "32".into())];
    let cluster = ProcCluster::start(options).await;
    let client = cluster.sdk(&key, "provider").await;
    let servers = vec![cluster.public_identity(0)];
    let node0 = NodeId::new("node0").unwrap();
    let devices = join_all((0..20).map(|i| {
        Device::start(
            cluster.tenant_access(&format!("device-{i}")),
            format!("device-{i}"),
            servers.clone(),
            Duration::from_secs(20),
        )
    }))
    .await;

    let started = Instant::now();
    let runs = devices.iter().enumerate().map(|(i, d)| {
        let (client, node0) = (&client, &node0);
        async move {
            let session_id = new_session_id();
            let players = ids(&[&d.id(), node0]);
            let mut s = spec(&session_id, &players, Some(1));
            // Half register the device key for the session, half give it with the request.
            let registered = i % 2 == 0;
            if registered {
                client
                    .register_tenant_key(&session_id, &d.tenant.public_identity())
                    .await
                    .expect("registration stored");
            } else {
                s.dynamic_public_keys.insert(
                    d.id().to_string(),
                    DynamicKey::of(&d.tenant.public_identity()),
                );
            }
            let keys = keygen(client, d, &format!("split-{i}"), s).await;
            sign(client, Some(d), &keys, KeyType::Secp256k1, &players).await;
            sign(client, Some(d), &keys, KeyType::Ed25519, &players).await;
            (session_id, registered, keys)
        }
    });
    let done = join_all(runs).await;
    eprintln!(
        "20 devices: keygen and two signatures each in {:?}",
        started.elapsed()
    );

    let mut distinct: Vec<Vec<u8>> = done
        .iter()
        .map(|(_, _, k)| k.ecdsa_public_key.clone())
        .collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 20, "every wallet has its own key");
    let log = cluster.log(0);
    for (session_id, registered, _) in &done {
        let line = format!("tenant public key for session {session_id} registered");
        assert_eq!(log.contains(&line), *registered, "{line}");
    }

    // The server alone cannot sign: the request must bring the device.
    let keys = &done[0].2;
    let alone = client
        .sign(SignRequest {
            key_type: KeyType::Ed25519,
            wallet_id: keys.wallet_id.to_string(),
            tx_id: "alone-1".into(),
            tx: b"server alone".to_vec(),
            network_internal_code: "test".into(),
            derivation_path: None,
            session: None,
        })
        .await
        .unwrap();
    let (code, reason) = alone.error().expect("refused");
    assert_eq!(code, ErrorCode::TenantRequired, "{reason}");
    assert!(reason.contains("device-0"), "{reason}");

    for d in devices {
        d.tenant.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_and_two_servers_sign_two_of_three_and_sessions_follow_the_key_rules() {
    let _serial = SERIAL.lock().await;
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.nodes = 2;
    options.connect_timeout = "3s";
    // Locked down: the device, the provider's client and each node have their
    // own NATS credential with the reference permissions, over TLS.
    options.locked = true;
    options.clients = vec!["provider".into()];
    options.tenants = vec!["device-a".into()];
    let cluster = ProcCluster::start(options).await;
    let client = cluster.sdk(&key, "provider").await;
    let servers = vec![cluster.public_identity(0), cluster.public_identity(1)];
    let (node0, node1) = (NodeId::new("node0").unwrap(), NodeId::new("node1").unwrap());
    let connect = Duration::from_secs(3);
    let device = Device::start(
        cluster.tenant_access("device-a"),
        "device-a".into(),
        servers.clone(),
        connect,
    )
    .await;
    let d = device.id();

    // A 2-of-3 wallet: the device and two servers.
    let session_id = new_session_id();
    client
        .register_tenant_key(&session_id, &device.tenant.public_identity())
        .await
        .unwrap();
    let all = ids(&[&d, &node0, &node1]);
    let keys = keygen(
        &client,
        &device,
        "custody-1",
        spec(&session_id, &all, Some(1)),
    )
    .await;
    for kt in [KeyType::Secp256k1, KeyType::Ed25519] {
        sign(&client, Some(&device), &keys, kt, &ids(&[&d, &node0])).await;
        sign(&client, Some(&device), &keys, kt, &ids(&[&d, &node1])).await;
    }
    // Both servers, where the threshold allows it (named, or picked).
    sign(
        &client,
        None,
        &keys,
        KeyType::Ed25519,
        &ids(&[&node0, &node1]),
    )
    .await;

    // ECDSA (DKLs23) signs with exactly t+1: naming all three is refused up front.
    let three = client
        .sign(SignRequest {
            key_type: KeyType::Secp256k1,
            wallet_id: keys.wallet_id.to_string(),
            tx_id: "three-1".into(),
            tx: vec![7; 32],
            network_internal_code: "test".into(),
            derivation_path: None,
            session: Some(spec(&new_session_id(), &all, None)),
        })
        .await
        .unwrap();
    let (code, reason) = three.error().expect("refused");
    assert_eq!(code, ErrorCode::InvalidThreshold, "{reason}");

    // A request for {device, node1} that node0 pulls: node0 is not a player,
    // so it hands the request to node1 and publishes node1's answer. The two
    // nodes share the pulls; a few requests reach node0.
    let with_node1 = ids(&[&d, &node1]);
    let delegated = "not among the request's players; delegating it to node1";
    for _ in 0..10 {
        sign(&client, Some(&device), &keys, KeyType::Ed25519, &with_node1).await;
        if cluster.log(0).contains(delegated) {
            break;
        }
    }
    assert!(cluster.log(0).contains(delegated), "node0 delegated");

    // A key registered for one session id does not admit the device to another.
    let s1 = new_session_id();
    let s2 = new_session_id();
    client
        .register_tenant_key(&s1, &device.tenant.public_identity())
        .await
        .unwrap();
    let mine = TenantKeygen {
        session_id: sid(&s2),
        wallet_id: WalletId::new("custody-2").unwrap(),
        players: all.clone(),
        threshold: Threshold(1),
    };
    let (server, mine) = tokio::join!(
        client.keygen_in_session("custody-2", spec(&s2, &all, Some(1))),
        device.tenant.keygen(mine)
    );
    let server = server.unwrap();
    let (code, reason) = server.error().expect("refused");
    assert_eq!(code, ErrorCode::DynamicKeyMissing, "{reason}");
    assert!(
        reason.contains("device-a") && reason.contains(&s2),
        "{reason}"
    );
    let err = mine.expect_err("the device is alone in session s2");
    assert_eq!(err.code(), ErrorCode::SessionJoinTimeout, "{err}");

    // Parties that disagree on the device's key fail before any protocol
    // message, every one with the mismatch code; nothing is stored.
    let impostor = NodeIdentity::generate(d.clone());
    let s3 = new_session_id();
    let mut wrong = spec(&s3, &all, Some(1));
    wrong
        .dynamic_public_keys
        .insert(d.to_string(), DynamicKey::of(&impostor.public()));
    let mine = TenantKeygen {
        session_id: sid(&s3),
        wallet_id: WalletId::new("custody-3").unwrap(),
        players: all.clone(),
        threshold: Threshold(1),
    };
    let (server, mine) = tokio::join!(
        client.keygen_in_session("custody-3", wrong),
        device.tenant.keygen(mine)
    );
    let server = server.unwrap();
    let (code, reason) = server.error().expect("refused");
    assert_eq!(code, ErrorCode::PublicKeyMismatch, "{reason}");
    assert!(reason.contains("device-a"), "{reason}");
    let err = mine.expect_err("the device sees the servers' view of its key");
    assert_eq!(err.code(), ErrorCode::PublicKeyMismatch, "{err}");
    assert!(err.to_string().contains("public key of device-a"), "{err}");
    for i in 0..2 {
        // The client's answer can come before a player's own session has
        // ended (it ends on the coordinator's abort): wait for its line.
        let failed = format!("session_id={s3}-secp256k1");
        let reported = cluster
            .wait_for_log_of(i, Duration::from_secs(20), |l| {
                l.contains(&failed)
                    && l.contains("session failed")
                    && l.contains("code=ERROR_PUBLIC_KEY_MISMATCH")
            })
            .await;
        assert!(
            reported,
            "node{i} reports the mismatch:\n{}",
            cluster.log(i)
        );
    }
    // Nothing was stored: the same wallet id with the right key works.
    let s4 = new_session_id();
    let mut right = spec(&s4, &all, Some(1));
    right.dynamic_public_keys.insert(
        d.to_string(),
        DynamicKey::of(&device.tenant.public_identity()),
    );
    // A different dynamic key for a configured server: its static key wins, logged.
    let stranger = NodeIdentity::generate(node1.clone());
    right
        .dynamic_public_keys
        .insert(node1.to_string(), DynamicKey::of(&stranger.public()));
    let keys = keygen(&client, &device, "custody-3", right).await;
    sign(
        &client,
        Some(&device),
        &keys,
        KeyType::Secp256k1,
        &ids(&[&d, &node1]),
    )
    .await;
    for i in 0..2 {
        assert!(
            cluster.log(i).contains(&format!("static public key of node1 overrides the different dynamic key given for session {s4}-secp256k1")),
            "node{i} logs the override"
        );
    }

    // A device that never joins: the servers fail within the connection
    // timeout, naming it.
    let ghost = NodeIdentity::generate(NodeId::new("device-ghost").unwrap());
    let s5 = new_session_id();
    let players = ids(&[ghost.node_id(), &node0, &node1]);
    let mut absent = spec(&s5, &players, Some(1));
    absent
        .dynamic_public_keys
        .insert("device-ghost".into(), DynamicKey::of(&ghost.public()));
    let asked = Instant::now();
    let server = client.keygen_in_session("custody-5", absent).await.unwrap();
    let waited = asked.elapsed();
    let (code, reason) = server.error().expect("refused");
    assert_eq!(code, ErrorCode::SessionJoinTimeout, "{reason}");
    assert!(reason.contains("device-ghost"), "{reason}");
    assert!(
        waited < connect + Duration::from_secs(2),
        "answered after {waited:?}"
    );

    device.tenant.shutdown().await;
}
