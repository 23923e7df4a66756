//! Serving a request another node delegated to this one (see `delegate`):
//! checked and coordinated here as if this node had pulled it, never delegated
//! again; the answer goes back to the delegating node, which publishes it.

use tessera_types::TraceId;

use crate::audit::Role;
use crate::audit_request;
use crate::coordinate;
use crate::error::ServeError;
use crate::metrics::{self, Status};
use crate::proposal::{Operation, Proposal};
use crate::refused::Refused;
use crate::reply::Reply;
use crate::request::{Kind, Request};
use crate::shared::Shared;
use crate::trail::Trail;

/// Serves a delegated request on this node (never delegating it again), in
/// the request's trace (the caller's span).
pub(crate) async fn serve(shared: &Shared, p: &Proposal, trace: &TraceId) -> Reply {
    let result = delegated(shared, p, trace).await;
    if let Err(e) = &result {
        tracing::warn!(coordinator = %p.coordinator, code = %e.code(), "delegated request failed: {e}");
    }
    Reply::Served {
        result: result.map_err(|e| e.to_remote()),
    }
}

async fn delegated(shared: &Shared, p: &Proposal, trace: &TraceId) -> Result<Vec<u8>, ServeError> {
    let kind = match p.operation {
        Operation::DelegateKeygen => Kind::Keygen,
        Operation::DelegateSign => Kind::Sign,
        Operation::Keygen | Operation::Sign | Operation::Lifecycle => {
            return Err(Refused::WrongOperation("not a delegation").into())
        }
    };
    // Served for another node, like a joined session: it draws on the join
    // pool, so nodes busy coordinating cannot refuse each other's delegations.
    let permits = match kind {
        Kind::Keygen => &shared.keygen_join_permits,
        Kind::Sign => &shared.signing_join_permits,
    };
    let Ok(_permit) = permits.clone().try_acquire_owned().map(|p| {
        let pool = match kind {
            Kind::Keygen => "join_keygen",
            Kind::Sign => "join_sign",
        };
        (p, metrics::InUse::new(pool))
    }) else {
        return Err(
            Refused::ConcurrencyLimit("limit of sessions served for other nodes reached").into(),
        );
    };
    let request = Request::parse(kind, &p.request, &shared.config)?;
    if shared.ledger.served(&request).await {
        return Err(Refused::AlreadyServed(p.session_id.clone()).into());
    }
    let facts = coordinate::key_facts(shared, &request).await;
    let trail = Trail::new(trace.clone());
    let started = std::time::Instant::now();
    let result = coordinate::serve(shared, &request, &p.request, facts, true, &trail).await;
    let status = match &result {
        Ok(_) => Status::Success,
        Err(e) => Status::Error(e.code()),
    };
    let event =
        audit_request::of_request(&request, Role::Delegate, &shared.config.initiator, trace);
    let mut event = audit_request::with_status(event, status).with_duration(started.elapsed());
    if let Some((sid, players)) = trail.session() {
        event = event.with_session(&sid, &players);
    }
    shared.audit(event);
    result
}
