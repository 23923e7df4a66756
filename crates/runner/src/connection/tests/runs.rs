//! Runs: a session id used again. Envelopes recorded in one run and replayed
//! into the next are rejected as from another run, nobody is blamed, nothing
//! aborts, and the new run completes. These tests seal and open for real
//! (`tessera_security`), with a small in-memory wire in place of the link.

use std::collections::VecDeque;
use std::rc::Rc;

use tessera_security::{seal, NodeIdentity, Opener};

use super::*;
use crate::frame::CONTROL_ROUND;

/// One node: its connection, and what its link would do (seal, open, hold, bind).
struct Sim {
    identity: Rc<NodeIdentity>,
    conn: Connection,
    opener: Opener,
    run: RunTag,
    nonce: RunNonce,
    seq: u64,
    held: Vec<Vec<u8>>,
    reports: Vec<SessionError>,
    messages: Vec<ProtocolMessage>,
    bound: Option<RunId>,
}

/// Three players `a`, `b`, `c` of session `s-1`, each with a fresh nonce.
struct Net {
    nodes: Vec<Sim>,
    publics: Vec<PublicIdentity>,
    /// (receiver index, envelope bytes), in flight.
    wire: VecDeque<(usize, Vec<u8>)>,
    /// Every envelope ever put on the wire for `a`.
    to_a: Vec<Vec<u8>>,
    now: Instant,
}

/// The players' identities, the same in every run.
fn setup() -> Vec<Rc<NodeIdentity>> {
    ["a", "b", "c"]
        .iter()
        .map(|n| Rc::new(NodeIdentity::generate(id(n))))
        .collect()
}

impl Net {
    fn new(ids: &[Rc<NodeIdentity>], t0: Instant, meta: impl Fn(usize) -> SessionMeta) -> Self {
        let publics: Vec<PublicIdentity> = ids.iter().map(|i| i.public()).collect();
        let players = [id("a"), id("b"), id("c")];
        let options = RunnerOptions {
            connect_timeout: CONNECT,
            join_resend: RESEND,
            heartbeat: HEARTBEAT,
            peer_silence: SILENCE,
            ..RunnerOptions::default()
        };
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, identity)| {
                // A fresh nonce, as each link draws.
                let identity = identity.clone();
                let nonce = RunNonce::generate();
                Sim {
                    conn: Connection::new(
                        sid(),
                        identity.node_id(),
                        &players,
                        options.clone(),
                        t0 + DEADLINE,
                        meta(i),
                        nonce,
                    ),
                    opener: Opener::new(&identity, sid(), publics.clone()).unwrap(),
                    identity,
                    run: RunTag::Joining(nonce),
                    nonce,
                    seq: 0,
                    held: Vec::new(),
                    reports: Vec::new(),
                    messages: Vec::new(),
                    bound: None,
                }
            })
            .collect();
        Self {
            nodes,
            publics,
            wire: VecDeque::new(),
            to_a: Vec::new(),
            now: t0,
        }
    }

    fn put(&mut self, to: usize, bytes: Vec<u8>) {
        if to == 0 {
            self.to_a.push(bytes.clone());
        }
        self.wire.push_back((to, bytes));
    }

    fn seal_from(&mut self, from: usize, to: usize, p2p: bool, round: u16, payload: &[u8]) {
        let n = &mut self.nodes[from];
        let receiver = p2p.then(|| id(["a", "b", "c"][to]));
        let header = EnvelopeHeader {
            session_id: sid(),
            run: n.run,
            sender: n.identity.node_id().clone(),
            receiver,
            round,
            seq: n.seq,
        };
        n.seq += 1;
        let key = p2p.then(|| self.publics[to].clone());
        let env = seal(&n.identity, header, payload, key.as_ref()).unwrap();
        self.put(to, env.into_bytes());
    }

    fn peers_of(from: usize) -> Vec<usize> {
        (0..3).filter(|i| *i != from).collect()
    }

    /// Does what node `i`'s connection asks, as the session loop would.
    fn flush(&mut self, i: usize) {
        loop {
            let ready = self.nodes[i].conn.take_ready();
            if ready.is_empty() {
                return;
            }
            if let Some(run) = ready.bind {
                let n = &mut self.nodes[i];
                n.opener.bind_run(run).unwrap();
                n.run = RunTag::Bound(run);
                n.bound = Some(run);
                for bytes in std::mem::take(&mut n.held) {
                    self.wire.push_front((i, bytes));
                }
            }
            let n = &mut self.nodes[i];
            n.reports.extend(ready.reports);
            n.messages.extend(ready.messages);
            for out in ready.send {
                // Joins always carry the sender's nonce, as the link sends them.
                let (frame, p2p, join) = match out {
                    Outgoing::Join(join) => (Frame::Join(join), false, true),
                    Outgoing::ControlAll(frame) => (frame, true, false),
                    Outgoing::Broadcast(frame) => (frame, false, false),
                };
                let run = self.nodes[i].run;
                if join {
                    self.nodes[i].run = RunTag::Joining(self.nodes[i].nonce);
                }
                for to in Self::peers_of(i) {
                    self.seal_from(i, to, p2p, CONTROL_ROUND, &frame.to_bytes());
                }
                self.nodes[i].run = run;
            }
        }
    }

    /// Delivers everything in flight; no node may fail.
    fn run_wire(&mut self) {
        while let Some((to, bytes)) = self.wire.pop_front() {
            let n = &mut self.nodes[to];
            let inbound = match n.opener.open(&bytes) {
                Ok(opened) => Inbound::Message(opened),
                Err(EnvelopeError::RunNotBound { .. }) => {
                    n.held.push(bytes);
                    continue;
                }
                Err(error) => Inbound::Rejected {
                    sender: error.sender().cloned(),
                    error,
                },
            };
            let now = self.now;
            if let Err(e) = n.conn.step(now, inbound) {
                panic!("node {to} failed: {e:?}");
            }
            self.flush(to);
        }
    }

    fn join_all(&mut self) {
        for i in 0..3 {
            self.nodes[i].conn.join(self.now);
            self.flush(i);
        }
        self.run_wire();
    }

    /// Every node sends one protocol message of `round` to all, and heartbeats.
    fn protocol_round(&mut self, round: u16) {
        for i in 0..3 {
            let from = id(["a", "b", "c"][i]);
            let m = ProtocolMessage {
                session_id: sid(),
                from,
                to: None,
                round,
                payload: vec![i as u8, round as u8],
                echo: None,
            };
            let frame = Frame::Protocol(m.to_bytes());
            for to in Self::peers_of(i) {
                self.seal_from(i, to, false, round, &frame.to_bytes());
            }
            self.nodes[i].conn.broadcast(Frame::Heartbeat);
            self.flush(i);
        }
        self.run_wire();
    }
}

