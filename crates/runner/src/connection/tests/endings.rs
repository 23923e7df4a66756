//! Keygen confirmation, the deadline, the wait for stored shares, aborting.

use super::*;

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
