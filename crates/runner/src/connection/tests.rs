//! The connection state machine without network or crypto: inbound frames are
//! built as already-opened envelopes, time is explicit.

use super::*;

use tessera_security::secret::SecretBytes;
use tessera_security::{EnvelopeError, EnvelopeHeader, Opened};
use tessera_session::ProtocolMessage;
use tessera_types::{KeyType, PublicIdentity, SessionConfig, Threshold, WalletId};

use crate::meta::{MetaField, Operation};

const HEARTBEAT: Duration = Duration::from_millis(250);
const SILENCE: Duration = Duration::from_millis(1500);
const CONNECT: Duration = Duration::from_secs(10);
const RESEND: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(30);

fn id(name: &str) -> NodeId {
    NodeId::new(name).unwrap()
}

fn sid() -> SessionId {
    SessionId::new("s-1").unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `a` (this node), `b` and `c`, all with `SessionMeta::default()`.
fn conn(t0: Instant) -> Connection {
    conn_with(t0, SessionMeta::default())
}

fn conn_with(t0: Instant, meta: SessionMeta) -> Connection {
    let options = RunnerOptions {
        connect_timeout: CONNECT,
        join_resend: RESEND,
        heartbeat: HEARTBEAT,
        peer_silence: SILENCE,
        ..RunnerOptions::default()
    };
    let players = [id("a"), id("b"), id("c")];
    Connection::new(sid(), &id("a"), &players, options, t0 + DEADLINE, meta)
}

/// An opened envelope from `sender` carrying `frame`.
fn opened(sender: &str, round: u16, frame: &Frame) -> Inbound {
    opened_bytes(sender, round, &frame.to_bytes())
}

fn opened_bytes(sender: &str, round: u16, payload: &[u8]) -> Inbound {
    Inbound::Message(Opened {
        header: EnvelopeHeader {
            session_id: sid(),
            sender: id(sender),
            receiver: None,
            round,
            seq: 1,
        },
        payload: SecretBytes::from_slice(payload),
    })
}

fn control(sender: &str, frame: &Frame) -> Inbound {
    opened(sender, crate::frame::CONTROL_ROUND, frame)
}

fn join_frame() -> Frame {
    Frame::Join(SessionMeta::default())
}

fn protocol(from: &str, round: u16) -> (Frame, ProtocolMessage) {
    let m = ProtocolMessage {
        session_id: sid(),
        from: id(from),
        to: None,
        round,
        payload: vec![1, 2, 3],
        echo: None,
    };
    (Frame::Protocol(m.to_bytes()), m)
}

fn abort(code: ErrorCode, blamed: &[&str]) -> Frame {
    Frame::Abort {
        code,
        blamed: blamed.iter().map(|b| id(b)).collect(),
        reason: "gave up".into(),
    }
}

/// Joined and running since `t0`.
fn running(t0: Instant) -> Connection {
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &join_frame())).unwrap();
    c.step(t0, control("c", &join_frame())).unwrap();
    c.start_protocol(t0, [id("b"), id("c")].into());
    c.take_ready();
    c
}

fn sent(ready: &Ready) -> Vec<Outgoing> {
    ready.send.clone()
}

#[test]
fn join_timeout_names_the_missing_players() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    assert_eq!(
        sent(&c.take_ready()),
        vec![Outgoing::Join(SessionMeta::default())]
    );
    c.step(t0 + ms(10), control("b", &join_frame())).unwrap();
    assert_eq!(c.next_tick(), Some(t0 + RESEND));
    c.tick(t0 + CONNECT - ms(1)).unwrap();
    let err = c.tick(t0 + CONNECT).unwrap_err();
    assert!(
        matches!(&err, SessionError::JoinTimeout { missing, .. } if *missing == vec![id("c")]),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::SessionJoinTimeout);
    assert_eq!(c.phase(), &Phase::Failed);
}

#[test]
fn join_timeout_of_a_player_whose_signatures_failed_is_a_key_mismatch() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &join_frame())).unwrap();
    let bad = || Inbound::Rejected {
        sender: Some(id("c")),
        error: EnvelopeError::BadSignature { sender: id("c") },
    };
    c.step(t0, bad()).unwrap();
    c.step(t0, bad()).unwrap();
    // Reported once, as this player's key mismatch.
    let reports = c.take_ready().reports;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(matches!(&reports[0], SessionError::PeerKeyMismatch { peer, .. } if *peer == id("c")));
    let err = c.tick(t0 + CONNECT).unwrap_err();
    assert!(
        matches!(&err, SessionError::PeerKeyMismatch { peer, .. } if *peer == id("c")),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::PublicKeyMismatch);
}

