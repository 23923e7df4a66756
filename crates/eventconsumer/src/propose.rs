//! Proposing a session to its players: a signed proposal to each server
//! player, all of which must join (each answers with a signed reply).

use std::time::Duration;

use futures::future::join_all;
use tessera_types::NodeId;

use crate::ask::ask;
use crate::error::{NotJoined, ServeError};
use crate::proposal::{self, Proposal};
use crate::reply::Reply;
use crate::shared::Shared;

/// How long a player has to answer a proposal.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the proposal to every other server player; all must join.
pub(crate) async fn propose(shared: &Shared, p: &Proposal) -> Result<(), ServeError> {
    propose_to(shared, p, &p.players).await
}

/// Sends the proposal to every other server player; those in `needed` must
/// join, the others are only told (their answers are not waited on beyond
/// the proposal timeout, and a silent one fails nothing).
pub(crate) async fn propose_to(
    shared: &Shared,
    p: &Proposal,
    needed: &[NodeId],
) -> Result<(), ServeError> {
    let sealed = proposal::seal(shared.node.identity(), p)
        .map_err(|e| ServeError::Bug(format!("proposal encoding: {e}")))?;
    // Tenants are not asked: they join the session by its id on their own.
    let asks = p
        .players
        .iter()
        .filter(|n| *n != shared.me() && shared.is_server(n))
        .map(|n| {
            let sealed = &sealed;
            async move {
                let answer = ask(shared, n, &p.session_id, sealed, PROPOSAL_TIMEOUT).await;
                if !needed.contains(n) {
                    if !matches!(answer, Some(Reply::Joined)) {
                        tracing::warn!(session_id = %p.session_id, node = %n, ?answer, "a node told of the proposal did not accept it");
                    }
                    return Ok(());
                }
                let player = n.clone();
                let not_joined = match answer {
                    Some(Reply::Joined) => return Ok(()),
                    Some(Reply::Refused { code, reason }) => NotJoined::Refused {
                        player,
                        code,
                        reason,
                    },
                    Some(Reply::Served { .. }) | None => NotJoined::Silent { player },
                };
                Err(ServeError::NotJoined {
                    session_id: p.session_id.clone(),
                    answer: not_joined,
                })
            }
        });
    join_all(asks).await.into_iter().collect()
}
