//! A session id used twice, over a real nats-server (and Consul): every
//! envelope of the first run is recorded on the session's subjects and the
//! node control subjects, then replayed into a second run under the same
//! session id. The second run completes with a signature that verifies
//! (ed25519-dalek), the replayed envelopes are rejected as from another run,
//! and nobody is blamed.

mod common;

use std::time::Duration;

use common::{check_eddsa, id, keygen_all, sid, Cluster};
use futures::StreamExt;
use tessera_runner::{RunnerOptions, SessionReport, SignRequest};
use tessera_security::{Envelope, RunTag};
use tessera_session::derive::DerivationPath;
use tessera_testkit::wait::wait_until;
use tessera_types::{ErrorCode, KeyType, SessionId, WalletId};

/// Every envelope of `session` seen on `sub` so far: (subject, payload).
fn take_recorded(
    sub: &mut async_nats::Subscriber,
    session: &SessionId,
    out: &mut Vec<(String, Vec<u8>)>,
) {
    while let Some(Some(m)) = futures::FutureExt::now_or_never(sub.next()) {
        if let Ok(envelope) = Envelope::from_bytes(&m.payload) {
            if &envelope.header().session_id == session {
                out.push((m.subject.to_string(), m.payload.to_vec()));
            }
        }
    }
}

/// A raw subscription the server has confirmed (a probe on `probe` came back).
async fn live_subscription(
    client: &async_nats::Client,
    pattern: &str,
    probe: &str,
) -> async_nats::Subscriber {
    let mut sub = client.subscribe(pattern.to_string()).await.unwrap();
    let confirmed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            client
                .publish(probe.to_string(), "probe".into())
                .await
                .unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                if m.payload.as_ref() == b"probe" {
                    return;
                }
            }
        }
    })
    .await;
    confirmed.expect("raw subscription live");
    sub
}

async fn replay(client: &async_nats::Client, recorded: &[(String, Vec<u8>)]) {
    for (subject, payload) in recorded {
        client
            .publish(subject.clone(), payload.clone().into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn envelopes_recorded_in_one_run_are_from_another_run_in_the_next() {
    let cluster = Cluster::start(2, RunnerOptions::default()).await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let public_key = keygen_all(&[a, b], "w-runs", KeyType::Ed25519, 1).await;
    let raw = async_nats::connect(cluster.nats.url()).await.unwrap();
    // A client-chosen session id, used for two signings.
    let session = sid("reused");
    let mut session_tap = live_subscription(
        &raw,
        &format!("tessera.session.{}.>", session.as_str()),
        &format!("tessera.session.{}.probe", session.as_str()),
    )
    .await;
    let mut control_tap = live_subscription(
        &raw,
        "tessera.node.*.control",
        "tessera.node.nobody.control",
    )
    .await;
    let request = |message: &[u8]| SignRequest {
        session_id: session.clone(),
        wallet_id: WalletId::new("w-runs").unwrap(),
        key_type: KeyType::Ed25519,
        signers: cluster.ids(),
        message: message.to_vec(),
        path: DerivationPath::root(),
        dynamic_keys: Default::default(),
        epoch: None,
    };

    // Run 1, recorded.
    let first = b"run one: pay 1".to_vec();
    let (r1a, r1b) = (a.start_sign(request(&first)), b.start_sign(request(&first)));
    let sig1 = r1a.wait().await.expect("run 1 signs on node-a");
    assert_eq!(r1b.wait().await.expect("run 1 signs on node-b"), sig1);
    check_eddsa(&public_key, &first, &sig1);
    // Both closed the run (its subscriptions and control routes are gone).
    let closed = wait_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        || async { a.transport().open_sessions() == 0 && b.transport().open_sessions() == 0 },
    )
    .await;
    assert!(closed, "run 1 closed");
    raw.flush().await.unwrap();
    let mut recorded = Vec::new();
    let got_all = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        take_recorded(&mut session_tap, &session, &mut recorded);
        take_recorded(&mut control_tap, &session, &mut recorded);
        // Both players' envelopes bound to run 1 are in (the protocol's, `Finished`).
        let bound_from = |who: &str| {
            recorded.iter().any(|(_, bytes)| {
                let envelope = Envelope::from_bytes(bytes).unwrap();
                let h = envelope.header();
                h.sender == id(who) && matches!(h.run, RunTag::Bound(_))
            })
        };
        std::future::ready(bound_from("node-a") && bound_from("node-b"))
    })
    .await;
    assert!(got_all, "recorded {} envelopes", recorded.len());

    // Run 2 under the same session id, with the recording replayed before
    // node-b opens (node-a is in its barrier) and again once both run.
    let second = b"run two: pay 2".to_vec();
    let open = |node: &tessera_runner::Node| node.transport().open_sessions() == 1;
    let r2a = a.start_sign(request(&second));
    // node-a's link is open (its subscriptions confirmed): it is in the barrier,
    // waiting for node-b, when the recording arrives.
    let a_open = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        std::future::ready(open(a))
    })
    .await;
    assert!(a_open, "run 2 opened on node-a");
    replay(&raw, &recorded).await;
    let r2b = b.start_sign(request(&second));
    replay(&raw, &recorded).await;
    let limit = Duration::from_secs(30);
    let (res_a, res_b) = tokio::join!(
        tokio::time::timeout(limit, r2a.wait_with_reports()),
        tokio::time::timeout(limit, r2b.wait_with_reports()),
    );
    let (res_a, res_b) = (
        res_a.expect("run 2 on node-a in time"),
        res_b.expect("run 2 on node-b in time"),
    );
    let (sig_a, mut reports) = res_a;
    let (sig_b, reports_b) = res_b;
    let sig2 = sig_a.expect("run 2 signs on node-a");
    assert_eq!(sig_b.expect("run 2 signs on node-b"), sig2);
    check_eddsa(&public_key, &second, &sig2);
    assert_ne!(sig1, sig2);
    reports.extend(reports_b);
    eprintln!(
        "recorded {} envelopes; reports: {reports:#?}",
        recorded.len()
    );

    // What the replay produced: reports, none fatal, nobody blamed; the
    // envelopes bound to run 1 are named as from another run.
    assert!(reports.iter().all(|r| !r.fatal), "{reports:#?}");
    assert!(
        reports.iter().all(|r| r.culprits.is_empty()),
        "{reports:#?}"
    );
    let other_run = |r: &SessionReport| {
        r.code == ErrorCode::MessageRouting && r.message.contains("another run")
    };
    assert!(reports.iter().any(other_run), "{reports:#?}");
    for r in reports.iter().filter(|r| other_run(r)) {
        assert!(
            r.sender == Some(id("node-a")) || r.sender == Some(id("node-b")),
            "{r:?}"
        );
    }
    cluster.stop().await;
}
