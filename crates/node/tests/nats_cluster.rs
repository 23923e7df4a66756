//! Three `tessera start` nodes on a three-server NATS cluster whose streams and
//! buckets have three replicas: the leader of the signing request stream is
//! killed while 100 signing requests are in flight. Every request gets exactly
//! one result, and every signature verifies under k256.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};
use sha2::{Digest, Sha256};
use tessera_transport::{mpc, NatsAccess};
use tessera_types::wire::ResultType;

const REQUESTS: usize = 100;
const WAIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_stream_leader_loses_no_request_and_signs_none_twice() {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.nats_servers = 3;
    let mut cluster = ProcCluster::start(options).await;
    let access = NatsAccess::new(cluster.nats_url());
    let mut client = RawClient::connect_with(&access, Some("ha")).await;

    client
        .publish_keygen("wallet-ha", raw::keygen(&key, "wallet-ha", &[]))
        .await;
    let kg = client.next_keygen(WAIT).await.expect("keygen result");
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    let pubkey = kg.ecdsa_pub_key.clone().expect("ecdsa key");

    let digests: Vec<[u8; 32]> = (0..REQUESTS)
        .map(|i| Sha256::digest(format!("ha {i}").as_bytes()).into())
        .collect();
    let publish = digests.iter().enumerate().map(|(i, digest)| {
        let client = &client;
        let key = &key;
        async move {
            let tx_id = format!("ha-{i}");
            let f = SignFields {
                key_type: "secp256k1",
                wallet: "wallet-ha",
                tx_id: &tx_id,
                tx: digest,
            };
            client.publish_sign(&tx_id, raw::sign(key, &f, &[])).await;
        }
    });
    // Half are in the stream, then the signing stream's leader dies while the
    // rest are published and all are being served.
    let (first, rest): (Vec<_>, Vec<_>) = publish.enumerate().partition(|(i, _)| i % 2 == 0);
    futures::future::join_all(first.into_iter().map(|(_, f)| f)).await;
    let nats = cluster.nats.three();
    let leader = nats
        .wait_stream_leader(mpc::SIGNING_STREAM, None, Duration::from_secs(30))
        .await
        .expect("the signing stream has a leader");
    nats.kill(leader);
    futures::future::join_all(rest.into_iter().map(|(_, f)| f)).await;
    let nats = cluster.nats.three();
    let new_leader = nats
        .wait_stream_leader(mpc::SIGNING_STREAM, Some(leader), Duration::from_secs(30))
        .await
        .expect("a new leader is elected");
    assert_ne!(new_leader, leader);

    // One result per request (a result is one message in the result stream,
    // however often it is delivered).
    let mut results: BTreeMap<String, BTreeMap<u64, _>> = BTreeMap::new();
    while results.len() < REQUESTS {
        let Some((seq, ev)) = client.next_signing_seq(WAIT).await else {
            panic!(
                "{} of {REQUESTS} results after {WAIT:?}; node0's log:\n{}",
                results.len(),
                cluster.log_tail(0)
            );
        };
        results.entry(ev.tx_id.clone()).or_default().insert(seq, ev);
    }
    // Anything published twice would arrive within a few seconds more.
    while let Some((seq, ev)) = client.next_signing_seq(Duration::from_secs(3)).await {
        results.entry(ev.tx_id.clone()).or_default().insert(seq, ev);
    }
    let mut failures = 0;
    for (i, digest) in digests.iter().enumerate() {
        let copies = &results[&format!("ha-{i}")];
        assert_eq!(copies.len(), 1, "ha-{i} has {} results", copies.len());
        let ev = copies.values().next().unwrap();
        if ev.result_type == ResultType::Success {
            check::ecdsa(&pubkey, digest, ev);
        } else {
            failures += 1;
            eprintln!("ha-{i}: {:?} {}", ev.error_code, ev.error_reason);
        }
    }
    eprintln!(
        "{REQUESTS} requests, leader server {leader} killed, {} succeeded, {failures} failed",
        REQUESTS - failures
    );
    assert!(
        failures < REQUESTS / 2,
        "{failures} of {REQUESTS} failed while the stream leader changed"
    );
}
