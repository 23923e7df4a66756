//! A session started in the background: its error channel and its outcome.

use tessera_types::SessionId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::SessionError;
use crate::report::SessionReport;

/// Handle to one running session.
#[derive(Debug)]
pub struct RunningSession<T> {
    session_id: SessionId,
    reports: mpsc::Receiver<SessionReport>,
    task: JoinHandle<Result<T, SessionError>>,
    cancel: CancellationToken,
}

impl<T> RunningSession<T> {
    pub(crate) fn new(
        session_id: SessionId,
        reports: mpsc::Receiver<SessionReport>,
        task: JoinHandle<Result<T, SessionError>>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            session_id,
            reports,
            task,
            cancel,
        }
    }

    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// The session's error channel: every problem it meets, the fatal one last.
    pub fn reports(&mut self) -> &mut mpsc::Receiver<SessionReport> {
        &mut self.reports
    }

    /// Cancels the session: it ends with `ERROR_CONTEXT_CANCELLED`, telling the
    /// peers it reached with a signed abort, and its link closes. For example
    /// when the players refused the session this node had already started.
    pub async fn cancel(self) -> Result<T, SessionError> {
        self.cancel.cancel();
        self.wait().await
    }

    /// Stops the session at once without telling the peers: to them it looks like
    /// a crash. For fault drills and tests; use cancellation (node shutdown) otherwise.
    pub fn kill(self) {
        self.task.abort();
    }

    /// Waits for the outcome.
    pub async fn wait(self) -> Result<T, SessionError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(SessionError::Internal(format!("session task: {e}"))),
        }
    }

    /// Waits for the outcome and also returns every report the session made.
    pub async fn wait_with_reports(mut self) -> (Result<T, SessionError>, Vec<SessionReport>) {
        let result = match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(SessionError::Internal(format!("session task: {e}"))),
        };
        let mut reports = Vec::new();
        while let Ok(r) = self.reports.try_recv() {
            reports.push(r);
        }
        (result, reports)
    }
}
