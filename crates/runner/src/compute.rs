//! Protocol computation, apart from the connection: the session loop hands the
//! protocol the messages the connection queued and gets back what to send.
//!
//! DKLs23 rounds take hundreds of milliseconds, so they run on the blocking
//! pool while the loop keeps receiving, heartbeating and watching deadlines.
//! Rounds that take well under a millisecond (FROST signing) run in the loop
//! itself: a trip through the blocking pool would cost more than they do.

use std::convert::Infallible;
use std::future::Future;

use tessera_session::{
    Abort, HandleError, ProtocolMessage, Rejection, RoundProtocol, Session, Status,
};
use tessera_types::NodeId;
use tokio::task::JoinHandle;

use crate::error::SessionError;

/// Where protocol rounds are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compute {
    /// On tokio's blocking pool, while the loop keeps receiving and heartbeating.
    Blocking,
    /// In the loop itself: for rounds much cheaper than a thread hand-off.
    Inline,
}

/// What one computation produced.
#[derive(Debug)]
pub(crate) struct Batch<O> {
    /// Protocol messages to send.
    pub(crate) out: Vec<ProtocolMessage>,
    /// Peers' messages the protocol dropped (reported, not fatal).
    pub(crate) rejected: Vec<Rejection>,
    /// Ends the session.
    pub(crate) fatal: Option<Abort>,
    /// The protocol's result, once it finished.
    pub(crate) output: Option<O>,
}

/// A batch computed right here, or why it could not be used.
pub(crate) type Computed<O> = Result<Batch<O>, SessionError>;

/// The computation a session loop runs besides its I/O.
pub(crate) trait Work: Send {
    type Output: Send;
    /// Takes the queued messages and computes on them if nothing is being
    /// computed. Returns the batch when it was computed right here.
    fn offer(&mut self, inbox: &mut Vec<ProtocolMessage>) -> Option<Computed<Self::Output>>;
    /// Resolves when a computation on the blocking pool finishes; never while none runs.
    fn finished(
        &mut self,
    ) -> impl Future<Output = Result<Batch<Self::Output>, SessionError>> + Send;
    /// Whom the protocol waits for (empty while computing).
    fn waiting_for(&self) -> Vec<NodeId>;
}

/// No computation: the join barrier, the keygen confirmation, the wait for
/// the peers' `Finished`. Protocol messages stay queued.
#[derive(Debug)]
pub(crate) struct NoWork;

impl Work for NoWork {
    type Output = Infallible;

    fn offer(&mut self, _: &mut Vec<ProtocolMessage>) -> Option<Computed<Infallible>> {
        None
    }

    fn finished(&mut self) -> impl Future<Output = Result<Batch<Infallible>, SessionError>> + Send {
        std::future::pending()
    }

    fn waiting_for(&self) -> Vec<NodeId> {
        Vec::new()
    }
}

/// A protocol session with the computation under way, if any.
pub(crate) struct Protocol<P: RoundProtocol> {
    compute: Compute,
    /// The session while nothing is computed on it.
    idle: Option<Session<P>>,
    /// A computation on the blocking pool.
    job: Option<JoinHandle<Stepped<P>>>,
}

impl<P: RoundProtocol> std::fmt::Debug for Protocol<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protocol")
            .field("compute", &self.compute)
            .field("computing", &self.job.is_some())
            .finish()
    }
}

/// A session after one computation, with what it produced.
struct Stepped<P: RoundProtocol> {
    session: Session<P>,
    out: Vec<ProtocolMessage>,
    rejected: Vec<Rejection>,
    fatal: Option<Abort>,
}

impl<P> Protocol<P>
where
    P: RoundProtocol + Send + 'static,
    P::Output: Send + 'static,
{
    /// With fault injection on, every round runs on the blocking pool (its
    /// delay must never hold an async worker).
    pub(crate) fn new(session: Session<P>, compute: Compute) -> Self {
        let compute = if crate::fault::active() {
            Compute::Blocking
        } else {
            compute
        };
        Self {
            compute,
            idle: Some(session),
            job: None,
        }
    }

    /// Starts the protocol (its first messages). Returns the batch when it
    /// was computed right here.
    pub(crate) fn start(&mut self) -> Option<Computed<P::Output>> {
        let session = self.idle.take()?;
        self.run(move || start_session(session))
    }

    fn run(
        &mut self,
        f: impl FnOnce() -> Stepped<P> + Send + 'static,
    ) -> Option<Computed<P::Output>> {
        match self.compute {
            Compute::Blocking => {
                self.job = Some(tokio::task::spawn_blocking(f));
                None
            }
            Compute::Inline => Some(self.settle(f())),
        }
    }

    /// Keeps the session for the next messages, or takes its output.
    fn settle(&mut self, c: Stepped<P>) -> Computed<P::Output> {
        let mut session = c.session;
        let output = if session.status() == Status::Finished {
            let output = session.take_output();
            if output.is_none() {
                return Err(SessionError::Internal(
                    "finished session without output".into(),
                ));
            }
            output
        } else {
            self.idle = Some(session);
            None
        };
        Ok(Batch {
            out: c.out,
            rejected: c.rejected,
            fatal: c.fatal,
            output,
        })
    }
}

impl<P> Work for Protocol<P>
where
    P: RoundProtocol + Send + 'static,
    P::Output: Send + 'static,
{
    type Output = P::Output;

    fn offer(&mut self, inbox: &mut Vec<ProtocolMessage>) -> Option<Computed<P::Output>> {
        if self.job.is_some() || inbox.is_empty() {
            return None;
        }
        let session = self.idle.take()?;
        let batch = std::mem::take(inbox);
        self.run(move || handle_batch(session, batch))
    }

    async fn finished(&mut self) -> Result<Batch<P::Output>, SessionError> {
        let Some(job) = self.job.as_mut() else {
            return std::future::pending().await;
        };
        let done = job.await;
        self.job = None;
        let stepped = done.map_err(|e| SessionError::Internal(format!("protocol task: {e}")))?;
        self.settle(stepped)
    }

    fn waiting_for(&self) -> Vec<NodeId> {
        self.idle
            .as_ref()
            .map(Session::waiting_for)
            .unwrap_or_default()
    }
}

fn start_session<P: RoundProtocol>(mut session: Session<P>) -> Stepped<P> {
    crate::fault::before_step();
    let (out, fatal) = match session.start() {
        Ok(out) => (out, None),
        Err(a) => (Vec::new(), Some(a)),
    };
    Stepped {
        session,
        out,
        rejected: Vec::new(),
        fatal,
    }
}

fn handle_batch<P: RoundProtocol>(
    mut session: Session<P>,
    batch: Vec<ProtocolMessage>,
) -> Stepped<P> {
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
    Stepped {
        session,
        out,
        rejected,
        fatal,
    }
}
