//! Forged result events against a real cluster (three `tessera start`
//! processes, nats-server with the reference permissions, Consul): someone who
//! may publish on the result subjects (here with a node's own NATS
//! credential, since permissions are not what protects the client) plants
//! results for a wallet and for transactions *before* the SDK asks for them,
//! unsigned and signed with a key that is not a node's. The SDK must return
//! the cluster's real answers, whose keys and signatures verify with k256 and
//! ed25519-dalek, count every forgery it dropped, and the cluster must keep
//! serving. One more check ties docs/requests.md to what nodes really send: a
//! node's result verifies over the documented bytes, built here by hand.

mod common;

use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tessera_client::{Client, KeyType, RejectedResults, SignRequest};
use tessera_testkit::wait::{poll_until, within, POLL};
use tessera_transport::async_nats::jetstream::{self, consumer::pull};
use tessera_transport::async_nats::{self, HeaderMap};
use tessera_transport::{mpc, NatsAccess};
use tessera_types::wire::{KeygenResultEvent, SigningIds, SigningResultEvent};

use common::raw::{self, RawSigner, SignFields};
use common::{check, ClusterOptions, ProcCluster};

const CLIENT: &str = "victim";
const RAW_CLIENT: &str = "reader";
const WAIT: Duration = Duration::from_secs(60);

/// A JetStream connection with `access` (the forger uses a node's).
async fn jetstream(access: &NatsAccess) -> jetstream::Context {
    let nc = access
        .apply(async_nats::ConnectOptions::new())
        .expect("credential files")
        .connect(access.addrs().expect("nats urls"))
        .await
        .expect("nats connects");
    jetstream::new(nc)
}

