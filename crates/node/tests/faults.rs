//! Fault injection on real processes: three `tessera start` nodes, a real
//! nats-server and a real Consul. Each test breaks something while requests
//! are served, and asserts what the client receives and that the cluster
//! keeps serving afterwards.
//!
//! Tests run one at a time (they measure detection times on a 2-core machine).
//! The node processes are debug builds, so `TESSERA_FAULT_ROUND_DELAY_MS`
//! (see `tessera_runner`'s `fault` module) can stretch sessions long enough to
//! kill a node in the middle of one.

mod common;

use std::time::{Duration, Instant};

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tessera_runner::frame::CONTROL_ROUND;
use tessera_security::Envelope;
use tessera_testkit::wait::{poll_until, POLL};
use tessera_transport::async_nats;
use tessera_types::wire::{KeygenResultEvent, ResultType, SigningResultEvent};
use tessera_types::ErrorCode;
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

const RESULT_WAIT: Duration = Duration::from_secs(60);

/// A cluster with a `delay_ms` pause before each protocol step (0: none), a
/// client and a wallet.
struct Env {
    cluster: ProcCluster,
    key: RawSigner,
    client: RawClient,
    wallet: KeygenResultEvent,
}

async fn env(delay_ms: u64, ack_wait: &'static str) -> Env {
    env_with(delay_ms, ack_wait, Vec::new()).await
}

/// [`env`] with more environment for every node (fault injection).
async fn env_with(delay_ms: u64, ack_wait: &'static str, extra: Vec<(String, String)>) -> Env {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.ack_wait = ack_wait;
    options.locked = true;
    options.clients = vec!["faults".into()];
    if delay_ms > 0 {
        options.env = vec![("TESSERA_FAULT_ROUND_DELAY_MS".into(), delay_ms.to_string())];
    }
    options.env.extend(extra);
    let cluster = ProcCluster::start(options).await;
    let mut client =
        RawClient::connect_with(&cluster.client_access(Some("faults")), Some("faults")).await;
    client
        .publish_keygen("wallet-f", raw::keygen(&key, "wallet-f", &[]))
        .await;
    let wallet = client
        .next_keygen(RESULT_WAIT)
        .await
        .expect("keygen result");
    assert_eq!(wallet.result_type, ResultType::Success, "{wallet:?}");
    Env {
        cluster,
        key,
        client,
        wallet,
    }
}

/// What one request signs, and how to check the answer.
struct Payload {
    key_type: &'static str,
    tx: Vec<u8>,
}

impl Payload {
    fn new(key_type: &'static str, tx_id: &str) -> Self {
        let tx = match key_type {
            "secp256k1" => Sha256::digest(tx_id.as_bytes()).to_vec(),
            _ => format!("message {tx_id}").into_bytes(),
        };
        Self { key_type, tx }
    }
}

/// Publishes a signing request for `wallet-f`.
async fn publish(client: &RawClient, key: &RawSigner, tx_id: &str, p: &Payload) {
    let f = SignFields {
        key_type: p.key_type,
        wallet: "wallet-f",
        tx_id,
        tx: &p.tx,
    };
    client.publish_sign(tx_id, raw::sign(key, &f, &[])).await;
}

impl Env {
    async fn publish(&self, tx_id: &str, p: &Payload) {
        publish(&self.client, &self.key, tx_id, p).await;
    }

    fn verify(&self, p: &Payload, ev: &SigningResultEvent) {
        match p.key_type {
            "secp256k1" => check::ecdsa(
                self.wallet.ecdsa_pub_key.as_ref().unwrap(),
                p.tx.as_slice().try_into().unwrap(),
                ev,
            ),
            _ => check::ed25519(self.wallet.eddsa_pub_key.as_ref().unwrap(), &p.tx, ev),
        }
    }

    /// Signs one request and checks the signature.
    async fn sign_ok(&mut self, tx_id: &str, key_type: &'static str) {
        let p = Payload::new(key_type, tx_id);
        self.publish(tx_id, &p).await;
        let ev = self.client.next_signing(RESULT_WAIT).await.expect("result");
        assert_eq!(ev.tx_id, tx_id);
        self.verify(&p, &ev);
    }

