//! The sans-IO session driver: wraps one [`RoundProtocol`] for one party.
//!
//! Feed it messages with [`Session::handle`]; it returns the messages to send.
//! It checks each message (session id, membership, addressee, round, kind,
//! duplicates), buffers messages one round ahead (a faster peer may already be
//! there), checks broadcast consistency (`echo`), and calls the protocol once
//! a round is complete. It never does I/O and never reads the clock: the runner
//! uses [`Session::waiting_for`] to enforce deadlines.
//!
//! Rounds on the wire are the protocol's rounds `0..R`, plus an echo-only round
//! `R` when the protocol's last round has broadcasts. That last round's input is
//! held until every echo has been checked, so no output can depend on an
//! inconsistent broadcast.

use std::collections::BTreeMap;

use tessera_types::{NodeId, SessionId};

use crate::echo;
use crate::error::{Abort, HandleError, Rejection};
use crate::message::{Digest, ProtocolMessage};
use crate::round::{RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};

/// Where a session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Created, `start` not called yet.
    New,
    /// Collecting round `round`.
    Running {
        round: u16,
    },
    /// Output ready (or already taken).
    Finished,
    Failed(Abort),
}

#[derive(Default)]
struct Inbox {
    broadcasts: BTreeMap<NodeId, Vec<u8>>,
    p2p: BTreeMap<NodeId, Vec<u8>>,
    echoes: Vec<(NodeId, Vec<Digest>)>,
}

/// One party's run of one protocol.
pub struct Session<P: RoundProtocol> {
    session_id: SessionId,
    players: Vec<NodeId>,
    me: NodeId,
    protocol: P,
    rounds: u16,
    started: bool,
    current: u16,
    inbox: BTreeMap<u16, Inbox>,
    own_broadcast: BTreeMap<u16, Vec<u8>>,
    digests: BTreeMap<u16, Vec<Digest>>,
    held_final: Option<RoundInput>,
    output: Option<P::Output>,
    finished: bool,
    failed: Option<Abort>,
}

impl<P: RoundProtocol> std::fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.session_id)
            .field("me", &self.me)
            .field("status", &self.status())
            .finish()
    }
}

impl<P: RoundProtocol> Session<P> {
    /// `players` must be sorted and contain `me` (a `SessionConfig` guarantees both).
    pub fn new(
        session_id: SessionId,
        players: Vec<NodeId>,
        me: NodeId,
        protocol: P,
    ) -> Result<Self, Abort> {
        if players.binary_search(&me).is_err() || !players.windows(2).all(|w| w[0] < w[1]) {
            return Err(Abort::Config(format!("{me} missing or players not sorted")));
        }
        let rounds = protocol.rounds();
        Ok(Self {
            session_id,
            players,
            me,
            protocol,
            rounds,
            started: false,
            current: 0,
            inbox: BTreeMap::new(),
            own_broadcast: BTreeMap::new(),
            digests: BTreeMap::new(),
            held_final: None,
            output: None,
            finished: false,
            failed: None,
        })
    }

    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    pub fn me(&self) -> &NodeId {
        &self.me
    }

    pub fn players(&self) -> &[NodeId] {
        &self.players
    }

    pub fn status(&self) -> Status {
        if let Some(a) = &self.failed {
            Status::Failed(a.clone())
        } else if self.finished {
            Status::Finished
        } else if !self.started {
            Status::New
        } else {
            Status::Running {
                round: self.current,
            }
        }
    }

    /// Takes the output once the session finished.
    pub fn take_output(&mut self) -> Option<P::Output> {
        self.output.take()
    }

    /// Sends round 0, then processes anything that arrived before the start.
    pub fn start(&mut self) -> Result<Vec<ProtocolMessage>, Abort> {
        if self.started {
            return Err(Abort::Local("session started twice".into()));
        }
        self.started = true;
        let result = self
            .protocol
            .start()
            .map_err(|f| Abort::from_fault(f, 0))
            .and_then(|o| self.emit(0, o))
            .and_then(|mut out| {
                out.extend(self.advance()?);
                Ok(out)
            });
        self.fail_on_err(result)
    }

    /// Handles one authenticated message; returns what to send.
    pub fn handle(&mut self, msg: ProtocolMessage) -> Result<Vec<ProtocolMessage>, HandleError> {
        if let Some(a) = &self.failed {
            return Err(a.clone().into());
        }
        if self.finished {
            return Err(Rejection::Finished { from: msg.from }.into());
        }
        self.accept(msg)?;
        if !self.started {
            return Ok(Vec::new());
        }
        let result = self.advance();
        Ok(self.fail_on_err(result)?)
    }

