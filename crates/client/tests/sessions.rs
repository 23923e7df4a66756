//! Session configuration on the wire (`tessera_session` and its signature) and
//! tenant key registrations in the tenant key bucket, against a real nats-server.

mod common;

use common::*;
use tessera_client::{new_session_id, ClientError, ErrorCode, KeyType, SignRequest};
use tessera_security::{InitiatorKey, InitiatorKeyKind, NodeIdentity};
use tessera_testkit::wait::still_pending;
use tessera_transport::async_nats::jetstream::kv::Store;
use tessera_transport::mpc;
use tessera_types::wire::{DynamicKey, SessionSpec, TenantKeyRegistration};
use tessera_types::{GenerateKeyMessage, KeygenResultEvent, NodeId, PublicIdentity, SignTxMessage};

fn device(name: &str) -> PublicIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap()).public()
}

fn spec(session_id: &str, device: &PublicIdentity) -> SessionSpec {
    SessionSpec {
        session_id: Some(session_id.to_string()),
        players: Some(vec![device.node_id.to_string(), "node0".into()]),
        dynamic_public_keys: [(device.node_id.to_string(), DynamicKey::of(device))].into(),
        threshold: Some(1),
    }
}

/// Reads `player`'s registration for `session_id` as a node does.
async fn read_registration(
    kv: &Store,
    session_id: &str,
    player: &str,
) -> Option<TenantKeyRegistration> {
    let entry = mpc::tenant_key_entry(session_id, player);
    let value = within("kv get", kv.get(entry)).await.expect("kv get")?;
    Some(TenantKeyRegistration::from_json(&value).expect("registration json"))
}

fn assert_signed(reg: &TenantKeyRegistration, initiator: &InitiatorKey) {
    initiator
        .verify(&reg.signing_bytes(), &reg.signature)
        .expect("initiator signature verifies");
}

#[tokio::test]
async fn register_tenant_key_writes_a_signed_entry_per_session() {
    let server = nats().await;
    let config = config(&server, InitiatorKeyKind::P256, Some("app-1"));
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let dev = device("device-7");
    let (s1, s2) = (new_session_id(), new_session_id());

    within("register", client.register_tenant_key(&s1, &dev))
        .await
        .expect("register s1");
    within("register", client.register_tenant_key(&s2, &dev))
        .await
        .expect("register s2");

    let node = Node::connect(&server).await;
    let kv = within(
        "open bucket",
        mpc::tenant_keys(&node.js, &mpc::StreamSettings::default()),
    )
    .await
    .expect("tenant key bucket");
    let status = within("bucket status", kv.status()).await.unwrap();
    assert_eq!(status.bucket(), mpc::TENANT_KEYS_BUCKET);
    assert_eq!(status.max_age(), mpc::TENANT_KEY_MAX_AGE);

    let first = read_registration(&kv, &s1, "device-7")
        .await
        .expect("s1 entry");
    assert_eq!(first.session_id, s1);
    assert_eq!(first.identity().unwrap(), dev);
    assert_signed(&first, &initiator);
    let second = read_registration(&kv, &s2, "device-7")
        .await
        .expect("s2 entry");
    assert_eq!(second.session_id, s2);
    assert_signed(&second, &initiator);
    assert_ne!(first.signing_bytes(), second.signing_bytes());
    // The registration is bound to its session: moved to the other, it fails.
    let moved = TenantKeyRegistration {
        session_id: s2.clone(),
        ..first
    };
    assert!(initiator
        .verify(&moved.signing_bytes(), &moved.signature)
        .is_err());
    assert!(read_registration(&kv, &s1, "device-8").await.is_none());
}

#[tokio::test]
async fn register_tenant_key_refuses_invalid_session_ids() {
    let server = nats().await;
    let client = connect(config(&server, InitiatorKeyKind::Ed25519, None)).await;
    let dev = device("device-1");
    let long = "s".repeat(tessera_types::wire::MAX_CLIENT_SESSION_ID_LEN + 1);
    for bad in ["", "a.b", "a b", "a*", long.as_str()] {
        let err = client.register_tenant_key(bad, &dev).await.unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidSessionId(_)),
            "{bad:?}: {err:?}"
        );
        assert_eq!(err.code(), ErrorCode::MsgValidation);
    }
    // Nothing was written: the bucket was never even created.
    let node = Node::connect(&server).await;
    assert!(node
        .js
        .get_key_value(mpc::TENANT_KEYS_BUCKET)
        .await
        .is_err());
}

