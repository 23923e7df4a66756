//! Serving a signing request this node pulled: check it, answer repeats from the ledger,
//! check quorum, pick the players, propose the session to them, run this node's
//! part, and return the result event to publish.

use std::time::Instant;

use tessera_runner::KeyMetadata;
use tessera_transport::mpc;

use tessera_types::wire::{CheckedSession, SignTxMessage, SigningIds};
use tessera_types::{ErrorCode, NodeId};

use crate::delegate;
use crate::layout::{self, Layout};
use crate::ledger::{self, Claim};
use crate::proposal::Operation;
use crate::request;
use crate::results::{self, Outcome};
use crate::shared::Shared;
use crate::stale::{ledger_unavailable, Stale};

/// Why a request ended without running to its own result: the code and the reason.
type Refusal = (ErrorCode, String);

/// The ids of a refused request, for its error result and log line. Read
/// only for a refused request, in one parse, and not at all from a request
/// over the size limit (it is not parsed for anything else either).
pub(crate) struct Hints(Option<serde_json::Value>);

impl Hints {
    pub(crate) fn read(raw: &[u8], max_bytes: usize) -> Self {
        Self(
            (raw.len() <= max_bytes)
                .then(|| serde_json::from_slice(raw).ok())
                .flatten(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0.as_ref()?.get(name)?.as_str().map(str::to_string)
    }
}

/// The last subject token, unless it is mpcium's literal `*`.
pub(crate) fn subject_id(subject: &str) -> Option<String> {
    let last = subject.rsplit('.').next()?;
    (last != "*" && !last.is_empty()).then(|| last.to_string())
}

/// A served request: the result to publish and, when this node claimed the
/// request in the ledger, the claim to record the result under. The consumer
/// records and publishes at once, and acks the request only after both.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) outcome: Outcome,
    pub(crate) claim: Option<Claimed>,
}

/// A ledger entry this node claimed: what `Ledger::finish` needs.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) key: String,
    pub(crate) digest: String,
    pub(crate) revision: u64,
}

/// A signing request: returns the result to publish, or `None` when another
/// node is serving the same request right now (it will publish).
pub(crate) async fn serve_sign(
    shared: &Shared,
    raw: &[u8],
    subject: &str,
    client_id: Option<&str>,
    stale: Option<Stale>,
) -> Option<Served> {
    let result_subject = mpc::signing_result(client_id);
    let served = |json, claim| {
        Some(Served {
            outcome: Outcome {
                subject: result_subject.clone(),
                json,
            },
            claim,
        })
    };
    let m = match request::sign(raw, &shared.config) {
        Ok(m) => m,
        Err(e) => {
            let hints = Hints::read(raw, shared.config.max_request_bytes);
            let hint = SigningIds {
                wallet_id: hints.get("wallet_id").unwrap_or_default(),
                tx_id: hints
                    .get("tx_id")
                    .or_else(|| subject_id(subject))
                    .unwrap_or_default(),
                network_internal_code: hints.get("network_internal_code").unwrap_or_default(),
            };
            tracing::warn!(tx_id = %hint.tx_id, code = %e.code(), "signing request refused: {e}");
            return served(results::signing_error(hint, e.code(), e.to_string()), None);
        }
    };
    let ids = SigningIds {
        wallet_id: m.wallet_id.clone(),
        tx_id: m.tx_id.clone(),
        network_internal_code: m.network_internal_code.clone(),
    };
    let key = ledger::key("sign", &[&m.wallet_id, &m.tx_id]);
    let digest = ledger::digest(&m.path_signing_bytes());
    let started = Instant::now();
    // The key's metadata is read while the ledger is asked; it is used only
    // once the claim is ours.
    let alive = |n: &str| shared.is_ready(n);
    let (claim, meta) = tokio::join!(
        shared.ledger.claim(&key, &digest, alive),
        key_metadata(shared, &m)
    );
    let revision = match claim {
        Ok(Claim::Fresh {
            revision,
            taken_from,
        }) => {
            if let Some(from) = taken_from {
                tracing::warn!(tx_id = %m.tx_id, from = %from, "took over signing request {}: {from} claimed it and is gone", m.tx_id);
            }
            revision
        }
        Ok(Claim::Done(json)) => {
            tracing::info!(tx_id = %m.tx_id, "repeated signing request: stored result returned");
            return served(json.into_bytes(), None);
        }
        Ok(Claim::InProgress) => {
            tracing::info!(tx_id = %m.tx_id, "signing request already being served elsewhere");
            return None;
        }
        Ok(Claim::Conflict) => {
            return served(
                results::signing_error(
                    ids,
                    ErrorCode::RequestConflict,
                    "tx_id was already used for a different request",
                ),
                None,
            )
        }
        Err(e) => {
            let (code, reason) = ledger_unavailable(&e, stale, &m.tx_id)?;
            return served(results::signing_error(ids, code, reason), None);
        }
    };
    if let Some(stale) = stale {
        // Claimed only to learn that it was never served: give the claim back.
        shared.ledger.release(&key, revision).await;
        tracing::warn!(tx_id = %m.tx_id, age_s = stale.age.as_secs(), "stale signing request not started");
        return served(
            results::signing_error(ids, ErrorCode::SessionStale, stale.reason()),
            None,
        );
    }
    let claimed = started.elapsed();
    let signed = sign_checked(shared, &m, raw, meta, false).await;
    tracing::debug!(
        tx_id = %m.tx_id,
        claimed_us = claimed.as_micros() as u64,
        signed_us = started.elapsed().as_micros() as u64,
        "signing request served"
    );
    match signed {
        Ok(json) => {
            let claim = Claimed {
                key,
                digest,
                revision,
            };
            served(json, Some(claim))
        }
        Err((code, reason)) => {
            // A failure is not recorded: the client may ask again.
            shared.ledger.release(&key, revision).await;
            served(results::signing_error(ids, code, reason), None)
        }
    }
}

