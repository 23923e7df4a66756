//! The connection state machine without network or crypto: inbound frames are
//! built as already-opened envelopes, time is explicit.

use super::*;

use tessera_security::secret::SecretBytes;
use tessera_security::{EnvelopeError, EnvelopeHeader, Opened, RunId, RunNonce, RunTag};
use tessera_session::ProtocolMessage;
use tessera_types::{KeyType, PublicIdentity, SessionConfig, Threshold, WalletId};

use crate::frame::Join;
use crate::meta::{MetaField, Operation};

const HEARTBEAT: Duration = Duration::from_millis(250);
const SILENCE: Duration = Duration::from_millis(1500);
const CONNECT: Duration = Duration::from_secs(10);
const RESEND: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(30);

fn id(name: &str) -> NodeId {
    NodeId::new(name).unwrap()
}

fn sid() -> SessionId {
    SessionId::new("s-1").unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `a` (this node), `b` and `c`, all with `SessionMeta::default()`.
fn conn(t0: Instant) -> Connection {
    conn_with(t0, SessionMeta::default())
}

fn conn_with(t0: Instant, meta: SessionMeta) -> Connection {
    let options = RunnerOptions {
        connect_timeout: CONNECT,
        join_resend: RESEND,
        heartbeat: HEARTBEAT,
        peer_silence: SILENCE,
        ..RunnerOptions::default()
    };
    let players = [id("a"), id("b"), id("c")];
    Connection::new(
        sid(),
        &id("a"),
        &players,
        options,
        t0 + DEADLINE,
        meta,
        nonce("a"),
    )
}

/// `name`'s run nonce in this run (fixed, so the run id is known).
fn nonce(name: &str) -> RunNonce {
    let mut n = [0u8; 32];
    n[..name.len()].copy_from_slice(name.as_bytes());
    RunNonce(n)
}

/// The run id of `a`, `b` and `c` with their `nonce`s.
fn run_id() -> RunId {
    let (a, b, c) = (id("a"), id("b"), id("c"));
    RunId::derive(
        &sid(),
        [(&a, &nonce("a")), (&b, &nonce("b")), (&c, &nonce("c"))],
    )
}

/// An opened envelope from `sender` carrying `frame`: joins and aborts tagged
/// with the sender's nonce (the join barrier), the rest with the run id.
fn opened(sender: &str, round: u16, frame: &Frame) -> Inbound {
    let run = match frame {
        Frame::Join(_) | Frame::Abort { .. } => RunTag::Joining(nonce(sender)),
        _ => RunTag::Bound(run_id()),
    };
    opened_in(run, sender, round, &frame.to_bytes())
}

fn opened_bytes(sender: &str, round: u16, payload: &[u8]) -> Inbound {
    opened_in(RunTag::Bound(run_id()), sender, round, payload)
}

fn opened_in(run: RunTag, sender: &str, round: u16, payload: &[u8]) -> Inbound {
    Inbound::Message(Opened {
        header: EnvelopeHeader {
            session_id: sid(),
            run,
            sender: id(sender),
            receiver: None,
            round,
            seq: 1,
        },
        payload: SecretBytes::from_slice(payload),
    })
}

fn control(sender: &str, frame: &Frame) -> Inbound {
    opened(sender, crate::frame::CONTROL_ROUND, frame)
}

/// A join of this run: it echoes `a`'s nonce.
fn join_frame() -> Frame {
    join_with(SessionMeta::default())
}

fn join_with(meta: SessionMeta) -> Frame {
    Frame::Join(Join {
        meta,
        echo: vec![(id("a"), nonce("a"))],
        trace: None,
    })
}

/// This node's join before it has seen any other.
fn first_join() -> Outgoing {
    Outgoing::Join(Join::default())
}

fn protocol(from: &str, round: u16) -> (Frame, ProtocolMessage) {
    let m = ProtocolMessage {
        session_id: sid(),
        from: id(from),
        to: None,
        round,
        payload: vec![1, 2, 3],
        echo: None,
    };
    (Frame::Protocol(m.to_bytes()), m)
}

fn abort(code: ErrorCode, blamed: &[&str]) -> Frame {
    Frame::Abort {
        code,
        blamed: blamed.iter().map(|b| id(b)).collect(),
        reason: "gave up".into(),
    }
}

/// Joined and running since `t0`.
fn running(t0: Instant) -> Connection {
    let mut c = conn(t0);
    c.join(t0);
    c.step(t0, control("b", &join_frame())).unwrap();
    c.step(t0, control("c", &join_frame())).unwrap();
    c.start_protocol(t0, [id("b"), id("c")].into());
    c.take_ready();
    c
}

fn sent(ready: &Ready) -> Vec<Outgoing> {
    ready.send.clone()
}

mod endings;
mod frames;
mod join;
mod liveness;
mod runs;
