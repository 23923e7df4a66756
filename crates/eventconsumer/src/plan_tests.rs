use super::*;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn view(me: &str, ready: &[&str]) -> Snapshot {
    Snapshot {
        me: id(me),
        servers: vec![id("node0"), id("node1"), id("node2")],
        ready: ready.iter().map(|n| id(n)).collect(),
        stale_view: None,
        threshold: Threshold(1),
        retry_signing: true,
        banned: Default::default(),
    }
}

#[test]
fn pick_takes_this_node_and_the_first_ready_others_sorted() {
    let v = view("node2", &["node0", "node1", "node2"]);
    let players = pick(&v, &v.servers, 2, &[]).unwrap();
    assert_eq!(players, vec![id("node0"), id("node2")]);
    // Without the blamed node0, node1 steps in.
    let players = pick(&v, &v.servers, 2, &[id("node0")]).unwrap();
    assert_eq!(players, vec![id("node1"), id("node2")]);
}

#[test]
fn too_few_ready_servers_is_not_majority_naming_the_excluded() {
    let v = view("node0", &["node0", "node1"]);
    let e = pick(&v, &v.servers, 2, &[id("node1")]).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::NotMajority);
    assert_eq!(
        e.to_string(),
        "1 of 3 participants ready besides [NodeId(\"node1\")], 2 needed"
    );
    // This node not ready itself: it cannot be one of the signers.
    let v = view("node0", &["node1", "node2"]);
    assert!(pick(&v, &v.servers, 2, &[]).is_err());
}

#[test]
fn keygen_players_default_to_every_server_and_need_a_session_id_for_tenants() {
    let v = view("node0", &["node0", "node1", "node2"]);
    let p = keygen_players(&v, &CheckedSession::default()).unwrap();
    assert_eq!(p.players, v.servers);
    assert_eq!(p.threshold, Threshold(1));
    let with_device = CheckedSession {
        players: Some(vec![id("device-1"), id("node0")]),
        ..Default::default()
    };
    let e = keygen_players(&v, &with_device).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::MsgValidation);
    let only_devices = CheckedSession {
        players: Some(vec![id("device-1"), id("device-2")]),
        threshold: Some(1),
        ..Default::default()
    };
    let e = keygen_players(&v, &only_devices).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::ParticipantNotFound);
}

#[test]
fn a_stale_readiness_view_refuses_with_cluster_not_ready() {
    let mut v = view("node0", &["node0", "node1", "node2"]);
    v.stale_view = Some(("9000 ms old".into(), 5000));
    let e = v.fresh().unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::ClusterNotReady);
    assert!(e.to_string().contains("Consul unreachable"), "{e}");
}

#[test]
fn signers_named_by_a_request_must_be_the_keys_and_enough() {
    let parts = [id("node0"), id("node1"), id("node2")];
    let e = check_signers(&[id("node0"), id("x")], &parts, 2, KeyType::Ed25519).unwrap_err();
    assert!(matches!(e, Refused::NotAParticipant(_)));
    let e = check_signers(&parts, &parts, 2, KeyType::Secp256k1).unwrap_err();
    assert!(matches!(e, Refused::TooManySigners { .. }));
    assert!(check_signers(&parts, &parts, 2, KeyType::Ed25519).is_ok());
    let e = check_signers(&[id("node0")], &parts, 2, KeyType::Ed25519).unwrap_err();
    assert!(matches!(e, Refused::TooFewSigners { .. }));
}

#[test]
fn pick_leaves_a_banned_node_out_while_enough_others_are_ready() {
    let mut v = view("node2", &["node0", "node1", "node2"]);
    v.banned.insert(id("node0"));
    assert_eq!(
        pick(&v, &v.servers, 2, &[]).unwrap(),
        vec![id("node1"), id("node2")]
    );
    // Without node1 only the banned node0 could make up the signers: the
    // refusal names it with the ban's code, not as a quorum problem.
    let e = pick(&v, &v.servers, 2, &[id("node1")]).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::PartyBanned);
    assert!(e.to_string().contains("node0"), "{e}");
    let v2 = view("node2", &["node0", "node2"]);
    let v2 = Snapshot {
        banned: [id("node0")].into(),
        ..v2
    };
    let e = pick(&v2, &v2.servers, 2, &[]).unwrap_err();
    assert!(
        matches!(e, Refused::PartyBanned(ref p) if *p == id("node0")),
        "{e:?}"
    );
    // Not enough even with it: a quorum problem as before.
    let e = pick(&v2, &v2.servers, 3, &[]).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::NotMajority);
}

#[test]
fn keygen_and_named_signers_refuse_a_banned_player_by_name() {
    let mut v = view("node0", &["node0", "node1", "node2"]);
    v.banned.insert(id("node2"));
    let p = keygen_players(&v, &CheckedSession::default()).unwrap();
    let e = v.none_banned(&p.players).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::PartyBanned);
    assert_eq!(
        e.to_string(),
        "player node2 is banned on this node for cheating (see `tessera bans list`); the request cannot be served without it"
    );
    assert!(v.none_banned(&[id("node0"), id("node1")]).is_ok());
}

#[test]
fn a_request_is_never_handed_to_a_banned_player() {
    let mut v = view("node1", &["node0", "node1", "node2"]);
    v.banned.insert(id("node0"));
    let to = delegate_to(&v, &[id("node0"), id("node2")], false).unwrap();
    assert_eq!(to, id("node2"));
    let e = delegate_to(&v, &[id("node0")], false).unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::PartyBanned);
}
