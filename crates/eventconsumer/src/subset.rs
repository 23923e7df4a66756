//! Signing with a subset of the key's participants: the players the request
//! names, or t+1 ready server participants, this node first. When a session fails because of identified players (unavailable,
//! never joined, refused or aborted, caught cheating) and enough other ready
//! participants remain, the coordinator signs once more without them before
//! answering, so the client sees one result.

use std::collections::BTreeMap;

use tessera_runner::{KeyMetadata, Signature};
use tessera_types::wire::{CheckedSession, SignTxMessage};
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId};

use crate::layout::{self, Layout};
use crate::proposal::{self, Operation, Proposal};
use crate::propose::{propose, sign_request};
use crate::shared::Shared;
use crate::tenants;

/// Why signing ended without a signature: the code and the reason.
type Refusal = (ErrorCode, String);

/// A failed attempt: what the client would see, and whom it blames.
struct Failure {
    code: ErrorCode,
    reason: String,
    blamed: Vec<NodeId>,
}

/// The players for one attempt: this node and the first `needed - 1` other
/// ready participants not in `excluded`, sorted.
fn pick(
    shared: &Shared,
    participants: &[NodeId],
    needed: usize,
    excluded: &[NodeId],
) -> Result<Vec<NodeId>, Refusal> {
    let ready: Vec<NodeId> = shared
        .ready_among(participants)
        .into_iter()
        .filter(|n| !excluded.contains(n))
        .collect();
    if ready.len() < needed || !ready.contains(shared.me()) {
        return Err((
            ErrorCode::NotMajority,
            format!(
                "{} of {} participants ready{}, {needed} needed",
                ready.len(),
                participants.len(),
                if excluded.is_empty() {
                    String::new()
                } else {
                    format!(" besides {excluded:?}")
                }
            ),
        ));
    }
    let mut players = vec![shared.me().clone()];
    players.extend(
        ready
            .into_iter()
            .filter(|n| n != shared.me())
            .take(needed - 1),
    );
    players.sort();
    Ok(players)
}

/// Signs `m` with the key `meta` describes. With players named by the request,
/// one session with exactly those; otherwise t+1 ready server participants,
/// retrying once without blamed players (not when the client chose the
/// session id: its other parties know only that one).
pub(crate) async fn sign(
    shared: &Shared,
    m: &SignTxMessage,
    raw: &[u8],
    meta: KeyMetadata,
    layout: &Layout,
    session: &CheckedSession,
) -> Result<Signature, Refusal> {
    shared.check_view_fresh()?;
    let needed = meta.threshold.signers();
    if let Some(players) = &layout.players {
        let ready = shared.ready_among(&layout.servers);
        if let Some(down) = layout.servers.iter().find(|s| !ready.contains(s)) {
            return Err((
                ErrorCode::PeerNotReady,
                format!("player {down} named by the request is not ready"),
            ));
        }
        let session_id = layout
            .session_id
            .clone()
            .unwrap_or_else(|| shared.new_session_id());
        let keys = tenants::dynamic_keys(
            shared,
            session,
            &session_id,
            players,
            tenants::Missing::UsesStored,
        )
        .await?;
        return attempt(shared, m, raw, players.clone(), session_id, keys)
            .await
            .map_err(|f| (f.code, f.reason));
    }
    let players = pick(shared, &layout.servers, needed, &[]).map_err(|refusal| {
        if layout.tenants.is_empty() {
            refusal
        } else {
            let ready = shared.ready_among(&layout.servers).len();
            layout::tenant_required(&layout.tenants, ready, needed)
        }
    })?;
    let fixed_id = layout.session_id.clone();
    let session_id = fixed_id.clone().unwrap_or_else(|| shared.new_session_id());
    let keys = tenants::dynamic_keys(
        shared,
        session,
        &session_id,
        &players,
        tenants::Missing::UsesStored,
    )
    .await?;
    let first = match attempt(shared, m, raw, players, session_id, keys.clone()).await {
        Ok(sig) => return Ok(sig),
        Err(f) => f,
    };
    let retry = shared.config.retry_signing
        && fixed_id.is_none()
        && !first.blamed.is_empty()
        && !first.blamed.contains(shared.me());
    if !retry {
        return Err((first.code, first.reason));
    }
    let Ok(players) = pick(shared, &layout.servers, needed, &first.blamed) else {
        return Err((first.code, first.reason));
    };
    tracing::warn!(
        tx_id = %m.tx_id,
        code = %first.code,
        blamed = ?first.blamed,
        "signing failed ({}); retrying without {:?} with players {players:?}",
        first.reason,
        first.blamed
    );
    attempt(shared, m, raw, players, shared.new_session_id(), keys)
        .await
        .map_err(|f| (f.code, f.reason))
}

/// One session: this node's part starts (loading its share, opening the
/// session's link) while the proposal is in flight; its join waits for the
/// players', so nothing is signed unless every player accepted. If one
/// refuses, this node's session is cancelled, which tells those that accepted.
async fn attempt(
    shared: &Shared,
    m: &SignTxMessage,
    raw: &[u8],
    players: Vec<NodeId>,
    session_id: SessionId,
    keys: BTreeMap<NodeId, PublicIdentity>,
) -> Result<Signature, Failure> {
    let p = Proposal {
        session_id: session_id.clone(),
        operation: Operation::Sign,
        coordinator: shared.me().clone(),
        players: players.clone(),
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
    };
    let request =
        sign_request(&session_id, m, players, keys).map_err(|(code, reason)| Failure {
            code,
            reason,
            blamed: Vec::new(),
        })?;
    let running = shared.node.start_sign(request);
    if let Err((code, reason, node)) = propose(shared, &p).await {
        let _ = running.cancel().await;
        return Err(Failure {
            code,
            reason: format!("session {session_id}: {reason}"),
            blamed: vec![node],
        });
    }
    running.wait().await.map_err(|e| Failure {
        code: e.code(),
        reason: e.to_string(),
        blamed: e.blamed(),
    })
}