/// A whole run: joins, two protocol rounds, finish. Returns what `a` received.
fn recorded_run(ids: &[Rc<NodeIdentity>], t0: Instant) -> Vec<Vec<u8>> {
    let mut net = Net::new(ids, t0, |_| SessionMeta::default());
    net.join_all();
    let runs: Vec<_> = net.nodes.iter().map(|n| n.bound).collect();
    assert!(runs[0].is_some() && runs.iter().all(|r| *r == runs[0]));
    for i in 0..3 {
        net.nodes[i].conn.start_protocol(t0, BTreeSet::new());
    }
    net.protocol_round(1);
    net.protocol_round(2);
    // A join-barrier abort of c, as a failed earlier run would have sent.
    net.nodes[2].run = RunTag::Joining(RunNonce([0xee; 32]));
    net.seal_from(
        2,
        0,
        true,
        CONTROL_ROUND,
        &abort(ErrorCode::Internal, &["b"]).to_bytes(),
    );
    for i in 0..3 {
        net.nodes[i].conn.finish();
        net.flush(i);
    }
    net.wire.clear();
    assert_eq!(net.nodes[0].messages.len(), 4);
    net.to_a
}

#[test]
fn a_recorded_run_replayed_into_the_next_is_from_another_run_and_the_next_completes() {
    let ids = setup();
    let t0 = Instant::now();
    let recorded = recorded_run(&ids, t0);
    assert!(recorded.len() > 10, "{}", recorded.len());

    // The same session id again, the same players and keys.
    let mut net = Net::new(&ids, t0, |_| SessionMeta::default());
    // The recording reaches a (each envelope once) before, during and after
    // the join barrier.
    let (before, rest) = recorded.split_at(recorded.len() / 3);
    let (during, after) = rest.split_at(rest.len() / 2);
    for bytes in before {
        net.wire.push_back((0, bytes.clone()));
    }
    net.run_wire();
    net.nodes[0].conn.join(t0);
    net.flush(0);
    for bytes in during {
        net.wire.push_back((0, bytes.clone()));
    }
    for i in 1..3 {
        net.nodes[i].conn.join(t0);
        net.flush(i);
    }
    net.run_wire();
    let run = net.nodes[0].bound.expect("a joined");
    assert!(net.nodes.iter().all(|n| n.bound == Some(run)));
    for i in 0..3 {
        net.nodes[i].conn.start_protocol(t0, BTreeSet::new());
    }
    for bytes in after {
        net.wire.push_back((0, bytes.clone()));
    }
    net.protocol_round(1);
    net.protocol_round(2);

    // a got this run's four protocol messages and nothing of the recording.
    let a = &net.nodes[0];
    assert_eq!(a.messages.len(), 4, "{:?}", a.messages);
    assert!(matches!(a.conn.phase(), Phase::Running { .. }));
    // Every report is "from another run", naming the (honest) sender, blaming nobody.
    assert!(!a.reports.is_empty());
    for r in &a.reports {
        assert!(
            matches!(
                r,
                SessionError::Rejected {
                    error: EnvelopeError::OtherRun { .. },
                    ..
                }
            ),
            "{r:?}"
        );
        assert!(r.culprits().is_empty(), "{r:?}");
        assert_eq!(r.code(), ErrorCode::MessageRouting);
    }
    let senders: BTreeSet<_> = a.reports.iter().filter_map(SessionError::sender).collect();
    assert_eq!(senders, [id("b"), id("c")].into());
    // b and c saw nothing foreign at all.
    assert!(net.nodes[1].reports.is_empty() && net.nodes[2].reports.is_empty());
}