#[test]
fn join_timeout_never_passes_the_session_deadline() {
    let t0 = Instant::now();
    let options = RunnerOptions {
        connect_timeout: CONNECT,
        ..RunnerOptions::default()
    };
    let mut c = Connection::new(
        sid(),
        &id("a"),
        &[id("a"), id("b")],
        options,
        t0 + ms(100),
        SessionMeta::default(),
    );
    c.join(t0);
    assert_eq!(c.next_tick(), Some(t0 + ms(100)));
    assert!(matches!(
        c.tick(t0 + ms(100)),
        Err(SessionError::JoinTimeout { .. })
    ));
}

#[test]
fn join_completes_and_resends_are_scheduled() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    c.take_ready();
    // Nothing due before the resend.
    c.tick(t0 + RESEND - ms(1)).unwrap();
    assert!(c.take_ready().send.is_empty());
    c.tick(t0 + RESEND + ms(3)).unwrap();
    assert_eq!(
        sent(&c.take_ready()),
        vec![Outgoing::Join(SessionMeta::default())]
    );
    assert_eq!(c.next_tick(), Some(t0 + RESEND + ms(3) + RESEND));
    c.step(t0 + ms(600), control("c", &join_frame())).unwrap();
    c.step(t0 + ms(601), control("b", &join_frame())).unwrap();
    assert_eq!(c.take_ready().events, vec![Event::Joined]);
    assert_eq!(c.phase(), &Phase::Joined);
    // No more resends, nothing to time out.
    assert_eq!(c.next_tick(), None);
    c.tick(t0 + CONNECT * 2).unwrap();
    assert!(c.take_ready().is_empty());
}

#[test]
fn a_session_without_peers_joins_at_once() {
    let t0 = Instant::now();
    let mut c = Connection::new(
        sid(),
        &id("a"),
        &[id("a")],
        RunnerOptions::default(),
        t0 + DEADLINE,
        SessionMeta::default(),
    );
    c.join(t0);
    assert_eq!(c.take_ready().events, vec![Event::Joined]);
}

#[test]
fn a_join_with_another_view_names_the_field() {
    let t0 = Instant::now();
    let config = SessionConfig::new(sid(), [id("a"), id("b"), id("c")], Threshold(1)).unwrap();
    let identity = |n: &str, k: u8| PublicIdentity {
        node_id: id(n),
        signing_key: [k; 32],
        agreement_key: [k; 32],
    };
    let wallet = WalletId::new("w").unwrap();
    let view = |c_key: u8| {
        let ids = [identity("a", 1), identity("b", 2), identity("c", c_key)];
        SessionMeta::new(Operation::Keygen, &config, KeyType::Ed25519, &wallet, &ids)
    };
    let mut c = conn_with(t0, view(3));
    c.join(t0);
    c.step(t0, control("b", &Frame::Join(view(3)))).unwrap();
    let err = c.step(t0, control("c", &Frame::Join(view(4)))).unwrap_err();
    match &err {
        SessionError::MetadataMismatch { peer, field, .. } => {
            assert_eq!(*peer, id("c"));
            assert_eq!(*field, MetaField::PlayerKey(id("c")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), ErrorCode::PublicKeyMismatch);
    assert_eq!(
        err.to_string(),
        "session s-1: players disagree on the public key of c: c has a different one"
    );
}

#[test]
fn a_peers_join_timeout_during_the_barrier_is_reported_as_this_nodes_own() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &join_frame())).unwrap();
    let err = c
        .step(
            t0,
            control("b", &abort(ErrorCode::SessionJoinTimeout, &["c"])),
        )
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::JoinTimeout { missing, .. } if *missing == vec![id("c")]),
        "{err:?}"
    );
}

