//! An in-memory network that runs every party of one session to completion.
//!
//! It delivers each message to its addressee (a broadcast to every other player,
//! one copy each) and can misbehave on purpose: drop a party's messages from a
//! round on, deliver in random order, hold messages back, deliver twice, flip a
//! bit of a party's payloads, or send different broadcasts to different parties.
//! Randomness comes from a seed, so a failing run can be replayed.
//!
//! Protocol tests, the benchmark and the demo all run on it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tessera_types::{NodeId, SessionConfig};

use crate::error::{Abort, HandleError, Rejection};
use crate::message::ProtocolMessage;
use crate::round::RoundProtocol;
use crate::session::{Session, Status};

/// Faults to inject. `Faults::default()` is a perfect network.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Messages from this party are lost from this round on.
    pub silent_from: BTreeMap<NodeId, u16>,
    /// Deliver queued messages in random order.
    pub reorder: bool,
    /// Percent chance that a delivery is put back at the end of the queue once.
    pub delay_percent: u32,
    /// Percent chance that a message is delivered twice.
    pub duplicate_percent: u32,
    /// Flip one bit of every payload this party sends in this round.
    pub corrupt: Option<(NodeId, u16)>,
    /// This party's broadcast in this round reaches the second half of its
    /// receivers with one bit flipped: an equivocating sender.
    pub equivocate: Option<(NodeId, u16)>,
    pub seed: u64,
}

/// How one party's run ended.
#[derive(Debug)]
pub enum PartyOutcome<O> {
    Done(O),
    Failed(Abort),
    /// The network went quiet before the party finished.
    Stuck {
        round: u16,
        waiting_for: Vec<NodeId>,
    },
}

impl<O> PartyOutcome<O> {
    pub fn done(self) -> Option<O> {
        match self {
            PartyOutcome::Done(o) => Some(o),
            _ => None,
        }
    }
}

/// Everything a run produced.
#[derive(Debug)]
pub struct Outcome<O> {
    pub parties: BTreeMap<NodeId, PartyOutcome<O>>,
    /// Messages refused without ending a session, with the refusing party.
    pub rejections: Vec<(NodeId, Rejection)>,
    pub delivered: usize,
    /// Time spent inside each party's session calls. The simulator is
    /// single-threaded, so this is that party's CPU time.
    pub busy: BTreeMap<NodeId, Duration>,
}

impl<O> Outcome<O> {
    /// All outputs, or a description of the first party that did not finish.
    pub fn into_outputs(self) -> Result<BTreeMap<NodeId, O>, String> {
        let mut out = BTreeMap::new();
        for (id, o) in self.parties {
            match o {
                PartyOutcome::Done(v) => {
                    out.insert(id, v);
                }
                PartyOutcome::Failed(a) => return Err(format!("{id} failed: {a}")),
                PartyOutcome::Stuck { round, waiting_for } => {
                    return Err(format!(
                        "{id} stuck in round {round}, waiting for {waiting_for:?}"
                    ))
                }
            }
        }
        Ok(out)
    }
}

enum Payload {
    Message(ProtocolMessage),
    /// What a runner sends its peers when its session aborts.
    AbortNotice {
        from: NodeId,
        blamed: Vec<NodeId>,
        reason: String,
    },
}

struct Delivery {
    to: NodeId,
    what: Payload,
    delayed: bool,
}

/// Tells every other player that `from` aborted, unless `from` is silenced (crashed).
fn notify_abort(
    queue: &mut VecDeque<Delivery>,
    faults: &Faults,
    players: &[NodeId],
    from: &NodeId,
    a: &Abort,
) {
    if faults.silent_from.contains_key(from) {
        return;
    }
    for p in players.iter().filter(|p| *p != from) {
        queue.push_back(Delivery {
            to: p.clone(),
            what: Payload::AbortNotice {
                from: from.clone(),
                blamed: a.culprits(),
                reason: a.to_string(),
            },
            delayed: false,
        });
    }
}

fn flip_bit(payload: &mut [u8], rng: &mut StdRng) {
    if !payload.is_empty() {
        let i = rng.gen_range(0..payload.len());
        payload[i] ^= 1 << rng.gen_range(0..8);
    }
}

/// One session per player of `config`, each with the protocol `make` builds for it.
pub fn sessions<P: RoundProtocol>(
    config: &SessionConfig,
    mut make: impl FnMut(&NodeId) -> Result<P, Abort>,
) -> Result<Vec<Session<P>>, Abort> {
    config
        .players()
        .iter()
        .map(|me| {
            let protocol = make(me)?;
            Session::new(
                config.session_id.clone(),
                config.players().to_vec(),
                me.clone(),
                protocol,
            )
        })
        .collect()
}

