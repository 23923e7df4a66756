//! What the SDK publishes (mpcium's JSON, the initiator's and authorizers'
//! signatures, the ClientID header), and that the node's answer comes back.

mod common;

use common::*;
use tessera_client::{ClientError, ErrorCode, KeyType, SignRequest};
use tessera_security::{InitiatorKeyKind, InitiatorSigner};
use tessera_testkit::wait::still_pending;
use tessera_transport::mpc;
use tessera_types::wire::{b64, InitiatorMessage};
use tessera_types::{
    GenerateKeyMessage, KeygenResultEvent, SignTxMessage, SigningIds, SigningResultEvent,
};

async fn keygen_round_trip(kind: InitiatorKeyKind, client_id: Option<&str>) {
    let server = nats().await;
    let config = config(&server, kind, client_id);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::KEYGEN_STREAM).await;

    let task = tokio::spawn({
        let client = client.clone();
        async move { client.keygen("wallet-1").await }
    });
    let req = next_request(&mut requests).await;
    assert_eq!(req.subject.as_str(), "mpc.keygen_request.wallet-1");
    let header = req
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::CLIENT_ID_HEADER))
        .map(|v| v.as_str().to_string());
    assert_eq!(header.as_deref(), client_id);

    // Byte for byte what mpcium's Go client writes: struct order, no
    // authorizer field when there are none.
    let msg = GenerateKeyMessage::from_json(&req.payload).unwrap();
    let expected = format!(
        r#"{{"wallet_id":"wallet-1","signature":"{}"}}"#,
        b64::encode(&msg.signature)
    );
    assert_eq!(std::str::from_utf8(&req.payload).unwrap(), expected);
    initiator.verify(b"wallet-1", &msg.signature).unwrap();

    let event = KeygenResultEvent::success("wallet-1", [0x11; 64], [0x22; 32]);
    node.publish_result(
        mpc::keygen_result(client_id, "wallet-1"),
        "keygen:wallet-1",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("keygen", task).await.unwrap().unwrap();
    assert_eq!(got.event, event);
    assert_eq!(got.eddsa_public_key(), Some([0x22; 32]));
}

#[tokio::test]
async fn keygen_with_ed25519_initiator() {
    keygen_round_trip(InitiatorKeyKind::Ed25519, None).await;
}

#[tokio::test]
async fn keygen_with_p256_initiator_and_client_id() {
    keygen_round_trip(InitiatorKeyKind::P256, Some("app-1")).await;
}

#[tokio::test]
async fn keygen_error_results_are_data_with_the_node_code() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::KEYGEN_STREAM).await;
    let task = tokio::spawn({
        let client = client.clone();
        async move { client.keygen("w2").await }
    });
    next_request(&mut requests).await;
    let event = KeygenResultEvent::error("w2", ErrorCode::KeyAlreadyExists, "wallet exists");
    node.publish_result(
        mpc::keygen_result(None, "w2"),
        "k:w2",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("keygen", task).await.unwrap().unwrap();
    assert_eq!(
        got.error(),
        Some((ErrorCode::KeyAlreadyExists, "wallet exists"))
    );
    let err = got.into_result().unwrap_err();
    assert!(matches!(err, ClientError::Remote { .. }));
    assert_eq!(err.code(), ErrorCode::KeyAlreadyExists);
}

fn sign_request(tx_id: &str, path: Option<Vec<u32>>) -> SignRequest {
    SignRequest {
        key_type: KeyType::Secp256k1,
        wallet_id: "wallet-1".into(),
        tx_id: tx_id.into(),
        tx: vec![0xab; 32],
        network_internal_code: "eth".into(),
        derivation_path: path,
        session: None,
    }
}

