//! Serving a reshare request from its stream (`mpc-reshare`; mpcium's core
//! NATS `mpc:reshare` is carried there by `reshare_bridge`), pull to ack:
//!
//! 1. check it (`reshare_request`): a request whose initiator signature does
//!    not verify is answered where no client listens; one without a usable
//!    session id has no result subject and is only logged (as mpcium does);
//! 2. claim it in the ledger (`reshare:<client id>:<session id>`): a repeat is
//!    answered with the stored result, the same id with another payload is
//!    refused with `ERROR_REQUEST_CONFLICT`;
//! 3. plan it (`plan_lifecycle`) from this node's view of the key: what cannot
//!    be done is refused at once with its code and reason;
//! 4. propose it to the committee with the plan, run this node's part, decide
//!    (`reshare_run`), and publish the result in mpcium's format once
//!    (mpcium's idempotency key as `Nats-Msg-Id`), then ack.
//!
//! Every kind the planner allows is served: refresh, replace, move (ECDSA:
//! an index handed to another node), grow and remove (EdDSA). Holders that
//! leave are told of the proposal (best effort) and retire their share once
//! the attempt is committed.

use std::time::Duration;

use tessera_transport::async_nats::jetstream::{self, AckKind};
use tessera_transport::mpc;
use tessera_types::wire::ResharingMessage;
use tessera_types::{ErrorCode, TraceId};

use crate::decision::Decision;
use crate::error::ServeError;
use crate::ledger::{self, Claim};
use crate::lifecycle_spec::LifecycleSpec;
use crate::plan_lifecycle::{plan_lifecycle, Refusal};
use crate::proposal::{self, Operation, Proposal};
use crate::propose::propose_to;
use crate::reshare_request::Reshare;
use crate::reshare_result;
use crate::reshare_view::key_view;
use crate::results::{self, Outcome};
use crate::shared::Shared;

/// How soon a request being served elsewhere comes back.
const IN_PROGRESS_RETRY: Duration = Duration::from_secs(1);

/// What to do with the message once served.
enum Answer {
    /// Publish this result (recording it under the claim when there is one), then ack.
    Publish {
        outcome: Outcome,
        msg_id: String,
        claim: Option<(String, String, u64)>,
    },
    /// Nothing can be answered (no result subject): ack.
    Drop,
    /// Let it come back later.
    Later,
}

/// Serves one reshare request message.
pub(crate) async fn handle(shared: &Shared, msg: jetstream::Message, trace: TraceId) {
    let client_id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::CLIENT_ID_HEADER))
        .map(|v| v.as_str().to_string())
        .filter(|c| mpc::valid_client_id(c));
    let last = msg
        .info()
        .is_ok_and(|i| i.delivered >= shared.config.max_deliver);
    match serve(shared, &msg.payload, client_id.as_deref(), &trace, last).await {
        Answer::Publish {
            outcome,
            msg_id,
            claim,
        } => {
            let published = results::publish(
                &shared.js,
                shared.node.identity(),
                &outcome,
                &msg_id,
                &trace,
            )
            .await;
            if let Err(e) = published {
                tracing::warn!(subject = %outcome.subject, "reshare result not published, request will come back: {e}");
                return retry(&msg, last).await;
            }
            if let Some((key, digest, revision)) = claim {
                if let Err(e) = shared
                    .ledger
                    .finish(&key, &digest, revision, &outcome.json)
                    .await
                {
                    tracing::warn!("reshare result published but not recorded yet: {e}");
                }
            }
            let _ = msg.ack().await;
        }
        Answer::Drop => {
            let _ = msg.ack().await;
        }
        Answer::Later => retry(&msg, last).await,
    }
}

async fn retry(msg: &jetstream::Message, last: bool) {
    if last {
        tracing::error!(subject = %msg.subject, "reshare request delivered the maximum number of times: terminated");
        let _ = msg.ack_with(AckKind::Term).await;
    } else {
        let _ = msg.ack_with(AckKind::Nak(Some(IN_PROGRESS_RETRY))).await;
    }
}

