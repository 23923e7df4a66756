//! The design table (docs/design/key-lifecycle.md §2.3) row by row, for both
//! curves: each row's facts, request and the plan or refusal it must give.

use super::*;

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