#[test]
fn a_silent_running_peer_is_unavailable_after_peer_silence() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let mut now = t0;
    // b heartbeats, c says nothing.
    while now < t0 + SILENCE {
        now += HEARTBEAT;
        c.step(now, control("b", &Frame::Heartbeat)).unwrap();
        c.tick(now).unwrap();
        assert_eq!(
            sent(&c.take_ready()),
            vec![Outgoing::Broadcast(Frame::Heartbeat)]
        );
    }
    now += HEARTBEAT;
    let err = c.tick(now).unwrap_err();
    match &err {
        SessionError::PeerUnavailable { peer, reason, .. } => {
            assert_eq!(*peer, id("c"));
            assert_eq!(reason, "silent for 1750 ms");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), ErrorCode::PeerUnavailable);
}

#[test]
fn a_peer_that_sent_finished_is_not_blamed_for_its_silence() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.step(t0 + ms(10), opened("c", 0, &Frame::Finished))
        .unwrap();
    let mut now = t0;
    for _ in 0..20 {
        now += HEARTBEAT;
        c.step(now, control("b", &Frame::Heartbeat)).unwrap();
        c.tick(now).unwrap();
    }
    assert!(matches!(c.phase(), Phase::Running { .. }));
}

#[test]
fn an_abort_from_a_peer_is_peer_aborted() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let err = c
        .step(
            t0 + ms(5),
            control("b", &abort(ErrorCode::Internal, &["b"])),
        )
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::PeerAborted { peer, code: ErrorCode::Internal, .. } if *peer == id("b")),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::PeerAborted);
    // A peer's abort is not echoed to the peers.
    c.abort(&err);
    assert!(c.take_ready().send.is_empty());
}

#[test]
fn a_peers_blame_of_a_player_silent_here_too_is_this_nodes_own_finding() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let now = t0 + HEARTBEAT * 2;
    c.step(now, control("b", &Frame::Heartbeat)).unwrap();
    let err = c
        .step(
            now,
            control("b", &abort(ErrorCode::PeerUnavailable, &["c"])),
        )
        .unwrap_err();
    match &err {
        SessionError::PeerUnavailable { peer, reason, .. } => {
            assert_eq!(*peer, id("c"));
            assert_eq!(reason, "silent for 500 ms here, and b lost it too");
        }
        other => panic!("{other:?}"),
    }
    // Our own finding is told to the peers.
    c.abort(&err);
    assert!(matches!(
        sent(&c.take_ready()).as_slice(),
        [Outgoing::ControlAll(Frame::Abort {
            code: ErrorCode::PeerUnavailable,
            ..
        })]
    ));
}

#[test]
fn a_peers_blame_of_a_player_heard_recently_stays_the_peers_word() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let now = t0 + HEARTBEAT * 2;
    c.step(now - ms(1), control("c", &Frame::Heartbeat))
        .unwrap();
    let err = c
        .step(
            now,
            control("b", &abort(ErrorCode::PeerUnavailable, &["c"])),
        )
        .unwrap_err();
    assert!(matches!(err, SessionError::PeerAborted { .. }), "{err:?}");
}

#[test]
fn duplicate_joins_and_protocol_messages_break_nothing() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &join_frame())).unwrap();
    c.step(t0, control("b", &join_frame())).unwrap();
    assert!(c.take_ready().events.is_empty());
    // A protocol message before the barrier completes is handed on.
    let (frame, m) = protocol("b", 1);
    c.step(t0, opened("b", 1, &frame)).unwrap();
    c.step(t0, control("c", &join_frame())).unwrap();
    c.step(t0, control("c", &join_frame())).unwrap();
    let ready = c.take_ready();
    assert_eq!(ready.events, vec![Event::Joined]);
    assert_eq!(ready.messages, vec![m.clone()]);
    c.start_protocol(t0, BTreeSet::new());
    // The duplicate goes to the protocol too, which drops it (its business).
    c.step(t0, opened("b", 1, &frame)).unwrap();
    c.step(t0, control("b", &join_frame())).unwrap();
    let ready = c.take_ready();
    assert_eq!(ready.messages, vec![m]);
    assert!(ready.events.is_empty());
    assert!(matches!(c.phase(), Phase::Running { .. }));
}

