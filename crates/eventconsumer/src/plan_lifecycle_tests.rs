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

/// What a row expects: a plan, or a refusal's code and words its reason must contain.
enum Want {
    Plan {
        kind: LifecycleKind,
        committee: &'static [(&'static str, u8)],
        helpers: &'static [&'static str],
        targets: &'static [&'static str],
        removed: &'static [&'static str],
    },
    Refused(ErrorCode, &'static [&'static str]),
}

struct Row {
    name: &'static str,
    key_type: KeyType,
    tweak: Tweak,
    nodes: &'static [&'static str],
    t: u16,
    replace: &'static [&'static str],
    want: Want,
}

const EC: KeyType = KeyType::Secp256k1;
const ED: KeyType = KeyType::Ed25519;
const ALL: &[&str] = &["node0", "node1", "node2"];

fn rows() -> Vec<Row> {
    use LifecycleKind::*;
    use Want::Refused as No;
    let mut rows = Vec::new();
    for kt in [EC, ED] {
        rows.extend([
            Row {
                name: "same nodes, same identities: refresh by all",
                key_type: kt,
                tweak: none,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: Want::Plan {
                    kind: Refresh,
                    committee: &[("node0", 1), ("node1", 2), ("node2", 3)],
                    helpers: ALL,
                    targets: &[],
                    removed: &[],
                },
            },
            Row {
                name: "node_ids in another order: still a refresh",
                key_type: kt,
                tweak: none,
                nodes: &["node2", "node0", "node1"],
                t: 1,
                replace: &[],
                want: Want::Plan {
                    kind: Refresh,
                    committee: &[("node0", 1), ("node1", 2), ("node2", 3)],
                    helpers: ALL,
                    targets: &[],
                    removed: &[],
                },
            },
            Row {
                name: "rebuilt node2 in tessera_replace: replace at its index",
                key_type: kt,
                tweak: node2_rebuilt,
                nodes: ALL,
                t: 1,
                replace: &["node2"],
                want: Want::Plan {
                    kind: Replace,
                    committee: &[("node0", 1), ("node1", 2), ("node2", 3)],
                    helpers: &["node0", "node1"],
                    targets: &["node2"],
                    removed: &[],
                },
            },
            Row {
                name: "replace with an unchanged identity (lost disk) is allowed",
                key_type: kt,
                tweak: none,
                nodes: ALL,
                t: 1,
                replace: &["node1"],
                want: Want::Plan {
                    kind: Replace,
                    committee: &[("node0", 1), ("node1", 2), ("node2", 3)],
                    helpers: &["node0", "node2"],
                    targets: &["node1"],
                    removed: &[],
                },
            },
            Row {
                name: "identity changed without tessera_replace",
                key_type: kt,
                tweak: node2_rebuilt,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: No(
                    ErrorCode::PublicKeyMismatch,
                    &[
                        "node2's identity differs from the one stored",
                        "tessera_replace",
                    ],
                ),
            },
            Row {
                name: "a changed identity of another holder is still refused",
                key_type: kt,
                tweak: node1_rebuilt,
                nodes: ALL,
                t: 1,
                replace: &["node2"],
                want: No(ErrorCode::PublicKeyMismatch, &["node1's identity"]),
            },
            Row {
                name: "threshold change",
                key_type: kt,
                tweak: none,
                nodes: &["node0", "node1", "node2", "node3"],
                t: 2,
                replace: &[],
                want: No(
                    ErrorCode::InvalidThreshold,
                    &[
                        "threshold change not supported: the key's threshold is fixed at t=1 for \
                       its lifetime (dkls23 and frost keep it on refresh and repair); reshare \
                       with new_threshold=1 or create a new wallet",
                    ],
                ),
            },
            Row {
                name: "a tenant holder",
                key_type: kt,
                tweak: node1_tenant,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: No(ErrorCode::TenantRequired, &["tenant holders (node1)"]),
            },
            Row {
                name: "a committee member not ready",
                key_type: kt,
                tweak: node1_down,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: No(ErrorCode::PeerUnavailable, &["node1 is not ready"]),
            },
            Row {
                name: "a committee member banned",
                key_type: kt,
                tweak: node2_banned,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: No(
                    ErrorCode::PartyBanned,
                    &["node2 is banned", "tessera bans clear node2"],
                ),
            },
            Row {
                name: "a joining node unknown to the directory",
                key_type: kt,
                tweak: node3_unknown,
                nodes: &["node0", "node2", "node3"],
                t: 1,
                replace: &[],
                want: No(
                    ErrorCode::ParticipantNotFound,
                    &["node3 is listed in node_ids but is unknown to this node's directory"],
                ),
            },
            Row {
                name: "a staying holder unknown to the directory",
                key_type: kt,
                tweak: node0_unknown,
                nodes: ALL,
                t: 1,
                replace: &[],
                want: No(
                    ErrorCode::ParticipantNotFound,
                    &["node0 holds a share of this key but is unknown"],
                ),
            },
            Row {
                name: "a joining node not ready",
                key_type: kt,
                tweak: node3_down,
                nodes: &["node0", "node2", "node3"],
                t: 1,
                replace: &[],
                want: No(ErrorCode::PeerUnavailable, &["node3 is not ready"]),
            },
            Row {
                name: "two of a 2-of-3 replaced: one helper left",
                key_type: kt,
                tweak: none,
                nodes: ALL,
                t: 1,
                replace: &["node1", "node2"],
                want: No(
                    ErrorCode::InsufficientParticipants,
                    &[
                        "t+1=2 helpers",
                        "leaves 1 (node0)",
                        "at most 1 can be replaced",
                    ],
                ),
            },
            Row {
                name: "replace naming a node that holds no share",
                key_type: kt,
                tweak: none,
                nodes: &["node0", "node1", "node2"],
                t: 1,
                replace: &["node3"],
                want: No(
                    ErrorCode::ParticipantNotFound,
                    &["tessera_replace names node3, which holds no share"],
                ),
            },
            Row {
                name: "replace naming a holder that node_ids leaves out",
                key_type: kt,
                tweak: none,
                nodes: &["node0", "node1", "node3"],
                t: 1,
                replace: &["node2"],
                want: No(
                    ErrorCode::IncompatiblePeerIds,
                    &["tessera_replace names node2 but node_ids leaves it out"],
                ),
            },
        ]);
    }
    rows.extend([
        Row {
            name: "ECDSA move: node3 takes node1's index",
            key_type: EC,
            tweak: none,
            nodes: &["node0", "node2", "node3"],
            t: 1,
            replace: &[],
            want: Want::Plan {
                kind: Move,
                committee: &[("node0", 1), ("node2", 3), ("node3", 2)],
                helpers: &["node0", "node2"],
                targets: &["node3"],
                removed: &["node1"],
            },
        },
        Row {
            name: "ECDSA move: the leaving node need not be ready nor unbanned",
            key_type: EC,
            tweak: node1_banned_and_down,
            nodes: &["node0", "node2", "node3"],
            t: 1,
            replace: &[],
            want: Want::Plan {
                kind: Move,
                committee: &[("node0", 1), ("node2", 3), ("node3", 2)],
                helpers: &["node0", "node2"],
                targets: &["node3"],
                removed: &["node1"],
            },
        },
        Row {
            name: "ECDSA grow refused",
            key_type: EC,
            tweak: none,
            nodes: &["node0", "node1", "node2", "node3"],
            t: 1,
            replace: &[],
            want: No(
                ErrorCode::IncompatiblePeerIds,
                &[
                    "dkls23 fixes the number of shares (n=3) at key generation; a node can take \
                   over an existing index (replace one node with another) but no index can be \
                   added",
                ],
            ),
        },
        Row {
            name: "ECDSA grow refused even with a node down (structural first)",
            key_type: EC,
            tweak: node1_down,
            nodes: &["node0", "node1", "node2", "node3"],
            t: 1,
            replace: &[],
            want: No(ErrorCode::IncompatiblePeerIds, &["no index can be added"]),
        },
        Row {
            name: "ECDSA shrink refused",
            key_type: EC,
            tweak: none,
            nodes: &["node0", "node2"],
            t: 1,
            replace: &[],
            want: No(
                ErrorCode::IncompatiblePeerIds,
                &["n=3", "every index must stay filled"],
            ),
        },
        Row {
            name: "ECDSA: two leave, one joins (n shrinks)",
            key_type: EC,
            tweak: none,
            nodes: &["node0", "node3"],
            t: 1,
            replace: &[],
            want: No(
                ErrorCode::IncompatiblePeerIds,
                &["every index must stay filled"],
            ),
        },
        Row {
            name: "EdDSA move: node3 enrolled under a new identifier",
            key_type: ED,
            tweak: none,
            nodes: &["node0", "node2", "node3"],
            t: 1,
            replace: &[],
            want: Want::Plan {
                kind: Move,
                committee: &[("node0", 1), ("node2", 3), ("node3", 4)],
                helpers: &["node0", "node2"],
                targets: &["node3"],
                removed: &["node1"],
            },
        },
        Row {
            name: "EdDSA grow: node3 gets max + 1",
            key_type: ED,
            tweak: none,
            nodes: &["node0", "node1", "node2", "node3"],
            t: 1,
            replace: &[],
            want: Want::Plan {
                kind: Grow,
                committee: &[("node0", 1), ("node1", 2), ("node2", 3), ("node3", 4)],
                helpers: ALL,
                targets: &["node3"],
                removed: &[],
            },
        },
        Row {
            name: "EdDSA grow by two, with a replace",
            key_type: ED,
            tweak: node2_rebuilt,
            nodes: &["node0", "node1", "node2", "node3", "node4"],
            t: 1,
            replace: &["node2"],
            want: Want::Plan {
                kind: Grow,
                committee: &[
                    ("node0", 1),
                    ("node1", 2),
                    ("node2", 3),
                    ("node3", 4),
                    ("node4", 5),
                ],
                helpers: &["node0", "node1"],
                targets: &["node2", "node3", "node4"],
                removed: &[],
            },
        },
        Row {
            name: "EdDSA remove: refresh without node1",
            key_type: ED,
            tweak: none,
            nodes: &["node0", "node2"],
            t: 1,
            replace: &[],
            want: Want::Plan {
                kind: Remove,
                committee: &[("node0", 1), ("node2", 3)],
                helpers: &["node0", "node2"],
                targets: &[],
                removed: &["node1"],
            },
        },
        Row {
            name: "EdDSA remove and grow: one target with one helper short",
            key_type: ED,
            tweak: none,
            nodes: &["node0", "node3", "node4"],
            t: 1,
            replace: &[],
            want: No(
                ErrorCode::InsufficientParticipants,
                &["leaves 1 (node0) for 2 target(s) (node3, node4)"],
            ),
        },
    ]);
    rows
}

