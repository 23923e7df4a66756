//! Which results the SDK believes: only those signed by a configured cluster
//! node and stored after the request they answer. Everything else is acked,
//! counted and dropped; no waiter ever gets it.

mod common;

use common::*;
use tessera_client::{
    Client, ClientConfig, ClientError, ErrorCode, KeyType, RejectedResults, SignRequest,
};
use tessera_security::{InitiatorKeyKind, InitiatorSigner, NodeIdentity};
use tessera_testkit::wait::{poll_until, POLL};
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::{KeygenResultEvent, NodeId, SigningIds, SigningResultEvent};

fn signed(tx_id: &str, r: u8) -> SigningResultEvent {
    let ids = SigningIds {
        wallet_id: "w".into(),
        tx_id: tx_id.into(),
        network_internal_code: "eth".into(),
    };
    SigningResultEvent::ecdsa_success(ids, [r; 32], [r; 32], 0)
}

fn sign_request(tx_id: &str) -> SignRequest {
    SignRequest {
        key_type: KeyType::Ed25519,
        wallet_id: "w".into(),
        tx_id: tx_id.into(),
        tx: b"message".to_vec(),
        network_internal_code: "sol".into(),
        derivation_path: None,
        session: None,
    }
}

async fn rejected_reaches(client: &Client, want: impl Fn(RejectedResults) -> bool) {
    let ok = poll_until(WAIT, POLL, || want(client.rejected_results())).await;
    assert!(
        ok,
        "rejected results stayed {:?}",
        client.rejected_results()
    );
}

#[tokio::test]
async fn unsigned_forged_and_foreign_results_never_reach_a_waiter() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, Some("app"))).await;
    let node = Node::connect(&server).await;
    let subject = mpc::signing_result(Some("app"));
    let forged = signed("tx-1", 0xee).to_json().unwrap();

    // Unsigned (as an mpcium node, or anyone with publish rights, sends it).
    let mut unsigned = HeaderMap::new();
    unsigned.insert(mpc::MSG_ID_HEADER, "forged-1");
    node.publish_raw_result(subject.clone(), unsigned, forged.clone())
        .await;
    // Signed correctly, but by a key that is not a cluster node's: under its
    // own name, and under a node's name.
    let stranger = NodeIdentity::generate(NodeId::new("node9").unwrap());
    let h = signed_headers(&stranger, &subject, "forged-2", &forged);
    node.publish_raw_result(subject.clone(), h, forged.clone())
        .await;
    let impostor = NodeIdentity::generate(NodeId::new("node0").unwrap());
    let h = signed_headers(&impostor, &subject, "forged-3", &forged);
    node.publish_raw_result(subject.clone(), h, forged.clone())
        .await;
    // A genuine signature over other bytes (another tx's result, replayed).
    let other = signed("tx-other", 0xdd).to_json().unwrap();
    let h = signed_headers(node_identity(), &subject, "forged-4", &other);
    node.publish_raw_result(subject.clone(), h, forged.clone())
        .await;
    rejected_reaches(&client, |r| {
        r.unsigned == 1 && r.unknown_signer == 1 && r.bad_signature == 2
    })
    .await;
    node.result_stream_drained().await;
    // None of them is held for a later caller either.
    let err = client.await_signing("tx-1", QUIET).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");

    // The node's own result gets through.
    node.publish_result(
        subject.clone(),
        "real-1",
        signed("tx-1", 1).to_json().unwrap(),
    )
    .await;
    let got = within("signing", client.await_signing("tx-1", WAIT))
        .await
        .unwrap();
    assert_eq!(got.ecdsa_signature().unwrap().r, [1; 32]);
    assert_eq!(client.rejected_results().total(), 4);
}

