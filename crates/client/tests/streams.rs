//! Streams and consumers someone else created first, with other settings.

mod common;

use common::*;
use tessera_security::InitiatorKeyKind;
use tessera_transport::async_nats::jetstream::consumer::{pull, AckPolicy};
use tessera_transport::async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType};
use tessera_transport::mpc;
use tessera_types::KeygenResultEvent;

#[tokio::test]
async fn existing_streams_with_other_settings_are_used_as_they_are() {
    let server = nats().await;
    let node = Node::connect(&server).await;
    for name in [mpc::KEYGEN_STREAM, mpc::SIGNING_STREAM, mpc::RESULT_STREAM] {
        let subjects = match name {
            mpc::KEYGEN_STREAM => vec![mpc::KEYGEN_REQUESTS.to_string()],
            mpc::SIGNING_STREAM => vec![mpc::SIGNING_REQUESTS.to_string()],
            _ => mpc::RESULT_SUBJECTS.iter().map(|s| s.to_string()).collect(),
        };
        within(
            "create stream",
            node.js.create_stream(Config {
                name: name.to_string(),
                subjects,
                retention: RetentionPolicy::Limits,
                storage: StorageType::Memory,
                max_messages: 10_000,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    }
    // An mpcium-style consumer with our name but a broader filter.
    node.js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("mpc_keygen_result".into()),
                ack_policy: AckPolicy::Explicit,
                filter_subject: "mpc.mpc_keygen_result.>".into(),
                ..Default::default()
            },
            mpc::RESULT_STREAM,
        )
        .await
        .unwrap();

    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;

    let mut stream = node.js.get_stream(mpc::RESULT_STREAM).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.retention, RetentionPolicy::Limits);
    assert_eq!(info.config.storage, StorageType::Memory);
    let consumer = stream.consumer_info("mpc_keygen_result").await.unwrap();
    let filters = if consumer.config.filter_subjects.is_empty() {
        vec![consumer.config.filter_subject.clone()]
    } else {
        consumer.config.filter_subjects.clone()
    };
    assert_eq!(filters, vec!["mpc.mpc_keygen_result.*".to_string()]);

    // A full round trip on the limits-retention streams.
    let mut requests = node.requests(mpc::KEYGEN_STREAM).await;
    let task = tokio::spawn({
        let client = client.clone();
        async move { client.keygen("wallet-x").await }
    });
    next_request(&mut requests).await;
    let event = KeygenResultEvent::success("wallet-x", [7; 64], [8; 32]);
    node.publish_result(
        mpc::keygen_result(None, "wallet-x"),
        "k-x",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("keygen", task).await.unwrap().unwrap();
    assert_eq!(got.event, event);

    // A second client with the same (no) client id connects too: the
    // consumer is already as it wants it.
    let again = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    drop(again);
}

#[tokio::test]
async fn connect_fails_cleanly_without_a_server() {
    let server = nats().await;
    let cfg = config(&server, InitiatorKeyKind::Ed25519, None);
    drop(server);
    let err = within("connect", tessera_client::Client::connect(cfg))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tessera_client::ErrorCode::NetworkConnection);
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}
