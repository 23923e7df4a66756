//! Answering session proposals from other nodes. A player checks the proposal
//! (a known coordinator's signature, fresh, this node among the players) and the
//! client's request itself, with its own configuration, before it joins.

use std::sync::Arc;

use futures::StreamExt;
use tessera_transport::async_nats;
use tessera_types::{ErrorCode, WalletId};

use crate::coordinator::{keygen_requests, sign_request};
use crate::proposal::{self, Operation, Proposal, Reply};
use crate::request;
use crate::shared::Shared;

/// Serves proposals until the subscription ends.
pub(crate) async fn serve(shared: Arc<Shared>, mut proposals: async_nats::Subscriber) {
    while let Some(msg) = proposals.next().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let reply = match accept(&shared, &msg.payload).await {
                Ok(()) => Reply::Joined,
                Err((code, reason)) => {
                    tracing::warn!(code = %code, "session proposal refused: {reason}");
                    Reply::Refused { code, reason }
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
        Operation::Sign => {
            let m =
                request::sign(&p.request, &shared.config).map_err(|e| (e.code(), e.to_string()))?;
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
            let running = node.start_sign(sign_request(&p.session_id, &m, p.players.clone()));
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, tx_id = %m.tx_id, "joined signing session");
            tokio::spawn(async move {
                let _ = running.wait().await;
                drop(permit);
            });
        }
        Operation::Keygen => {
            let m = request::keygen(&p.request, &shared.config)
                .map_err(|e| (e.code(), e.to_string()))?;
            let wallet = WalletId::new(&m.wallet_id)
                .map_err(|e| (ErrorCode::MsgValidation, e.to_string()))?;
            if p.players != shared.config.participants {
                return Err((
                    ErrorCode::IncompatiblePeerIds,
                    "keygen players differ from this node's configured participants".into(),
                ));
            }
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
                keygen_requests(&p.session_id, &wallet, &p.players, shared.config.threshold);
            let (a, b) = (node.start_keygen(ecdsa), node.start_keygen(eddsa));
            tracing::info!(session_id = %p.session_id, coordinator = %p.coordinator, wallet_id = %wallet, "joined keygen sessions");
            tokio::spawn(async move {
                let _ = tokio::join!(a.wait(), b.wait());
                drop(permit);
            });
        }
    }
    Ok(())
}
