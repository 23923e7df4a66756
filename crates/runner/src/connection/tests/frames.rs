//! What inbound frames and envelopes do: duplicates, mismatches, late and foreign frames, rejections.

use super::*;

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
    assert_eq!(err.culprits().proven, vec![id("b")]);
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
