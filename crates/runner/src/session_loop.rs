//! The one async loop of a session: it owns the I/O (the transport link, the
//! timers, the cancel token, the registry's ready set, protocol computations)
//! and drives the sans-IO [`Connection`] with it. Each phase (join barrier,
//! protocol, keygen confirmation, the wait for the peers' `Finished`) is the
//! same loop run until the connection reports that phase's event, or, for the
//! protocol, until the protocol's output.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tessera_session::{ProtocolMessage, RoundProtocol, Session};
use tessera_transport::SessionLink;
use tessera_types::SessionId;
use tokio_util::sync::CancellationToken;

use crate::compute::{Batch, Compute, NoWork, Protocol, Work};
use crate::connection::Connection;
use crate::error::SessionError;
use crate::frame::{Frame, CONTROL_ROUND};
use crate::readiness::{ready_changed, ready_peers, ReadyWatch};
use crate::ready::{Event, Outgoing};
use crate::report::Reporter;

/// How long a failing session tries to tell its peers.
const ABORT_SEND_LIMIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct SessionLoop {
    link: SessionLink,
    conn: Connection,
    reporter: Reporter,
    cancel: CancellationToken,
    ready: ReadyWatch,
    /// Protocol messages from peers, not yet given to the protocol.
    inbox: Vec<ProtocolMessage>,
    events: VecDeque<Event>,
}

/// What a run of the loop waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    Joined,
    Confirmed,
    PeersStored,
    /// The protocol's output.
    Output,
}

impl Goal {
    fn reached_by(self, event: &Event) -> bool {
        match (self, event) {
            (Goal::Joined, Event::Joined)
            | (Goal::Confirmed, Event::Confirmed)
            | (Goal::PeersStored, Event::PeersStored { .. }) => true,
            (Goal::Joined | Goal::Confirmed | Goal::PeersStored | Goal::Output, _) => false,
        }
    }
}

enum Reached<O> {
    Event(Event),
    Output(O),
}

