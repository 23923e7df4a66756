//! Answering session proposals from other nodes. A player checks the proposal
//! (a known coordinator's signature, fresh, this node among the players) and the
//! client's request itself, with its own configuration, before it joins.

use std::sync::Arc;

use futures::StreamExt;
use tessera_transport::async_nats;
use tessera_types::{ErrorCode, NodeId, SessionId, WalletId};

use crate::keygen::keygen_requests;
use crate::layout;
use crate::proposal::{self, Operation, Proposal, Reply};
use crate::propose::sign_request;
use crate::request;
use crate::shared::Shared;
use crate::tenants;

/// Serves proposals until the subscription ends.
pub(crate) async fn serve(shared: Arc<Shared>, mut proposals: async_nats::Subscriber) {
    while let Some(msg) = proposals.next().await {
        let task = shared.clone();
        shared.tracker.spawn(async move {
            let shared = task;
            let delegated = proposal::open(&msg.payload, shared.me(), |n| {
                shared.node.directory().get(n)
            })
            .ok()
            .filter(|p| {
                matches!(
                    p.operation,
                    Operation::DelegateKeygen | Operation::DelegateSign
                )
            });
            let reply = if let Some(p) = delegated {
                crate::delegated::serve(&shared, &p).await
            } else {
                match accept(&shared, &msg.payload).await {
                    Ok(()) => Reply::Joined,
                    Err((code, reason)) => {
                        tracing::warn!(code = %code, "session proposal refused: {reason}");
                        Reply::Refused { code, reason }
                    }
                }
            };
            if let Some(to) = msg.reply {
                let _ = shared.client.publish(to, reply.to_bytes().into()).await;
            }
        });
    }
}

async fn accept(shared: &Shared, bytes: &[u8]) -> Result<(), (ErrorCode, String)> {
    let node = &shared.node;
    let p: Proposal = proposal::open(bytes, shared.me(), |n| node.directory().get(n))
        .map_err(|e| (e.code(), e.to_string()))?;
    match p.operation {
        Operation::DelegateKeygen | Operation::DelegateSign => Err((
            ErrorCode::InvalidSessionType,
            "delegations are served apart".to_string(),
        )),
        Operation::Sign => {
            let m =
                request::sign(&p.request, &shared.config).map_err(|e| (e.code(), e.to_string()))?;
            let session = m.checked_session().map_err(|e| (e.code(), e.to_string()))?;
            check_proposed(&p, session.players.as_deref(), session.session_id.as_ref())?;
            let keys = tenants::dynamic_keys(
                shared,
                &session,
                &p.session_id,
                &p.players,
                tenants::Missing::UsesStored,
            )
            .await?;
            let permit = shared
                .signing_join_permits
                .clone()
                .try_acquire_owned()
                .map_err(|_| {
                    (
                        ErrorCode::ConcurrencyLimit,
                        "signing limit reached".to_string(),
                    )
                })?;
            let running =
                node.start_sign(sign_request(&p.session_id, &m, p.players.clone(), keys)?);
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, tx_id = %m.tx_id, "joined signing session");
            shared.tracker.spawn(async move {
                let _ = running.wait().await;
                drop(permit);
            });
            Ok(())
        }
        Operation::Keygen => {
            let m = request::keygen(&p.request, &shared.config)
                .map_err(|e| (e.code(), e.to_string()))?;
            let wallet = WalletId::new(&m.wallet_id)
                .map_err(|e| (ErrorCode::MsgValidation, e.to_string()))?;
            let session = m.checked_session().map_err(|e| (e.code(), e.to_string()))?;
            let layout = layout::keygen(shared, &session)?;
            check_proposed(&p, layout.players.as_deref(), layout.session_id.as_ref())?;
            let keys = tenants::dynamic_keys(
                shared,
                &session,
                &p.session_id,
                &p.players,
                tenants::Missing::Fails,
            )
            .await?;
            let permit = shared
                .keygen_join_permits
                .clone()
                .try_acquire_owned()
                .map_err(|_| {
                    (
                        ErrorCode::ConcurrencyLimit,
                        "keygen limit reached".to_string(),
                    )
                })?;
            let [ecdsa, eddsa] =
                keygen_requests(&p.session_id, &wallet, &p.players, layout.threshold, &keys)?;
            let (a, b) = (node.start_keygen(ecdsa), node.start_keygen(eddsa));
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %wallet, "joined keygen sessions");
            shared.tracker.spawn(async move {
                let _ = tokio::join!(a.wait(), b.wait());
                drop(permit);
            });
            Ok(())
        }
    }
}

/// The proposal must be for the players and session id the client's signed
/// request names (when it names them): the coordinator cannot change them.
fn check_proposed(
    p: &Proposal,
    players: Option<&[NodeId]>,
    session_id: Option<&SessionId>,
) -> Result<(), (ErrorCode, String)> {
    if players.is_some_and(|players| players != p.players.as_slice()) {
        return Err((
            ErrorCode::IncompatiblePeerIds,
            "proposed players differ from the request's".into(),
        ));
    }
    if session_id.is_some_and(|sid| *sid != p.session_id) {
        return Err((
            ErrorCode::SessionMismatch,
            "proposed session id differs from the request's".into(),
        ));
    }
    Ok(())
}
