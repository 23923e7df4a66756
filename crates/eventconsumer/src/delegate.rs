//! Delegation: the node that pulled a request is not among the players the
//! request names (`tessera_session.players`, e.g. a device and node1 while
//! node0 pulled it). It keeps its ledger claim and the duty to publish the
//! result, and asks the first server player to serve the request; that node
//! checks the request itself, coordinates the session as if it had pulled it,
//! and replies with the result. The request is signed by the client, so the
//! delegating node cannot change what is served.

use std::time::Duration;

use tessera_types::{ErrorCode, NodeId};

use crate::proposal::{self, Operation, Proposal, Reply};
use crate::shared::Shared;

/// Why a request ended without a result of its own: the code and the reason.
type Refusal = (ErrorCode, String);

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