/// The clock the loop gives the connection (tokio's, so paused test time applies).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl SessionLoop {
    pub(crate) fn new(
        link: SessionLink,
        conn: Connection,
        reporter: Reporter,
        cancel: CancellationToken,
        ready: ReadyWatch,
    ) -> Self {
        Self {
            link,
            conn,
            reporter,
            cancel,
            ready,
            inbox: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub(crate) fn session_id(&self) -> &SessionId {
        self.conn.session_id()
    }

    /// Waits until every peer has joined.
    pub(crate) async fn barrier(&mut self) -> Result<(), SessionError> {
        // Cancelled before it joined (its coordinator gave the session up): say so
        // to the peers rather than announce a join.
        if self.cancel.is_cancelled() {
            return Err(self.conn.cancelled());
        }
        self.conn.join(now());
        self.drive(&mut NoWork, Goal::Joined).await.map(drop)
    }

    /// Runs the protocol to its output, computing rounds where `compute` says.
    pub(crate) async fn run_protocol<P>(
        &mut self,
        session: Session<P>,
        compute: Compute,
    ) -> Result<P::Output, SessionError>
    where
        P: RoundProtocol + Send + 'static,
        P::Output: Send + 'static,
    {
        let at_start = ready_peers(&self.ready, self.conn.peers());
        self.conn.start_protocol(now(), at_start);
        let mut work = Protocol::new(session, compute);
        if let Some(batch) = work.start() {
            if let Some(output) = self.settle(batch?).await? {
                return Ok(output);
            }
        }
        match self.drive(&mut work, Goal::Output).await? {
            Reached::Output(output) => Ok(output),
            Reached::Event(e) => Err(SessionError::Internal(format!(
                "protocol loop ended on {e:?}"
            ))),
        }
    }

    /// Keygen's last step: every player says which key it got; all must agree
    /// before anyone stores anything.
    pub(crate) async fn confirm_keygen(&mut self, digest: [u8; 32]) -> Result<(), SessionError> {
        self.conn.confirm(now(), digest)?;
        self.drive(&mut NoWork, Goal::Confirmed).await.map(drop)
    }

    /// Says this node stored its share (`Finished`) and waits, at most `wait`,
    /// until every peer said the same. A peer that aborts or stays silent only
    /// ends the wait: this node's key is stored either way.
    pub(crate) async fn await_stored(&mut self, wait: Duration) {
        self.conn.await_stored(now(), wait);
        match self.drive(&mut NoWork, Goal::PeersStored).await {
            Ok(Reached::Event(Event::PeersStored { missing })) if !missing.is_empty() => {
                tracing::warn!(session_id = %self.session_id(), ?missing, "peers did not confirm storing their share");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(session_id = %self.session_id(), "wait for the peers' Finished ended: {e}");
            }
        }
    }

    /// Signing is over here: tells the peers (best effort).
    pub(crate) async fn finish(&mut self) {
        self.conn.finish();
        let _ = self.flush().await;
    }

    /// Tells the peers the session is over (best effort, bounded), then closes the
    /// link so the session's subscriptions are gone.
    pub(crate) async fn abort(mut self, err: &SessionError) {
        self.conn.abort(err);
        let _ = tokio::time::timeout(ABORT_SEND_LIMIT, self.flush()).await;
        self.link.close().await;
    }

    pub(crate) async fn close(self) {
        self.link.close().await;
    }

    /// The loop: until `goal`, or the first error.
    async fn drive<W: Work>(
        &mut self,
        work: &mut W,
        goal: Goal,
    ) -> Result<Reached<W::Output>, SessionError> {
        loop {
            self.flush().await?;
            while let Some(event) = self.events.pop_front() {
                if goal.reached_by(&event) {
                    return Ok(Reached::Event(event));
                }
            }
            if let Some(batch) = work.offer(&mut self.inbox) {
                if let Some(output) = self.settle(batch?).await? {
                    return Ok(Reached::Output(output));
                }
                continue;
            }
            self.conn.protocol_waiting_for(work.waiting_for());
            let next = self.conn.next_tick();
            let watch_registry = self.conn.watches_registry();
            let cancellable = self.conn.cancellable();
            tokio::select! {
                batch = work.finished() => {
                    if let Some(output) = self.settle(batch?).await? {
                        return Ok(Reached::Output(output));
                    }
                }
                inbound = self.link.recv() => match inbound {
                    Some(inbound) => self.conn.step(now(), inbound)?,
                    None => return Err(self.conn.closed()),
                },
                () = sleep_until(next) => self.conn.tick(now())?,
                ready = ready_changed(&mut self.ready), if watch_registry => {
                    self.conn.registry_changed(&ready)?;
                }
                () = self.cancel.cancelled(), if cancellable => return Err(self.conn.cancelled()),
            }
        }
    }

    /// Sends what a computation produced, reports what it dropped, and ends the
    /// session on a fatal abort.
    async fn settle<O>(&mut self, batch: Batch<O>) -> Result<Option<O>, SessionError> {
        self.send_protocol(batch.out).await?;
        for r in batch.rejected {
            let err = SessionError::ProtocolRejected {
                session_id: self.session_id().clone(),
                sender: r.sender().clone(),
                reason: r.to_string(),
                code: r.code(),
            };
            self.reporter.report(&err, false);
        }
        if let Some(abort) = batch.fatal {
            return Err(SessionError::Protocol {
                session_id: self.session_id().clone(),
                abort,
            });
        }
        Ok(batch.output)
    }

    /// Does what the connection asks: reports, queued protocol messages,
    /// events, frames to send.
    async fn flush(&mut self) -> Result<(), SessionError> {
        while self.conn.has_ready() {
            let ready = self.conn.take_ready();
            if let Some(run) = ready.bind {
                self.link
                    .bind_run(run)
                    .map_err(|source| self.transport_err(source))?;
            }
            for e in &ready.reports {
                self.reporter.report(e, false);
            }
            self.inbox.extend(ready.messages);
            self.events.extend(ready.events);
            for out in ready.send {
                self.send(out).await?;
            }
        }
        Ok(())
    }

    async fn send(&mut self, out: Outgoing) -> Result<(), SessionError> {
        let sent = match out {
            Outgoing::Join(join) => {
                let bytes = Frame::Join(join).to_bytes();
                let mut sent = Ok(());
                for peer in self.conn.peers() {
                    sent = self
                        .link
                        .send_control_signed(peer, CONTROL_ROUND, &bytes)
                        .await;
                    if sent.is_err() {
                        break;
                    }
                }
                sent
            }
            Outgoing::ControlAll(frame) => {
                let bytes = frame.to_bytes();
                let mut sent = Ok(());
                for peer in self.conn.peers() {
                    sent = self.link.send_control(peer, CONTROL_ROUND, &bytes).await;
                    if sent.is_err() {
                        break;
                    }
                }
                sent
            }
            Outgoing::Broadcast(frame) => {
                self.link.send(None, CONTROL_ROUND, &frame.to_bytes()).await
            }
        };
        sent.map_err(|source| self.transport_err(source))
    }

    /// Sends protocol messages the protocol produced.
    async fn send_protocol(&mut self, messages: Vec<ProtocolMessage>) -> Result<(), SessionError> {
        for m in messages {
            let frame = Frame::Protocol(m.to_bytes());
            self.link
                .send(m.to.as_ref(), m.round, &frame.to_bytes())
                .await
                .map_err(|source| self.transport_err(source))?;
        }
        Ok(())
    }

    fn transport_err(&self, source: tessera_transport::TransportError) -> SessionError {
        SessionError::Transport {
            session_id: self.session_id().clone(),
            source,
        }
    }
}
