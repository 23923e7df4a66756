//! Which results reach which client, and when: ClientID scoping, results that
//! arrive before anyone waits, timeouts.

mod common;

use std::time::Duration;

use common::*;
use tessera_client::{ClientError, ErrorCode, KeyType, SignRequest};
use tessera_security::InitiatorKeyKind;
use tessera_transport::mpc;
use tessera_types::{KeygenResultEvent, SigningIds, SigningResultEvent};

fn signed(tx_id: &str, r: u8) -> SigningResultEvent {
    let ids = SigningIds {
        wallet_id: "w".into(),
        tx_id: tx_id.into(),
        network_internal_code: "eth".into(),
    };
    SigningResultEvent::ecdsa_success(ids, [r; 32], [r; 32], 0)
}

#[tokio::test]
async fn each_client_id_gets_only_its_own_results() {
    let server = nats().await;
    let c1 = connect(config(&server, InitiatorKeyKind::Ed25519, Some("c1"))).await;
    let c2 = connect(config(&server, InitiatorKeyKind::Ed25519, Some("c2"))).await;
    let plain = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let node = Node::connect(&server).await;

    // Same wallet id and tx id for everyone: only the subject tells them apart.
    for (cid, byte) in [("c1", 1u8), ("c2", 2u8)] {
        let keygen = KeygenResultEvent::success("w", [byte; 64], [byte; 32]);
        node.publish_result(
            mpc::keygen_result(Some(cid), "w"),
            &format!("k-{cid}"),
            keygen.to_json().unwrap(),
        )
        .await;
        node.publish_result(
            mpc::signing_result(Some(cid)),
            &format!("s-{cid}"),
            signed("t", byte).to_json().unwrap(),
        )
        .await;
    }
    for (client, byte) in [(&c1, 1u8), (&c2, 2u8)] {
        let k = within("keygen", client.await_keygen("w", WAIT))
            .await
            .unwrap();
        assert_eq!(k.eddsa_public_key(), Some([byte; 32]));
        let s = within("signing", client.await_signing("t", WAIT))
            .await
            .unwrap();
        assert_eq!(s.ecdsa_signature().unwrap().r, [byte; 32]);
    }
    // The unscoped client sees none of the scoped results ...
    let err = plain.await_keygen("w", QUIET).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { what: "keygen", .. }));
    let err = plain.await_signing("t", QUIET).await.unwrap_err();
    assert!(matches!(
        err,
        ClientError::Timeout {
            what: "signing",
            ..
        }
    ));
    // ... only unscoped ones, which the scoped clients do not see.
    node.publish_result(
        mpc::keygen_result(None, "w"),
        "k-plain",
        KeygenResultEvent::success("w", [3; 64], [3; 32])
            .to_json()
            .unwrap(),
    )
    .await;
    node.publish_result(
        mpc::signing_result(None),
        "s-plain",
        signed("t", 3).to_json().unwrap(),
    )
    .await;
    let k = within("keygen", plain.await_keygen("w", WAIT))
        .await
        .unwrap();
    assert_eq!(k.eddsa_public_key(), Some([3; 32]));
    let s = within("signing", plain.await_signing("t", WAIT))
        .await
        .unwrap();
    assert_eq!(s.ecdsa_signature().unwrap().r, [3; 32]);
    assert!(c1.await_signing("t", QUIET).await.is_err());
    assert!(c2.await_keygen("w", QUIET).await.is_err());
}

#[tokio::test]
async fn a_result_that_arrived_before_anyone_waited_is_kept() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, Some("early"))).await;
    let node = Node::connect(&server).await;
    node.publish_result(
        mpc::signing_result(Some("early")),
        "s-early",
        signed("tx-early", 9).to_json().unwrap(),
    )
    .await;
    // The pump has taken (and acked) it before anyone asked for it.
    node.result_stream_drained().await;
    let got = within("signing", client.await_signing("tx-early", WAIT))
        .await
        .unwrap();
    assert_eq!(got.tx_id(), "tx-early");
    // Taken once: a second wait has nothing to get.
    assert!(client.await_signing("tx-early", QUIET).await.is_err());
}

#[tokio::test]
async fn timeouts_are_typed_and_a_late_result_is_still_delivered() {
    let server = nats().await;
    let config = config(&server, InitiatorKeyKind::P256, None)
        .with_result_timeout(Duration::from_millis(300));
    let client = connect(config).await;
    let node = Node::connect(&server).await;

    let req = SignRequest {
        key_type: KeyType::Ed25519,
        wallet_id: "w".into(),
        tx_id: "tx-late".into(),
        tx: b"message".to_vec(),
        network_internal_code: "sol".into(),
        derivation_path: None,
        session: None,
    };
    let err = within("sign", client.sign(req)).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Timeout { what: "signing", id } if id == "tx-late"),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::NetworkTimeout);
    let err = within("keygen", client.keygen("w-late")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NetworkTimeout);

    // The node answers after the caller gave up: a later await gets it.
    node.publish_result(
        mpc::signing_result(None),
        "s-late",
        signed("tx-late", 4).to_json().unwrap(),
    )
    .await;
    let got = within("signing", client.await_signing("tx-late", WAIT))
        .await
        .unwrap();
    assert_eq!(got.ecdsa_signature().unwrap().r, [4; 32]);
}

#[tokio::test]
async fn unreadable_results_are_dropped_without_blocking_others() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let node = Node::connect(&server).await;
    node.publish_result(mpc::signing_result(None), "junk", b"not json".to_vec())
        .await;
    node.publish_result(
        mpc::signing_result(None),
        "good",
        signed("tx-good", 5).to_json().unwrap(),
    )
    .await;
    let got = within("signing", client.await_signing("tx-good", WAIT))
        .await
        .unwrap();
    assert_eq!(got.tx_id(), "tx-good");
    node.result_stream_drained().await;
}

#[tokio::test]
async fn a_deleted_result_consumer_is_recreated() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, Some("re"))).await;
    let node = Node::connect(&server).await;
    let stream = node.js.get_stream(mpc::RESULT_STREAM).await.unwrap();
    within(
        "delete consumer",
        stream.delete_consumer(&mpc::signing_result_consumer(Some("re"))),
    )
    .await
    .unwrap();
    // Published while no consumer exists: the recreated consumer (deliver
    // all) still finds it in the work queue.
    node.publish_result(
        mpc::signing_result(Some("re")),
        "s-re",
        signed("tx-re", 6).to_json().unwrap(),
    )
    .await;
    let got = within("signing", client.await_signing("tx-re", WAIT))
        .await
        .unwrap();
    assert_eq!(got.tx_id(), "tx-re");
}