    /// Waits for the line of the node that joined `tx_id`'s session as a
    /// player: (that node, the coordinator's index).
    async fn session_players(&self, tx_id: &str) -> (usize, usize) {
        let (player, coordinator, _) = self.joined(tx_id).await;
        (player, coordinator)
    }

    /// [`Env::session_players`], with the session id.
    async fn joined(&self, tx_id: &str) -> (usize, usize, String) {
        let needle = format!("tx_id={tx_id}");
        let (player, line) = self
            .cluster
            .wait_for_log(Duration::from_secs(20), |l| {
                l.contains("joined signing session") && l.split_whitespace().any(|w| w == needle)
            })
            .await
            .unwrap_or_else(|| panic!("no node joined a session for {tx_id}"));
        let coordinator = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("coordinator="))
            .expect("coordinator field");
        let session_id = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("session_id="))
            .expect("session_id field");
        (
            player,
            self.cluster.index_of(coordinator),
            session_id.to_string(),
        )
    }
}

/// Every session's subjects as a node sees them (node0's credential): tells
/// when a player has sent its first protocol message, i.e. is inside the
/// protocol (joins travel on control subjects; heartbeats and other control
/// frames carry round [`CONTROL_ROUND`]).
struct SessionTap {
    _nc: async_nats::Client,
    sub: async_nats::Subscriber,
}

impl SessionTap {
    /// Subscribes before the request is published, so nothing is missed.
    async fn open(cluster: &ProcCluster) -> Self {
        let access = cluster.node_access(0);
        let nc = access
            .apply(async_nats::ConnectOptions::new())
            .expect("node credential files")
            .connect(access.addrs().expect("nats urls"))
            .await
            .expect("tap connects");
        let sub = nc.subscribe("tessera.session.>").await.unwrap();
        // The server has the subscription once it answered the flush's ping.
        nc.flush().await.unwrap();
        Self { _nc: nc, sub }
    }

    /// Waits until node `sender` sent a protocol message in `session_id`.
    async fn protocol_sent(&mut self, session_id: &str, sender: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.sub.next())
                .await
                .unwrap_or_else(|_| panic!("{sender} sent no protocol message in {session_id}"))
                .expect("tap subscription open");
            let Ok(envelope) = Envelope::from_bytes(&msg.payload) else {
                continue;
            };
            let h = envelope.header();
            if h.session_id.as_str() == session_id
                && h.sender.as_str() == sender
                && h.round != CONTROL_ROUND
            {
                return;
            }
        }
    }
}

/// The ledger write of a result fails right after the result was published
/// (injected): the request comes back until the result is recorded, and a
/// repeat of it is answered with the same signature. One protocol run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_result_that_could_not_be_recorded_is_never_signed_again() {
    let _serial = SERIAL.lock().await;
    let fault = (
        "TESSERA_FAULT_LEDGER_FINISH_FAILS".to_string(),
        "sign:1".to_string(),
    );
    let mut env = env_with(0, "30s", vec![fault]).await;
    let p = Payload::new("secp256k1", "unrecorded-1");
    env.publish("unrecorded-1", &p).await;
    let first = env.client.next_signing(RESULT_WAIT).await.expect("result");
    env.verify(&p, &first);
    let failed = env
        .cluster
        .wait_for_log(Duration::from_secs(10), |l| {
            l.contains("could not record the result")
        })
        .await;
    assert!(
        failed.is_some(),
        "the injected ledger failure did not happen"
    );

    // The client asks again: the same signature, from the result kept for it.
    env.publish("unrecorded-1", &p).await;
    let again = env
        .client
        .next_signing(RESULT_WAIT)
        .await
        .expect("repeat result");
    assert_eq!(again.tx_id, "unrecorded-1");
    assert_eq!((&again.r, &again.s), (&first.r, &first.s), "signed twice");
    // The copy that came back to be recorded published nothing new (same Nats-Msg-Id).
    assert!(env
        .client
        .next_signing(Duration::from_secs(2))
        .await
        .is_none());
    assert_eq!(env.cluster.signing_sessions_joined("unrecorded-1"), 1);
}

