//! Answering session proposals from other nodes. A player checks the proposal
//! (a known coordinator's signature, fresh, this node among the players, a
//! session id that fits) and the client's request itself, with its own
//! configuration and the same checks and plan as the coordinator, before it
//! joins. A replayed proposal, or one whose request was served already, is
//! refused first. Every answer is signed over the proposal's id (`reply`).
//! Delegations are served apart (`delegated`).

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use tessera_transport::async_nats;
use tessera_types::{NodeId, SessionId, TraceId};
use tracing::Instrument;

use crate::audit::{AuditEvent, Role};
use crate::audit_request;
use crate::error::ServeError;
use crate::metrics::{self, Status};
use crate::plan;
use crate::proposal::{self, Operation, Proposal, ProposalId};
use crate::refused::Refused;
use crate::reply::{self, Reply};
use crate::request::{Kind, Request};
use crate::sessions;
use crate::shared::Shared;
use crate::tenants::{self, Missing};
use crate::trace;

/// Serves proposals until the subscription ends. Each is answered in its own
/// tracked task; a bad one gets a typed refusal and nothing else changes.
pub(crate) async fn serve(shared: Arc<Shared>, mut proposals: async_nats::Subscriber) {
    while let Some(msg) = proposals.next().await {
        let task = shared.clone();
        shared.tracker.spawn(async move {
            let shared = task;
            let id = ProposalId::of(&msg.payload);
            let reply = answer(&shared, &msg.payload, id).await;
            let Some(to) = msg.reply else { return };
            match reply::seal(shared.node.identity(), id, &reply) {
                Ok(bytes) => {
                    let _ = shared.client.publish(to, bytes.into()).await;
                }
                Err(e) => tracing::error!("proposal reply not encodable: {e}"),
            }
        });
    }
}

async fn answer(shared: &Arc<Shared>, bytes: &[u8], id: ProposalId) -> Reply {
    let p = match proposal::open(bytes, shared.me(), |n| shared.node.directory().get(n)) {
        Ok(p) => p,
        Err(e) => return refused(None, &ServeError::BadProposal(e)),
    };
    // Everything about this proposal is logged with the request's trace id.
    let (trace, span) = trace::span_of(p.trace_id.as_ref());
    answer_opened(shared, p, id, &trace).instrument(span).await
}

async fn answer_opened(
    shared: &Arc<Shared>,
    p: Proposal,
    id: ProposalId,
    trace: &TraceId,
) -> Reply {
    let (kind, delegation) = match p.operation {
        Operation::DelegateKeygen => (Kind::Keygen, true),
        Operation::DelegateSign => (Kind::Sign, true),
        Operation::Keygen => (Kind::Keygen, false),
        Operation::Sign => (Kind::Sign, false),
        Operation::Lifecycle => return answer_lifecycle(shared, &p, id, trace).await,
    };
    // Before anything else, and before a join slot is taken: a replay is refused.
    let first = shared
        .first_time(id, &p.session_id, p.issued_at_unix)
        .map_err(ServeError::from);
    let joined = match first {
        Ok(()) if delegation => {
            metrics::proposal(kind.as_str(), "delegated", None);
            return crate::delegated::serve(shared, &p, trace).await;
        }
        Ok(()) => join(shared, &p, kind, trace).await,
        Err(e) => Err(e),
    };
    match joined {
        Ok(()) => {
            metrics::proposal(kind.as_str(), "joined", None);
            Reply::Joined
        }
        Err(e) => {
            metrics::proposal(kind.as_str(), "refused", Some(e.code()));
            let event = AuditEvent::bare(kind.as_str(), Role::Player, trace)
                .with_session(&p.session_id, &p.players)
                .with_outcome("refused", Some(e.code().as_str()));
            shared.audit(event);
            refused(Some(&p.session_id), &e)
        }
    }
}