async fn serve(
    shared: &Shared,
    raw: &[u8],
    client_id: Option<&str>,
    trace: &TraceId,
    last: bool,
) -> Answer {
    let reshare = match Reshare::parse(raw, &shared.config) {
        Ok(r) => r,
        Err(e) => return refused_request(raw, client_id, e),
    };
    let sid = reshare.session_id.as_str().to_string();
    let msg_id = reshare_result::msg_id(client_id, &sid, None);
    let error = |code: ErrorCode, reason: String| Answer::Publish {
        outcome: error_outcome(&reshare.message, client_id, code, reason),
        msg_id: msg_id.clone(),
        claim: None,
    };
    let key = ledger::key("reshare", &[client_id.unwrap_or(""), &sid]);
    let digest = hex::encode(reshare.digest);
    let revision = match shared
        .ledger
        .claim(&key, &digest, |n| shared.is_ready(n))
        .await
    {
        Ok(Claim::Fresh { revision, .. }) => revision,
        Ok(Claim::Done(json)) => {
            tracing::info!(session_id = %sid, "repeated reshare request: stored result returned");
            return Answer::Publish {
                outcome: reshare_result::outcome(client_id, &sid, json.into_bytes()),
                msg_id,
                claim: None,
            };
        }
        Ok(Claim::Conflict) => {
            return error(
                ErrorCode::RequestConflict,
                format!("session id {sid} was used for a different reshare request"),
            )
        }
        Ok(Claim::InProgress) => return Answer::Later,
        Err(e) => {
            tracing::warn!(session_id = %sid, "request ledger unavailable, reshare request will come back: {e}");
            return Answer::Later;
        }
    };
    match coordinate(shared, &reshare, raw, trace).await {
        Err(Failure {
            elsewhere: true,
            reason,
            ..
        }) if !last && others_ready(shared) => {
            // This node holds no share (it is the one being replaced, or a
            // new one) or leaves the committee: another node takes the request.
            shared.ledger.release(&key, revision).await;
            tracing::info!(session_id = %sid, "{reason}; left to another node");
            Answer::Later
        }
        Ok(json) => Answer::Publish {
            outcome: reshare_result::outcome(client_id, &sid, json),
            msg_id,
            claim: Some((key, digest, revision)),
        },
        Err(Failure { code, reason, .. }) => {
            // A failure is not recorded: the client may ask again.
            shared.ledger.release(&key, revision).await;
            tracing::warn!(session_id = %sid, code = %code, "reshare refused or failed: {reason}");
            error(code, reason)
        }
    }
}

/// Plans, proposes, runs and decides: the success result's JSON, or the
/// error's code and reason.
async fn coordinate(
    shared: &Shared,
    reshare: &Reshare,
    raw: &[u8],
    trace: &TraceId,
) -> Result<Vec<u8>, Failure> {
    let of = |e: ServeError| Failure::new(e.code(), e.to_string());
    let refusal = |r: Refusal| Failure::new(r.code, r.reason);
    let view = key_view(shared, &reshare.wallet, reshare.key_type, &reshare.nodes)
        .await
        .map_err(of)?
        .ok_or_else(|| Failure {
            code: ErrorCode::KeyNotFound,
            reason: format!(
                "{} holds no share of wallet {}'s {} key",
                shared.me(),
                reshare.wallet,
                reshare.key_type
            ),
            elsewhere: true,
        })?;
    let plan = plan_lifecycle(&view.facts, reshare.into()).map_err(refusal)?;
    let spec = LifecycleSpec {
        wallet_id: reshare.wallet.clone(),
        key_type: reshare.key_type,
        committee: plan.committee.clone(),
        targets: plan.targets.clone(),
        removed: plan.removed.clone(),
        from_epoch: view.epoch,
        public_key: view.public_key.clone(),
        threshold: view.facts.threshold.0,
    };
    if !spec.players().contains(shared.me()) {
        return Err(Failure {
            code: ErrorCode::InvalidSessionType,
            reason: format!(
                "{} is not in the new committee: a holder that stays coordinates a reshare",
                shared.me()
            ),
            elsewhere: true,
        });
    }
    let session_id = shared.new_session_id();
    let p = Proposal {
        session_id: session_id.clone(),
        operation: Operation::Lifecycle,
        coordinator: shared.me().clone(),
        players: spec.told(),
        request: raw.to_vec(),
        issued_at_unix: proposal::now_unix(),
        trace_id: Some(trace.clone()),
        lifecycle: Some(spec.clone()),
        epoch: None,
    };
    tracing::info!(session_id = %session_id, wallet_id = %reshare.wallet, key_type = %reshare.key_type, kind = plan.kind.as_str(), committee = ?spec.committee, targets = ?spec.targets, "reshare planned");
    let running = shared
        .node
        .start_lifecycle_traced(spec.request(&session_id), Some(trace.clone()));
    if let Err(e) = propose_to(shared, &p, &spec.players()).await {
        let _ = running.cancel().await;
        return Err(of(e));
    }
    let ended = crate::reshare_run::finish(shared, &session_id, &spec, running).await;
    match (ended.decision, ended.session) {
        (Ok(Decision::Commit { .. }), _) => reshare_result::success(
            reshare.wallet.as_str(),
            reshare.new_threshold,
            reshare.key_type,
            &view.public_key,
        )
        .map_err(of),
        (Ok(Decision::Abort), Err(e)) => Err(Failure::new(e.code(), e.to_string())),
        (Ok(Decision::Abort), Ok(_)) => Err(Failure::new(
            ErrorCode::ReshareFailure,
            format!("session {session_id}: another player failed the attempt and aborted it; the key stays at epoch {}", view.epoch),
        )),
        (Err(e), _) => Err(Failure::new(
            ErrorCode::ReshareFailure,
            format!("session {session_id}: the attempt could not be decided ({e}); each node decides it at its next start"),
        )),
    }
}

