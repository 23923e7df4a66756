//! Answering session proposals from other nodes. A player checks the proposal
//! (a known coordinator's signature, fresh, this node among the players, a
//! session id that fits) and the client's request itself, with its own
//! configuration and the same checks and plan as the coordinator, before it
//! joins. A replayed proposal, or one whose request was served already, is
//! refused first. Every answer is signed over the proposal's id (`reply`).
//! Delegations are served apart (`delegated`).

use std::sync::Arc;

use futures::StreamExt;
use tessera_transport::async_nats;
use tessera_types::{NodeId, SessionId};

use crate::error::ServeError;
use crate::plan;
use crate::proposal::{self, Operation, Proposal, ProposalId};
use crate::refused::Refused;
use crate::reply::{self, Reply};
use crate::request::{Kind, Request};
use crate::sessions;
use crate::shared::Shared;
use crate::tenants::{self, Missing};

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

async fn answer(shared: &Shared, bytes: &[u8], id: ProposalId) -> Reply {
    let p = match proposal::open(bytes, shared.me(), |n| shared.node.directory().get(n)) {
        Ok(p) => p,
        Err(e) => return refused(None, &ServeError::BadProposal(e)),
    };
    // Before anything else, and before a join slot is taken: a replay is refused.
    if let Err(e) = shared.first_time(id, &p.session_id, p.issued_at_unix) {
        return refused(Some(&p.session_id), &e.into());
    }
    let kind = match p.operation {
        Operation::DelegateKeygen | Operation::DelegateSign => {
            return crate::delegated::serve(shared, &p).await
        }
        Operation::Keygen => Kind::Keygen,
        Operation::Sign => Kind::Sign,
    };
    match join(shared, &p, kind).await {
        Ok(()) => Reply::Joined,
        Err(e) => refused(Some(&p.session_id), &e),
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
async fn join(shared: &Shared, p: &Proposal, kind: Kind) -> Result<(), ServeError> {
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
    let (permits, limit) = match kind {
        Kind::Keygen => (&shared.keygen_join_permits, "keygen limit reached"),
        Kind::Sign => (&shared.signing_join_permits, "signing limit reached"),
    };
    let permit = permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refused::ConcurrencyLimit(limit))?;
    let running = sessions::start(
        &shared.node,
        &request,
        &p.session_id,
        p.players.clone(),
        threshold,
        keys,
    )?;
    match &request {
        Request::Sign(s) => {
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, tx_id = %s.message.tx_id, "joined signing session");
        }
        Request::Keygen(k) => {
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %k.wallet, "joined keygen sessions");
        }
    }
    shared.tracker.spawn(async move {
        let _ = running.result().await;
        drop(permit);
    });
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
