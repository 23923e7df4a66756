//! One player's lifecycle attempt, start to decision: the runner's session
//! ends with the new epoch pending here (or an error), this node proposes
//! commit or abort, and applies the decision that stands (`decision`). The
//! coordinator and every player end the same way.

use std::time::Duration;

use tessera_runner::{Prepared, RunningSession, SessionError};
use tessera_types::SessionId;

use crate::decision::{self, Decision};
use crate::error::RequestError;
use crate::lifecycle_spec::LifecycleSpec;
use crate::shared::Shared;

/// How an attempt ended on this node.
pub(crate) struct Ended {
    pub(crate) session: Result<Prepared, SessionError>,
    /// The decision that stands; `Err` when the ledger could not be reached
    /// (the pending epoch is decided at this node's next start).
    pub(crate) decision: Result<Decision, RequestError>,
}

/// How long a retired epoch stays for signing sessions started at it.
pub(crate) fn grace(shared: &Shared) -> Duration {
    shared.node.options().sign_deadline + Duration::from_secs(5)
}

pub(crate) async fn finish(
    shared: &Shared,
    session_id: &SessionId,
    spec: &LifecycleSpec,
    running: RunningSession<Prepared>,
) -> Ended {
    let session = running.wait().await;
    let mine = match &session {
        Ok(p) => Decision::Commit {
            epoch: p.epoch,
            digest: p.digest,
        },
        Err(_) => Decision::Abort,
    };
    let decision = decision::decide(&shared.ledger, session_id, mine).await;
    match &decision {
        Ok(d) => {
            decision::apply(
                &shared.node,
                &spec.wallet_id,
                spec.key_type,
                session_id,
                *d,
                grace(shared),
            )
            .await
        }
        Err(e) => {
            tracing::error!(session_id = %session_id, "lifecycle attempt not decided (the ledger is unreachable); decided at the next start: {e}")
        }
    }
    Ended { session, decision }
}