#[tokio::test]
async fn a_genuine_result_stored_before_the_request_is_not_its_answer() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::SIGNING_STREAM).await;
    // A previous run's result for the same tx id, signed by a real node, and
    // already taken into the client's unclaimed results.
    node.publish_result(
        mpc::signing_result(None),
        "old-run",
        signed("tx-again", 7).to_json().unwrap(),
    )
    .await;
    node.result_stream_drained().await;

    let task = tokio::spawn({
        let client = client.clone();
        async move { client.sign(sign_request("tx-again")).await }
    });
    next_request(&mut requests).await;
    rejected_reaches(&client, |r| r.before_request == 1).await;
    node.publish_result(
        mpc::signing_result(None),
        "this-run",
        signed("tx-again", 8).to_json().unwrap(),
    )
    .await;
    let got = within("sign", task).await.unwrap().unwrap();
    assert_eq!(got.ecdsa_signature().unwrap().r, [8; 32]);
}

#[tokio::test]
async fn publish_then_await_uses_the_request_mark_and_keeps_early_results() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, Some("pa"))).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::KEYGEN_STREAM).await;
    let subject = mpc::keygen_result(Some("pa"), "w-pa");
    node.publish_result(
        subject.clone(),
        "old",
        KeygenResultEvent::success("w-pa", [1; 64], [1; 32])
            .to_json()
            .unwrap(),
    )
    .await;
    let msg = client.keygen_message("w-pa");
    client.publish_keygen(&msg).await.unwrap();
    next_request(&mut requests).await;
    node.publish_result(
        subject.clone(),
        "new",
        KeygenResultEvent::success("w-pa", [2; 64], [2; 32])
            .to_json()
            .unwrap(),
    )
    .await;
    // Both arrive before anyone waits; only the one after the request is kept.
    node.result_stream_drained().await;
    let got = within("keygen", client.await_keygen("w-pa", WAIT))
        .await
        .unwrap();
    assert_eq!(got.eddsa_public_key(), Some([2; 32]));
    assert_eq!(client.rejected_results().before_request, 1);
}

#[tokio::test]
async fn a_result_from_before_connect_needs_the_callers_mark() {
    let server = nats().await;
    let node = Node::connect(&server).await;
    // A first process publishes the request and keeps the mark (it may crash).
    let first = connect(config(&server, InitiatorKeyKind::Ed25519, Some("p1"))).await;
    let mark = first
        .publish_keygen(&first.keygen_message("w-y"))
        .await
        .unwrap();
    // Results arrive while no process with client id "p2" runs.
    for wallet in ["w-x", "w-y"] {
        node.publish_result(
            mpc::keygen_result(Some("p2"), wallet),
            wallet,
            KeygenResultEvent::success(wallet, [9; 64], [9; 32])
                .to_json()
                .unwrap(),
        )
        .await;
    }
    let second = connect(config(&server, InitiatorKeyKind::Ed25519, Some("p2"))).await;
    node.result_stream_drained().await;
    // Without a mark, results stored before the client connected are refused ...
    let err = second.await_keygen("w-x", QUIET).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert_eq!(second.rejected_results().before_request, 1);
    // ... with the request's mark, the caller says which request it waits for.
    let got = within("keygen since", second.await_keygen_since("w-y", mark, WAIT))
        .await
        .unwrap();
    assert_eq!(got.eddsa_public_key(), Some([9; 32]));
}

#[tokio::test]
async fn a_config_without_identities_is_refused_unless_it_opts_out() {
    let server = nats().await;
    let bare = ClientConfig::new(
        server.url(),
        InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
    );
    let err = Client::connect(bare).await.unwrap_err();
    assert!(matches!(err, ClientError::NoClusterIdentities), "{err:?}");
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);

    // The migration opt-out: unsigned results are accepted.
    let open = ClientConfig::new(
        server.url(),
        InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
    )
    .with_result_timeout(WAIT)
    .accepting_unsigned_results();
    let client = connect(open).await;
    let node = Node::connect(&server).await;
    let mut unsigned = HeaderMap::new();
    unsigned.insert(mpc::MSG_ID_HEADER, "legacy");
    node.publish_raw_result(
        mpc::signing_result(None),
        unsigned,
        signed("tx-legacy", 6).to_json().unwrap(),
    )
    .await;
    let got = within("signing", client.await_signing("tx-legacy", WAIT))
        .await
        .unwrap();
    assert_eq!(got.tx_id(), "tx-legacy");
    assert_eq!(client.rejected_results(), RejectedResults::default());
}