    /// A peer reported (in a message the runner authenticated) that it aborted.
    /// Ends this session too, so nobody waits for a party that has given up.
    /// Returns `None` when `peer` is not a player or the session already ended.
    pub fn peer_aborted(
        &mut self,
        peer: &NodeId,
        blamed: Vec<NodeId>,
        reason: &str,
    ) -> Option<Abort> {
        if self.finished
            || self.failed.is_some()
            || *peer == self.me
            || !self.players.contains(peer)
        {
            return None;
        }
        let a = Abort::PeerAborted {
            peer: peer.clone(),
            blamed,
            reason: reason.to_string(),
        };
        Some(self.fail(a).into_abort())
    }

    /// The players whose messages for the current round are still missing.
    pub fn waiting_for(&self) -> Vec<NodeId> {
        if self.finished || self.failed.is_some() {
            return Vec::new();
        }
        let shape = self.wire_shape(self.current);
        let inbox = self.inbox.get(&self.current);
        self.others()
            .filter(|p| {
                let has =
                    |m: Option<&BTreeMap<NodeId, Vec<u8>>>| m.is_some_and(|m| m.contains_key(*p));
                (shape.broadcast && !has(inbox.map(|i| &i.broadcasts)))
                    || (shape.p2p && !has(inbox.map(|i| &i.p2p)))
            })
            .cloned()
            .collect()
    }

    fn others(&self) -> impl Iterator<Item = &NodeId> {
        self.players.iter().filter(move |p| **p != self.me)
    }

    fn fail_on_err<T>(&mut self, r: Result<T, Abort>) -> Result<T, Abort> {
        if let Err(a) = &r {
            self.failed = Some(a.clone());
            self.inbox.clear();
            self.held_final = None;
        }
        r
    }

    /// Rounds on the wire: the protocol's, then the echo round if needed.
    fn last_wire_round(&self) -> u16 {
        if self.has_echo_round() {
            self.rounds
        } else {
            self.rounds - 1
        }
    }

    fn has_echo_round(&self) -> bool {
        self.rounds > 0 && self.protocol.shape(self.rounds - 1).broadcast
    }

    fn wire_shape(&self, round: u16) -> RoundShape {
        if round >= self.rounds {
            RoundShape {
                broadcast: true,
                p2p: false,
            }
        } else {
            self.protocol.shape(round)
        }
    }

    /// Messages of `round` carry digests of round `round - 1`'s broadcasts.
    fn expects_echo(&self, round: u16) -> bool {
        round > 0 && round - 1 < self.rounds && self.protocol.shape(round - 1).broadcast
    }

    /// Stateless checks, then buffering.
    fn accept(&mut self, msg: ProtocolMessage) -> Result<(), HandleError> {
        let from = msg.from.clone();
        if msg.session_id != self.session_id {
            return Err(Rejection::WrongSession {
                from,
                got: msg.session_id,
            }
            .into());
        }
        if from == self.me || self.players.binary_search(&from).is_err() {
            return Err(Rejection::UnknownSender { from }.into());
        }
        if let Some(to) = &msg.to {
            if *to != self.me {
                let to = to.clone();
                return Err(Rejection::NotForMe { from, to }.into());
            }
        }
        let round = msg.round;
        if round < self.current || round > self.current + 1 || round > self.last_wire_round() {
            return Err(Rejection::WrongRound {
                from,
                round,
                current: self.current,
            }
            .into());
        }
        let shape = self.wire_shape(round);
        if (msg.is_broadcast() && !shape.broadcast) || (!msg.is_broadcast() && !shape.p2p) {
            return Err(Rejection::WrongKind { from, round }.into());
        }
        let malformed = |detail: &str| Abort::Malformed {
            from: from.clone(),
            round,
            detail: detail.into(),
        };
        if msg.echo.is_some() != self.expects_echo(round) {
            return Err(self.fail(malformed("echo digests missing or unexpected")));
        }
        if round == self.rounds && !msg.payload.is_empty() {
            return Err(self.fail(malformed("echo round carries a payload")));
        }
        let inbox = self.inbox.entry(round).or_default();
        let slot = if msg.is_broadcast() {
            &mut inbox.broadcasts
        } else {
            &mut inbox.p2p
        };
        if let Some(existing) = slot.get(&from) {
            if *existing == msg.payload {
                return Err(Rejection::Duplicate { from, round }.into());
            }
            // Two different messages for one slot: the sender contradicts itself.
            let me = self.me.clone();
            return Err(self.fail(Abort::Equivocation {
                culprit: from,
                reported_by: me,
                round,
            }));
        }
        slot.insert(from.clone(), msg.payload);
        if let Some(e) = msg.echo {
            inbox.echoes.push((from, e));
        }
        Ok(())
    }