#[test]
fn a_recorded_join_with_another_view_neither_counts_nor_blames() {
    let ids = setup();
    let t0 = Instant::now();
    let other_view = |c_key: u8| {
        let config = SessionConfig::new(sid(), [id("a"), id("b"), id("c")], Threshold(1)).unwrap();
        let keys = [("a", 1u8), ("b", 2), ("c", c_key)].map(|(n, k)| PublicIdentity {
            node_id: id(n),
            signing_key: [k; 32],
            agreement_key: [k; 32],
        });
        let wallet = WalletId::new("w").unwrap();
        SessionMeta::new(Operation::Keygen, &config, KeyType::Ed25519, &wallet, &keys)
    };
    // An earlier run under this session id with another view (another key of c).
    let mut old = Net::new(&ids, t0, |_| other_view(9));
    old.join_all();
    let recorded_joins = old.to_a.clone();

    let mut net = Net::new(&ids, t0, |_| other_view(3));
    net.nodes[0].conn.join(t0);
    net.flush(0);
    for bytes in &recorded_joins {
        net.wire.push_back((0, bytes.clone()));
    }
    net.run_wire();
    // Not counted (it does not echo a's nonce), no mismatch.
    assert!(matches!(net.nodes[0].conn.phase(), Phase::Joining { .. }));
    for i in 1..3 {
        net.nodes[i].conn.join(t0);
        net.flush(i);
    }
    net.run_wire();
    for n in &net.nodes {
        assert!(
            n.bound.is_some(),
            "{:?} {:?} {:?}",
            n.conn.phase(),
            n.conn.book.not_joined(),
            n.reports
        );
    }
}

#[test]
fn a_player_in_another_run_is_alive_and_the_deadline_blames_nobody() {
    let t0 = Instant::now();
    let mut c = running(t0);
    c.protocol_waiting_for(vec![id("c")]);
    let other = |s: &str| Inbound::Rejected {
        sender: Some(id(s)),
        error: EnvelopeError::OtherRun { sender: id(s) },
    };
    let mut now = t0;
    while now + HEARTBEAT < t0 + DEADLINE {
        now += HEARTBEAT;
        // c's view of the joins differs: everything it sends is another run's.
        c.step(now, control("b", &Frame::Heartbeat)).unwrap();
        c.step(now, other("c")).unwrap();
        c.tick(now).unwrap();
    }
    let err = c.tick(t0 + DEADLINE).unwrap_err();
    assert!(matches!(err, SessionError::Deadline { .. }), "{err:?}");
    assert!(err.culprits().is_empty());
    let reports = c.take_ready().reports;
    assert!(reports.iter().all(|r| r.culprits().is_empty()));
}