/// Kills the player (not the coordinator) of a signing session in the middle
/// of the protocol: with a third node ready the request still succeeds; with
/// two nodes alive the client gets ERROR_PEER_UNAVAILABLE within 5 s.
async fn signer_killed_mid_session(key_type: &'static str) {
    let _serial = SERIAL.lock().await;
    let mut env = env(400, "30s").await;

    // Three nodes: the coordinator retries with the third.
    let p = Payload::new(key_type, "kill-1");
    let mut tap = SessionTap::open(&env.cluster).await;
    env.publish("kill-1", &p).await;
    let (player, coordinator, session) = env.joined("kill-1").await;
    // Into the protocol: the player's first protocol message is out (with the
    // injected delay, each further step takes 400 ms).
    tap.protocol_sent(&session, &format!("node{player}")).await;
    drop(tap);
    env.cluster.kill(player);
    let ev = env.client.next_signing(RESULT_WAIT).await.expect("result");
    assert_eq!(ev.tx_id, "kill-1");
    env.verify(&p, &ev);
    let retried = env.cluster.log(coordinator);
    assert!(
        retried.contains("retrying without"),
        "the coordinator retried with another subset:\n{retried}"
    );
    assert!(
        env.client
            .next_signing(Duration::from_secs(2))
            .await
            .is_none(),
        "one result per request"
    );

    // The killed node comes back; then the third node goes for good.
    env.cluster.restart(player);
    env.cluster.wait_all_ready().await;
    let third = (0..3).find(|&i| i != player && i != coordinator).unwrap();
    env.cluster.terminate(third);
    env.cluster.wait_ready_nodes(coordinator, 2).await;
    env.cluster.wait_ready_nodes(player, 2).await;

    // Two nodes: nobody to retry with.
    let p = Payload::new(key_type, "kill-2");
    let mut tap = SessionTap::open(&env.cluster).await;
    env.publish("kill-2", &p).await;
    let (player, _, session) = env.joined("kill-2").await;
    tap.protocol_sent(&session, &format!("node{player}")).await;
    drop(tap);
    env.cluster.kill(player);
    let killed_at = Instant::now();
    let ev = env.client.next_signing(RESULT_WAIT).await.expect("result");
    let took = killed_at.elapsed();
    assert_eq!(ev.tx_id, "kill-2");
    assert_eq!(ev.error_code, Some(ErrorCode::PeerUnavailable), "{ev:?}");
    assert!(
        ev.error_reason.contains(&format!("node{player}")),
        "names the node: {ev:?}"
    );
    assert!(took < Duration::from_secs(5), "error after {took:?}");
    println!("{key_type}: ERROR_PEER_UNAVAILABLE {took:?} after the kill");

    // The cluster serves again once a node is back.
    env.cluster.restart(player);
    env.cluster.restart(third);
    env.cluster.wait_all_ready().await;
    env.sign_ok("after-kill", key_type).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ecdsa_signer_killed_mid_session() {
    signer_killed_mid_session("secp256k1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eddsa_signer_killed_mid_session() {
    signer_killed_mid_session("ed25519").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_down_keeps_signing_and_two_down_is_not_majority_at_once() {
    let _serial = SERIAL.lock().await;
    let mut env = env(0, "30s").await;
    // One node crashes: signing goes on at once, on both curves. node0 sorts
    // first, so the others pick it while Consul still lists it: the proposal
    // to the dead node fails fast and the coordinator retries without it.
    env.cluster.kill(0);
    for (i, key_type) in ["secp256k1", "ed25519", "secp256k1", "ed25519"]
        .into_iter()
        .enumerate()
    {
        env.sign_ok(&format!("one-down-{i}"), key_type).await;
    }
    // A second one: once the survivor sees it, requests are refused at once.
    env.cluster.kill(1);
    env.cluster.wait_ready_nodes(2, 1).await;
    for (i, key_type) in ["secp256k1", "ed25519"].into_iter().enumerate() {
        let tx_id = format!("two-down-{i}");
        let started = Instant::now();
        env.publish(&tx_id, &Payload::new(key_type, &tx_id)).await;
        let ev = env.client.next_signing(Duration::from_secs(1)).await;
        let ev = ev.unwrap_or_else(|| panic!("{tx_id}: no result within 1 s"));
        assert_eq!(ev.error_code, Some(ErrorCode::NotMajority), "{ev:?}");
        println!("{tx_id}: ERROR_NOT_MAJORITY after {:?}", started.elapsed());
    }
    // Both come back: signing works again without touching node2.
    env.cluster.restart(0);
    env.cluster.restart(1);
    env.cluster.wait_all_ready().await;
    env.sign_ok("all-back", "secp256k1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_restart_loses_no_request_and_answers_each_once() {
    let _serial = SERIAL.lock().await;
    let mut env = env(0, "5s").await;
    let kinds = ["secp256k1", "ed25519"];
    let payloads: Vec<(String, Payload)> = (0..100)
        .map(|i| {
            let tx_id = format!("outage-{i}");
            let p = Payload::new(kinds[i % 2], &tx_id);
            (tx_id, p)
        })
        .collect();
    // 50 accepted, then NATS dies while they are being served.
    for (tx_id, p) in &payloads[..50] {
        env.publish(tx_id, p).await;
    }
    let Env {
        cluster,
        key,
        client,
        ..
    } = &mut env;
    cluster.nats.kill();
    let killed_at = Instant::now();
    // 50 more published during the outage: the client retries until stored.
    let later = futures::future::join_all(
        payloads[50..]
            .iter()
            .map(|(tx_id, p)| publish(client, key, tx_id, p)),
    );
    let restart = async {
        // NATS stays down until the outage is seen on both sides: every node
        // lost its connection, and each of the 50 later requests was refused
        // at least once (so it is stored by a retry, after the restart).
        for i in 0..3 {
            let noticed = cluster
                .wait_for_log_of(i, Duration::from_secs(20), |l| {
                    l.contains("disconnected from nats")
                })
                .await;
            assert!(noticed, "node{i} did not notice the outage");
        }
        let refused = poll_until(Duration::from_secs(60), POLL, || {
            client.refused_subjects() >= 50
        })
        .await;
        assert!(
            refused,
            "only {} requests were refused",
            client.refused_subjects()
        );
        cluster.nats.restart().await.expect("nats-server restarts");
        println!("NATS back after {:?}", killed_at.elapsed());
    };
    tokio::join!(later, restart);

    // Every request gets exactly one result; every success verifies.
    let mut results = std::collections::HashMap::new();
    while results.len() < payloads.len() {
        let ev = env
            .client
            .next_signing(Duration::from_secs(120))
            .await
            .unwrap_or_else(|| panic!("only {} of 100 results arrived", results.len()));
        let tx_id = ev.tx_id.clone();
        assert!(
            results.insert(tx_id.clone(), ev).is_none(),
            "a second result for {tx_id}"
        );
    }
    assert!(
        env.client
            .next_signing(Duration::from_secs(3))
            .await
            .is_none(),
        "more than one result for a request"
    );
    let mut codes = std::collections::BTreeMap::new();
    for (tx_id, p) in &payloads {
        let ev = &results[tx_id];
        if ev.result_type == ResultType::Success {
            env.verify(p, ev);
        }
        *codes
            .entry(ev.error_code.map_or("success", |c| c.as_str()))
            .or_insert(0) += 1;
    }
    println!("100 requests across a NATS restart: {codes:?}");
    let published_during_outage_ok = payloads[50..]
        .iter()
        .filter(|(tx_id, _)| results[tx_id].result_type == ResultType::Success)
        .count();
    assert_eq!(published_during_outage_ok, 50, "{codes:?}");
    env.sign_ok("after-outage", "ed25519").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_node_that_pulled_a_request_dies_and_another_answers_it_once() {
    let _serial = SERIAL.lock().await;
    let mut env = env(400, "3s").await;
    let p = Payload::new("secp256k1", "orphan-1");
    env.publish("orphan-1", &p).await;
    let (_, coordinator) = env.session_players("orphan-1").await;
    env.cluster.kill(coordinator);
    let killed_at = Instant::now();
    let ev = env.client.next_signing(RESULT_WAIT).await.expect("result");
    println!("answered {:?} after the kill", killed_at.elapsed());
    assert_eq!(ev.tx_id, "orphan-1");
    env.verify(&p, &ev);
    assert!(
        env.client
            .next_signing(Duration::from_secs(5))
            .await
            .is_none(),
        "one result per request"
    );
    let (taker, _) = env
        .cluster
        .wait_for_log(Duration::from_secs(1), |l| {
            l.contains("took over") && l.contains("orphan-1")
        })
        .await
        .expect("another node says it took the request over");
    assert_ne!(taker, coordinator);
    env.cluster.restart(coordinator);
    env.cluster.wait_all_ready().await;
    env.sign_ok("after-orphan", "ed25519").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consul_outage_finishes_running_sessions_refuses_new_ones_and_heals() {
    let _serial = SERIAL.lock().await;
    let mut env = env(300, "30s").await;
    // A session in flight when Consul dies still finishes.
    let p = Payload::new("secp256k1", "consul-1");
    env.publish("consul-1", &p).await;
    env.session_players("consul-1").await;
    env.cluster.consul.kill();
    let ev = env.client.next_signing(RESULT_WAIT).await.expect("result");
    env.verify(&p, &ev);
    // Once every node's view is older than the TTL (2 s), new requests are
    // refused: wait until each node's /readyz names its Consul view as failed.
    for i in 0..3 {
        env.cluster
            .wait_readyz(i, Duration::from_secs(10), |b| b.contains("\"consul\""))
            .await;
    }
    for key_type in ["secp256k1", "ed25519"] {
        let tx_id = format!("consul-down-{key_type}");
        let started = Instant::now();
        env.publish(&tx_id, &Payload::new(key_type, &tx_id)).await;
        let ev = env
            .client
            .next_signing(Duration::from_secs(2))
            .await
            .unwrap_or_else(|| panic!("{tx_id}: no result within 2 s"));
        assert_eq!(ev.error_code, Some(ErrorCode::ClusterNotReady), "{ev:?}");
        println!(
            "{tx_id}: ERROR_CLUSTER_NOT_READY after {:?}",
            started.elapsed()
        );
    }
    // Consul comes back (empty: a dev agent keeps nothing); the nodes register
    // again by themselves and serve.
    env.cluster.consul.restart().await.expect("consul restarts");
    env.cluster.wait_all_ready().await;
    env.sign_ok("consul-back-ecdsa", "secp256k1").await;
    env.sign_ok("consul-back-eddsa", "ed25519").await;
}

/// Broken request number `i` (one of twelve kinds), published as `bad-<i>`.
fn broken_request(i: usize, key: &RawSigner) -> Vec<u8> {
    let tx_id = format!("bad-{i}");
    let valid = String::from_utf8(raw::sign(
        key,
        &SignFields {
            key_type: "ed25519",
            wallet: "wallet-f",
            tx_id: &tx_id,
            tx: b"m",
        },
        &[],
    ))
    .unwrap();
    match i % 12 {
        0 => valid.as_bytes()[..valid.len() / 2].to_vec(),
        1 => format!(
            r#"{{"tx_id":"{tx_id}","key_type":{}{}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        )
        .into_bytes(),
        2 => format!(r#"{{"tx_id":"{tx_id}","surprise":1,"wallet_id":"wallet-f"}}"#).into_bytes(),
        3 => valid
            .replacen(r#""tx":"bQ==""#, r#""tx":123"#, 1)
            .into_bytes(),
        4 => valid
            .replacen("wallet-f", &"w".repeat(200 * 1024), 1)
            .into_bytes(),
        5 => {
            let path = vec!["1"; 30_000].join(",");
            let mut s = valid.clone();
            s.pop();
            format!(r#"{s},"derivation_path":[{path}]}}"#).into_bytes()
        }
        6 => valid
            .replacen(r#""tx":"bQ==""#, r#""tx":"%%%""#, 1)
            .into_bytes(),
        7 => valid
            .replacen(r#""signature":""#, r#""signature":"AAAA"#, 1)
            .into_bytes(),
        8 => (0..2048u32)
            .map(|b| (b.wrapping_mul(2654435761) >> 13) as u8)
            .collect(),
        9 => b"null".to_vec(),
        10 => format!(r#"["{tx_id}"]"#).into_bytes(),
        _ => vec![b'x'; 300 * 1024],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_broken_requests_leave_valid_ones_working_and_memory_flat() {
    let _serial = SERIAL.lock().await;
    let mut env = env(0, "30s").await;
    let kinds = ["secp256k1", "ed25519"];

    // One round: `broken` broken requests with a valid one after every ten.
    // Returns the number of successes; checks each request got one result:
    // on the client's subject when its signature verified (an over-long
    // path), else without ids on the unverified subject, which this client
    // may not read; the nodes log each of those.
    async fn batch(env: &mut Env, round: &str, broken: usize, kinds: [&'static str; 2]) -> usize {
        let refused_before = unverified_refusals(env);
        let mut unverified = 0;
        let mut valid = std::collections::HashMap::new();
        let mut expected = std::collections::HashSet::new();
        for i in 0..broken {
            let bad = broken_request(i, &env.key);
            let tx_id = format!("bad-{i}");
            env.client.publish_sign(&tx_id, bad).await;
            if i % 12 == 5 {
                expected.insert(tx_id);
            } else {
                unverified += 1;
            }
            if i % 10 == 9 {
                let tx_id = format!("{round}-ok-{}", i / 10);
                let p = Payload::new(kinds[(i / 10) % 2], &tx_id);
                env.publish(&tx_id, &p).await;
                expected.insert(tx_id.clone());
                valid.insert(tx_id, p);
            }
        }
        let mut ok = 0;
        let mut seen = std::collections::HashSet::new();
        while seen.len() < expected.len() {
            let ev = env
                .client
                .next_signing(Duration::from_secs(120))
                .await
                .unwrap_or_else(|| panic!("{round}: {} of {} results", seen.len(), expected.len()));
            assert!(
                expected.contains(&ev.tx_id),
                "{round}: unexpected {}",
                ev.tx_id
            );
            assert!(
                seen.insert(ev.tx_id.clone()),
                "{round}: two results for {}",
                ev.tx_id
            );
            match valid.get(&ev.tx_id) {
                Some(p) => {
                    env.verify(p, &ev);
                    ok += 1;
                }
                None => assert_eq!(ev.result_type, ResultType::Error, "{ev:?}"),
            }
        }
        let logged = poll_until(Duration::from_secs(120), POLL, || {
            unverified_refusals(env) >= refused_before + unverified
        })
        .await;
        assert!(
            logged,
            "{round}: {} of {unverified} unverified requests refused",
            unverified_refusals(env) - refused_before
        );
        assert!(env
            .client
            .next_signing(Duration::from_secs(1))
            .await
            .is_none());
        assert_eq!(unverified_refusals(env), refused_before + unverified);
        ok
    }

    /// Requests the nodes refused as unverified so far (one log line each).
    fn unverified_refusals(env: &Env) -> usize {
        (0..3)
            .map(|i| {
                env.cluster
                    .log(i)
                    .matches("unverified signing request refused")
                    .count()
            })
            .sum()
    }

    // A first, identical batch brings allocator and buffer high-water marks to
    // their steady state; memory is then measured around the second: a leak
    // (anything kept per request) shows as growth, warm-up does not.
    assert_eq!(batch(&mut env, "warmup", 1000, kinds).await, 100);
    let pids: Vec<_> = (0..3).map(|i| env.cluster.pid(i)).collect();
    let before: Vec<u64> = (0..3).map(|i| env.cluster.rss_kib(i)).collect();
    assert_eq!(batch(&mut env, "main", 1000, kinds).await, 100);
    let after: Vec<u64> = (0..3).map(|i| env.cluster.rss_kib(i)).collect();
    println!("node RSS KiB before {before:?} after {after:?}");
    for i in 0..3 {
        assert_eq!(env.cluster.pid(i), pids[i], "node{i} restarted");
        assert!(
            after[i] * 100 <= before[i] * 120,
            "node{i} memory grew from {} to {} KiB",
            before[i],
            after[i]
        );
    }
}
