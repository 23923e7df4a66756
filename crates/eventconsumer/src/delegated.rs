//! Serving a request another node delegated to this one (see `delegate`):
//! checked and coordinated here as if this node had pulled it, never delegated
//! again; the answer goes back to the delegating node, which publishes it.

use crate::coordinate;
use crate::error::ServeError;
use crate::proposal::{Operation, Proposal};
use crate::refused::Refused;
use crate::reply::Reply;
use crate::request::{Kind, Request};
use crate::shared::Shared;

/// Serves a delegated request on this node (never delegating it again).
pub(crate) async fn serve(shared: &Shared, p: &Proposal) -> Reply {
    let result = delegated(shared, p).await;
    if let Err(e) = &result {
        tracing::warn!(coordinator = %p.coordinator, code = %e.code(), "delegated request failed: {e}");
    }
    Reply::Served {
        result: result.map_err(|e| e.to_remote()),
    }
}

async fn delegated(shared: &Shared, p: &Proposal) -> Result<Vec<u8>, ServeError> {
    let kind = match p.operation {
        Operation::DelegateKeygen => Kind::Keygen,
        Operation::DelegateSign => Kind::Sign,
        Operation::Keygen | Operation::Sign => {
            return Err(Refused::WrongOperation("not a delegation").into())
        }
    };
    // Served for another node, like a joined session: it draws on the join
    // pool, so nodes busy coordinating cannot refuse each other's delegations.
    let permits = match kind {
        Kind::Keygen => &shared.keygen_join_permits,
        Kind::Sign => &shared.signing_join_permits,
    };
    let Ok(_permit) = permits.clone().try_acquire_owned() else {
        return Err(
            Refused::ConcurrencyLimit("limit of sessions served for other nodes reached").into(),
        );
    };
    let request = Request::parse(kind, &p.request, &shared.config)?;
    if shared.ledger.served(&request).await {
        return Err(Refused::AlreadyServed(p.session_id.clone()).into());
    }
    let facts = coordinate::key_facts(shared, &request).await;
    coordinate::serve(shared, &request, &p.request, facts, true).await
}