/// A lifecycle proposal (a reshare request): replays refused first, then `reshare_join`.
async fn answer_lifecycle(
    shared: &Arc<Shared>,
    p: &Proposal,
    id: ProposalId,
    trace: &TraceId,
) -> Reply {
    let joined = match shared.first_time(id, &p.session_id, p.issued_at_unix) {
        Ok(()) => crate::reshare_join::join(shared, p, trace).await,
        Err(e) => Err(e.into()),
    };
    match joined {
        Ok(()) => {
            metrics::proposal("reshare", "joined", None);
            Reply::Joined
        }
        Err(e) => {
            metrics::proposal("reshare", "refused", Some(e.code()));
            refused(Some(&p.session_id), &e)
        }
    }
}

fn refused(session_id: Option<&SessionId>, e: &ServeError) -> Reply {
    let code = e.code();
    match session_id {
        Some(sid) => {
            tracing::warn!(session_id = %sid, code = %code, "session proposal refused: {e}")
        }
        None => tracing::warn!(code = %code, "session proposal refused: {e}"),
    }
    Reply::Refused {
        code,
        reason: e.to_string(),
    }
}

/// Checks the client's request and the proposal against it, then starts this
/// node's part of the sessions in the background.
async fn join(
    shared: &Shared,
    p: &Proposal,
    kind: Kind,
    trace: &TraceId,
) -> Result<(), ServeError> {
    let request = Request::parse(kind, &p.request, &shared.config)?;
    if shared.ledger.served(&request).await {
        return Err(Refused::AlreadyServed(p.session_id.clone()).into());
    }
    let session = request.session();
    // A keygen's players and threshold follow from the request as the
    // coordinator's do; a signing's are the coordinator's pick.
    let (named, threshold) = match &request {
        Request::Keygen(_) => {
            let planned = plan::keygen_players(&shared.snapshot(), session)?;
            (Some(planned.players), planned.threshold)
        }
        Request::Sign(_) => (session.players.clone(), shared.config.threshold),
    };
    check_proposed(p, named.as_deref(), session.session_id.as_ref())?;
    let keys = tenants::dynamic_keys(
        shared,
        session,
        &p.session_id,
        &p.players,
        Missing::for_request(&request),
    )
    .await?;
    let (permits, limit, pool) = match kind {
        Kind::Keygen => (
            &shared.keygen_join_permits,
            "keygen limit reached",
            "join_keygen",
        ),
        Kind::Sign => (
            &shared.signing_join_permits,
            "signing limit reached",
            "join_sign",
        ),
    };
    let permit = permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refused::ConcurrencyLimit(limit))?;
    let permit = (permit, metrics::InUse::new(pool));
    let running = sessions::start(
        &shared.node,
        &request,
        &p.session_id,
        p.players.clone(),
        threshold,
        keys,
        sessions::At {
            trace,
            epoch: p.epoch,
        },
    )?;
    match &request {
        Request::Sign(s) => {
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, tx_id = %s.message.tx_id, "joined signing session");
        }
        Request::Keygen(k) => {
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %k.wallet, "joined keygen sessions");
        }
    }
    let started = Instant::now();
    let event = audit_request::of_request(&request, Role::Player, &shared.config.initiator, trace)
        .with_session(&p.session_id, &p.players);
    let audit = shared.config.audit.clone();
    shared.tracker.spawn(
        async move {
            let status = match running.result().await {
                Ok(_) => Status::Success,
                Err(e) => Status::Error(e.code()),
            };
            if let Some(sink) = audit {
                sink.record(
                    &audit_request::with_status(event, status).with_duration(started.elapsed()),
                );
            }
            drop(permit);
        }
        .in_current_span(),
    );
    Ok(())
}

/// The proposal must be for the players and session id the client's signed
/// request names (when it names them): the coordinator cannot change them.
fn check_proposed(
    p: &Proposal,
    players: Option<&[NodeId]>,
    session_id: Option<&SessionId>,
) -> Result<(), Refused> {
    if players.is_some_and(|players| players != p.players.as_slice()) {
        return Err(Refused::ProposedPlayersDiffer);
    }
    if session_id.is_some_and(|sid| *sid != p.session_id) {
        return Err(Refused::ProposedSessionDiffers);
    }
    Ok(())
}
