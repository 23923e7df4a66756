//! Sessions that go wrong over real NATS and Consul: a player that never joins, a
//! player that aborts, a player whose identity is not the one configured for it,
//! a player that dies mid-protocol, and hostile messages on the session's
//! subjects. The connection failures also check their one log line (the lines
//! docs/troubleshooting.md quotes).

mod common;

use std::time::{Duration, Instant};

use common::{assert_has, check_eddsa, id, keygen_all, logged, one_line, sid, Cluster};
use futures::StreamExt;
use std::sync::Arc;
use tessera_runner::frame::{Frame, CONTROL_ROUND};
use tessera_runner::{KeygenRequest, RunnerOptions, SessionReport, SignRequest};

use tessera_security::{seal, Envelope, EnvelopeHeader, NodeIdentity, RunNonce, RunTag};
use tessera_session::derive::DerivationPath;
use tessera_types::{ErrorCode, KeyType, NodeId, Threshold, WalletId};

fn keygen_request(
    session: &tessera_types::SessionId,
    wallet: &str,
    key_type: KeyType,
    players: &[NodeId],
) -> KeygenRequest {
    KeygenRequest {
        session_id: session.clone(),
        wallet_id: WalletId::new(wallet).unwrap(),
        key_type,
        participants: players.to_vec(),
        threshold: Threshold(1),
        dynamic_keys: Default::default(),
    }
}

