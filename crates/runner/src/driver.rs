//! The phases of one session over the network: join barrier, protocol loop,
//! keygen confirmation. Each phase runs until done or until the first error,
//! whichever comes first; the caller then closes or aborts the wire.
//!
//! Protocol computation (DKLs23 rounds take hundreds of milliseconds) runs on
//! the blocking pool, so the async loop keeps receiving, heartbeating and
//! watching deadlines while a round is computed. Rounds that take well under a
//! millisecond (FROST signing) run in the loop itself: a trip through the
//! blocking pool would cost more than they do.

use std::collections::BTreeSet;

use tessera_session::{Abort, HandleError, ProtocolMessage, RoundProtocol, Session, Status};
use tessera_types::{ErrorCode, NodeId};
use tokio::task::JoinHandle;
use tokio::time::{interval_at, sleep_until, Instant, Interval, MissedTickBehavior};

use crate::ctx::ready_changed;
use crate::error::SessionError;
use crate::frame::Frame;
use crate::wire::Wire;

/// Waits until every peer has joined. Repeats this node's join until then, so a
/// peer that opens the session late still hears it.
pub(crate) async fn barrier(wire: &mut Wire) -> Result<(), SessionError> {
    // Cancelled before it joined (its coordinator gave the session up): say so
    // to the peers rather than announce a join.
    if wire.ctx.cancel.is_cancelled() {
        return Err(cancelled(wire));
    }
    let until = (Instant::now() + wire.ctx.options.connect_timeout).min(wire.ctx.deadline);
    // Announce at once: a peer's join may already be waiting for us, and finishing
    // the barrier without ever announcing would leave that peer waiting forever.
    wire.send_join_all().await?;
    let mut resend = ticker(wire.ctx.options.join_resend);
    loop {
        let missing: Vec<NodeId> = wire
            .peers()
            .into_iter()
            .filter(|p| !wire.joined.contains(p))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        tokio::select! {
            _ = resend.tick() => wire.send_join_all().await?,
            inbound = wire.link.recv() => {
                // A peer that timed out on the same barrier: this node is missing
                // players too, so report its own finding rather than the peer's abort.
                if let Err(e) = wire.accept(inbound) {
                    return Err(match e {
                        SessionError::PeerAborted { code: ErrorCode::SessionJoinTimeout, .. } => {
                            wire.join_failure(missing)
                        }
                        other => other,
                    });
                }
            }
            _ = sleep_until(until) => return Err(wire.join_failure(missing)),
            _ = wire.ctx.cancel.cancelled() => return Err(cancelled(wire)),
        }
    }
}

/// A timer whose first tick is one period from now. (tokio's `interval` ticks
/// at once, and an immediate tick still waits for the timer wheel's next
/// millisecond.)
fn ticker(period: std::time::Duration) -> Interval {
    let mut t = interval_at(Instant::now() + period, period);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

/// Where protocol rounds are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compute {
    /// On tokio's blocking pool, while the loop keeps receiving and heartbeating.
    Blocking,
    /// In the loop itself: for rounds much cheaper than a thread hand-off.
    Inline,
}

struct Batch<P: RoundProtocol> {
    session: Session<P>,
    out: Vec<ProtocolMessage>,
    rejected: Vec<tessera_session::Rejection>,
    fatal: Option<Abort>,
}

fn handle_batch<P: RoundProtocol>(
    mut session: Session<P>,
    batch: Vec<ProtocolMessage>,
) -> Batch<P> {
    crate::fault::before_step();
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    let mut fatal = None;
    for m in batch {
        match session.handle(m) {
            Ok(msgs) => out.extend(msgs),
            Err(HandleError::Rejected(r)) => rejected.push(r),
            Err(HandleError::Aborted(a)) => {
                fatal = Some(a);
                break;
            }
        }
    }
    Batch {
        session,
        out,
        rejected,
        fatal,
    }
}

fn start_batch<P: RoundProtocol>(mut session: Session<P>) -> Batch<P> {
    crate::fault::before_step();
    let (out, fatal) = match session.start() {
        Ok(out) => (out, None),
        Err(a) => (Vec::new(), Some(a)),
    };
    Batch {
        session,
        out,
        rejected: Vec::new(),
        fatal,
    }
}

/// What became of a computed batch.
enum Settled<P: RoundProtocol> {
    Waiting(Box<Session<P>>),
    Done(P::Output),
}

/// Sends what a batch produced, reports its rejections, and ends the session
/// on a fatal abort.
async fn settle<P: RoundProtocol>(
    wire: &mut Wire,
    mut b: Batch<P>,
) -> Result<Settled<P>, SessionError> {
    let sid = wire.ctx.session_id.clone();
    wire.send_protocol(std::mem::take(&mut b.out)).await?;
    for r in b.rejected.drain(..) {
        let err = SessionError::ProtocolRejected {
            session_id: sid.clone(),
            sender: r.sender().clone(),
            reason: r.to_string(),
            code: r.code(),
        };
        wire.ctx.reporter.report(&err, false);
    }
    if let Some(abort) = b.fatal {
        return Err(SessionError::Protocol {
            session_id: sid,
            abort,
        });
    }
    if b.session.status() == Status::Finished {
        return b
            .session
            .take_output()
            .map(Settled::Done)
            .ok_or_else(|| SessionError::Internal("finished session without output".into()));
    }
    Ok(Settled::Waiting(Box::new(b.session)))
}