    fn fail(&mut self, a: Abort) -> HandleError {
        let _ = self.fail_on_err::<()>(Err(a.clone()));
        a.into()
    }

    fn round_complete(&self, round: u16) -> bool {
        self.started && self.waiting_for().is_empty() && self.current == round
    }

    /// Finishes every complete round, in order.
    fn advance(&mut self) -> Result<Vec<ProtocolMessage>, Abort> {
        let mut out = Vec::new();
        while !self.finished && self.round_complete(self.current) {
            let r = self.current;
            let inbox = self.inbox.remove(&r).unwrap_or_default();
            if self.expects_echo(r) {
                let ours = self.digests.get(&(r - 1)).cloned().unwrap_or_default();
                for (reporter, theirs) in &inbox.echoes {
                    echo::check(&self.players, &self.me, reporter, r - 1, &ours, theirs)?;
                }
            }
            if r == self.rounds {
                // Echo round done: the held last round may now run.
                let input = self.held_final.take().unwrap_or_default();
                return match self.protocol.finish_round(r - 1, input) {
                    Ok(Step::Done(o)) => {
                        self.finish(o);
                        Ok(out)
                    }
                    Ok(Step::Next(_)) => {
                        Err(Abort::Local("protocol ran past its last round".into()))
                    }
                    Err(f) => Err(Abort::from_fault(f, r - 1)),
                };
            }
            let mut input = RoundInput {
                broadcasts: inbox.broadcasts,
                p2p: inbox.p2p,
            };
            if self.wire_shape(r).broadcast {
                let own = self.own_broadcast.get(&r).cloned().unwrap_or_default();
                input.broadcasts.insert(self.me.clone(), own);
                let digests = self
                    .players
                    .iter()
                    .map(|p| {
                        let payload = input.broadcasts.get(p).map(Vec::as_slice).unwrap_or(&[]);
                        echo::digest(&self.session_id, r, p, payload)
                    })
                    .collect();
                self.digests.insert(r, digests);
            }
            if r + 1 == self.rounds && self.has_echo_round() {
                self.held_final = Some(input);
                self.current = r + 1;
                out.extend(self.emit(
                    r + 1,
                    RoundOutput {
                        broadcast: Some(Vec::new()),
                        p2p: BTreeMap::new(),
                    },
                )?);
                continue;
            }
            match self.protocol.finish_round(r, input) {
                Ok(Step::Next(o)) => {
                    self.current = r + 1;
                    out.extend(self.emit(r + 1, o)?);
                }
                Ok(Step::Done(o)) => self.finish(o),
                Err(f) => return Err(Abort::from_fault(f, r)),
            }
        }
        Ok(out)
    }

    fn finish(&mut self, o: P::Output) {
        self.output = Some(o);
        self.finished = true;
        self.inbox.clear();
        self.own_broadcast.clear();
    }

    /// Turns a protocol's round output into wire messages.
    fn emit(&mut self, round: u16, o: RoundOutput) -> Result<Vec<ProtocolMessage>, Abort> {
        let shape = self.wire_shape(round);
        let missing_p2p = self.others().any(|p| !o.p2p.contains_key(p));
        if shape.broadcast != o.broadcast.is_some() || (shape.p2p && missing_p2p) {
            return Err(Abort::Local(format!(
                "round {round} output does not match its shape"
            )));
        }
        let echo = if self.expects_echo(round) {
            self.digests.get(&(round - 1)).cloned()
        } else {
            None
        };
        let make = |to: Option<NodeId>, payload: Vec<u8>| ProtocolMessage {
            session_id: self.session_id.clone(),
            from: self.me.clone(),
            to,
            round,
            payload,
            echo: echo.clone(),
        };
        let mut out = Vec::new();
        if let Some(b) = o.broadcast {
            out.push(make(None, b.clone()));
            self.own_broadcast.insert(round, b);
        }
        if shape.p2p {
            for (to, payload) in o.p2p {
                if to != self.me && self.players.binary_search(&to).is_ok() {
                    out.push(make(Some(to), payload));
                }
            }
        }
        Ok(out)
    }
}