#[test]
fn every_row_of_the_design_table() {
    for row in rows() {
        let mut f = facts(row.key_type);
        (row.tweak)(&mut f);
        let got = run(&f, row.nodes, row.t, row.replace);
        let label = format!("{} ({})", row.name, row.key_type);
        match row.want {
            Want::Plan {
                kind,
                committee: c,
                helpers,
                targets,
                removed,
            } => {
                let plan = got.unwrap_or_else(|e| panic!("{label}: refused: {e}"));
                assert_eq!(plan.kind, kind, "{label}");
                assert_eq!(plan.committee, committee(c), "{label}");
                assert_eq!(plan.helpers, ids(helpers), "{label}");
                assert_eq!(plan.targets, ids(targets), "{label}");
                assert_eq!(plan.removed, ids(removed), "{label}");
                assert_eq!(plan.repairs(), !targets.is_empty(), "{label}");
                // The session crate accepts the committee as it is.
                let parties = plan.parties().unwrap_or_else(|e| panic!("{label}: {e:?}"));
                assert_eq!(parties.ids().len(), plan.committee.len(), "{label}");
            }
            Want::Refused(code, words) => {
                let e = got.expect_err(&label);
                assert_eq!(e.code, code, "{label}: {e}");
                for w in words {
                    assert!(e.reason.contains(w), "{label}: {:?} lacks {w:?}", e.reason);
                }
                assert!(e.reason.len() > 40, "{label}: a sentence: {e}");
            }
        }
    }
}

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
