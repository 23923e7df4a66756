//! Delegation: the node that pulled a request is not among the players the
//! request names (`tessera_session.players`, e.g. a device and node1 while
//! node0 pulled it), or holds no share of its key. It keeps its ledger claim
//! and the duty to publish the result, and asks a server player to serve the
//! request; that node checks the request itself, coordinates the session as
//! if it had pulled it, and replies with the result. The request is signed by
//! the client, so the delegating node cannot change what is served, and the
//! answer is signed by the delegate for this delegation (see `reply`).

use std::time::Duration;

use tessera_types::{NodeId, TraceId};

use crate::error::ServeError;
use crate::proposal::{self, Operation, Proposal};
use crate::reply::{RemoteError, Reply};
use crate::request::Kind;
use crate::shared::Shared;

/// Extra time a delegate gets beyond its sessions' own deadlines.
const MARGIN: Duration = Duration::from_secs(10);

/// Asks `to` to serve `raw` and waits for its answer: the success result's JSON.
pub(crate) async fn ask(
    shared: &Shared,
    to: &NodeId,
    kind: Kind,
    raw: &[u8],
    trace: &TraceId,
) -> Result<Vec<u8>, ServeError> {
    let mut players = vec![shared.me().clone(), to.clone()];
    players.sort();
    let operation = match kind {
        Kind::Keygen => Operation::DelegateKeygen,
        Kind::Sign => Operation::DelegateSign,
    };
    let p = Proposal {
        session_id: shared.new_session_id(),
        operation,
        coordinator: shared.me().clone(),
        players,
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
        trace_id: Some(trace.clone()),
        lifecycle: None,
        epoch: None,
    };
    let options = shared.node.options();
    // A signing delegate may sign twice (one retry without a failed player).
    let wait = match kind {
        Kind::Keygen => options.keygen_deadline,
        Kind::Sign => options.sign_deadline * 2,
    } + MARGIN;
    tracing::info!(to = %to, ?operation, "not among the request's players; delegating it to {to}");
    let sealed = proposal::seal(shared.node.identity(), &p)
        .map_err(|e| ServeError::Bug(format!("proposal encoding: {e}")))?;
    let answer = crate::ask::ask(shared, to, &p.session_id, &sealed, wait).await;
    match answer {
        Some(Reply::Served { result }) => result.map_err(|error| ServeError::Delegate {
            peer: to.clone(),
            error,
        }),
        Some(Reply::Refused { code, reason }) => Err(ServeError::Delegate {
            peer: to.clone(),
            error: RemoteError { code, reason },
        }),
        Some(Reply::Joined) | None => Err(ServeError::DelegateSilent { peer: to.clone() }),
    }
}
