//! Signing with a subset of the key's participants: t+1 ready ones, this node
//! first. When a session fails because of identified players (unavailable,
//! never joined, refused or aborted, caught cheating) and enough other ready
//! participants remain, the coordinator signs once more without them before
//! answering, so the client sees one result.

use tessera_runner::{KeyMetadata, Signature};
use tessera_types::wire::SignTxMessage;
use tessera_types::{ErrorCode, NodeId};

use crate::coordinator::{propose, sign_request};
use crate::proposal::{self, Operation, Proposal};
use crate::shared::Shared;

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

/// Signs `m` with the key `meta` describes, retrying once without blamed players.
pub(crate) async fn sign(
    shared: &Shared,
    m: &SignTxMessage,
    raw: &[u8],
    meta: KeyMetadata,
) -> Result<Signature, Refusal> {
    shared.check_view_fresh()?;
    let participants: Vec<NodeId> = meta
        .participants
        .iter()
        .map(|p| p.node_id.clone())
        .collect();
    let needed = meta.threshold.signers();
    let players = pick(shared, &participants, needed, &[])?;
    let first = match attempt(shared, m, raw, players).await {
        Ok(sig) => return Ok(sig),
        Err(f) => f,
    };
    let retry = shared.config.retry_signing
        && !first.blamed.is_empty()
        && !first.blamed.contains(shared.me());
    if !retry {
        return Err((first.code, first.reason));
    }
    let Ok(players) = pick(shared, &participants, needed, &first.blamed) else {
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
    attempt(shared, m, raw, players)
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
) -> Result<Signature, Failure> {
    let session_id = shared.new_session_id();
    let p = Proposal {
        session_id: session_id.clone(),
        operation: Operation::Sign,
        coordinator: shared.me().clone(),
        players: players.clone(),
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
    };
    let running = shared
        .node
        .start_sign(sign_request(&session_id, m, players));
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
