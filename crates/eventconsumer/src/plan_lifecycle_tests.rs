use super::*;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn ids(list: &[&str]) -> Vec<NodeId> {
    list.iter().map(|s| id(s)).collect()
}

/// `node`'s identity number `v` (a rebuilt node has another `v`).
fn identity(node: &str, v: u8) -> PublicIdentity {
    PublicIdentity {
        node_id: id(node),
        signing_key: [v; 32],
        agreement_key: [v.wrapping_add(100); 32],
    }
}

/// A 2-of-3 key (t=1) held by node0..node2 at indices 1..3; the directory
/// knows node0..node4 (node3, node4: spare servers), all ready, none banned.
fn facts(key_type: KeyType) -> LifecycleFacts {
    keyed(
        key_type,
        Threshold(1),
        &[("node0", 1), ("node1", 2), ("node2", 3)],
    )
}

fn keyed(key_type: KeyType, t: Threshold, holders: &[(&str, u8)]) -> LifecycleFacts {
    let known = [
        "node0", "node1", "node2", "node3", "node4", "node5", "node6",
    ];
    LifecycleFacts {
        key_type,
        threshold: t,
        holders: holders
            .iter()
            .map(|(n, i)| Holder {
                node: id(n),
                index: *i,
                identity: identity(n, 1),
                tenant: false,
            })
            .collect(),
        directory: known.iter().map(|n| (id(n), identity(n, 1))).collect(),
        ready: known.iter().map(|n| id(n)).collect(),
        banned: BTreeSet::new(),
    }
}

fn run(
    f: &LifecycleFacts,
    nodes: &[&str],
    t: u16,
    replace: &[&str],
) -> Result<LifecyclePlan, Refusal> {
    let nodes = ids(nodes);
    let replace = ids(replace);
    plan_lifecycle(
        f,
        LifecycleRequest {
            nodes: &nodes,
            new_threshold: Threshold(t),
            replace: &replace,
        },
    )
}

fn committee(pairs: &[(&str, u8)]) -> Vec<(NodeId, u8)> {
    pairs.iter().map(|(n, i)| (id(n), *i)).collect()
}

type Tweak = fn(&mut LifecycleFacts);

fn none(_: &mut LifecycleFacts) {}
fn node2_rebuilt(f: &mut LifecycleFacts) {
    f.directory.insert(id("node2"), identity("node2", 2));
}
fn node1_rebuilt(f: &mut LifecycleFacts) {
    f.directory.insert(id("node1"), identity("node1", 2));
}
fn node1_tenant(f: &mut LifecycleFacts) {
    f.holders[1].tenant = true;
}
fn node1_down(f: &mut LifecycleFacts) {
    f.ready.remove(&id("node1"));
}
fn node3_down(f: &mut LifecycleFacts) {
    f.ready.remove(&id("node3"));
}
fn node2_banned(f: &mut LifecycleFacts) {
    f.banned.insert(id("node2"));
}
fn node1_banned_and_down(f: &mut LifecycleFacts) {
    f.banned.insert(id("node1"));
    f.ready.remove(&id("node1"));
}
fn node3_unknown(f: &mut LifecycleFacts) {
    f.directory.remove(&id("node3"));
}
fn node0_unknown(f: &mut LifecycleFacts) {
    f.directory.remove(&id("node0"));
}

const EC: KeyType = KeyType::Secp256k1;
const ED: KeyType = KeyType::Ed25519;
const ALL: &[&str] = &["node0", "node1", "node2"];

#[path = "plan_lifecycle_table.rs"]
mod table;

#[test]
fn ecdsa_move_pairs_leaving_and_joining_nodes_in_sorted_order() {
    let f = keyed(
        EC,
        Threshold(1),
        &[
            ("node0", 1),
            ("node1", 2),
            ("node2", 3),
            ("node3", 4),
            ("node4", 5),
        ],
    );
    let plan = run(&f, &["node6", "node0", "node2", "node5", "node4"], 1, &[]).unwrap();
    assert_eq!(plan.kind, LifecycleKind::Move);
    // node1 (index 2) → node5, node3 (index 4) → node6.
    assert_eq!(
        plan.committee,
        committee(&[
            ("node0", 1),
            ("node2", 3),
            ("node4", 5),
            ("node5", 2),
            ("node6", 4)
        ])
    );
    assert_eq!(plan.removed, ids(&["node1", "node3"]));
    assert_eq!(plan.targets, ids(&["node5", "node6"]));
    let rp = plan.replace_plan().unwrap();
    assert_eq!(
        rp.committee.ids(),
        ids(&["node0", "node2", "node4", "node5", "node6"])
    );
    assert_eq!(rp.committee.indices(), &[1, 3, 5, 2, 4]);
    assert_eq!(rp.helpers, ids(&["node0", "node2", "node4"]));
}

#[test]
fn frost_identifiers_continue_after_gaps() {
    // After earlier operations: identifiers 1, 3, 4.
    let f = keyed(
        ED,
        Threshold(1),
        &[("node0", 1), ("node2", 3), ("node3", 4)],
    );
    let plan = run(&f, &["node0", "node2", "node3", "node5"], 1, &[]).unwrap();
    assert_eq!(plan.kind, LifecycleKind::Grow);
    assert!(plan.committee.contains(&(id("node5"), 5)));
}

#[test]
fn an_n_of_n_key_refreshes_but_never_repairs() {
    for kt in [EC, ED] {
        let f = keyed(
            kt,
            Threshold(2),
            &[("node0", 1), ("node1", 2), ("node2", 3)],
        );
        assert_eq!(run(&f, ALL, 2, &[]).unwrap().kind, LifecycleKind::Refresh);
        let e = run(&f, ALL, 2, &["node1"]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InsufficientParticipants);
        assert!(
            e.reason
                .contains("no share of this key can ever be repaired"),
            "{e}"
        );
    }
}

#[test]
fn a_larger_key_replaces_and_moves_up_to_n_minus_t_plus_1() {
    // 2-of-5 (t=1): three holders may be targets at once.
    let holders = [
        ("node0", 1),
        ("node1", 2),
        ("node2", 3),
        ("node3", 4),
        ("node4", 5),
    ];
    let f = keyed(EC, Threshold(1), &holders);
    let all = ["node0", "node1", "node2", "node3", "node4"];
    let plan = run(&f, &all, 1, &["node1", "node2", "node3"]).unwrap();
    assert_eq!(plan.kind, LifecycleKind::Replace);
    assert_eq!(plan.helpers, ids(&["node0", "node4"]));
    let e = run(&f, &all, 1, &["node0", "node1", "node2", "node3"]).unwrap_err();
    assert_eq!(e.code, ErrorCode::InsufficientParticipants);
    assert!(e.reason.contains("at most 3"), "{e}");
}
