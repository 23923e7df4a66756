//! Serving a keygen request this node pulled: check it, answer a repeat from
//! the ledger, check that every server player is ready, propose the two
//! sessions (one per curve) to the players, run this node's part, and return
//! the result event to publish. When the request names players without this
//! node, a player serves it instead (see `delegate`).

use std::collections::BTreeMap;

use tessera_runner::KeygenRequest;
use tessera_transport::mpc;
use tessera_types::wire::{GenerateKeyMessage, KeyType, KeygenResultEvent};
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId, WalletId};

use crate::coordinator::{delegate_target, subject_id, Claimed, Hints, Served};
use crate::delegate;
use crate::layout;
use crate::ledger::{self, Claim};
use crate::proposal::{self, Operation, Proposal};
use crate::propose::propose;
use crate::request;
use crate::results::{self, Outcome};
use crate::shared::Shared;
use crate::stale::{ledger_unavailable, Stale};
use crate::tenants;

/// Why a request ended without running to its own result: the code and the reason.
type Refusal = (ErrorCode, String);

/// The two keygen sessions of one wallet: one per curve.
pub(crate) fn keygen_requests(
    session_id: &SessionId,
    wallet: &WalletId,
    players: &[NodeId],
    threshold: tessera_types::Threshold,
    dynamic_keys: &BTreeMap<NodeId, PublicIdentity>,
) -> Result<[KeygenRequest; 2], Refusal> {
    let request = |key_type| -> Result<KeygenRequest, Refusal> {
        let session_id = tessera_types::wire::keygen_session_id(session_id, key_type)
            .map_err(|e| (ErrorCode::MsgValidation, format!("keygen session id: {e}")))?;
        Ok(KeygenRequest {
            session_id,
            wallet_id: wallet.clone(),
            key_type,
            participants: players.to_vec(),
            threshold,
            dynamic_keys: dynamic_keys.clone(),
        })
    };
    Ok([request(KeyType::Secp256k1)?, request(KeyType::Ed25519)?])
}

/// A keygen request: both keys of a new wallet.
pub(crate) async fn serve_keygen(
    shared: &Shared,
    raw: &[u8],
    subject: &str,
    client_id: Option<&str>,
    stale: Option<Stale>,
) -> Option<Served> {
    let m = match request::keygen(raw, &shared.config) {
        Ok(m) => m,
        Err(e) => {
            let hint = Hints::read(raw, shared.config.max_request_bytes)
                .get("wallet_id")
                .or_else(|| subject_id(subject))
                .unwrap_or_default();
            tracing::warn!(wallet_id = %hint, code = %e.code(), "keygen request refused: {e}");
            let subject = mpc::keygen_result(client_id, &hint);
            return Some(Served {
                outcome: Outcome {
                    subject,
                    json: results::keygen_error(&hint, e.code(), e.to_string()),
                },
                claim: None,
            });
        }
    };
    let subject = mpc::keygen_result(client_id, &m.wallet_id);
    let outcome = |json| {
        Some(Served {
            outcome: Outcome {
                subject: subject.clone(),
                json,
            },
            claim: None,
        })
    };
    let key = ledger::key("keygen", &[&m.wallet_id]);
    let digest = ledger::digest(&m.signing_bytes());
    let alive = |n: &str| shared.is_ready(n);
    let revision = match shared.ledger.claim(&key, &digest, alive).await {
        Ok(Claim::Fresh {
            revision,
            taken_from,
        }) => {
            if let Some(from) = taken_from {
                tracing::warn!(wallet_id = %m.wallet_id, from = %from, "took over keygen request {}: {from} claimed it and is gone", m.wallet_id);
            }
            revision
        }
        Ok(Claim::InProgress) => return None,
        Ok(Claim::Done(_)) | Ok(Claim::Conflict) => {
            return outcome(results::keygen_error(
                &m.wallet_id,
                ErrorCode::KeyAlreadyExists,
                format!("wallet {} already has keys", m.wallet_id),
            ))
        }
        Err(e) => {
            let (code, reason) = ledger_unavailable(&e, stale, &m.wallet_id)?;
            return outcome(results::keygen_error(&m.wallet_id, code, reason));
        }
    };
    if let Some(stale) = stale {
        shared.ledger.release(&key, revision).await;
        tracing::warn!(wallet_id = %m.wallet_id, age_s = stale.age.as_secs(), "stale keygen request not started");
        return outcome(results::keygen_error(
            &m.wallet_id,
            ErrorCode::SessionStale,
            stale.reason(),
        ));
    }
    match keygen_sessions(shared, &m, raw, false).await {
        Ok(json) => Some(Served {
            outcome: Outcome { subject, json },
            claim: Some(Claimed {
                key,
                digest,
                revision,
            }),
        }),
        Err((code, reason)) => {
            // A failure is not recorded: the client may ask again.
            shared.ledger.release(&key, revision).await;
            outcome(results::keygen_error(&m.wallet_id, code, reason))
        }
    }
}

