//! Coordinating a checked request: plan who plays, then run the session(s)
//! here, hand the request to a player, or ask the nodes that hold the key.
//! One path for keygen and signing; they differ as data (`sessions`).
//!
//! A session runs as: this node's part starts (loading its share, opening the
//! session's link) while the signed proposal is in flight; its join waits
//! for the players', so nothing is signed unless every player accepted. If
//! one refuses, this node's sessions are cancelled, which tells those that
//! accepted. A signing session that fails because of identified players is
//! retried once without them when the plan allows it (no client-chosen
//! session id: its other parties know only that one).

use std::time::{Duration, Instant};

use tessera_types::wire::KeyType;
use tessera_types::{ErrorCode, NodeId, SessionId, WalletId};

use crate::error::{NotJoined, ServeError, Unavailable};
use crate::metrics::{self, Phase};
use crate::plan::{self, KeyFacts, Plan, Players};
use crate::proposal::{self, Operation, Proposal};
use crate::propose::propose;
use crate::request::Request;
use crate::sessions;
use crate::shared::Shared;
use crate::tenants::{self, Missing};
use crate::trail::Trail;

/// What this node's store says of the request's key (read while the ledger
/// is asked, used once the claim is ours).
pub(crate) async fn key_facts(shared: &Shared, request: &Request) -> Result<KeyFacts, ServeError> {
    let store = shared.node.store().clone();
    let read = match request {
        Request::Keygen(k) => {
            let wallet = k.wallet.clone();
            tokio::task::spawn_blocking(move || {
                store
                    .has_wallet(&wallet)
                    .map(|exists| KeyFacts::Wallet { exists })
            })
            .await
        }
        Request::Sign(s) => {
            let (wallet, key_type) = (s.wallet.clone(), s.message.key_type);
            settled_epoch(shared, &wallet, key_type).await?;
            tokio::task::spawn_blocking(move || {
                store
                    .get_metadata(&wallet, key_type)
                    .map(|meta| KeyFacts::Key(meta.map(Box::new)))
            })
            .await
        }
    };
    read.map_err(|e| ServeError::Bug(format!("key store task: {e}")))?
        .map_err(|e| Unavailable::Store(e).into())
}

/// How long a signing waits for a lifecycle attempt of its key to be decided.
const PENDING_WAIT: Duration = Duration::from_secs(2);

/// The key's active epoch here, once no lifecycle attempt of it is pending
/// on this node (waiting at most `PENDING_WAIT`): a signing during a refresh
/// signs at the old epoch, or, in the instant between a refresh's last
/// message and its decision, waits for the decision. `None`: no such key here.
pub(crate) async fn settled_epoch(
    shared: &Shared,
    wallet: &WalletId,
    key_type: KeyType,
) -> Result<Option<u64>, ServeError> {
    let waiting = Instant::now();
    loop {
        let (store, w) = (shared.node.store().clone(), wallet.clone());
        let rows = tokio::task::spawn_blocking(move || store.list_epochs(&w, key_type))
            .await
            .map_err(|e| ServeError::Bug(format!("key store task: {e}")))?
            .map_err(Unavailable::Store)?;
        let pending = rows.iter().any(|r| r.state.pending_session().is_some())
            || shared.is_leaving(wallet.as_str(), key_type);
        if !pending || waiting.elapsed() >= PENDING_WAIT {
            return Ok(rows.iter().find(|r| r.state.is_active()).map(|r| r.epoch));
        }
        tokio::time::sleep(PENDING_POLL).await;
    }
}

const PENDING_POLL: Duration = Duration::from_millis(20);

/// Serves `request` (its client JSON is `raw`): the success result's JSON.
/// `delegated`: another node handed it here, so it is never handed on.
/// `trail`'s trace id goes to every player with the proposals.
pub(crate) async fn serve(
    shared: &Shared,
    request: &Request,
    raw: &[u8],
    facts: Result<KeyFacts, ServeError>,
    delegated: bool,
    trail: &Trail,
) -> Result<Vec<u8>, ServeError> {
    let trace = &trail.trace;
    let planning = Instant::now();
    let planned = plan::plan(&shared.snapshot(), request, facts?, delegated)?;
    metrics::phase(request.kind(), Phase::Plan, planning);
    match planned {
        Plan::Run(players) => run(shared, request, raw, players, delegated, trail).await,
        Plan::Delegate(to) => crate::delegate::ask(shared, &to, request.kind(), raw, trace).await,
        Plan::AskHolders {
            candidates,
            not_found,
        } => {
            for to in candidates {
                match crate::delegate::ask(shared, &to, request.kind(), raw, trace).await {
                    Err(ServeError::Delegate { error, .. })
                        if error.code == tessera_types::ErrorCode::KeyNotFound =>
                    {
                        continue
                    }
                    answer => return answer,
                }
            }
            Err(not_found.into())
        }
    }
}

