//! Asking one node to join or serve a proposal and waiting for its signed
//! answer on a private inbox. Anything else arriving there (an unsigned
//! answer, one signed by another node or for another proposal) is logged and
//! skipped: it neither ends the wait nor counts as the node's answer. NATS's
//! "no responders" status ends the wait at once (the node is not listening).

use std::time::Duration;

use futures::StreamExt;
use tessera_transport::async_nats::StatusCode;
use tessera_transport::subjects;
use tessera_types::{NodeId, SessionId};

use crate::proposal::ProposalId;
use crate::reply::{self, Reply};
use crate::shared::Shared;

/// Sends the sealed proposal to `to` and waits up to `wait` for its answer;
/// `None` when it gives none in time (or NATS fails).
pub(crate) async fn ask(
    shared: &Shared,
    to: &NodeId,
    session_id: &SessionId,
    sealed: &[u8],
    wait: Duration,
) -> Option<Reply> {
    let id = ProposalId::of(sealed);
    let inbox = shared.client.new_inbox();
    let mut answers = match shared.client.subscribe(inbox.clone()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%session_id, peer = %to, "cannot subscribe for the answer: {e}");
            return None;
        }
    };
    let sent = shared
        .client
        .publish_with_reply(subjects::node_proposal(to), inbox, sealed.to_vec().into())
        .await;
    if let Err(e) = sent {
        tracing::warn!(%session_id, peer = %to, "proposal not sent: {e}");
        return None;
    }
    let lookup = |n: &NodeId| shared.node.directory().get(n);
    let answered = async {
        while let Some(msg) = answers.next().await {
            if msg.status == Some(StatusCode::NO_RESPONDERS) {
                tracing::warn!(%session_id, peer = %to, "{to} does not listen for proposals");
                return None;
            }
            match reply::open(&msg.payload, to, id, lookup) {
                Ok(answer) => return Some(answer),
                Err(e) => tracing::warn!(
                    %session_id, peer = %to, proposal = %id, code = %e.code(),
                    "ignored an answer that is not {to}'s to this proposal: {e}"
                ),
            }
        }
        None
    };
    let answer = tokio::time::timeout(wait, answered).await.ok().flatten();
    let _ = answers.unsubscribe().await;
    answer
}