/// Runs `sessions` (one per player, not started) over the faulty network.
pub fn run<P: RoundProtocol>(sessions: Vec<Session<P>>, faults: &Faults) -> Outcome<P::Output> {
    let mut rng = StdRng::seed_from_u64(faults.seed);
    let mut parties: BTreeMap<NodeId, Session<P>> =
        sessions.into_iter().map(|s| (s.me().clone(), s)).collect();
    let mut queue = VecDeque::new();
    let mut rejections = Vec::new();
    let mut delivered = 0;
    let mut busy: BTreeMap<NodeId, Duration> = BTreeMap::new();

    let enqueue = |queue: &mut VecDeque<Delivery>,
                   msgs: Vec<ProtocolMessage>,
                   players: &[NodeId],
                   rng: &mut StdRng| {
        for mut msg in msgs {
            if faults
                .silent_from
                .get(&msg.from)
                .is_some_and(|r| msg.round >= *r)
            {
                continue;
            }
            if faults.corrupt.as_ref() == Some(&(msg.from.clone(), msg.round)) {
                flip_bit(&mut msg.payload, rng);
            }
            let receivers: Vec<NodeId> = match &msg.to {
                Some(to) => vec![to.clone()],
                None => players
                    .iter()
                    .filter(|p| **p != msg.from)
                    .cloned()
                    .collect(),
            };
            let half = receivers.len() / 2;
            for (k, to) in receivers.into_iter().enumerate() {
                let mut m = msg.clone();
                m.to = msg.to.clone();
                if msg.is_broadcast()
                    && k >= half
                    && faults.equivocate.as_ref() == Some(&(msg.from.clone(), msg.round))
                {
                    flip_bit(&mut m.payload, rng);
                }
                let copies = if rng.gen_range(0..100) < faults.duplicate_percent {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    queue.push_back(Delivery {
                        to: to.clone(),
                        what: Payload::Message(m.clone()),
                        delayed: false,
                    });
                }
            }
        }
    };

    let ids: Vec<NodeId> = parties.keys().cloned().collect();
    for id in &ids {
        if let Some(s) = parties.get_mut(id) {
            let players = s.players().to_vec();
            let t0 = Instant::now();
            let started = s.start();
            *busy.entry(id.clone()).or_default() += t0.elapsed();
            match started {
                Ok(msgs) => enqueue(&mut queue, msgs, &players, &mut rng),
                Err(a) => notify_abort(&mut queue, faults, &players, id, &a),
            }
        }
    }

    while !queue.is_empty() {
        let idx = if faults.reorder {
            rng.gen_range(0..queue.len())
        } else {
            0
        };
        let Some(mut d) = queue.remove(idx) else {
            break;
        };
        if !d.delayed && rng.gen_range(0..100) < faults.delay_percent {
            d.delayed = true;
            queue.push_back(d);
            continue;
        }
        let Some(s) = parties.get_mut(&d.to) else {
            continue;
        };
        if matches!(s.status(), Status::Failed(_)) {
            continue;
        }
        delivered += 1;
        let players = s.players().to_vec();
        let msg = match d.what {
            Payload::Message(m) => m,
            Payload::AbortNotice {
                from,
                blamed,
                reason,
            } => {
                if let Some(a) = s.peer_aborted(&from, blamed, &reason) {
                    notify_abort(&mut queue, faults, &players, &d.to, &a);
                }
                continue;
            }
        };
        let t0 = Instant::now();
        let handled = s.handle(msg);
        *busy.entry(d.to.clone()).or_default() += t0.elapsed();
        match handled {
            Ok(msgs) => enqueue(&mut queue, msgs, &players, &mut rng),
            Err(HandleError::Rejected(r)) => rejections.push((d.to.clone(), r)),
            Err(HandleError::Aborted(a)) => notify_abort(&mut queue, faults, &players, &d.to, &a),
        }
    }

    let parties = parties
        .into_iter()
        .map(|(id, mut s)| {
            let outcome = match s.status() {
                Status::Failed(a) => PartyOutcome::Failed(a),
                Status::Finished => match s.take_output() {
                    Some(o) => PartyOutcome::Done(o),
                    None => PartyOutcome::Failed(Abort::Local("output taken".into())),
                },
                Status::New => PartyOutcome::Stuck {
                    round: 0,
                    waiting_for: s.waiting_for(),
                },
                Status::Running { round } => PartyOutcome::Stuck {
                    round,
                    waiting_for: s.waiting_for(),
                },
            };
            (id, outcome)
        })
        .collect();
    Outcome {
        parties,
        rejections,
        delivered,
        busy,
    }
}
