//! Attacks on the request path, against three `tessera start` processes, a
//! real nats-server and a real Consul, with no NATS permissions configured
//! (the checks must hold without them). Each scenario asserts what a client
//! receives and that the cluster keeps serving:
//!
//! - forged request-ledger records (an unsigned "done" record with a forged
//!   result, a pending claim in a live node's name signed by a stranger);
//! - forged answers to proposals and delegations, from whoever reads the
//!   proposal subjects, and a replayed proposal;
//! - a keygen request copied without its session;
//! - an authorizer approval without the derivation path;
//! - a request with a forged signature and a victim's tx id;
//! - a wallet id that is no subject token;
//! - envelopes of one run of a client-chosen session id replayed into the next.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tessera_client::request::{signed_keygen_message_in_session, signed_sign_message};
use tessera_client::{derive, KeyType, SignRequest};
use tessera_eventconsumer::ledger::{self, Record};
use tessera_eventconsumer::ledger_record;
use tessera_eventconsumer::reply::{self, RemoteError, Reply};
use tessera_security::{InitiatorSigner, NodeIdentity};
use tessera_testkit::wait;
use tessera_transport::async_nats::{self, jetstream};
use tessera_transport::mpc;
use tessera_types::wire::{
    authorizer_payload, InitiatorMessage, KeygenResultEvent, ResultType, SessionSpec, SigningIds,
    SigningResultEvent,
};
use tessera_types::{AuthorizerSignature, ErrorCode, NodeId};

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};

const RESULT_WAIT: Duration = Duration::from_secs(60);

/// A proposal seen on NATS: its subject and bytes.
type Captured = (String, Vec<u8>);

struct Env {
    cluster: ProcCluster,
    client: RawClient,
    nats: async_nats::Client,
    initiator: RawSigner,
    risk: RawSigner,
}

impl Env {
    fn signer(key: &RawSigner) -> InitiatorSigner {
        InitiatorSigner::from_secret_bytes(key.sdk_kind(), &key.secret()).unwrap()
    }

    fn approvers(&self) -> Vec<(String, InitiatorSigner)> {
        vec![("risk".to_string(), Self::signer(&self.risk))]
    }

    /// A signing request for `wallet-a` signed by the initiator and approved.
    fn sign_request(
        &self,
        tx_id: &str,
        digest: &[u8; 32],
        session: Option<SessionSpec>,
    ) -> Vec<u8> {
        let req = SignRequest {
            key_type: KeyType::Secp256k1,
            wallet_id: "wallet-a".into(),
            tx_id: tx_id.into(),
            tx: digest.to_vec(),
            network_internal_code: "attack-net".into(),
            derivation_path: None,
            session,
        };
        let m = signed_sign_message(&Self::signer(&self.initiator), &self.approvers(), req);
        m.to_json().unwrap()
    }

    /// The next signing result, which must be `tx_id`'s.
    async fn signed(&mut self, tx_id: &str) -> SigningResultEvent {
        let ev = self
            .client
            .next_signing(RESULT_WAIT)
            .await
            .unwrap_or_else(|| panic!("no result for {tx_id}"));
        assert_eq!(ev.tx_id, tx_id, "unexpected result: {ev:?}");
        ev
    }