/// Runs the planned session, and once more without its culprits if it failed
/// because of them and the plan allows a retry: only culprits this node proved
/// or saw silent are left out; another party's claims are logged, not acted
/// on. A player that refused because it banned one of the players gets the
/// request (unless it was handed here): it plans it without that party.
async fn run(
    shared: &Shared,
    request: &Request,
    raw: &[u8],
    plan: Players,
    delegated: bool,
    trail: &Trail,
) -> Result<Vec<u8>, ServeError> {
    let trace = &trail.trace;
    let session_id = plan
        .session_id
        .clone()
        .unwrap_or_else(|| shared.new_session_id());
    let keys = tenants::dynamic_keys(
        shared,
        request.session(),
        &session_id,
        &plan.players,
        Missing::for_request(request),
    )
    .await?;
    // Players sign at this node's epoch (a player that has not promoted the
    // newest one yet still has it pending; one that has, still has the
    // previous one until it is erased).
    let epoch = match request {
        Request::Sign(s) => settled_epoch(shared, &s.wallet, s.message.key_type).await?,
        Request::Keygen(_) => None,
    };
    let attempt = |players: Vec<NodeId>, session_id: SessionId| {
        let keys = keys.clone();
        async move {
            let p = Proposal {
                session_id: session_id.clone(),
                operation: operation(request),
                coordinator: shared.me().clone(),
                players: players.clone(),
                request: raw.to_vec(),
                issued_at_unix: proposal::now_unix(),
                trace_id: Some(trace.clone()),
                lifecycle: None,
                epoch,
            };
            trail.attempt(&session_id, &players);
            let running = sessions::start(
                &shared.node,
                request,
                &session_id,
                players,
                plan.threshold,
                keys,
                sessions::At { trace, epoch },
            )?;
            let joining = Instant::now();
            if let Err(e) = propose(shared, &p).await {
                running.cancel().await;
                return Err(e);
            }
            metrics::phase(request.kind(), Phase::Join, joining);
            let protocol = Instant::now();
            let result = running.result().await;
            metrics::phase(request.kind(), Phase::Protocol, protocol);
            result
        }
    };
    let first = match attempt(plan.players.clone(), session_id).await {
        Ok(json) => return Ok(json),
        Err(e) => e,
    };
    if let Some(to) = banning_player(&first) {
        if !delegated && plan.session_id.is_none() && to != *shared.me() {
            tracing::warn!(
                id = %request.id(), code = %first.code(),
                "{first}; handing the request to {to}, which plans it without the party it banned"
            );
            return crate::delegate::ask(shared, &to, request.kind(), raw, trace).await;
        }
    }
    let blame = first.blame();
    if !blame.claimed.is_empty() {
        tracing::warn!(
            id = %request.id(), code = %first.code(), claimed = ?blame.claimed,
            "a peer blames {:?}: its claim only, logged and not acted on", blame.claimed
        );
    }
    let Some(pick) = &plan.retry else {
        return Err(first);
    };
    let excluded = blame.excluded();
    if excluded.is_empty() || excluded.contains(shared.me()) {
        return Err(first);
    }
    // Banned players are left out by the fresh snapshot itself.
    let Ok(players) = plan::pick(&shared.snapshot(), &pick.servers, pick.needed, &excluded) else {
        return Err(first);
    };
    tracing::warn!(
        id = %request.id(),
        code = %first.code(),
        proven = ?blame.proven,
        observed_silent = ?blame.observed_silent,
        claimed = ?blame.claimed,
        "signing failed ({first}); retrying without {excluded:?} with players {players:?}"
    );
    attempt(players, shared.new_session_id()).await
}

/// The player that refused to join because it banned one of the players.
fn banning_player(e: &ServeError) -> Option<NodeId> {
    match e {
        ServeError::NotJoined {
            answer:
                NotJoined::Refused {
                    player,
                    code: ErrorCode::PartyBanned,
                    ..
                },
            ..
        } => Some(player.clone()),
        _ => None,
    }
}

fn operation(request: &Request) -> Operation {
    match request {
        Request::Keygen(_) => Operation::Keygen,
        Request::Sign(_) => Operation::Sign,
    }
}
