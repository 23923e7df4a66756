//! The join barrier: timeouts, resends, differing views.

use super::*;

#[test]
fn join_timeout_names_the_missing_players() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    assert_eq!(sent(&c.take_ready()), vec![first_join()]);
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
        nonce("a"),
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
    assert_eq!(sent(&c.take_ready()), vec![first_join()]);
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
        nonce("a"),
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
    c.step(t0, control("b", &join_with(view(3)))).unwrap();
    let err = c.step(t0, control("c", &join_with(view(4)))).unwrap_err();
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

/// A signing view at key epoch `epoch`; `None`: a node of the previous release.
fn epoch_view(epoch: Option<u64>) -> SessionMeta {
    let config = SessionConfig::new(sid(), [id("a"), id("b"), id("c")], Threshold(1)).unwrap();
    let ids: Vec<PublicIdentity> = ["a", "b", "c"]
        .iter()
        .map(|n| PublicIdentity {
            node_id: id(n),
            signing_key: [1; 32],
            agreement_key: [2; 32],
        })
        .collect();
    let sign = Operation::Sign {
        message: b"m",
        path: &[],
    };
    let wallet = WalletId::new("w").unwrap();
    let view = SessionMeta::new(sign, &config, KeyType::Secp256k1, &wallet, &ids);
    match epoch {
        Some(e) => view.with_epoch(e),
        None => view,
    }
}

#[test]
fn a_player_at_an_older_epoch_is_named_stale_by_either_side() {
    let t0 = Instant::now();
    // This node is current (epoch 4), c is behind.
    let mut c = conn_with(t0, epoch_view(Some(4)));
    c.join(t0);
    c.step(t0, control("b", &join_with(epoch_view(Some(4)))))
        .unwrap();
    let err = c
        .step(t0, control("c", &join_with(epoch_view(Some(3)))))
        .unwrap_err();
    match &err {
        SessionError::EpochMismatch {
            peer,
            stale,
            ours,
            theirs,
            ..
        } => {
            assert_eq!((peer, stale), (&id("c"), &id("c")));
            assert_eq!((*ours, *theirs), (4, 3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), ErrorCode::EpochMismatch);
    assert_eq!(err.culprits().proven, vec![id("c")]);
    assert!(err.culprits().ban.is_empty(), "staleness is never a ban");
    assert_eq!(
        err.to_string(),
        "session s-1: players hold different epochs of the key: c holds epoch 3, a holds epoch 4; c is stale (it missed a refresh or was restored from an older backup)"
    );

    // This node is the stale one: it names itself.
    let mut c = conn_with(t0, epoch_view(Some(3)));
    c.join(t0);
    let err = c
        .step(t0, control("b", &join_with(epoch_view(Some(4)))))
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::EpochMismatch { stale, .. } if *stale == id("a")),
        "{err:?}"
    );
}

#[test]
fn a_peer_of_the_previous_release_holds_epoch_0() {
    let t0 = Instant::now();
    // Never refreshed: the views match, epochs or not.
    let mut c = conn_with(t0, epoch_view(Some(0)));
    c.join(t0);
    c.step(t0, control("b", &join_with(epoch_view(None))))
        .unwrap();
    // Refreshed here: a peer without the field is behind.
    let mut c = conn_with(t0, epoch_view(Some(1)));
    c.join(t0);
    let err = c
        .step(t0, control("b", &join_with(epoch_view(None))))
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::EpochMismatch { stale, theirs: 0, .. } if *stale == id("b")),
        "{err:?}"
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
fn joins_carry_the_request_trace_and_a_node_without_one_learns_it() {
    let t0 = Instant::now();
    let trace = tessera_types::TraceId::new("trace-9").unwrap();
    let mut traced = conn(t0).with_trace(Some(trace.clone()));
    traced.join(t0);
    let joins = sent(&traced.take_ready());
    assert!(
        matches!(&joins[..], [Outgoing::Join(j)] if j.trace.as_ref() == Some(&trace)),
        "{joins:?}"
    );
    // A device learns of the session from the client, not from a proposal.
    let mut device = conn(t0);
    device.join(t0);
    let from_b = Frame::Join(Join {
        trace: Some(trace.clone()),
        ..match join_frame() {
            Frame::Join(j) => j,
            _ => unreachable!(),
        }
    });
    device.step(t0, control("b", &from_b)).unwrap();
    device.take_ready();
    device
        .step(t0 + RESEND, control("c", &join_frame()))
        .unwrap();
    device.tick(t0 + RESEND).unwrap();
    let resent = sent(&device.take_ready());
    assert!(
        resent
            .iter()
            .all(|o| !matches!(o, Outgoing::Join(j) if j.trace.as_ref() != Some(&trace))),
        "{resent:?}"
    );
    assert_eq!(device.trace, Some(trace));
}