#[tokio::test]
async fn register_tenant_key_waits_for_nats_to_return() {
    let mut server = nats().await;
    let config = config(&server, InitiatorKeyKind::Ed25519, None);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    server.kill();
    let sid = new_session_id();
    let mut task = tokio::spawn({
        let (client, sid) = (client.clone(), sid.clone());
        async move { client.register_tenant_key(&sid, &device("device-2")).await }
    });
    // Must not happen: the registration ending (in an error) while NATS is down.
    assert!(
        still_pending(OUTAGE, &mut task).await,
        "registration must wait, not fail"
    );
    server.restart().await.expect("nats-server restarts");
    within("register after the restart", task)
        .await
        .unwrap()
        .expect("registered once NATS is back");
    let node = Node::connect(&server).await;
    let kv = mpc::tenant_keys(&node.js, &mpc::StreamSettings::default())
        .await
        .unwrap();
    let reg = read_registration(&kv, &sid, "device-2")
        .await
        .expect("entry");
    assert_signed(&reg, &initiator);
}

#[tokio::test]
async fn keygen_in_session_sends_a_signed_session() {
    let server = nats().await;
    let config = config(&server, InitiatorKeyKind::Ed25519, None);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::KEYGEN_STREAM).await;
    let dev = device("device-3");
    let session = spec(&new_session_id(), &dev);

    let task = tokio::spawn({
        let (client, session) = (client.clone(), session.clone());
        async move { client.keygen_in_session("w-s", session).await }
    });
    let req = next_request(&mut requests).await;
    let msg = GenerateKeyMessage::from_json(&req.payload).unwrap();
    assert_eq!(msg.session.as_ref(), Some(&session));
    initiator.verify(b"w-s", &msg.signature).unwrap();
    initiator
        .verify(
            &msg.session_signing_bytes(),
            msg.session_signature.as_deref().expect("session signature"),
        )
        .unwrap();
    let checked = msg.checked_session().unwrap();
    assert_eq!(checked.dynamic_identities()[&dev.node_id], dev);

    let event = KeygenResultEvent::success("w-s", [0x11; 64], [0x22; 32]);
    node.publish_result(
        mpc::keygen_result(None, "w-s"),
        "keygen:w-s",
        event.to_json().unwrap(),
    )
    .await;
    let got = within("keygen", task).await.unwrap().unwrap();
    assert_eq!(got.event, event);

    // Checked before anything is published, as a node would.
    let bad = SessionSpec {
        threshold: Some(0),
        ..session
    };
    let err = client.keygen_in_session("w-bad", bad).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidThreshold);
}

#[tokio::test]
async fn sign_with_a_session_sends_a_signed_session() {
    let server = nats().await;
    let config = config(&server, InitiatorKeyKind::P256, None);
    let initiator = config.initiator.public();
    let client = connect(config).await;
    let node = Node::connect(&server).await;
    let mut requests = node.requests(mpc::SIGNING_STREAM).await;
    let session = spec(&new_session_id(), &device("device-4"));
    let req = SignRequest {
        key_type: KeyType::Ed25519,
        wallet_id: "w-s".into(),
        tx_id: "tx-s".into(),
        tx: b"hello".to_vec(),
        network_internal_code: "sol".into(),
        derivation_path: Some(vec![0, 5]),
        session: Some(session.clone()),
    };
    let msg = client.sign_message(req.clone());
    client.publish_sign(&msg).await.unwrap();
    let got = next_request(&mut requests).await;
    let sent = SignTxMessage::from_json(&got.payload).unwrap();
    assert_eq!(sent, msg);
    assert_eq!(sent.session.as_ref(), Some(&session));
    initiator
        .verify(
            &sent.session_signing_bytes(),
            sent.session_signature.as_deref().unwrap(),
        )
        .unwrap();

    let duplicate = SessionSpec {
        players: Some(vec!["node0".into(), "node0".into()]),
        ..session
    };
    let err = client
        .sign(SignRequest {
            session: Some(duplicate),
            ..req
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Wire(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::MsgValidation);
}

#[tokio::test]
async fn register_tenant_key_gives_up_after_the_publish_timeout() {
    let mut server = nats().await;
    let config = config(&server, InitiatorKeyKind::Ed25519, None)
        .with_publish_timeout(std::time::Duration::from_millis(600));
    let client = connect(config).await;
    server.kill();
    let err = within(
        "register without nats",
        client.register_tenant_key(&new_session_id(), &device("device-5")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ClientError::TenantKey { .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::MessageDelivery);
    assert!(err.is_transient());
}