/// The bytes a result's signature covers, as docs/requests.md ("Checking a
/// result's signature") describes them.
fn documented_bytes(subject: &str, msg_id: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = b"tessera/result/v1".to_vec();
    out.push(0);
    for part in [subject.as_bytes(), msg_id.as_bytes(), payload] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Publishes forged results for the same id on `subject`: unsigned, then
/// signed over the right bytes by `stranger` in node0's name, then in its own
/// name (`node9`). `tag` keeps their message ids apart from other forgeries'
/// (JetStream would drop a repeated one as a duplicate).
async fn forge(
    js: &jetstream::Context,
    stranger: &SigningKey,
    tag: &str,
    subject: &str,
    json: &[u8],
) {
    for (i, node) in [None, Some("node0"), Some("node9")].into_iter().enumerate() {
        let msg_id = format!("forged:{tag}:{i}");
        let mut headers = HeaderMap::new();
        headers.insert(mpc::MSG_ID_HEADER, msg_id.as_str());
        if let Some(node) = node {
            let sig = stranger.sign(&documented_bytes(subject, &msg_id, json));
            headers.insert(mpc::RESULT_NODE_HEADER, node);
            headers.insert(
                mpc::RESULT_SIGNATURE_HEADER,
                hex::encode(sig.to_bytes()).as_str(),
            );
        }
        js.publish_with_headers(subject.to_string(), headers, json.to_vec().into())
            .await
            .expect("the forger may publish results")
            .await
            .expect("the forged result is stored");
    }
}

fn request(key_type: KeyType, wallet: &str, tx_id: &str, tx: &[u8]) -> SignRequest {
    SignRequest {
        key_type,
        wallet_id: wallet.into(),
        tx_id: tx_id.into(),
        tx: tx.to_vec(),
        network_internal_code: "attack-net".into(),
        derivation_path: None,
        session: None,
    }
}

fn forged_ids(tx_id: &str) -> SigningIds {
    SigningIds {
        wallet_id: "wallet-w".into(),
        tx_id: tx_id.into(),
        network_internal_code: "attack-net".into(),
    }
}

async fn rejected_reaches(client: &Client, want: RejectedResults) {
    let ok = poll_until(WAIT, POLL, || client.rejected_results() == want).await;
    assert!(
        ok,
        "rejected results {:?}, expected {want:?}",
        client.rejected_results()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_results_published_before_the_request_never_reach_the_sdk() {
    let initiator = RawSigner::ed25519();
    let mut options = ClusterOptions::new(initiator.initiator_config());
    options.locked = true;
    options.clients = vec![CLIENT.into(), RAW_CLIENT.into()];
    let cluster = ProcCluster::start(options).await;
    let forger = jetstream(&cluster.node_access(0)).await;
    let stranger = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let client = cluster.sdk(&initiator, CLIENT).await;
    let mut expected = RejectedResults::default();

    // (a) Keygen: forged results for wallet W, with keys the forger controls,
    // stored before the SDK sends its request.
    let wallet = "wallet-w";
    let forged_ecdsa = k256::ecdsa::SigningKey::from_bytes(&rand::random::<[u8; 32]>().into())
        .expect("a secp256k1 key");
    let forged_xy: [u8; 64] = forged_ecdsa
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()[1..]
        .try_into()
        .unwrap();
    let forged_ed = stranger.verifying_key().to_bytes();
    let json = KeygenResultEvent::success(wallet, forged_xy, forged_ed)
        .to_json()
        .unwrap();
    forge(
        &forger,
        &stranger,
        wallet,
        &mpc::keygen_result(Some(CLIENT), wallet),
        &json,
    )
    .await;
    expected.unsigned += 1;
    expected.bad_signature += 1;
    expected.unknown_signer += 1;

    let keys = within(WAIT, "keygen", client.keygen(wallet))
        .await
        .expect("keygen answered")
        .into_result()
        .expect("the real keygen result");
    let ecdsa = keys.ecdsa_public_key_sec1().expect("ecdsa key");
    let eddsa = keys.eddsa_public_key().expect("eddsa key");
    assert_ne!(keys.event.ecdsa_pub_key.as_deref(), Some(&forged_xy[..]));
    assert_ne!(eddsa, forged_ed, "the forged ed25519 key was returned");
    rejected_reaches(&client, expected).await;

    // (b) Signing: forged results for T (ECDSA) and T' (Ed25519), stored before
    // the requests; the forged ECDSA one is even a valid signature of the
    // digest, under the forger's key.
    let digest: [u8; 32] = Sha256::digest(b"pay 1 BTC to mallory").into();
    let (sig, recid) = forged_ecdsa
        .sign_prehash_recoverable(&digest)
        .expect("forged signature");
    let (r, s) = sig.split_bytes();
    let forged =
        SigningResultEvent::ecdsa_success(forged_ids("tx-t"), r.into(), s.into(), recid.to_byte());
    let subject = mpc::signing_result(Some(CLIENT));
    forge(
        &forger,
        &stranger,
        "tx-t",
        &subject,
        &forged.to_json().unwrap(),
    )
    .await;
    let message = b"transfer 5 SOL to mallory".to_vec();
    let forged = SigningResultEvent::eddsa_success(
        forged_ids("tx-t-ed"),
        stranger.sign(&message).to_bytes(),
    );
    forge(
        &forger,
        &stranger,
        "tx-t-ed",
        &subject,
        &forged.to_json().unwrap(),
    )
    .await;
    expected.unsigned += 2;
    expected.bad_signature += 2;
    expected.unknown_signer += 2;

    let signed = within(
        WAIT,
        "sign ecdsa",
        client.sign(request(KeyType::Secp256k1, wallet, "tx-t", &digest)),
    )
    .await
    .expect("sign answered")
    .into_result()
    .expect("the real signature");
    check::ecdsa(&ecdsa, &digest, &signed.event);
    assert_ne!(signed.event.r.as_deref(), Some(&r[..]), "the forged r");
    let signed = within(
        WAIT,
        "sign ed25519",
        client.sign(request(KeyType::Ed25519, wallet, "tx-t-ed", &message)),
    )
    .await
    .expect("sign answered")
    .into_result()
    .expect("the real signature");
    check::ed25519(&eddsa, &message, &signed.event);
    rejected_reaches(&client, expected).await;

    // (c) The cluster keeps serving, and no genuine result was ever refused.
    let after = within(WAIT, "keygen after", client.keygen("wallet-after"))
        .await
        .expect("keygen answered")
        .into_result()
        .expect("a new wallet after the attack");
    let digest2: [u8; 32] = Sha256::digest(b"after the attack").into();
    let signed = within(
        WAIT,
        "sign after",
        client.sign(request(
            KeyType::Secp256k1,
            "wallet-after",
            "tx-after",
            &digest2,
        )),
    )
    .await
    .expect("sign answered")
    .into_result()
    .expect("a signature after the attack");
    check::ecdsa(
        &after.ecdsa_public_key_sec1().unwrap(),
        &digest2,
        &signed.event,
    );
    assert_eq!(client.rejected_results(), expected);

    // The documented bytes are what nodes sign: a real result, read raw with
    // its headers, verifies under the node's public document.
    node_result_verifies_over_the_documented_bytes(&cluster, &initiator, wallet, &ecdsa).await;
}

async fn node_result_verifies_over_the_documented_bytes(
    cluster: &ProcCluster,
    initiator: &RawSigner,
    wallet: &str,
    ecdsa: &[u8],
) {
    let js = jetstream(&cluster.client_access(Some(RAW_CLIENT))).await;
    let consumer = js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some(mpc::signing_result_consumer(Some(RAW_CLIENT))),
                filter_subject: mpc::signing_result(Some(RAW_CLIENT)),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
            mpc::RESULT_STREAM,
        )
        .await
        .expect("result consumer");
    let mut results = consumer.messages().await.expect("result messages");
    let digest: [u8; 32] = Sha256::digest(b"read raw").into();
    let f = SignFields {
        key_type: "secp256k1",
        wallet,
        tx_id: "tx-raw",
        tx: &digest,
    };
    let mut headers = HeaderMap::new();
    headers.insert(mpc::CLIENT_ID_HEADER, RAW_CLIENT);
    headers.insert(mpc::MSG_ID_HEADER, "raw-request-1");
    js.publish_with_headers(
        mpc::signing_request("tx-raw"),
        headers,
        raw::sign(initiator, &f, &[]).into(),
    )
    .await
    .expect("request published")
    .await
    .expect("request stored");
    let msg = within(WAIT, "raw result", results.next())
        .await
        .expect("result stream")
        .expect("result message");
    msg.ack().await.expect("ack");
    let event = SigningResultEvent::from_json(&msg.payload).expect("a signing result");
    check::ecdsa(ecdsa, &digest, &event);

    let h = msg.headers.as_ref().expect("result headers");
    let get = |name: &str| h.get(name).expect(name).as_str().to_string();
    let node = get("Tessera-Node");
    let sig_hex = get("Tessera-Signature");
    let msg_id = get("Nats-Msg-Id");
    assert_eq!(sig_hex.len(), 128);
    assert_eq!(sig_hex, sig_hex.to_lowercase());
    let index = cluster.index_of(&node);
    let key = VerifyingKey::from_bytes(&cluster.public_identity(index).signing_key).unwrap();
    let sig: [u8; 64] = hex::decode(&sig_hex).unwrap().try_into().unwrap();
    key.verify_strict(
        &documented_bytes(msg.subject.as_str(), &msg_id, &msg.payload),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .expect("the node's signature covers the documented bytes");
}