/// The fatal report on a session's error channel, waited for up to `within`.
async fn fatal_report(
    reports: &mut tokio::sync::mpsc::Receiver<SessionReport>,
    within: Duration,
) -> SessionReport {
    tokio::time::timeout(within, async {
        loop {
            let r = reports
                .recv()
                .await
                .expect("error channel open until the fatal report");
            if r.fatal {
                return r;
            }
        }
    })
    .await
    .expect("fatal report in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_that_never_joins_is_named_after_the_connection_timeout() {
    let options = RunnerOptions {
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let cluster = Cluster::start(3, options).await;
    let session = sid("nojoin");
    let started = Instant::now();
    // node-c is a participant but never opens the session.
    let running: Vec<_> = cluster.nodes[..2]
        .iter()
        .map(|n| {
            n.start_keygen(keygen_request(
                &session,
                "w-nojoin",
                KeyType::Ed25519,
                &cluster.ids(),
            ))
        })
        .collect();
    for r in running {
        let err = tokio::time::timeout(Duration::from_secs(5), r.wait())
            .await
            .expect("fails in time")
            .unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(err.code(), ErrorCode::SessionJoinTimeout, "{err}");
        assert_eq!(err.culprits().observed_silent, vec![id("node-c")]);
        let text = err.to_string();
        assert!(
            text.contains("node-c") && text.contains(session.as_str()),
            "{text}"
        );
        assert!(elapsed < Duration::from_millis(1900), "took {elapsed:?}");
    }
    // One line on each node that waited, naming the missing player.
    let sid_field = format!("session_id={session}");
    for node in ["node-a", "node-b"] {
        let node_field = format!("node_id={node}");
        let line = one_line(
            Duration::from_secs(1),
            &["WARN", "never joined", &sid_field, &node_field],
        )
        .await;
        assert_has(
            &line,
            &[
                &format!(
                    "session failed: session {session}: players [node-c] never joined \
                     within the connection timeout"
                ),
                "code=ERROR_SESSION_JOIN_TIMEOUT",
                "missing=node-c",
            ],
        );
    }
    // node-c, which never opened the session, drops their joins after its hold
    // period (2 s) with one line naming the session and the senders.
    let line = one_line(
        Duration::from_secs(5),
        &["WARN", &sid_field, "node_id=node-c"],
    )
    .await;
    assert_has(
        &line,
        &[
            "dropped messages for a session this node never opened \
             (mismatched session ids, or players started at different times)",
            "code=ERROR_UNKNOWN_SESSION",
            "senders=node-a,node-b",
        ],
    );
    for n in &cluster.nodes[..2] {
        assert_eq!(n.transport().open_sessions(), 0, "subscriptions closed");
        assert!(n
            .store()
            .get_metadata(&WalletId::new("w-nojoin").unwrap(), KeyType::Ed25519)
            .unwrap()
            .is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_dropped_mid_protocol_is_reported_unavailable_within_two_seconds() {
    let cluster = Cluster::start(3, RunnerOptions::default()).await;
    let session = sid("drop");
    let wallet = "w-drop";
    let raw = async_nats::connect(cluster.nats.url()).await.unwrap();
    let mut tap = raw_subscribe(
        &raw,
        &format!("tessera.session.{session}.>"),
        &format!("tessera.session.{session}.probe"),
    )
    .await;
    // ECDSA keygen runs for seconds here: long enough to kill a player in the middle.
    let mut running: Vec<_> = cluster
        .nodes
        .iter()
        .map(|n| {
            n.start_keygen(keygen_request(
                &session,
                wallet,
                KeyType::Secp256k1,
                &cluster.ids(),
            ))
        })
        .collect();
    let victim = running.pop().unwrap();
    // In the middle: node-c has sent its first protocol message (keygen has
    // more rounds to go).
    next_envelope(&mut tap, &session, |_, h| {
        h.sender == id("node-c") && h.round != CONTROL_ROUND
    })
    .await;
    let killed_at = Instant::now();
    victim.kill();
    for mut r in running {
        let report = fatal_report(r.reports(), Duration::from_secs(5)).await;
        let elapsed = killed_at.elapsed();
        assert_eq!(report.code, ErrorCode::PeerUnavailable, "{report:?}");
        assert_eq!(report.culprits.observed_silent, vec![id("node-c")]);
        assert!(
            elapsed < Duration::from_secs(2),
            "noticed after {elapsed:?}"
        );
        let err = r.wait().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::PeerUnavailable);
        println!("peer loss noticed after {elapsed:?}: {err}");
    }
    for n in &cluster.nodes[..2] {
        assert_eq!(n.transport().open_sessions(), 0, "subscriptions closed");
        assert!(
            n.store()
                .get_metadata(&WalletId::new(wallet).unwrap(), KeyType::Secp256k1)
                .unwrap()
                .is_none(),
            "no half-made wallet"
        );
    }
}

/// Subscribes a raw NATS client to `pattern` and waits until the server
/// delivers to it (a "probe" on `probe_subject`, which `pattern` matches).
async fn raw_subscribe(
    client: &async_nats::Client,
    pattern: &str,
    probe_subject: &str,
) -> async_nats::Subscriber {
    let mut sub = client.subscribe(pattern.to_string()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            client
                .publish(probe_subject.to_string(), "probe".into())
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
    .await
    .expect("raw subscription live");
    sub
}

/// The header of the next envelope of `session` on a raw subscription whose
/// subject and header pass `wanted`, waited for up to 10 s.
async fn next_envelope(
    sub: &mut async_nats::Subscriber,
    session: &tessera_types::SessionId,
    wanted: impl Fn(&str, &EnvelopeHeader) -> bool,
) -> EnvelopeHeader {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = sub.next().await.expect("raw subscription open");
            let Ok(envelope) = Envelope::from_bytes(&m.payload) else {
                continue; // a probe
            };
            let h = envelope.header();
            if &h.session_id == session && wanted(m.subject.as_str(), h) {
                return h.clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no such message in {session}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampered_replayed_and_strangers_messages_are_rejected_and_the_signature_is_good() {
    let cluster = Cluster::start(2, RunnerOptions::default()).await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let public_key = keygen_all(&[a, b], "w-hostile", KeyType::Ed25519, 1).await;
    let raw = async_nats::connect(cluster.nats.url()).await.unwrap();
    let b_control = "tessera.node.node-b.control";
    let mut tap = raw_subscribe(&raw, b_control, b_control).await;

    let session = sid("hostile");
    let message = b"transfer 3 ETH".to_vec();
    let request = SignRequest {
        session_id: session.clone(),
        wallet_id: WalletId::new("w-hostile").unwrap(),
        key_type: KeyType::Ed25519,
        signers: cluster.ids(),
        message: message.clone(),
        path: DerivationPath::root(),
        dynamic_keys: Default::default(),
        epoch: None,
    };
    // node-a opens first; its join to node-b is captured on the way.
    let mut run_a = a.start_sign(request.clone());
    let join = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let m = tap.next().await.unwrap();
            if m.payload.as_ref() != b"probe" {
                return m.payload;
            }
        }
    })
    .await
    .expect("node-a's join");
    // A replay of node-a's join, and a copy with its signature flipped, to node-b.
    raw.publish(b_control, join.clone()).await.unwrap();
    let mut tampered = join.to_vec();
    *tampered.last_mut().unwrap() ^= 1;
    raw.publish(b_control, tampered.into()).await.unwrap();
    // A stranger's well-formed, signed envelope on the session's broadcast subject.
    let mallory = NodeIdentity::generate(id("mallory"));
    let header = EnvelopeHeader {
        session_id: session.clone(),
        run: RunTag::Joining(RunNonce([0; 32])),
        sender: id("mallory"),
        receiver: None,
        round: CONTROL_ROUND,
        seq: 0,
    };
    let forged = seal(&mallory, header, &Frame::Heartbeat.to_bytes(), None).unwrap();
    raw.publish(
        format!("tessera.session.{}.bcast", session.as_str()),
        forged.to_bytes().into(),
    )
    .await
    .unwrap();
    raw.flush().await.unwrap();
    // node-a has taken the stranger's envelope: its rejection is on node-a's
    // error channel. (node-b's two copies went out on the same connection
    // before it; node-b holds them until it opens, or takes them live.)
    let mut reports_a = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let r = run_a
                .reports()
                .recv()
                .await
                .expect("node-a's error channel");
            let stranger = r.sender.as_ref() == Some(&id("mallory"));
            reports_a.push(r);
            if stranger {
                return;
            }
        }
    })
    .await
    .expect("node-a reports the stranger's envelope");

    // node-b opens; the session completes with a good signature.
    let run_b = b.start_sign(request);
    let (res_b, reports_b) = run_b.wait_with_reports().await;
    let sig_b = res_b.expect("node-b signs");
    while let Ok(r) = run_a.reports().try_recv() {
        reports_a.push(r);
    }
    let sig_a = run_a.wait().await.expect("node-a signs");
    assert_eq!(sig_a, sig_b);
    check_eddsa(&public_key, &message, &sig_a);

    // Each rejection is on the error channel, not fatal, naming the claimed sender.
    // A player's id with a signature its configured key rejects reads as a key
    // mismatch: from the receiver's side, a forgery looks the same.
    let has = |reports: &[SessionReport], code: ErrorCode, sender: &str, text: &str| {
        reports.iter().any(|r| {
            r.code == code
                && !r.fatal
                && r.sender.as_ref() == Some(&id(sender))
                && r.message.contains(text)
        })
    };
    let verification = ErrorCode::MessageVerification;
    assert!(
        has(&reports_b, verification, "node-a", "replays seq"),
        "{reports_b:#?}"
    );
    assert!(
        has(
            &reports_b,
            ErrorCode::PublicKeyMismatch,
            "node-a",
            "node-a's signature does not verify under the public key configured for it"
        ),
        "{reports_b:#?}"
    );
    assert!(
        has(&reports_a, verification, "mallory", "unknown sender"),
        "{reports_a:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_that_aborts_is_named_with_its_reason() {
    let cluster = Cluster::start(3, RunnerOptions::default()).await;
    let session = sid("abort");
    let request = keygen_request(&session, "w-abort", KeyType::Ed25519, &cluster.ids());
    let raw = async_nats::connect(cluster.nats.url()).await.unwrap();
    let controls = "tessera.node.*.control";
    let mut tap = raw_subscribe(&raw, controls, "tessera.node.nobody.control").await;
    // node-c never opens the session, so the barrier holds until node-b gives up.
    let run_a = cluster.nodes[0].start_keygen(request.clone());
    let run_b = cluster.nodes[1].start_keygen(request);
    // Both are in the barrier, and node-b's join of this run reached node-a: one
    // that echoes node-a's run nonce (an abort from a player whose join of this
    // run is not in could be a recording of another run, and is not acted on).
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = tap.next().await.expect("raw subscription open");
            if m.subject.as_str() != "tessera.node.node-a.control" {
                continue;
            }
            let Ok(envelope) = Envelope::from_bytes(&m.payload) else {
                continue; // a probe
            };
            if envelope.header().session_id != session {
                continue;
            }
            if let Some(Frame::Join(join)) = Frame::from_bytes(envelope.body()) {
                if join.echo.iter().any(|(p, _)| *p == id("node-a")) {
                    return;
                }
            }
        }
    })
    .await
    .expect("node-b answers node-a's join");
    let cancelled_at = Instant::now();
    let err_b = run_b.cancel().await.unwrap_err();
    assert_eq!(err_b.code(), ErrorCode::ContextCancelled);
    let err_a = tokio::time::timeout(Duration::from_secs(5), run_a.wait())
        .await
        .expect("node-a fails in time")
        .unwrap_err();
    let elapsed = cancelled_at.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(err_a.code(), ErrorCode::PeerAborted, "{err_a}");
    assert_eq!(err_a.sender(), Some(id("node-b")));
    let line = one_line(
        Duration::from_secs(1),
        &["WARN", &format!("session_id={session}"), "node_id=node-a"],
    )
    .await;
    assert_has(
        &line,
        &[
            &format!(
                "session failed: session {session}: peer node-b aborted \
                 (ERROR_CONTEXT_CANCELLED: session {session}: cancelled), blaming []"
            ),
            "code=ERROR_PEER_ABORTED",
            "peer=node-b",
            "peer_code=ERROR_CONTEXT_CANCELLED",
            &format!("reason=session {session}: cancelled"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_whose_identity_changed_is_named_as_a_key_mismatch() {
    let options = RunnerOptions {
        connect_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let mut cluster = Cluster::start(2, options).await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    keygen_all(&[a, b], "w-rotated", KeyType::Ed25519, 1).await;
    // node-b's identity file is regenerated; node-a still has the old public one.
    cluster.nodes.pop().unwrap().shutdown().await;
    let rotated = Arc::new(NodeIdentity::generate(id("node-b")));
    let b = cluster
        .start_node_as(1, rotated, cluster.storage_dir(1))
        .await;
    cluster.nodes.push(b);
    cluster.wait_all_ready().await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);

    // A new session: every message of node-b fails under its configured key.
    let session = sid("rotated");
    let request = keygen_request(&session, "w-after", KeyType::Ed25519, &cluster.ids());
    let mut run_a = a.start_keygen(request.clone());
    let run_b = b.start_keygen(request);
    let report = fatal_report(run_a.reports(), Duration::from_secs(5)).await;
    assert_eq!(report.code, ErrorCode::PublicKeyMismatch, "{report:?}");
    assert_eq!(report.culprits.found(), vec![id("node-b")]);
    let err_a = run_a.wait().await.unwrap_err();
    assert_eq!(err_a.code(), ErrorCode::PublicKeyMismatch);
    // Rejected every time, reported and logged once (plus the session's end).
    let text = format!(
        "session {session}: node-b's signature does not verify under the public key \
         configured for it; compare node-b's identity file with its public identity \
         configured here"
    );
    let sid_field = format!("session_id={session}");
    let lines = logged(&["WARN", &sid_field, "node_id=node-a", &text]);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert_has(line, &["code=ERROR_PUBLIC_KEY_MISMATCH", "peer=node-b"]);
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("session failed"))
            .count(),
        1
    );
    // node-a's join is signed, not encrypted, and carries node-a's view of every
    // player's keys: node-b reads that node-a holds another key for it and gives
    // up at once, naming the key and node-a (troubleshooting.md says so).
    let err_b = tokio::time::timeout(Duration::from_secs(5), run_b.wait())
        .await
        .expect("node-b fails in time")
        .unwrap_err();
    assert_eq!(err_b.code(), ErrorCode::PublicKeyMismatch, "{err_b}");
    let line = one_line(
        Duration::from_secs(1),
        &["WARN", &sid_field, "node_id=node-b", "session failed"],
    )
    .await;
    assert_has(
        &line,
        &[
            "players disagree on the public key of node-b: node-a has a different one",
            "code=ERROR_PUBLIC_KEY_MISMATCH",
            "sender=node-a",
        ],
    );
    assert!(a
        .store()
        .get_metadata(&WalletId::new("w-after").unwrap(), KeyType::Ed25519)
        .unwrap()
        .is_none());

    // Signing with the wallet made before: node-b's identity is not the one
    // stored with the key, so it refuses before sending anything.
    let session = sid("rotated-sign");
    let request = SignRequest {
        session_id: session.clone(),
        wallet_id: WalletId::new("w-rotated").unwrap(),
        key_type: KeyType::Ed25519,
        signers: cluster.ids(),
        message: b"after rotation".to_vec(),
        path: DerivationPath::root(),
        dynamic_keys: Default::default(),
        epoch: None,
    };
    let run_a = a.start_sign(request.clone());
    let err_b = b.start_sign(request).wait().await.unwrap_err();
    assert_eq!(err_b.code(), ErrorCode::PublicKeyMismatch, "{err_b}");
    let line = one_line(
        Duration::from_secs(1),
        &["WARN", &format!("session_id={session}"), "node_id=node-b"],
    )
    .await;
    assert_has(
        &line,
        &[
            "session failed: player node-b's public key differs from the one stored with the key",
            "code=ERROR_PUBLIC_KEY_MISMATCH",
            "player=node-b",
        ],
    );
    let err_a = run_a.wait().await.unwrap_err();
    assert_eq!(err_a.code(), ErrorCode::SessionJoinTimeout, "{err_a}");
    assert_eq!(err_a.culprits().observed_silent, vec![id("node-b")]);
}
