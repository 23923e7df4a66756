//! Silence, aborts, blame and the registry's ready set.

use super::*;

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