#[test]
fn frames_of_the_join_barrier_from_another_run_do_nothing() {
    let t0 = Instant::now();
    let mut c = running(t0);
    let old = RunTag::Joining(nonce("b-old"));
    // b's join and join-barrier abort of another run, after b's join of this run.
    c.step(
        t0,
        opened_in(old, "b", CONTROL_ROUND, &join_frame().to_bytes()),
    )
    .unwrap();
    let stop = abort(ErrorCode::SessionJoinTimeout, &["c"]);
    c.step(t0, opened_in(old, "b", CONTROL_ROUND, &stop.to_bytes()))
        .unwrap();
    // A heartbeat without the run id is no frame of this run either.
    c.step(
        t0,
        opened_in(old, "c", CONTROL_ROUND, &Frame::Heartbeat.to_bytes()),
    )
    .unwrap();
    assert!(matches!(c.phase(), Phase::Running { .. }));
    let reports = c.take_ready().reports;
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports
        .iter()
        .all(|r| r.code() == ErrorCode::MessageRouting && r.culprits().is_empty()));
    // This run's abort, tagged with b's counted nonce, still ends the session.
    let err = c
        .step(t0, control("b", &abort(ErrorCode::Internal, &[])))
        .unwrap_err();
    assert!(matches!(err, SessionError::PeerAborted { .. }), "{err:?}");
}

#[test]
fn an_abort_from_a_player_not_yet_joined_is_not_acted_on() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &abort(ErrorCode::Internal, &["c"])))
        .unwrap();
    assert!(matches!(c.phase(), Phase::Joining { .. }));
}

#[test]
fn joins_that_do_not_echo_this_run_are_answered_and_not_counted() {
    let t0 = Instant::now();
    let mut c = conn(t0);
    c.join(t0);
    assert_eq!(sent(&c.take_ready()), vec![first_join()]);
    let plain = Frame::Join(Join::default());
    c.step(t0, control("b", &plain)).unwrap();
    // Answered at once, echoing b's nonce; b not counted.
    let answer = Outgoing::Join(Join {
        meta: SessionMeta::default(),
        echo: vec![(id("b"), nonce("b"))],
        trace: None,
    });
    assert_eq!(sent(&c.take_ready()), vec![answer]);
    assert_eq!(c.book.not_joined(), vec![id("b"), id("c")]);
    // Not again within the resend interval.
    c.step(t0 + ms(1), control("b", &plain)).unwrap();
    assert!(c.take_ready().send.is_empty());
    // b's answer echoes a: counted.
    c.step(t0 + ms(2), control("b", &join_frame())).unwrap();
    assert_eq!(c.book.not_joined(), vec![id("c")]);
}

#[test]
fn a_player_that_only_sent_another_view_is_named_when_the_barrier_fails() {
    let t0 = Instant::now();
    let config = SessionConfig::new(sid(), [id("a"), id("b"), id("c")], Threshold(1)).unwrap();
    let view = |a_key: u8| {
        let keys = [("a", a_key), ("b", 2u8), ("c", 3)].map(|(n, k)| PublicIdentity {
            node_id: id(n),
            signing_key: [k; 32],
            agreement_key: [k; 32],
        });
        let wallet = WalletId::new("w").unwrap();
        SessionMeta::new(Operation::Keygen, &config, KeyType::Ed25519, &wallet, &keys)
    };
    // b holds another key for a: it can never verify a's joins, so never echoes a.
    let b_join = Frame::Join(Join {
        meta: view(9),
        echo: Vec::new(),
        trace: None,
    });
    let mut c1 = conn_with(t0, view(1));
    c1.join(t0);
    c1.step(t0, control("c", &join_with(view(1)))).unwrap();
    c1.step(t0, control("b", &b_join)).unwrap();
    assert!(matches!(c1.phase(), Phase::Joining { .. }));
    // Named when the barrier times out...
    let err = c1.tick(t0 + CONNECT).unwrap_err();
    assert!(
        matches!(&err, SessionError::MetadataMismatch { peer, field: MetaField::PlayerKey(p), .. } if *peer == id("b") && *p == id("a")),
        "{err:?}"
    );
    // ... or when b's abort, encrypted to the other key, cannot be read here.
    let mut c2 = conn_with(t0, view(1));
    c2.join(t0);
    c2.step(t0, control("b", &b_join)).unwrap();
    let undecryptable = Inbound::Rejected {
        sender: Some(id("b")),
        error: EnvelopeError::DecryptionFailed { sender: id("b") },
    };
    let err = c2.step(t0 + ms(5), undecryptable).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PublicKeyMismatch, "{err:?}");
}