/// Runs the protocol to its output, computing rounds where `compute` says.
pub(crate) async fn run_protocol<P>(
    wire: &mut Wire,
    session: Session<P>,
    compute: Compute,
) -> Result<P::Output, SessionError>
where
    P: RoundProtocol + Send + 'static,
    P::Output: Send + 'static,
{
    let sid = wire.ctx.session_id.clone();
    let compute = if crate::fault::active() {
        Compute::Blocking
    } else {
        compute
    };
    wire.reset_liveness();
    let ready_at_start = wire.ctx.ready_peers();
    let mut ready = wire.ctx.ready.clone();
    let mut idle: Option<Session<P>> = None;
    let mut job: Option<JoinHandle<Batch<P>>> = None;
    match compute {
        Compute::Blocking => {
            job = Some(tokio::task::spawn_blocking(move || start_batch(session)));
        }
        Compute::Inline => match settle(wire, start_batch(session)).await? {
            Settled::Done(output) => return Ok(output),
            Settled::Waiting(s) => idle = Some(*s),
        },
    }
    let mut heartbeat = ticker(wire.ctx.options.heartbeat);
    loop {
        if job.is_none() && !wire.queue.is_empty() {
            if let Some(s) = idle.take() {
                let batch: Vec<_> = wire.queue.drain(..).collect();
                match compute {
                    Compute::Blocking => {
                        job = Some(tokio::task::spawn_blocking(move || handle_batch(s, batch)));
                    }
                    Compute::Inline => {
                        match settle(wire, handle_batch(s, batch)).await? {
                            Settled::Done(output) => return Ok(output),
                            Settled::Waiting(s) => idle = Some(*s),
                        }
                        continue;
                    }
                }
            }
        }
        tokio::select! {
            done = async { job.as_mut().expect("guarded").await }, if job.is_some() => {
                job = None;
                let b = done.map_err(|e| SessionError::Internal(format!("protocol task: {e}")))?;
                match settle(wire, b).await? {
                    Settled::Done(output) => return Ok(output),
                    Settled::Waiting(s) => idle = Some(*s),
                }
            }
            inbound = wire.link.recv() => wire.accept(inbound)?,
            _ = heartbeat.tick() => {
                wire.broadcast(&Frame::Heartbeat).await?;
                wire.check_silence()?;
            }
            now_ready = ready_changed(&mut ready) => check_still_ready(wire, &ready_at_start, &now_ready)?,
            _ = sleep_until(wire.ctx.deadline) => {
                let waiting_for = idle.as_ref().map(|s| s.waiting_for()).unwrap_or_default();
                return Err(SessionError::Deadline { session_id: sid, waiting_for });
            }
            _ = wire.ctx.cancel.cancelled() => return Err(cancelled(wire)),
        }
    }
}

/// Keygen's last step: every player says which key it got; all must agree before
/// anyone stores anything.
pub(crate) async fn confirm_keygen(wire: &mut Wire, digest: [u8; 32]) -> Result<(), SessionError> {
    wire.broadcast(&Frame::KeygenDone { digest }).await?;
    wire.reset_liveness();
    let mut heartbeat = ticker(wire.ctx.options.heartbeat);
    loop {
        if let Some((peer, _)) = wire.done.iter().find(|(_, d)| **d != digest) {
            return Err(SessionError::KeygenMismatch {
                session_id: wire.ctx.session_id.clone(),
                peer: peer.clone(),
            });
        }
        let pending: Vec<NodeId> = wire
            .peers()
            .into_iter()
            .filter(|p| !wire.done.contains_key(p))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        tokio::select! {
            inbound = wire.link.recv() => wire.accept(inbound)?,
            _ = heartbeat.tick() => {
                wire.broadcast(&Frame::Heartbeat).await?;
                wire.check_silence()?;
            }
            _ = sleep_until(wire.ctx.deadline) => {
                return Err(SessionError::Deadline {
                    session_id: wire.ctx.session_id.clone(),
                    waiting_for: pending,
                });
            }
            _ = wire.ctx.cancel.cancelled() => return Err(cancelled(wire)),
        }
    }
}

fn check_still_ready(
    wire: &Wire,
    at_start: &BTreeSet<NodeId>,
    now: &BTreeSet<NodeId>,
) -> Result<(), SessionError> {
    match at_start.iter().find(|p| !now.contains(*p)) {
        Some(peer) => Err(SessionError::PeerUnavailable {
            session_id: wire.ctx.session_id.clone(),
            peer: peer.clone(),
            reason: "its readiness key left the registry".into(),
        }),
        None => Ok(()),
    }
}

fn cancelled(wire: &Wire) -> SessionError {
    SessionError::Cancelled {
        session_id: wire.ctx.session_id.clone(),
    }
}
