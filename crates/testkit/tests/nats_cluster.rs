//! A three-server JetStream cluster: a replicated stream outlives its leader,
//! and the locked-down configuration works across routes with TLS.

mod nats_support;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use nats_support::{addrs, connect_to, security, WAIT};
use tessera_testkit::{NatsCluster, NatsServerTls, TestCa};
use tokio::time::Instant;

/// How long a cluster may take to elect a new leader or recover, on a busy machine.
const ELECTION: Duration = Duration::from_secs(30);

fn replicated(name: &str, subject: &str) -> stream::Config {
    stream::Config {
        name: name.into(),
        subjects: vec![subject.into()],
        num_replicas: 3,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

/// Creates `config`; right after a cluster forms, the meta leader may not
/// know every peer's JetStream yet ("no suitable peers"), as in production.
async fn create(js: &jetstream::Context, config: stream::Config) {
    let deadline = Instant::now() + ELECTION;
    loop {
        match js.create_stream(config.clone()).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline && e.to_string().contains("no suitable peers") => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("stream {}: {e}", config.name),
        }
    }
}

/// Publishes until the stream acknowledges, or `within` passes.
async fn publish_until_stored(js: &jetstream::Context, subject: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        match js.publish(subject.to_string(), "m".into()).await {
            Ok(ack) => match ack.await {
                Ok(_) => return,
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{subject} not stored within {within:?}: {last}");
}

/// The stream's info as its leader gives it (a replica without a leader answers too).
async fn led_info(js: &jetstream::Context, name: &str) -> stream::Info {
    let deadline = Instant::now() + ELECTION;
    loop {
        if let Ok(mut stream) = js.get_stream(name).await {
            if let Ok(info) = stream.info().await {
                if info.cluster.as_ref().is_some_and(|c| c.leader.is_some()) {
                    return info.clone();
                }
            }
        }
        assert!(Instant::now() < deadline, "{name} has no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_replicated_stream_gets_a_new_leader_when_its_leader_dies() {
    let mut cluster = NatsCluster::start().await.expect("cluster starts");
    assert_eq!(cluster.urls().split(',').count(), 3);
    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(3)))
        .retry_on_initial_connect()
        .connect(addrs(&cluster.urls()))
        .await
        .expect("connect");
    let js = jetstream::new(client);
    create(&js, replicated("orders", "orders.>")).await;
    publish_until_stored(&js, "orders.1", WAIT).await;
    let leader = cluster
        .wait_stream_leader("orders", None, WAIT)
        .await
        .expect("a leader");
    let name = cluster.server_name(leader).to_string();
    cluster.kill(leader);
    assert!(!cluster.is_running(leader));
    let next = cluster
        .wait_stream_leader("orders", Some(leader), ELECTION)
        .await
        .expect("a new leader");
    assert_ne!(cluster.server_name(next), name);
    publish_until_stored(&js, "orders.2", ELECTION).await;
    // The old leader comes back on its ports and store and catches up.
    cluster.restart(leader).await.expect("restart");
    cluster.wait_healthy(ELECTION).await.expect("healthy again");
    let info = led_info(&js, "orders").await;
    assert_eq!(info.state.messages, 2, "{info:?}");
    assert_eq!(info.cluster.as_ref().expect("clustered").replicas.len(), 2);
}

#[tokio::test]
async fn a_locked_down_cluster_serves_nodes_and_refuses_clients() {
    let mut ca = TestCa::new("nats test ca").expect("ca");
    let tls = NatsServerTls::from_ca(&mut ca).expect("server cert");
    let cluster = NatsCluster::start_secure(security(Some(tls)))
        .await
        .expect("secure cluster starts");
    assert!(cluster.urls().starts_with("tls://"), "{}", cluster.urls());
    let node_file = cluster.password_file("node0").expect("node password");
    let node = connect_to(&cluster.urls(), Some(ca.ca_file()), "node0", node_file).await;
    let mut config = replicated("mpc-signing", "mpc.signing_request.*");
    config.max_age = Duration::from_secs(7 * 24 * 3600);
    node.js
        .create_stream(config)
        .await
        .expect("node creates it");
    // A client on another server of the cluster.
    let app_file = cluster.password_file("app").expect("app password");
    let mut app = connect_to(&cluster.url(2), Some(ca.ca_file()), "app", app_file).await;
    publish_until_stored(&app.js, "mpc.signing_request.tx1", WAIT).await;
    assert!(app.js.delete_stream("mpc-signing").await.is_err());
    app.refused_publish("$JS.API.STREAM.DELETE.mpc-signing")
        .await;
    assert!(cluster
        .wait_stream_leader("mpc-signing", None, WAIT)
        .await
        .is_ok());
}