/// Why a reshare was not served here.
struct Failure {
    code: ErrorCode,
    reason: String,
    /// Another node may serve it (this one holds no share or leaves the committee).
    elsewhere: bool,
}

impl Failure {
    fn new(code: ErrorCode, reason: String) -> Self {
        Self {
            code,
            reason,
            elsewhere: false,
        }
    }
}

/// Whether another server is ready (one that may hold the key).
fn others_ready(shared: &Shared) -> bool {
    let view = shared.snapshot();
    view.ready.iter().any(|n| n != shared.me())
}

/// The answer to a request that failed its checks.
fn refused_request(
    raw: &[u8],
    client_id: Option<&str>,
    e: crate::request::InvalidRequest,
) -> Answer {
    let code = e.code();
    if !e.ids_verified() {
        tracing::warn!(code = %code, "unverified reshare request refused, answered without its ids: {e}");
        let json = reshare_result::error(
            "",
            tessera_types::Threshold(0),
            tessera_types::wire::KeyType::Secp256k1,
            code,
            e.to_string(),
        );
        return match json {
            Ok(json) => Answer::Publish {
                outcome: Outcome {
                    subject: reshare_result::UNVERIFIED_RESHARE_RESULT.to_string(),
                    json,
                },
                msg_id: format!("reshare:unverified:{}", ledger::digest(raw)),
                claim: None,
            },
            Err(_) => Answer::Drop,
        };
    }
    // The signature verified, so the JSON is the client's.
    let Ok(message) = ResharingMessage::from_json(raw) else {
        return Answer::Drop;
    };
    if tessera_types::ids::check_subject_token("session_id", &message.session_id).is_err() {
        tracing::warn!(code = %code, "reshare request without a usable session_id refused; no result subject to answer on: {e}");
        return Answer::Drop;
    }
    tracing::warn!(session_id = %message.session_id, code = %code, "reshare request refused: {e}");
    Answer::Publish {
        outcome: error_outcome(&message, client_id, code, e.to_string()),
        msg_id: reshare_result::msg_id(client_id, &message.session_id, None),
        claim: None,
    }
}

fn error_outcome(
    m: &ResharingMessage,
    client_id: Option<&str>,
    code: ErrorCode,
    reason: String,
) -> Outcome {
    let json = reshare_result::error(&m.wallet_id, m.new_threshold, m.key_type, code, reason)
        .unwrap_or_default();
    reshare_result::outcome(client_id, &m.session_id, json)
}