/// Signs a checked request with the key `meta` describes, here or, when the
/// request names players without this node, through the first of them.
/// Returns the success result's JSON.
async fn sign_checked(
    shared: &Shared,
    m: &SignTxMessage,
    raw: &[u8],
    meta: Result<KeyMetadata, Refusal>,
    delegated: bool,
) -> Result<Vec<u8>, Refusal> {
    let session = m.checked_session().map_err(|e| (e.code(), e.to_string()))?;
    let meta = match meta {
        Ok(meta) => meta,
        // Not a participant of this wallet: a node that is may have it.
        Err(not_found @ (ErrorCode::KeyNotFound, _)) if !delegated => {
            return sign_elsewhere(shared, &session, raw, not_found).await
        }
        Err(e) => return Err(e),
    };
    let participants: Vec<NodeId> = meta
        .participants
        .iter()
        .map(|p| p.node_id.clone())
        .collect();
    let layout = layout::sign(shared, &session, &participants, meta.threshold, m.key_type)?;
    if layout
        .players
        .as_ref()
        .is_some_and(|p| !p.contains(shared.me()))
    {
        let to = delegate_target(shared, &layout, delegated)?;
        return delegate::ask(shared, &to, Operation::DelegateSign, raw).await;
    }
    let sig = crate::subset::sign(shared, m, raw, meta, &layout, &session).await?;
    let ids = SigningIds {
        wallet_id: m.wallet_id.clone(),
        tx_id: m.tx_id.clone(),
        network_internal_code: m.network_internal_code.clone(),
    };
    Ok(results::signing_success(ids, &sig))
}

/// This node does not hold the wallet (it was made by a subset of the
/// cluster): asks the other ready servers (the request's server players, when
/// it names them) in turn; the first that holds it serves the request.
async fn sign_elsewhere(
    shared: &Shared,
    session: &CheckedSession,
    raw: &[u8],
    not_found: Refusal,
) -> Result<Vec<u8>, Refusal> {
    let candidates: Vec<NodeId> = session
        .players
        .clone()
        .unwrap_or_else(|| shared.config.participants.clone())
        .into_iter()
        .filter(|n| n != shared.me() && shared.is_server(n))
        .collect();
    for to in shared.ready_among(&candidates) {
        match delegate::ask(shared, &to, Operation::DelegateSign, raw).await {
            Err((ErrorCode::KeyNotFound, _)) => continue,
            answer => return answer,
        }
    }
    Err(not_found)
}

/// The server player to hand a request to: the first ready one.
pub(crate) fn delegate_target(
    shared: &Shared,
    layout: &Layout,
    delegated: bool,
) -> Result<NodeId, Refusal> {
    if delegated {
        return Err((
            ErrorCode::Internal,
            "a delegated request named players without the delegate".to_string(),
        ));
    }
    shared
        .ready_among(&layout.servers)
        .into_iter()
        .next()
        .ok_or_else(|| {
            (
                ErrorCode::PeerNotReady,
                "none of the request's server players is ready".to_string(),
            )
        })
}

/// A signing request another node delegated to this one (see `delegate`).
pub(crate) async fn sign_delegated(shared: &Shared, raw: &[u8]) -> Result<Vec<u8>, Refusal> {
    let m = request::sign(raw, &shared.config).map_err(|e| (e.code(), e.to_string()))?;
    let meta = key_metadata(shared, &m).await;
    sign_checked(shared, &m, raw, meta, true).await
}

/// The stored metadata of the request's key.
async fn key_metadata(
    shared: &Shared,
    m: &tessera_types::wire::SignTxMessage,
) -> Result<KeyMetadata, Refusal> {
    let wallet = m.parse_wallet_id().map_err(|e| (e.code(), e.to_string()))?;
    let store = shared.node.store().clone();
    let (w, kt) = (wallet.clone(), m.key_type);
    tokio::task::spawn_blocking(move || store.get_metadata(&w, kt))
        .await
        .map_err(|e| (ErrorCode::Internal, e.to_string()))?
        .map_err(|e| (e.code(), e.to_string()))?
        .ok_or((
            ErrorCode::KeyNotFound,
            format!("no {} key for wallet {wallet}", m.key_type),
        ))
}
