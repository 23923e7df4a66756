//! mpcium-format requests, published as raw JSON to a real NATS server, served by
//! three in-process nodes (real Consul readiness, real storage), results read
//! from the result stream as an mpcium client reads them.

#[path = "../../runner/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Cluster;
use futures::StreamExt;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};
use tessera_eventconsumer::{ConsumerConfig, EventConsumer};
use tessera_security::{InitiatorKeyKind, InitiatorSigner};
use tessera_session::derive::secp256k1::ExtendedPublicKey;
use tessera_transport::async_nats::jetstream::{self, consumer::pull};
use tessera_transport::async_nats::{self, HeaderMap};
use tessera_transport::mpc;
use tessera_types::wire::{
    GenerateKeyMessage, KeyType, KeygenResultEvent, ResultType, SignTxMessage, SigningResultEvent,
};
use tessera_types::{ErrorCode, Threshold};

struct Env {
    cluster: Cluster,
    consumers: Vec<EventConsumer>,
    initiator: InitiatorSigner,
    js: jetstream::Context,
    keygen_results: pull::Stream,
    signing_results: pull::Stream,
    unverified_results: pull::Stream,
}

async fn env() -> Env {
    env_with(InitiatorKeyKind::Ed25519).await
}

async fn env_with(kind: InitiatorKeyKind) -> Env {
    let cluster = Cluster::start(3, Default::default()).await;
    let initiator = InitiatorSigner::generate(kind);
    let mut consumers = Vec::new();
    for node in &cluster.nodes {
        let config = ConsumerConfig::new(initiator.public(), Threshold(1), cluster.ids());
        consumers.push(
            EventConsumer::start(node.clone(), config)
                .await
                .expect("consumer"),
        );
    }
    let client = async_nats::connect(cluster.nats.url()).await.unwrap();
    let js = jetstream::new(client);
    let results = js.get_stream(mpc::RESULT_STREAM).await.unwrap();
    let reader = |name: &str, filter: &str| {
        let (name, filter) = (name.to_string(), filter.to_string());
        let results = results.clone();
        async move {
            let c = results
                .get_or_create_consumer(
                    &name,
                    pull::Config {
                        durable_name: Some(name.clone()),
                        filter_subject: filter,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            c.messages().await.unwrap()
        }
    };
    let keygen_results = reader("mpc_keygen_result", "mpc.mpc_keygen_result.*").await;
    let signing_results = reader("mpc_signing_result", "mpc.mpc_signing_result.complete").await;
    let unverified_results = reader("unverified", mpc::UNVERIFIED_SIGNING_RESULT).await;
    Env {
        cluster,
        consumers,
        initiator,
        js,
        keygen_results,
        signing_results,
        unverified_results,
    }
}

impl Env {
    async fn publish(&self, subject: String, json: Vec<u8>) {
        self.js
            .publish_with_headers(subject, HeaderMap::new(), json.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    async fn next_keygen(&mut self) -> KeygenResultEvent {
        let m = tokio::time::timeout(Duration::from_secs(30), self.keygen_results.next())
            .await
            .expect("keygen result in time")
            .unwrap()
            .unwrap();
        m.ack().await.unwrap();
        KeygenResultEvent::from_json(&m.payload).unwrap()
    }

    async fn next_unverified(&mut self, within: Duration) -> SigningResultEvent {
        let m = tokio::time::timeout(within, self.unverified_results.next())
            .await
            .expect("unverified result in time")
            .unwrap()
            .unwrap();
        m.ack().await.unwrap();
        SigningResultEvent::from_json(&m.payload).unwrap()
    }

    async fn next_signing(&mut self, within: Duration) -> SigningResultEvent {
        let m = tokio::time::timeout(within, self.signing_results.next())
            .await
            .expect("signing result in time")
            .unwrap()
            .unwrap();
        m.ack().await.unwrap();
        SigningResultEvent::from_json(&m.payload).unwrap()
    }

    fn keygen_request(&self, wallet: &str) -> Vec<u8> {
        let mut m = GenerateKeyMessage {
            wallet_id: wallet.into(),
            signature: Vec::new(),
            authorizer_signatures: None,
            session: None,
            session_signature: None,
        };
        m.signature = self.initiator.sign(&m.signing_bytes());
        m.to_json().unwrap()
    }

    fn sign_request(
        &self,
        key_type: KeyType,
        wallet: &str,
        tx_id: &str,
        tx: &[u8],
        path: Option<Vec<u32>>,
    ) -> SignTxMessage {
        let mut m = SignTxMessage {
            key_type,
            wallet_id: wallet.into(),
            network_internal_code: "test-net".into(),
            tx_id: tx_id.into(),
            tx: tx.to_vec(),
            signature: Vec::new(),
            derivation_path: path,
            authorizer_signatures: None,
            path_signature: None,
            session: None,
            session_signature: None,
        };
        m.signature = self.initiator.sign(&m.signing_bytes());
        if m.has_derivation_path() {
            m.path_signature = Some(self.initiator.sign(&m.path_signing_bytes()));
        }
        m
    }
}

fn check_ecdsa(xy: &[u8], digest: &[u8], ev: &SigningResultEvent) {
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(xy);
    check_ecdsa_sec1(&sec1, digest, ev);
}

fn check_ecdsa_sec1(sec1: &[u8], digest: &[u8], ev: &SigningResultEvent) {
    let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).unwrap();
    let r: [u8; 32] = ev.r.clone().unwrap().try_into().unwrap();
    let s: [u8; 32] = ev.s.clone().unwrap().try_into().unwrap();
    let sig = k256::ecdsa::Signature::from_scalars(r, s).unwrap();
    key.verify_prehash(digest, &sig).expect("k256 verifies");
}

fn check_ed25519(pk: &[u8], msg: &[u8], ev: &SigningResultEvent) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(pk.try_into().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(ev.signature.as_ref().unwrap()).unwrap();
    key.verify_strict(msg, &sig)
        .expect("ed25519-dalek verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_mpcium_requests_get_verified_results_and_bad_ones_get_codes_at_once() {
    let mut env = env().await;

    // Keygen: both curves for one wallet.
    env.publish(
        mpc::keygen_request("wallet-e2e"),
        env.keygen_request("wallet-e2e"),
    )
    .await;
    let kg = env.next_keygen().await;
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    let xy = kg.ecdsa_pub_key.clone().unwrap();
    let ed = kg.eddsa_pub_key.clone().unwrap();
    assert_eq!((xy.len(), ed.len()), (64, 32));

    // Signing on both curves, verified with independent libraries.
    let digest: [u8; 32] = Sha256::digest(b"send 1 BTC").into();
    let m = env.sign_request(KeyType::Secp256k1, "wallet-e2e", "tx-1", &digest, None);
    env.publish(mpc::signing_request("tx-1"), m.to_json().unwrap())
        .await;
    let first = env.next_signing(Duration::from_secs(30)).await;
    assert_eq!(first.result_type, ResultType::Success, "{first:?}");
    assert_eq!(first.tx_id, "tx-1");
    check_ecdsa(&xy, &digest, &first);

    let msg = b"solana transfer".to_vec();
    let m2 = env.sign_request(KeyType::Ed25519, "wallet-e2e", "tx-2", &msg, None);
    env.publish(mpc::signing_request("tx-2"), m2.to_json().unwrap())
        .await;
    let ev = env.next_signing(Duration::from_secs(30)).await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check_ed25519(&ed, &msg, &ev);

    // An authenticated derivation path: the signature verifies under the child
    // key derived offline from the keygen result (public key and chain code).
    let chain: [u8; 32] = kg.ecdsa_chain_code.clone().unwrap().try_into().unwrap();
    let mut master = vec![4u8];
    master.extend_from_slice(&xy);
    let path = vec![44, 60, 0, 0, 7];
    let child = ExtendedPublicKey::new(&master, chain)
        .unwrap()
        .derive(&path)
        .unwrap();
    let mp = env.sign_request(
        KeyType::Secp256k1,
        "wallet-e2e",
        "tx-path",
        &digest,
        Some(path),
    );
    env.publish(mpc::signing_request("tx-path"), mp.to_json().unwrap())
        .await;
    let ev = env.next_signing(Duration::from_secs(30)).await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check_ecdsa_sec1(&child.public_key, &digest, &ev);

    // The same request again: the stored result, not a second run. ECDSA
    // signatures are randomised, so an identical (r, s) proves it.
    env.publish(mpc::signing_request("tx-1"), m.to_json().unwrap())
        .await;
    let again = env.next_signing(Duration::from_secs(10)).await;
    assert_eq!(
        (again.r.clone(), again.s.clone()),
        (first.r.clone(), first.s.clone())
    );

    // Bad requests: each gets its code at once.
    let mut bad_sig = env.sign_request(KeyType::Secp256k1, "wallet-e2e", "tx-3", &digest, None);
    bad_sig.signature[0] ^= 1;
    let short = env.sign_request(
        KeyType::Secp256k1,
        "wallet-e2e",
        "tx-4",
        &digest[..31],
        None,
    );
    let unknown = env.sign_request(KeyType::Ed25519, "no-such-wallet", "tx-5", b"m", None);
    let hardened = env.sign_request(
        KeyType::Ed25519,
        "wallet-e2e",
        "tx-6",
        b"m",
        Some(vec![0x8000_0000]),
    );
    let mut unauthenticated = env.sign_request(
        KeyType::Ed25519,
        "wallet-e2e",
        "tx-7",
        b"m",
        Some(vec![1, 2]),
    );
    unauthenticated.path_signature = None;
    let conflict = env.sign_request(
        KeyType::Secp256k1,
        "wallet-e2e",
        "tx-1",
        &Sha256::digest(b"other"),
        None,
    );
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "tx-3",
            bad_sig.to_json().unwrap(),
            ErrorCode::InvalidInitiatorSignature,
        ),
        ("tx-4", short.to_json().unwrap(), ErrorCode::MsgValidation),
        ("tx-5", unknown.to_json().unwrap(), ErrorCode::KeyNotFound),
        (
            "tx-6",
            hardened.to_json().unwrap(),
            ErrorCode::InvalidDerivationPath,
        ),
        (
            "tx-7",
            unauthenticated.to_json().unwrap(),
            ErrorCode::InvalidInitiatorSignature,
        ),
        (
            "tx-1",
            conflict.to_json().unwrap(),
            ErrorCode::RequestConflict,
        ),
        ("tx-8", b"{not json".to_vec(), ErrorCode::UnmarshalFailure),
        ("tx-9", vec![b' '; 300 * 1024], ErrorCode::PayloadTooLarge),
    ];
    for (tx, json, code) in cases {
        let started = Instant::now();
        env.publish(mpc::signing_request(tx), json).await;
        // Without a verified initiator signature the ids could be anyone's:
        // the error names none and goes where no client waits.
        let unverified = ["tx-3", "tx-8", "tx-9"].contains(&tx);
        let ev = match unverified {
            true => env.next_unverified(Duration::from_secs(2)).await,
            false => env.next_signing(Duration::from_secs(2)).await,
        };
        assert_eq!(ev.result_type, ResultType::Error, "{tx}: {ev:?}");
        assert_eq!(ev.error_code, Some(code), "{tx}: {ev:?}");
        assert_eq!(ev.tx_id, if unverified { "" } else { tx });
        println!("{tx}: {code} after {:?}", started.elapsed());
    }

    // A second keygen for the wallet is refused.
    env.publish(
        mpc::keygen_request("wallet-e2e"),
        env.keygen_request("wallet-e2e"),
    )
    .await;
    let kg2 = env.next_keygen().await;
    assert_eq!(kg2.error_code, Some(ErrorCode::KeyAlreadyExists), "{kg2:?}");

    for c in &env.consumers {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_p256_initiator_and_client_ids_route_results_to_their_own_subjects() {
    let mut env = env_with(InitiatorKeyKind::P256).await;
    // A scoped keygen: the result goes to mpc.mpc_keygen_result.client-a.<wallet>.
    let mut scoped = env
        .js
        .get_stream(mpc::RESULT_STREAM)
        .await
        .unwrap()
        .get_or_create_consumer(
            "scoped",
            pull::Config {
                durable_name: Some("scoped".into()),
                filter_subject: mpc::keygen_result(Some("client-a"), "wallet-p256"),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .messages()
        .await
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(mpc::CLIENT_ID_HEADER, "client-a");
    env.js
        .publish_with_headers(
            mpc::keygen_request("wallet-p256"),
            headers,
            env.keygen_request("wallet-p256").into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(30), scoped.next())
        .await
        .expect("scoped result in time")
        .unwrap()
        .unwrap();
    let kg = KeygenResultEvent::from_json(&m.payload).unwrap();
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    assert_eq!(
        m.subject.as_str(),
        "mpc.mpc_keygen_result.client-a.wallet-p256"
    );
    // The P-256-signed signing request, unscoped, verifies too.
    let msg = b"p256 initiator".to_vec();
    let r = env.sign_request(KeyType::Ed25519, "wallet-p256", "tx-p256", &msg, None);
    env.publish(mpc::signing_request("tx-p256"), r.to_json().unwrap())
        .await;
    let ev = env.next_signing(Duration::from_secs(30)).await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check_ed25519(kg.eddsa_pub_key.as_ref().unwrap(), &msg, &ev);
    // Nothing reached the unscoped keygen results.
    let leaked = tokio::time::timeout(Duration::from_millis(500), env.keygen_results.next()).await;
    assert!(
        leaked.is_err(),
        "a scoped result leaked to the unscoped subject"
    );
    for c in &env.consumers {
        c.shutdown().await;
    }
}

/// An authenticated node proposes sessions whose ids cannot be used: each is
/// refused with a typed error naming why, and the node that got them keeps
/// serving (it still plays the next keygen and signature).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proposals_with_unusable_session_ids_are_refused_and_the_node_keeps_serving() {
    use tessera_eventconsumer::proposal::{self, Operation, Proposal, ProposalId};
    use tessera_eventconsumer::reply::{self, Reply};
    use tessera_types::SessionId;

    let mut env = env().await;
    let ids = env.cluster.ids();
    let (coordinator, target) = (&env.cluster.identities[0], ids[1].clone());
    let target_public = env.cluster.identities[1].public();
    let client = async_nats::connect(env.cluster.nats.url()).await.unwrap();
    let ask = |bytes: Vec<u8>| {
        let client = client.clone();
        let subject = tessera_transport::subjects::node_proposal(&target);
        let (target, public) = (target.clone(), target_public.clone());
        async move {
            let id = ProposalId::of(&bytes);
            let answer = client.request(subject, bytes.into()).await.expect("answer");
            // Signed by the player asked, for this proposal.
            reply::open(&answer.payload, &target, id, |n| {
                (*n == target).then(|| public.clone())
            })
            .expect("a signed reply")
        }
    };
    // Valid as an id, but without room for a keygen's `-secp256k1` suffix.
    let long = Proposal {
        session_id: SessionId::new("s".repeat(tessera_types::ids::MAX_ID_LEN)).unwrap(),
        operation: Operation::Keygen,
        coordinator: ids[0].clone(),
        players: ids.clone(),
        request: env.keygen_request("wallet-long"),
        issued_at_unix: proposal::now_unix(),
        trace_id: None,
        lifecycle: None,
        epoch: None,
    };
    let sealed = proposal::seal(coordinator, &long).unwrap();
    match ask(sealed).await {
        Reply::Refused { code, reason } => {
            assert_eq!(code, ErrorCode::MsgValidation, "{reason}");
            assert!(reason.contains("session id is longer than"), "{reason}");
        }
        other => panic!("over-long session id accepted: {other:?}"),
    }
    // Bytes that are no proposal at all.
    match ask(b"\x05not a proposal".to_vec()).await {
        Reply::Refused { code, .. } => assert_eq!(code, ErrorCode::MessageFormat),
        other => panic!("junk accepted: {other:?}"),
    }

    // The node still plays: a keygen needs every node, then a signature.
    env.publish(
        mpc::keygen_request("wallet-after"),
        env.keygen_request("wallet-after"),
    )
    .await;
    let kg = env.next_keygen().await;
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    let digest: [u8; 32] = Sha256::digest(b"after bad proposals").into();
    let m = env.sign_request(
        KeyType::Secp256k1,
        "wallet-after",
        "tx-after",
        &digest,
        None,
    );
    env.publish(mpc::signing_request("tx-after"), m.to_json().unwrap())
        .await;
    let ev = env.next_signing(Duration::from_secs(30)).await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check_ecdsa(kg.ecdsa_pub_key.as_ref().unwrap(), &digest, &ev);
    for c in &env.consumers {
        c.shutdown().await;
    }
}

/// A keygen request whose wallet id cannot name a result subject ("a b" would
/// make `mpc.mpc_keygen_result.a b`): one error result on a subject that
/// exists, and the request is acked, not redelivered forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wallet_id_that_is_no_subject_token_gets_one_error_result_and_is_not_redelivered() {
    use tessera_testkit::wait;

    let mut env = env().await;
    env.publish(
        mpc::keygen_request("spaced"),
        env.keygen_request("bad wallet"),
    )
    .await;
    let ev = env.next_keygen().await;
    assert_eq!(ev.result_type, ResultType::Error, "{ev:?}");
    assert_eq!(ev.error_code, Some(ErrorCode::MsgValidation), "{ev:?}");
    assert_eq!(ev.wallet_id, "bad wallet");
    // The request is done with: nothing pending or waiting for an ack.
    let stream = env.js.get_stream(mpc::KEYGEN_STREAM).await.unwrap();
    let settled = wait::wait_until(Duration::from_secs(10), wait::POLL, || {
        let stream = stream.clone();
        async move {
            let Ok(mut c) = stream
                .get_consumer::<pull::Config>(mpc::KEYGEN_CONSUMER)
                .await
            else {
                return false;
            };
            c.info()
                .await
                .is_ok_and(|i| i.num_pending == 0 && i.num_ack_pending == 0)
        }
    })
    .await;
    assert!(settled, "the request was not acked");
    // No second answer (a redelivered request would produce one).
    let mut next = env.keygen_results.next();
    assert!(
        wait::still_pending(Duration::from_secs(3), &mut next).await,
        "a second result for the same request"
    );
    drop(next);
    for c in &env.consumers {
        c.shutdown().await;
    }
}
