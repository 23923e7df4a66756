//! Serving a request this node pulled: check it, answer repeats from the ledger,
//! check quorum, pick the players, propose the session to them, run this node's
//! part, and return the result event to publish.

use std::time::{Duration, Instant};

use futures::future::join_all;
use tessera_runner::{KeyMetadata, KeygenRequest, SignRequest};
use tessera_session::derive::DerivationPath;
use tessera_transport::{mpc, subjects};
use tessera_types::wire::{KeyType, SigningIds};
use tessera_types::{ErrorCode, NodeId, SessionId, WalletId};

use crate::ledger::{self, Claim};
use crate::proposal::{self, Operation, Proposal, Reply};
use crate::request;
use crate::results::{self, Outcome};
use crate::shared::Shared;

/// How long a player has to answer a proposal.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request ended without running to its own result: the code and the reason.
type Refusal = (ErrorCode, String);

fn str_field(raw: &[u8], name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
    v.get(name)?.as_str().map(str::to_string)
}

/// The last subject token, unless it is mpcium's literal `*`.
fn subject_id(subject: &str) -> Option<String> {
    let last = subject.rsplit('.').next()?;
    (last != "*" && !last.is_empty()).then(|| last.to_string())
}

/// A proposal some player did not accept: the code, the reason, and that player.
pub(crate) type ProposalFailure = (ErrorCode, String, NodeId);

/// Sends the proposal to every other player; all must join.
pub(crate) async fn propose(shared: &Shared, p: &Proposal) -> Result<(), ProposalFailure> {
    let sealed = proposal::seal(shared.node.identity(), p);
    let asks = p.players.iter().filter(|n| *n != shared.me()).map(|n| {
        let subject = subjects::node_proposal(n);
        let sealed = sealed.clone();
        async move {
            let ask = shared.client.request(subject, sealed.into());
            let answer = match tokio::time::timeout(PROPOSAL_TIMEOUT, ask).await {
                Ok(Ok(m)) => Reply::from_bytes(&m.payload),
                Ok(Err(_)) | Err(_) => None,
            };
            match answer {
                Some(Reply::Joined) => Ok(()),
                Some(Reply::Refused { code, reason }) => {
                    Err((code, format!("{n} refused: {reason}"), n.clone()))
                }
                None => Err((
                    ErrorCode::PeerUnavailable,
                    format!("{n} did not answer the session proposal"),
                    n.clone(),
                )),
            }
        }
    });
    join_all(asks).await.into_iter().collect()
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
) -> Option<Served> {
    let result_subject = mpc::signing_result(client_id);
    let hint = SigningIds {
        wallet_id: str_field(raw, "wallet_id").unwrap_or_default(),
        tx_id: str_field(raw, "tx_id")
            .or_else(|| subject_id(subject))
            .unwrap_or_default(),
        network_internal_code: str_field(raw, "network_internal_code").unwrap_or_default(),
    };
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
        Err(e) => return served(results::signing_error(ids, e.code(), e.to_string()), None),
    };
    let claimed = started.elapsed();
    let signed = async { crate::subset::sign(shared, &m, raw, meta?).await }.await;
    tracing::debug!(
        tx_id = %m.tx_id,
        claimed_us = claimed.as_micros() as u64,
        signed_us = started.elapsed().as_micros() as u64,
        "signing request served"
    );
    match signed {
        Ok(sig) => {
            let claim = Claimed {
                key,
                digest,
                revision,
            };
            served(results::signing_success(ids, &sig), Some(claim))
        }
        Err((code, reason)) => {
            // A failure is not recorded: the client may ask again.
            shared.ledger.release(&key, revision).await;
            served(results::signing_error(ids, code, reason), None)
        }
    }
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

/// The runner's request for a checked client request (used by coordinator and players).
pub(crate) fn sign_request(
    session_id: &SessionId,
    m: &tessera_types::wire::SignTxMessage,
    players: Vec<NodeId>,
) -> SignRequest {
    SignRequest {
        session_id: session_id.clone(),
        wallet_id: WalletId::new(&m.wallet_id).expect("validated"),
        key_type: m.key_type,
        signers: players,
        message: m.tx.clone(),
        path: DerivationPath::new(m.derivation_path.clone().unwrap_or_default()),
    }
}

/// The two keygen sessions of one wallet: one per curve.
pub(crate) fn keygen_requests(
    session_id: &SessionId,
    wallet: &WalletId,
    players: &[NodeId],
    threshold: tessera_types::Threshold,
) -> [KeygenRequest; 2] {
    [KeyType::Secp256k1, KeyType::Ed25519].map(|key_type| KeygenRequest {
        session_id: tessera_types::wire::keygen_session_id(session_id, key_type),
        wallet_id: wallet.clone(),
        key_type,
        participants: players.to_vec(),
        threshold,
    })
}

/// A keygen request: both keys of a new wallet.
pub(crate) async fn serve_keygen(
    shared: &Shared,
    raw: &[u8],
    subject: &str,
    client_id: Option<&str>,
) -> Option<Served> {
    let hint = str_field(raw, "wallet_id")
        .or_else(|| subject_id(subject))
        .unwrap_or_default();
    let m = match request::keygen(raw, &shared.config) {
        Ok(m) => m,
        Err(e) => {
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
        Err(e) => return outcome(results::keygen_error(&m.wallet_id, e.code(), e.to_string())),
    };
    match keygen_sessions(shared, &m.wallet_id, raw).await {
        Ok((ecdsa, eddsa, chain_code)) => Some(Served {
            outcome: Outcome {
                subject,
                json: results::keygen_json(
                    &tessera_types::wire::KeygenResultEvent::success(&m.wallet_id, ecdsa, eddsa)
                        .with_ecdsa_chain_code(chain_code),
                ),
            },
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

/// Both keys of the new wallet: ECDSA X‖Y, Ed25519, and the ECDSA chain code.
type NewKeys = ([u8; 64], [u8; 32], [u8; 32]);

async fn keygen_sessions(shared: &Shared, wallet: &str, raw: &[u8]) -> Result<NewKeys, Refusal> {
    let wallet = WalletId::new(wallet).map_err(|e| (ErrorCode::MsgValidation, e.to_string()))?;
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
    let players = shared.config.participants.clone();
    let ready = shared.ready_among(&players);
    if ready.len() < players.len() {
        let missing: Vec<_> = players
            .iter()
            .filter(|p| !ready.contains(p))
            .map(NodeId::as_str)
            .collect();
        return Err((
            ErrorCode::ClusterNotReady,
            format!(
                "keygen needs every participant; not ready: {}",
                missing.join(", ")
            ),
        ));
    }
    let session_id = shared.new_session_id();
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
    let [ecdsa, eddsa] = keygen_requests(&session_id, &wallet, &players, shared.config.threshold);
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
    Ok((xy, ed, chain_code))
}
