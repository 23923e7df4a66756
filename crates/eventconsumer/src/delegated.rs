//! Serving a request another node delegated to this one (see `delegate`):
//! checked and coordinated here as if this node had pulled it, never delegated
//! again; the answer goes back to the delegating node, which publishes it.

use tessera_types::ErrorCode;

use crate::coordinator;
use crate::proposal::{Operation, Proposal, Reply};
use crate::shared::Shared;

/// Delegations remembered (by proposal session id) so a replayed one is refused.
const SEEN_CAPACITY: usize = 4096;

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