#[test]
fn a_protocol_message_must_match_its_envelope() {
    let t0 = Instant::now();
    let mut c = running(t0);
    // Claims to be from c, sent by b.
    let (frame, _) = protocol("c", 1);
    let err = c.step(t0, opened("b", 1, &frame)).unwrap_err();
    assert!(
        matches!(&err, SessionError::BadFrame { sender, what, .. } if *sender == id("b") && what == "protocol message (header mismatch)"),
        "{err:?}"
    );
    // Another round than the envelope's.
    let mut c = running(t0);
    let (frame, _) = protocol("b", 2);
    assert!(c.step(t0, opened("b", 1, &frame)).is_err());
}

#[test]
fn an_unreadable_frame_from_a_player_ends_the_session() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let err = c.step(t0, opened_bytes("b", 0, &[0xff; 3])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageFormat);
    assert_eq!(err.blamed(), vec![id("b")]);
}

#[test]
fn late_frames_after_the_session_ended_are_ignored() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.finish();
    assert_eq!(
        sent(&c.take_ready()),
        vec![Outgoing::Broadcast(Frame::Finished)]
    );
    let (frame, _) = protocol("b", 3);
    c.step(t0, opened("b", 3, &frame)).unwrap();
    c.step(t0, control("b", &abort(ErrorCode::Internal, &[])))
        .unwrap();
    c.step(t0, opened_bytes("c", 0, &[0xff])).unwrap();
    c.tick(t0 + DEADLINE * 2).unwrap();
    assert!(c.take_ready().is_empty());
    assert_eq!(c.phase(), &Phase::Done);
    assert_eq!(c.next_tick(), None);
}

#[test]
fn frames_from_a_non_player_are_ignored() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.step(t0, control("mallory", &Frame::Heartbeat)).unwrap();
    c.step(t0, control("mallory", &abort(ErrorCode::Internal, &["b"])))
        .unwrap();
    // This node's own echo neither.
    let (frame, _) = protocol("a", 1);
    c.step(t0, opened("a", 1, &frame)).unwrap();
    assert!(c.take_ready().is_empty());
    assert!(matches!(c.phase(), Phase::Running { .. }));
}

#[test]
fn rejected_envelopes_are_reported_once_per_sender_and_kind() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let replay = |s: &str| Inbound::Rejected {
        sender: Some(id(s)),
        error: EnvelopeError::Replayed {
            sender: id(s),
            seq: 7,
        },
    };
    c.step(t0, replay("b")).unwrap();
    c.step(t0, replay("b")).unwrap();
    c.step(t0, replay("c")).unwrap();
    c.step(
        t0,
        Inbound::Rejected {
            sender: None,
            error: EnvelopeError::Malformed { reason: "short" },
        },
    )
    .unwrap();
    let reports = c.take_ready().reports;
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(reports
        .iter()
        .all(|r| matches!(r, SessionError::Rejected { .. })));
    // A stranger's flood stops being reported at the cap.
    for i in 0..40 {
        let s = format!("stranger-{i}");
        c.step(
            t0,
            Inbound::Rejected {
                sender: Some(id(&s)),
                error: EnvelopeError::UnknownSender { sender: id(&s) },
            },
        )
        .unwrap();
    }
    assert_eq!(c.take_ready().reports.len(), 13);
    assert!(matches!(c.phase(), Phase::Running { .. }));
}

#[test]
fn a_players_payload_that_does_not_decrypt_ends_the_session() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let err = c
        .step(
            t0,
            Inbound::Rejected {
                sender: Some(id("b")),
                error: EnvelopeError::DecryptionFailed { sender: id("b") },
            },
        )
        .unwrap_err();
    assert!(matches!(err, SessionError::Rejected { .. }), "{err:?}");
    assert_eq!(err.sender(), Some(id("b")));
    // A stranger's does not.
    let mut c = running(t0);
    c.step(
        t0,
        Inbound::Rejected {
            sender: Some(id("mallory")),
            error: EnvelopeError::DecryptionFailed {
                sender: id("mallory"),
            },
        },
    )
    .unwrap();
}

#[test]
fn keygen_confirmation_completes_when_every_peer_has_the_same_key() {
    let t0 = Instant::now();
    let mut c = running(t0);
    // b finished the protocol before us.
    let done = Frame::KeygenDone { digest: [7; 32] };
    c.step(t0, opened("b", 0, &done)).unwrap();
    c.confirm(t0 + ms(1), [7; 32]).unwrap();
    let ready = c.take_ready();
    assert_eq!(ready.send, vec![Outgoing::Broadcast(done.clone())]);
    assert!(ready.events.is_empty());
    c.step(t0 + ms(2), opened("c", 0, &done)).unwrap();
    assert_eq!(c.take_ready().events, vec![Event::Confirmed]);
    assert_eq!(c.phase(), &Phase::Confirmed);
}