/// A keygen request another node delegated to this one (see `delegate`).
pub(crate) async fn keygen_delegated(shared: &Shared, raw: &[u8]) -> Result<Vec<u8>, Refusal> {
    let m = request::keygen(raw, &shared.config).map_err(|e| (e.code(), e.to_string()))?;
    keygen_sessions(shared, &m, raw, true).await
}

/// Both keys of a new wallet, here or through the first server player when
/// the request names players without this node. Returns the success result's JSON.
async fn keygen_sessions(
    shared: &Shared,
    m: &GenerateKeyMessage,
    raw: &[u8],
    delegated: bool,
) -> Result<Vec<u8>, Refusal> {
    let wallet = m.parse_wallet_id().map_err(|e| (e.code(), e.to_string()))?;
    let store = shared.node.store().clone();
    let w = wallet.clone();
    let exists = tokio::task::spawn_blocking(move || store.has_wallet(&w))
        .await
        .map_err(|e| (ErrorCode::Internal, e.to_string()))?
        .map_err(|e| (e.code(), e.to_string()))?;
    if exists {
        return Err((
            ErrorCode::KeyAlreadyExists,
            format!("wallet {wallet} already has keys"),
        ));
    }
    shared.check_view_fresh()?;
    let session = m.checked_session().map_err(|e| (e.code(), e.to_string()))?;
    let layout = layout::keygen(shared, &session)?;
    let players = layout.players.clone().unwrap_or_default();
    let ready = shared.ready_among(&layout.servers);
    if ready.len() < layout.servers.len() {
        let missing: Vec<_> = layout
            .servers
            .iter()
            .filter(|p| !ready.contains(p))
            .map(NodeId::as_str)
            .collect();
        return Err((
            ErrorCode::ClusterNotReady,
            format!(
                "keygen needs every server player; not ready: {}",
                missing.join(", ")
            ),
        ));
    }
    if !players.contains(shared.me()) {
        let to = delegate_target(shared, &layout, delegated)?;
        return delegate::ask(shared, &to, Operation::DelegateKeygen, raw).await;
    }
    let session_id = layout
        .session_id
        .clone()
        .unwrap_or_else(|| shared.new_session_id());
    let dynamic = tenants::dynamic_keys(
        shared,
        &session,
        &session_id,
        &players,
        tenants::Missing::Fails,
    )
    .await?;
    let p = Proposal {
        session_id: session_id.clone(),
        operation: Operation::Keygen,
        coordinator: shared.me().clone(),
        players: players.clone(),
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
    };
    propose(shared, &p)
        .await
        .map_err(|(code, reason, _)| (code, reason))?;
    let [ecdsa, eddsa] =
        keygen_requests(&session_id, &wallet, &players, layout.threshold, &dynamic)?;
    let (ecdsa, eddsa) = tokio::join!(shared.node.keygen(ecdsa), shared.node.keygen(eddsa));
    let ecdsa = ecdsa.map_err(|e| (e.code(), e.to_string()))?;
    let eddsa = eddsa.map_err(|e| (e.code(), e.to_string()))?;
    let xy = results::ecdsa_xy(&ecdsa.public_key)
        .ok_or((ErrorCode::KeyEncoding, "bad ecdsa public key".to_string()))?;
    let ed: [u8; 32] = eddsa
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| (ErrorCode::KeyEncoding, "bad eddsa public key".to_string()))?;
    let chain_code = ecdsa.chain_code.ok_or((
        ErrorCode::KeyEncoding,
        "ecdsa key without chain code".to_string(),
    ))?;
    let event = KeygenResultEvent::success(&m.wallet_id, xy, ed).with_ecdsa_chain_code(chain_code);
    Ok(results::keygen_json(&event))
}