    fn logs(&self) -> String {
        (0..3)
            .map(|i| self.cluster.log(i))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgeries_on_the_request_path_are_refused_and_the_cluster_keeps_serving() {
    let initiator = RawSigner::ed25519();
    let risk = RawSigner::ed25519();
    let mut options = ClusterOptions::new(initiator.initiator_config());
    options.authorizers = vec![risk.authorizer_config("risk")];
    let cluster = ProcCluster::start(options).await;
    let client = RawClient::connect(&cluster.nats_url(), None).await;
    let nats = async_nats::connect(cluster.nats_url()).await.unwrap();
    let mut env = Env {
        cluster,
        client,
        nats,
        initiator,
        risk,
    };
    env.client
        .publish_keygen(
            "wallet-a",
            raw::keygen(&env.initiator, "wallet-a", &[("risk", &env.risk)]),
        )
        .await;
    let kg = env.client.next_keygen(RESULT_WAIT).await.expect("keygen");
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    let ecdsa = kg.ecdsa_pub_key.clone().unwrap();

    forged_ledger_records(&mut env, &ecdsa).await;
    forged_replies_and_replayed_proposals(&mut env, &ecdsa).await;
    stripped_sessions(&mut env).await;
    approvals_without_the_path(&mut env, &kg).await;
    forged_signatures_with_a_victims_ids(&mut env, &ecdsa).await;
    envelopes_of_another_run(&mut env, &ecdsa).await;
    wallet_ids_that_are_no_subject_token(&mut env).await;
}

/// A forged "done" record (unsigned, and signed by a stranger in node1's name)
/// and a forged pending claim naming live node1: each request is served for
/// real, the forgery is never published, and it is reported.
async fn forged_ledger_records(env: &mut Env, ecdsa: &[u8]) {
    let js = jetstream::new(env.nats.clone());
    let kv = js
        .get_key_value(ledger::BUCKET)
        .await
        .expect("ledger bucket");
    let stranger = NodeIdentity::generate(NodeId::new("node1").unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged_result = SigningResultEvent::ecdsa_success(
        SigningIds {
            wallet_id: "wallet-a".into(),
            tx_id: String::new(),
            network_internal_code: "attack-net".into(),
        },
        [7; 32],
        [9; 32],
        0,
    );
    for (tx_id, done, signed) in [
        ("forged-done-unsigned", true, false),
        ("forged-done-stranger", true, true),
        ("forged-pending", false, true),
    ] {
        let digest: [u8; 32] = Sha256::digest(tx_id.as_bytes()).into();
        let json = env.sign_request(tx_id, &digest, None);
        let msg = tessera_types::SignTxMessage::from_json(&json).unwrap();
        let key = ledger::key("sign", &["wallet-a", tx_id]);
        let mut result = forged_result.clone();
        result.tx_id = tx_id.to_string();
        let record = Record {
            digest: ledger::digest(&msg.path_signing_bytes()),
            result: done.then(|| String::from_utf8(result.to_json().unwrap()).unwrap()),
            node: "node1".into(),
            instance: "forged".into(),
            at_unix: now,
        };
        let bytes = if signed {
            ledger_record::seal(&stranger, &key, &record).unwrap()
        } else {
            serde_json::to_vec(&record).unwrap()
        };
        kv.put(&key, bytes.into())
            .await
            .expect("forged record written");
        env.client.publish_sign(tx_id, json).await;
        let ev = env.signed(tx_id).await;
        assert_eq!(ev.result_type, ResultType::Success, "{tx_id}: {ev:?}");
        assert_ne!(
            ev.r.as_deref(),
            Some(&[7u8; 32][..]),
            "{tx_id}: the forged result was published"
        );
        check::ecdsa(ecdsa, &digest, &ev);
    }
    let reported = env
        .cluster
        .wait_for_log(Duration::from_secs(10), |l| {
            l.contains("forged or unreadable request ledger entry")
        })
        .await;
    assert!(
        reported.is_some(),
        "the forged ledger records were not reported"
    );
}

/// Whoever reads the proposal subjects answers every proposal first, with an
/// unsigned reply and with one signed by a stranger in the asked node's name
/// (a forged result for a delegation, a refusal otherwise). Requests that name
/// two players (so the node that pulls a request it does not play delegates
/// it) are all served with real signatures. A proposal replayed to its
/// player is refused before it takes a join slot.
async fn forged_replies_and_replayed_proposals(env: &mut Env, ecdsa: &[u8]) {
    let captured: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let mut proposals = env.nats.subscribe("tessera.node.*.proposal").await.unwrap();
    let forger = env.nats.clone();
    let seen = captured.clone();
    let forging = tokio::spawn(async move {
        while let Some(msg) = proposals.next().await {
            let Some(inbox) = msg.reply.clone() else {
                continue;
            };
            seen.lock()
                .unwrap()
                .push((msg.subject.to_string(), msg.payload.to_vec()));
            let asked = msg
                .subject
                .split('.')
                .nth(2)
                .unwrap_or_default()
                .to_string();
            let forged = Reply::Served {
                result: Ok(br#"{"result_type":"success","tx_id":"forged"}"#.to_vec()),
            };
            let refusal = Reply::Refused {
                code: ErrorCode::ProtocolCheating,
                reason: "forged".into(),
            };
            let id = tessera_eventconsumer::proposal::ProposalId::of(&msg.payload);
            let impostor = NodeIdentity::generate(NodeId::new(&asked).unwrap());
            for reply in [&forged, &refusal] {
                let unsigned = postcard::to_allocvec(reply).unwrap();
                let _ = forger.publish(inbox.clone(), unsigned.into()).await;
                let signed = reply::seal(&impostor, id, reply).unwrap();
                let _ = forger.publish(inbox.clone(), signed.into()).await;
            }
            let _ = forger.flush().await;
        }
    });
    let players = vec!["node1".to_string(), "node2".to_string()];
    let mut delegated = false;
    for n in 0..20 {
        let tx_id = format!("delegated-{n}");
        let digest: [u8; 32] = Sha256::digest(tx_id.as_bytes()).into();
        let session = SessionSpec {
            players: Some(players.clone()),
            ..Default::default()
        };
        let json = env.sign_request(&tx_id, &digest, Some(session));
        env.client.publish_sign(&tx_id, json).await;
        let ev = env.signed(&tx_id).await;
        assert_eq!(ev.result_type, ResultType::Success, "{tx_id}: {ev:?}");
        check::ecdsa(ecdsa, &digest, &ev);
        if env.cluster.log(0).contains("delegating it to") {
            delegated = true;
            break;
        }
    }
    assert!(delegated, "node0 never pulled a request it does not play");
    let ignored = env.logs().matches("ignored an answer that is not").count();
    assert!(ignored > 0, "forged answers were not noticed");

    // Replay the newest signing proposal to its player: refused as a replay,
    // and no session is joined for it.
    let (subject, bytes) = captured
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(s, _)| !s.contains("node0"))
        .cloned()
        .expect("a proposal was seen");
    forging.abort();
    let asked = NodeId::new(subject.split('.').nth(2).unwrap()).unwrap();
    let index = env.cluster.index_of(asked.as_str());
    let public = env.cluster.public_identity(index);
    let joined_before = env.logs().matches("joined signing session").count();
    let answer = env
        .nats
        .request(subject.clone(), bytes.clone().into())
        .await
        .expect("the player answers");
    let id = tessera_eventconsumer::proposal::ProposalId::of(&bytes);
    let reply = reply::open(&answer.payload, &asked, id, |n| {
        (*n == asked).then(|| public.clone())
    })
    .expect("answered by the player, signed");
    match reply {
        Reply::Refused { code, reason } => {
            assert_eq!(code, ErrorCode::SessionDuplicate, "{reason}");
        }
        Reply::Served {
            result: Err(RemoteError { code, reason }),
        } => assert_eq!(code, ErrorCode::SessionDuplicate, "{reason}"),
        other => panic!("a replayed proposal was accepted: {other:?}"),
    }
    assert_eq!(
        env.logs().matches("joined signing session").count(),
        joined_before,
        "the replay took a join slot"
    );
}

/// A keygen request with a session, copied without it: refused whether the
/// session signature is kept (a stripped session) or dropped too (then the
/// copy is another payload under the same wallet).
async fn stripped_sessions(env: &mut Env) {
    let nodes: Vec<String> = (0..3).map(|i| format!("node{i}")).collect();
    let session = SessionSpec {
        session_id: Some("kg-session-1".to_string()),
        players: Some(nodes),
        ..Default::default()
    };
    let m = signed_keygen_message_in_session(
        &Env::signer(&env.initiator),
        &env.approvers(),
        "wallet-split",
        session,
    );
    let original = m.to_json().unwrap();
    let mut stripped = m.clone();
    stripped.session = None;
    env.client
        .publish_keygen("wallet-split", stripped.to_json().unwrap())
        .await;
    let kg = env.client.next_keygen(RESULT_WAIT).await.expect("a result");
    assert_eq!(kg.result_type, ResultType::Error, "{kg:?}");
    assert_eq!(
        kg.error_code,
        Some(ErrorCode::InvalidInitiatorSignature),
        "{kg:?}"
    );
    assert_eq!(kg.wallet_id, "wallet-split");

    env.client.publish_keygen("wallet-split", original).await;
    let kg = env.client.next_keygen(RESULT_WAIT).await.expect("a result");
    assert_eq!(kg.result_type, ResultType::Success, "{kg:?}");
    let mut both = m.clone();
    both.session = None;
    both.session_signature = None;
    env.client
        .publish_keygen("wallet-split", both.to_json().unwrap())
        .await;
    let kg = env.client.next_keygen(RESULT_WAIT).await.expect("a result");
    assert_eq!(kg.error_code, Some(ErrorCode::KeyAlreadyExists), "{kg:?}");
}

/// An approval of the mpcium payload (without the path) does not authorize
/// signing at a path; the approval of the path-signed bytes does, and the
/// signature verifies under the child key.
async fn approvals_without_the_path(env: &mut Env, kg: &KeygenResultEvent) {
    let digest: [u8; 32] = Sha256::digest(b"child spend").into();
    let path = vec![44, 60, 0, 0, 3];
    let request = |tx_id: &str| SignRequest {
        key_type: KeyType::Secp256k1,
        wallet_id: "wallet-a".into(),
        tx_id: tx_id.into(),
        tx: digest.to_vec(),
        network_internal_code: "attack-net".into(),
        derivation_path: Some(path.clone()),
        session: None,
    };
    let risk = Env::signer(&env.risk);
    let mut m = signed_sign_message(
        &Env::signer(&env.initiator),
        &env.approvers(),
        request("path-old-approval"),
    );
    let old_payload = authorizer_payload(&m.tx_id, &m.signing_bytes(), m.initiator_signature());
    m.authorizer_signatures = Some(vec![AuthorizerSignature {
        authorizer_id: "risk".into(),
        signature: risk.sign(&old_payload),
    }]);
    env.client
        .publish_sign("path-old-approval", m.to_json().unwrap())
        .await;
    let ev = env.signed("path-old-approval").await;
    assert_eq!(
        ev.error_code,
        Some(ErrorCode::InvalidAuthorizerSignature),
        "{ev:?}"
    );

    let m = signed_sign_message(
        &Env::signer(&env.initiator),
        &env.approvers(),
        request("path-approved"),
    );
    env.client
        .publish_sign("path-approved", m.to_json().unwrap())
        .await;
    let ev = env.signed("path-approved").await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    let chain_code: [u8; 32] = kg
        .ecdsa_chain_code
        .as_deref()
        .and_then(|c| c.try_into().ok())
        .expect("chain code");
    let master = [&[4u8][..], kg.ecdsa_pub_key.as_ref().unwrap()].concat();
    let child = derive::ecdsa_child_public_key(&master, chain_code, &path).unwrap();
    check::ecdsa(&child, &digest, &ev);
}

/// A request with a forged signature and a victim's tx id: its error result
/// carries no ids and goes where no waiter listens; the victim's subject gets
/// nothing, and the victim's own request with that tx id is then served.
async fn forged_signatures_with_a_victims_ids(env: &mut Env, ecdsa: &[u8]) {
    let mut unverified = env
        .nats
        .subscribe(mpc::UNVERIFIED_SIGNING_RESULT)
        .await
        .unwrap();
    env.nats.flush().await.unwrap();
    let stranger = RawSigner::ed25519();
    let digest: [u8; 32] = Sha256::digest(b"victim pays").into();
    let f = SignFields {
        key_type: "secp256k1",
        wallet: "wallet-a",
        tx_id: "victim-tx",
        tx: &digest,
    };
    env.client
        .publish_sign(
            "victim-tx",
            raw::sign(&stranger, &f, &[("risk", &env.risk)]),
        )
        .await;
    let refused = tokio::time::timeout(RESULT_WAIT, unverified.next())
        .await
        .expect("the forged request is answered")
        .unwrap();
    let ev = SigningResultEvent::from_json(&refused.payload).unwrap();
    assert_eq!(
        ev.error_code,
        Some(ErrorCode::InvalidInitiatorSignature),
        "{ev:?}"
    );
    assert_eq!(
        (ev.tx_id.as_str(), ev.wallet_id.as_str()),
        ("", ""),
        "{ev:?}"
    );
    // The victim's own request with that tx id: its result is the first and
    // only one on the victim's subject.
    let json = env.sign_request("victim-tx", &digest, None);
    env.client.publish_sign("victim-tx", json).await;
    let ev = env.signed("victim-tx").await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check::ecdsa(ecdsa, &digest, &ev);
    assert!(
        env.logs().contains("unverified signing request refused"),
        "the forged request was not logged"
    );
}

/// A keygen whose wallet id cannot name a result subject gets one error
/// result and is not delivered again.
async fn wallet_ids_that_are_no_subject_token(env: &mut Env) {
    let mut invalid = env
        .nats
        .subscribe(mpc::keygen_result(None, "invalid_wallet_id"))
        .await
        .unwrap();
    env.nats.flush().await.unwrap();
    let m = tessera_client::request::signed_keygen_message(
        &Env::signer(&env.initiator),
        &env.approvers(),
        "bad wallet",
    );
    env.client
        .publish_keygen("spaced", m.to_json().unwrap())
        .await;
    let first = tokio::time::timeout(RESULT_WAIT, invalid.next())
        .await
        .expect("one error result")
        .unwrap();
    let ev = KeygenResultEvent::from_json(&first.payload).unwrap();
    assert_eq!(ev.error_code, Some(ErrorCode::MsgValidation), "{ev:?}");
    let js = jetstream::new(env.nats.clone());
    let stream = js.get_stream(mpc::KEYGEN_STREAM).await.unwrap();
    let settled = wait::wait_until(Duration::from_secs(10), wait::POLL, || {
        let stream = stream.clone();
        async move {
            let Ok(mut c) = stream
                .get_consumer::<jetstream::consumer::pull::Config>(mpc::KEYGEN_CONSUMER)
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
    let mut next = invalid.next();
    assert!(
        wait::still_pending(Duration::from_secs(3), &mut next).await,
        "a second result for the same request"
    );
}

/// Two signing requests under one client-chosen session id: every envelope of
/// the first run is recorded on NATS and replayed into the second. The second
/// signature verifies, nobody is blamed, nothing is retried, nobody banned.
async fn envelopes_of_another_run(env: &mut Env, ecdsa: &[u8]) {
    let session_id = tessera_types::SessionId::new("reused-session").unwrap();
    let session = || SessionSpec {
        session_id: Some(session_id.as_str().to_string()),
        players: Some(vec!["node0".to_string(), "node1".to_string()]),
        ..Default::default()
    };
    let mut wire = env.nats.subscribe("tessera.>").await.unwrap();
    env.nats.flush().await.unwrap();
    let first: [u8; 32] = Sha256::digest(b"first run").into();
    let json = env.sign_request("run-1", &first, Some(session()));
    env.client.publish_sign("run-1", json).await;
    let ev = env.signed("run-1").await;
    check::ecdsa(ecdsa, &first, &ev);
    // Everything of that run that crossed NATS.
    let mut recorded = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), wire.next()).await {
        let ours = tessera_security::Envelope::from_bytes(&m.payload)
            .is_ok_and(|e| e.header().session_id == session_id);
        if ours {
            recorded.push((m.subject.to_string(), m.payload.to_vec()));
        }
    }
    drop(wire);
    assert!(
        recorded.len() > 4,
        "only {} envelopes recorded",
        recorded.len()
    );

    let second: [u8; 32] = Sha256::digest(b"second run").into();
    let json = env.sign_request("run-2", &second, Some(session()));
    env.client.publish_sign("run-2", json).await;
    // Replay the recorded run into the new one: as it starts, and again once
    // a player has joined it.
    let replay = |env: &Env| {
        let nats = env.nats.clone();
        let recorded = recorded.clone();
        async move {
            for (subject, payload) in recorded {
                nats.publish(subject, payload.into()).await.unwrap();
            }
            nats.flush().await.unwrap();
        }
    };
    replay(env).await;
    let joined = env
        .cluster
        .wait_for_log(Duration::from_secs(10), |l| {
            l.contains("joined signing session") && l.contains("tx_id=run-2")
        })
        .await;
    assert!(joined.is_some(), "the second run never started");
    replay(env).await;
    let ev = env.signed("run-2").await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check::ecdsa(ecdsa, &second, &ev);
    // Whether a replayed envelope lands while the run is open depends on
    // timing (a fast run is over before the second replay), so the report
    // "from another run" is asserted deterministically by the runner's
    // `fresh_runs` and sans-IO `runs` tests; here: nothing is blamed.
    let logs = env.logs();
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("retrying without") && l.contains("run-2")),
        "somebody was blamed for the replay"
    );
    for i in 0..3 {
        let out = env.cluster.cli(i, &["bans", "list"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert_eq!(text.trim(), "no banned parties", "node{i} banned someone");
    }
}
