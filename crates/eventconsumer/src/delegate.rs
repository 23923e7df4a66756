//! Delegation: the node that pulled a request is not among the players the
//! request names (`tessera_session.players`, e.g. a device and node1 while
//! node0 pulled it). It keeps its ledger claim and the duty to publish the
//! result, and asks the first server player to serve the request; that node
//! checks the request itself, coordinates the session as if it had pulled it,
//! and replies with the result. The request is signed by the client, so the
//! delegating node cannot change what is served.

use std::time::Duration;

use tessera_types::{ErrorCode, NodeId};

use crate::coordinator;
use crate::proposal::{self, Operation, Proposal, Reply};
use crate::shared::Shared;

/// Why a request ended without a result of its own: the code and the reason.
type Refusal = (ErrorCode, String);

/// Delegations remembered (by proposal session id) so a replayed one is refused.
const SEEN_CAPACITY: usize = 4096;

/// Extra time a delegate gets beyond its sessions' own deadlines.
const MARGIN: Duration = Duration::from_secs(10);

/// Asks `to` to serve `raw` and waits for its answer: the success result's JSON.
pub(crate) async fn ask(
    shared: &Shared,
    to: &NodeId,
    operation: Operation,
    raw: &[u8],
) -> Result<Vec<u8>, Refusal> {
    let mut players = vec![shared.me().clone(), to.clone()];
    players.sort();
    let p = Proposal {
        session_id: shared.new_session_id(),
        operation,
        coordinator: shared.me().clone(),
        players,
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
    };
    let options = shared.node.options();
    // A signing delegate may sign twice (one retry without a failed player).
    let wait = match operation {
        Operation::DelegateKeygen => options.keygen_deadline,
        _ => options.sign_deadline * 2,
    } + MARGIN;
    tracing::info!(to = %to, ?operation, "not among the request's players; delegating it to {to}");
    let sealed = proposal::seal(shared.node.identity(), &p);
    let ask = shared.client.request(
        tessera_transport::subjects::node_proposal(to),
        sealed.into(),
    );
    let answer = match tokio::time::timeout(wait, ask).await {
        Ok(Ok(m)) => Reply::from_bytes(&m.payload),
        Ok(Err(_)) | Err(_) => None,
    };
    match answer {
        Some(Reply::Served { result }) => result,
        Some(Reply::Refused { code, reason }) => {
            Err((code, format!("{to} refused to serve the request: {reason}")))
        }
        Some(Reply::Joined) | None => Err((
            ErrorCode::PeerUnavailable,
            format!("{to} did not serve the delegated request"),
        )),
    }
}

/// Serves a delegated request on this node (never delegating it again).
pub(crate) async fn serve(shared: &Shared, p: &Proposal) -> Reply {
    if !shared.remember_delegation(&p.session_id, SEEN_CAPACITY) {
        return Reply::Refused {
            code: ErrorCode::SessionDuplicate,
            reason: format!("delegation {} was already served", p.session_id),
        };
    }
    // Served for another node, like a joined session: it draws on the join
    // pool, so nodes busy coordinating cannot refuse each other's delegations.
    let permits = match p.operation {
        Operation::DelegateKeygen => &shared.keygen_join_permits,
        _ => &shared.signing_join_permits,
    };
    let Ok(_permit) = permits.clone().try_acquire_owned() else {
        return Reply::Refused {
            code: ErrorCode::ConcurrencyLimit,
            reason: "limit of sessions served for other nodes reached".to_string(),
        };
    };
    let result = match p.operation {
        Operation::DelegateSign => coordinator::sign_delegated(shared, &p.request).await,
        Operation::DelegateKeygen => crate::keygen::keygen_delegated(shared, &p.request).await,
        Operation::Keygen | Operation::Sign => Err((
            ErrorCode::InvalidSessionType,
            "not a delegation".to_string(),
        )),
    };
    if let Err((code, reason)) = &result {
        tracing::warn!(coordinator = %p.coordinator, code = %code, "delegated request failed: {reason}");
    }
    Reply::Served { result }
}
