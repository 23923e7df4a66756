//! A player's answer to a lifecycle proposal. It checks the client's reshare
//! request itself (same checks as the coordinator), then the coordinator's
//! plan against the request: same wallet, key type, threshold and nodes; a
//! player that keeps its share plans the request from its own view of the
//! key and must get the same committee and targets, key and epoch; a target
//! must be named by the request's signed `tessera_replace` or hold no share
//! of the key. Then it runs its part and follows the decision (`reshare_run`).

use std::sync::Arc;

use tessera_types::TraceId;

use crate::error::ServeError;
use crate::metrics;
use crate::plan_lifecycle::plan_lifecycle;
use crate::proposal::Proposal;
use crate::refused::Refused;
use crate::reshare_request::Reshare;
use crate::reshare_view::key_view;
use crate::shared::Shared;

pub(crate) async fn join(
    shared: &Arc<Shared>,
    p: &Proposal,
    trace: &TraceId,
) -> Result<(), ServeError> {
    let reshare = Reshare::parse(&p.request, &shared.config)?;
    let spec = p.lifecycle.clone().ok_or(Refused::WrongOperation(
        "a lifecycle proposal without its plan",
    ))?;
    let mut named = reshare.nodes.clone();
    named.sort();
    if spec.wallet_id != reshare.wallet
        || spec.key_type != reshare.key_type
        || spec.threshold != reshare.new_threshold.0
        || spec.players() != named
        || p.players != spec.told()
    {
        return Err(Refused::ProposedPlayersDiffer.into());
    }
    let me = shared.me();
    let target = spec.targets.contains(me);
    let leaving = spec.removed.contains(me);
    let view = key_view(shared, &reshare.wallet, reshare.key_type, &reshare.nodes).await?;
    match (&view, target) {
        (Some(view), false) => {
            let plan = plan_lifecycle(&view.facts, (&reshare).into()).map_err(|r| {
                Refused::WrongOperation(if r.code == tessera_types::ErrorCode::PeerUnavailable {
                    "a player of the planned committee is not ready here"
                } else {
                    "the request cannot be served from this node's view of the key"
                })
            })?;
            if plan.committee != spec.committee
                || plan.targets != spec.targets
                || plan.removed != spec.removed
                || view.public_key != spec.public_key
                || view.epoch != spec.from_epoch
            {
                return Err(Refused::ProposedPlayersDiffer.into());
            }
        }
        (None, false) => {
            return Err(Refused::KeyNotFound {
                wallet: reshare.wallet.to_string(),
                key_type: reshare.key_type.to_string(),
            }
            .into())
        }
        (Some(_), true) if !reshare.replace.contains(me) => {
            // A holder is only repaired when the initiator asked for it.
            return Err(Refused::ProposedPlayersDiffer.into());
        }
        (_, true) => {}
    }
    if leaving {
        // Not a player: this node retires its share once the attempt commits,
        // and signs nothing with it meanwhile.
        let task = shared.clone();
        let (sid, wallet, key_type) = (p.session_id.clone(), spec.wallet_id.clone(), spec.key_type);
        let within = shared.node.options().keygen_deadline * 2;
        let grace = crate::reshare_run::grace(shared);
        shared.set_leaving(wallet.as_str(), key_type, true);
        shared
            .tracker
            .spawn(tracing::Instrument::in_current_span(async move {
                crate::decision::retire_when_committed(
                    &task.node,
                    &task.ledger,
                    &wallet,
                    key_type,
                    &sid,
                    within,
                    grace,
                )
                .await;
                task.set_leaving(wallet.as_str(), key_type, false);
            }));
        tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %reshare.wallet, key_type = %reshare.key_type, "told of a lifecycle session that removes this node");
        return Ok(());
    }
    let permit = shared
        .keygen_join_permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refused::ConcurrencyLimit("lifecycle limit reached"))?;
    let permit = (permit, metrics::InUse::new("join_lifecycle"));
    let running = shared
        .node
        .start_lifecycle_traced(spec.request(&p.session_id), Some(trace.clone()));
    tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %reshare.wallet, key_type = %reshare.key_type, target, "joined lifecycle session");
    let (task, sid) = (shared.clone(), p.session_id.clone());
    shared.tracker.spawn(tracing::Instrument::in_current_span(async move {
        let ended = crate::reshare_run::finish(&task, &sid, &spec, running).await;
        if let Err(e) = &ended.session {
            tracing::warn!(session_id = %sid, code = %e.code(), "lifecycle session failed here: {e}");
        }
        drop(permit);
    }));
    Ok(())
}