#[tokio::test]
async fn sign_covers_the_path_with_tessera_path_signature() {
    let server = nats().await;
    let auth = InitiatorSigner::generate(InitiatorKeyKind::P256);
    let auth_key = auth.public();
    let config =
        config(&server, InitiatorKeyKind::Ed25519, Some("signer")).with_authorizer("ops", auth);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::SIGNING_STREAM).await;

    // With a path: the path signature covers it; authorizers approve.
    let task = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .sign(sign_request("tx-1", Some(vec![44, 60, 0, 0, 7])))
                .await
        }
    });
    let req = next_request(&mut requests).await;
    assert_eq!(req.subject.as_str(), "mpc.signing_request.tx-1");
    let text = std::str::from_utf8(&req.payload).unwrap().to_string();
    assert!(
        text.contains(r#""derivation_path":[44,60,0,0,7]"#),
        "{text}"
    );
    assert!(text.contains(r#""tessera_path_signature":""#), "{text}");
    let msg = SignTxMessage::from_json(&req.payload).unwrap();
    msg.validate().unwrap();
    initiator
        .verify(&msg.signing_bytes(), &msg.signature)
        .unwrap();
    initiator
        .verify(
            &msg.path_signing_bytes(),
            msg.path_signature.as_deref().unwrap(),
        )
        .unwrap();
    let approvals = msg.authorizer_signatures.clone().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].authorizer_id, "ops");
    auth_key
        .verify(&msg.authorizer_payload(), &approvals[0].signature)
        .unwrap();

    let event = SigningResultEvent::ecdsa_success(SigningIds::from(&msg), [1; 32], [2; 32], 0);
    node.publish_result(
        mpc::signing_result(Some("signer")),
        "sign:tx-1",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("sign", task).await.unwrap().unwrap();
    assert_eq!(got.event, event);
    assert_eq!(got.ecdsa_signature().unwrap().r, [1; 32]);
}

#[tokio::test]
async fn sign_without_a_path_is_mpcium_json() {
    let server = nats().await;
    let config = config(&server, InitiatorKeyKind::P256, None);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::SIGNING_STREAM).await;

    let task = tokio::spawn({
        let client = client.clone();
        async move { client.sign(sign_request("tx-2", None)).await }
    });
    let req = next_request(&mut requests).await;
    assert!(req
        .headers
        .as_ref()
        .is_none_or(|h| h.get(mpc::CLIENT_ID_HEADER).is_none()));
    let msg = SignTxMessage::from_json(&req.payload).unwrap();
    assert!(msg.path_signature.is_none());
    let expected = format!(
        r#"{{"key_type":"secp256k1","wallet_id":"wallet-1","network_internal_code":"eth","tx_id":"tx-2","tx":"{}","signature":"{}","derivation_path":null}}"#,
        b64::encode(&[0xab; 32]),
        b64::encode(&msg.signature),
    );
    assert_eq!(std::str::from_utf8(&req.payload).unwrap(), expected);
    initiator
        .verify(&msg.signing_bytes(), &msg.signature)
        .unwrap();

    let event = SigningResultEvent::error(
        SigningIds::from(&msg),
        ErrorCode::InsufficientParticipants,
        "2 of 3 nodes ready",
    );
    node.publish_result(
        mpc::signing_result(None),
        "sign:tx-2",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("sign", task).await.unwrap().unwrap();
    assert_eq!(
        got.error().map(|(c, _)| c),
        Some(ErrorCode::InsufficientParticipants)
    );
}

#[tokio::test]
async fn requests_a_node_would_refuse_are_not_sent() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let mut short = sign_request("tx-3", None);
    short.tx = vec![1; 31];
    let err = client.sign(short).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::MsgValidation);
    let hardened = sign_request("tx-4", Some(vec![1 << 31]));
    let err = client.sign(hardened).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidDerivationPath);
    let err = client.sign(sign_request("tx.5", None)).await.unwrap_err();
    assert!(matches!(err, ClientError::SubjectToken { field: "tx_id" }));
    let err = client.keygen("w.1").await.unwrap_err();
    assert!(matches!(
        err,
        ClientError::SubjectToken { field: "wallet_id" }
    ));
}

#[tokio::test]
async fn a_request_published_while_nats_is_down_is_stored_once_when_it_returns() {
    let mut server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    server.kill();
    let mut task = tokio::spawn({
        let client = client.clone();
        async move {
            let msg = client.sign_message(SignRequest {
                key_type: KeyType::Ed25519,
                wallet_id: "w-outage".into(),
                tx_id: "tx-outage".into(),
                tx: b"sent during an outage".to_vec(),
                network_internal_code: "sol".into(),
                derivation_path: None,
                session: None,
            });
            client.publish_sign(&msg).await
        }
    });
    // Must not happen: the publish ending (in an error) while NATS is down.
    assert!(
        still_pending(OUTAGE, &mut task).await,
        "publish must wait for the server, not fail"
    );
    server.restart().await.expect("nats-server restarts");
    within("publish after the restart", task)
        .await
        .unwrap()
        .expect("published once NATS is back");
    // Exactly one copy in the stream, whatever the retries did.
    let node = Node::connect(&server).await;
    let info = node
        .js
        .get_stream(mpc::SIGNING_STREAM)
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap();
    assert_eq!(info.state.messages, 1);
    let mut requests = node.requests(mpc::SIGNING_STREAM).await;
    let req = next_request(&mut requests).await;
    assert!(req
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::MSG_ID_HEADER))
        .is_some_and(|id| id.as_str().len() == 32));
}