#[test]
fn keygen_confirmation_with_another_key_is_a_mismatch() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.confirm(t0, [7; 32]).unwrap();
    c.step(t0, opened("b", 0, &Frame::KeygenDone { digest: [7; 32] }))
        .unwrap();
    let err = c
        .step(t0, opened("c", 0, &Frame::KeygenDone { digest: [8; 32] }))
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::KeygenMismatch { peer, .. } if *peer == id("c")),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::ProtocolCheating);
    // Already received before this node confirmed: found at once.
    let mut c = running(t0);
    c.step(t0, opened("c", 0, &Frame::KeygenDone { digest: [8; 32] }))
        .unwrap();
    assert!(matches!(
        c.confirm(t0, [7; 32]),
        Err(SessionError::KeygenMismatch { .. })
    ));
}

#[test]
fn the_deadline_names_whom_the_session_waits_for() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.protocol_waiting_for(vec![id("c")]);
    // Keep both peers heard so that silence is not what ends it.
    let mut now = t0;
    while now + HEARTBEAT < t0 + DEADLINE {
        now += HEARTBEAT;
        c.step(now, control("b", &Frame::Heartbeat)).unwrap();
        c.step(now, control("c", &Frame::Heartbeat)).unwrap();
        c.tick(now).unwrap();
    }
    assert_eq!(c.next_tick(), Some(t0 + DEADLINE));
    let err = c.tick(t0 + DEADLINE).unwrap_err();
    assert!(
        matches!(&err, SessionError::Deadline { waiting_for, .. } if *waiting_for == vec![id("c")]),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::SessionTimeout);
    // In the keygen confirmation: the peers that have not confirmed.
    let mut c = running(t0);
    c.confirm(t0, [7; 32]).unwrap();
    c.step(t0, opened("c", 0, &Frame::KeygenDone { digest: [7; 32] }))
        .unwrap();
    let err = c.tick(t0 + DEADLINE).unwrap_err();
    assert!(
        matches!(&err, SessionError::Deadline { waiting_for, .. } if *waiting_for == vec![id("b")]),
        "{err:?}"
    );
}

#[test]
fn a_peer_leaving_the_registry_is_unavailable() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.registry_changed(&[id("b"), id("c"), id("d")].into())
        .unwrap();
    let err = c.registry_changed(&[id("c")].into()).unwrap_err();
    assert!(
        matches!(&err, SessionError::PeerUnavailable { peer, reason, .. } if *peer == id("b") && reason == "its readiness key left the registry"),
        "{err:?}"
    );
}

#[test]
fn the_wait_for_stored_shares_ends_when_all_peers_finished_or_in_time() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.confirm(t0, [7; 32]).unwrap();
    c.await_stored(t0, Duration::from_secs(2));
    assert!(c
        .take_ready()
        .send
        .contains(&Outgoing::Broadcast(Frame::Finished)));
    assert!(!c.cancellable());
    c.step(t0, opened("b", 0, &Frame::Finished)).unwrap();
    c.step(t0, opened("c", 0, &Frame::Finished)).unwrap();
    assert_eq!(
        c.take_ready().events,
        vec![Event::PeersStored {
            missing: Vec::new()
        }]
    );
    assert_eq!(c.phase(), &Phase::Done);

    let mut c = running(t0);
    c.await_stored(t0, Duration::from_secs(2));
    c.step(t0, opened("b", 0, &Frame::Finished)).unwrap();
    c.tick(t0 + Duration::from_secs(2)).unwrap();
    assert_eq!(
        c.take_ready().events,
        vec![Event::PeersStored {
            missing: vec![id("c")]
        }]
    );
}

#[test]
fn an_error_tells_the_peers_with_an_abort() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let err = c.cancelled();
    assert_eq!(c.phase(), &Phase::Failed);
    c.abort(&err);
    assert_eq!(
        sent(&c.take_ready()),
        vec![Outgoing::ControlAll(Frame::Abort {
            code: ErrorCode::ContextCancelled,
            blamed: Vec::new(),
            reason: "session s-1: cancelled".into(),
        })]
    );
}
