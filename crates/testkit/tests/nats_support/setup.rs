//! What nodes and clients do with JetStream, for the permission tests.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, PullConsumer};
use async_nats::jetstream::{self, kv, stream};
use futures::StreamExt;

use super::{Conn, WAIT};

/// The streams as mpcium names and creates them.
pub fn mpcium_streams() -> [stream::Config; 3] {
    let request = |name: &str, subject: &str| stream::Config {
        name: name.into(),
        subjects: vec![subject.into()],
        max_age: Duration::from_secs(7 * 24 * 3600),
        max_bytes: 100_000_000,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    [
        request("mpc-keygen", "mpc.keygen_request.*"),
        request("mpc-signing", "mpc.signing_request.*"),
        stream::Config {
            name: "mpc".into(),
            subjects: vec![
                "mpc.mpc_keygen_result.>".into(),
                "mpc.mpc_signing_result.>".into(),
                "mpc.mpc_reshare_result.>".into(),
            ],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        },
    ]
}

/// Tessera's reshare request stream (as the signing one; mpcium has none).
pub fn reshare_stream() -> stream::Config {
    stream::Config {
        name: "mpc-reshare".into(),
        subjects: vec!["mpc.reshare_request.*".into()],
        max_age: Duration::from_secs(7 * 24 * 3600),
        max_bytes: 100_000_000,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

/// What a node sets up when it starts: the streams, the ledger and the three request consumers.
pub async fn node_setup(node: &Conn) -> kv::Store {
    for config in mpcium_streams().into_iter().chain([reshare_stream()]) {
        node.js.get_or_create_stream(config).await.expect("stream");
    }
    for (stream, name) in [
        ("mpc-keygen", "mpc_keygen_request"),
        ("mpc-signing", "mpc_signing_request"),
        ("mpc-reshare", "mpc_reshare_request"),
    ] {
        request_consumer(node, stream, name).await;
    }
    node.js
        .create_key_value(kv::Config {
            bucket: "tessera_requests".into(),
            history: 1,
            ..Default::default()
        })
        .await
        .expect("ledger bucket")
}

pub async fn request_consumer(node: &Conn, stream: &str, name: &str) -> PullConsumer {
    node.js
        .get_stream(stream)
        .await
        .expect("request stream")
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .expect("request consumer")
}

pub async fn tenant_keys(conn: &Conn) -> kv::Store {
    match conn.js.get_key_value("mpc-tenant-keys").await {
        Ok(store) => store,
        Err(_) => conn
            .js
            .create_key_value(kv::Config {
                bucket: "mpc-tenant-keys".into(),
                history: 1,
                ..Default::default()
            })
            .await
            .expect("tenant key bucket"),
    }
}

/// One message from `consumer`, double-acked (the ack itself needs permission).
pub async fn pull_one(consumer: &PullConsumer) -> jetstream::Message {
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .expect("pull");
    let msg = tokio::time::timeout(WAIT, batch.next())
        .await
        .expect("a message in time")
        .expect("a message")
        .expect("a good message");
    msg.double_ack().await.expect("ack accepted");
    msg
}

/// Waits for a message published by [`Conn::publish`] (others are round-trip echoes).
pub async fn received(sub: &mut async_nats::Subscriber, what: &str) {
    let published = async {
        while let Some(msg) = sub.next().await {
            if &msg.payload[..] == b"x" {
                return;
            }
        }
        panic!("{what}: subscription ended");
    };
    tokio::time::timeout(WAIT, published)
        .await
        .unwrap_or_else(|_| panic!("{what} delivered in time"));
}

/// Sends a JetStream API request without waiting for an answer that never comes.
pub async fn api(conn: &Conn, subject: &str, body: &str) {
    conn.client
        .publish_with_reply(
            subject.to_string(),
            conn.client.new_inbox(),
            body.to_string().into(),
        )
        .await
        .expect("queued");
}
