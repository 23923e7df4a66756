//! The request path from pull to ack, for both kinds of request:
//!
//! 1. pull from the shared durable consumer, one permit per request in flight;
//! 2. parse once into a checked [`Request`] (size first);
//! 3. claim it in the ledger while the store is read for its key: a repeat is
//!    answered from the ledger, a copy served elsewhere goes back;
//! 4. refuse a stale one, else `coordinate::serve` (plan, propose, run);
//! 5. record the result in the ledger and publish it once (`Nats-Msg-Id`
//!    `<kind>:<stream sequence>`), and only then ack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tessera_transport::async_nats::jetstream::{self, consumer::pull, AckKind};
use tessera_transport::mpc;
use tessera_types::TraceId;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::audit::{AuditEvent, Role};
use crate::audit_request;
use crate::coordinate;
use crate::error::{RequestError, ServeError, Unavailable};
use crate::ledger::{self, Claim};
use crate::metrics::{self, Status};
use crate::refused::Refused;
use crate::request::{Kind, Request};
use crate::results::{self, Outcome, ResultIds};
use crate::shared::Shared;
use crate::stale::{age_of, Stale};
use crate::trace;
use crate::trail::Trail;

/// How soon a copy of a request that is being served elsewhere comes back.
const IN_PROGRESS_RETRY: Duration = Duration::from_secs(1);

/// Binds the shared durable consumer of `kind`'s stream.
pub(crate) async fn messages(shared: &Shared, kind: Kind) -> Result<pull::Stream, RequestError> {
    let (stream, name, concurrency) = match kind {
        Kind::Keygen => (
            mpc::KEYGEN_STREAM,
            mpc::KEYGEN_CONSUMER,
            shared.config.keygen_concurrency,
        ),
        Kind::Sign => (
            mpc::SIGNING_STREAM,
            mpc::SIGNING_CONSUMER,
            shared.config.signing_concurrency,
        ),
    };
    bind(shared, stream, name, concurrency).await
}

/// Binds the durable consumer `name` of `stream`, pulling `concurrency` at a time.
pub(crate) async fn bind(
    shared: &Shared,
    stream: &str,
    name: &str,
    concurrency: usize,
) -> Result<pull::Stream, RequestError> {
    let js_err = |what: &str, e: String| RequestError::JetStream(format!("{what}: {e}"));
    let stream = shared
        .js
        .get_stream(stream)
        .await
        .map_err(|e| js_err(&format!("stream {stream}"), e.to_string()))?;
    let consumer = stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                ack_wait: shared.config.ack_wait,
                max_deliver: shared.config.max_deliver,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| js_err("consumer", e.to_string()))?;
    consumer
        .stream()
        .max_messages_per_batch(concurrency.clamp(1, 256))
        .messages()
        .await
        .map_err(|e| js_err("pull", e.to_string()))
}

/// Pulls requests of `kind` and serves each in a tracked task, at most the
/// configured number at once, until cancelled.
pub(crate) async fn pull_loop(
    shared: Arc<Shared>,
    kind: Kind,
    messages: pull::Stream,
    cancel: CancellationToken,
) {
    let (permits, pool) = match kind {
        Kind::Keygen => (shared.keygen_permits.clone(), "coordinate_keygen"),
        Kind::Sign => (shared.signing_permits.clone(), "coordinate_sign"),
    };
    let pull = Pull {
        permits,
        pool,
        what: kind.as_str(),
    };
    pull_each(
        shared,
        messages,
        pull,
        cancel,
        move |task, msg, trace| async move { handle(&task, kind, msg, trace).await },
    )
    .await
}

/// How one pull loop takes requests: at most `permits` at once, counted in
/// the metrics pool `pool`; `what` names its requests in log lines.
pub(crate) struct Pull {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) pool: &'static str,
    pub(crate) what: &'static str,
}

/// Pulls messages and serves each with `serve` in a tracked task, in the
/// request's trace span, until cancelled.
pub(crate) async fn pull_each<F, Fut>(
    shared: Arc<Shared>,
    mut messages: pull::Stream,
    pull: Pull,
    cancel: CancellationToken,
    serve: F,
) where
    F: Fn(Arc<Shared>, jetstream::Message, TraceId) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        let permit = tokio::select! {
            _ = cancel.cancelled() => return,
            p = pull.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            m = messages.next() => m,
        };
        let msg = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::warn!(kind = pull.what, "pulling requests failed: {e}");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                continue;
            }
            None => return,
        };
        let trace = trace::of_request(msg.headers.as_ref());
        let span = trace::span(&trace);
        let in_use = metrics::InUse::new(pull.pool);
        let served = serve(shared.clone(), msg, trace);
        shared.tracker.spawn(
            async move {
                served.await;
                drop((permit, in_use));
            }
            .instrument(span),
        );
    }
}

/// Where a request came from: what its result needs besides the request.
struct Delivery {
    kind: Kind,
    client_id: Option<String>,
    subject: String,
    stale: Option<Stale>,
    /// The last delivery JetStream makes (`requests.max_deliver`).
    last: bool,
    trace: TraceId,
}

/// A served request: the result to publish and, when this node claimed the
/// request in the ledger, the claim to record the result under.
struct Served {
    outcome: Outcome,
    claim: Option<Claimed>,
    status: Status,
    /// The audit line, written once the result is published.
    audit: AuditEvent,
}

impl Served {
    /// Names the request in the audit line (its checks passed).
    fn about(mut self, shared: &Shared, request: &Request, trail: &Trail) -> Self {
        let mut audit = audit_request::of_request(
            request,
            Role::Coordinator,
            &shared.config.initiator,
            &trail.trace,
        );
        if let Some((sid, players)) = trail.session() {
            audit = audit.with_session(&sid, &players);
        }
        self.audit = audit;
        self
    }
}

/// A ledger entry this node claimed: what `Ledger::finish` needs.
struct Claimed {
    key: String,
    digest: String,
    revision: u64,
}

/// Serves one request message: result recorded and published once, then acked.
async fn handle(shared: &Shared, kind: Kind, msg: jetstream::Message, trace: TraceId) {
    let started = Instant::now();
    let client_id = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(mpc::CLIENT_ID_HEADER))
        .map(|v| v.as_str().to_string())
        .filter(|c| mpc::valid_client_id(c));
    let info = msg.info().ok();
    let seq = info.as_ref().map(|i| i.stream_sequence);
    let limit = shared.config.max_request_age;
    let stale = info
        .as_ref()
        .map(|i| age_of(i.published))
        .filter(|age| *age > limit)
        .map(|age| Stale { age, limit });
    let last = info
        .as_ref()
        .is_some_and(|i| i.delivered >= shared.config.max_deliver);
    if info.as_ref().is_some_and(|i| i.delivered > 1) {
        metrics::redelivered(kind);
    }
    let delivery = Delivery {
        kind,
        client_id,
        subject: msg.subject.to_string(),
        stale,
        last,
        trace,
    };
    let serve = serve(shared, &msg.payload, &delivery);
    tokio::pin!(serve);
    // First tick one period from now: an immediate first tick would still wait
    // for the timer wheel's next millisecond before serving starts.
    let period = shared.config.progress_interval;
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let served = loop {
        tokio::select! {
            o = &mut serve => break o,
            _ = progress.tick() => { let _ = msg.ack_with(AckKind::Progress).await; }
        }
    };
    let served = match served {
        Ok(Some(served)) => served,
        // The same request is being served by a live node (or by this one),
        // or the ledger cannot be asked right now: keep this copy until that
        // one is done (then it is answered from the ledger) or the ledger is
        // back. Acking it now would lose it if that node died.
        // On its last delivery, a copy another node is serving is left to it.
        Ok(None) => return retry(&msg, last, IN_PROGRESS_RETRY).await,
        Err(e) => {
            tracing::error!(subject = %delivery.subject, "no result to publish, request will come back: {e}");
            return retry(&msg, last, IN_PROGRESS_RETRY).await;
        }
    };
    // The request's stream sequence names the result once. Without it (never
    // for a pull consumer's message) the request's own bytes do: a fixed
    // fallback would make JetStream drop other results as duplicates.
    let msg_id = match seq {
        Some(seq) => format!("{}:{seq}", kind.as_str()),
        None => format!("{}:sha256:{}", kind.as_str(), ledger::digest(&msg.payload)),
    };
    let (status, audit) = (served.status, served.audit.clone());
    if finish(shared, &msg, served, &msg_id, &delivery).await {
        let elapsed = started.elapsed();
        metrics::request_done(kind, status, elapsed);
        shared.audit(audit_request::with_status(audit, status).with_duration(elapsed));
    }
}

/// Records and publishes a result together (a repeat finds either the record
/// or, until it lands, this node's claim in progress); the ack waits for both.
/// Whether the result was published and recorded (the request is answered).
async fn finish(
    shared: &Shared,
    msg: &jetstream::Message,
    served: Served,
    msg_id: &str,
    d: &Delivery,
) -> bool {
    let last = d.last;
    let Served { outcome, claim, .. } = served;
    let record = async {
        let Some(c) = &claim else { return true };
        let recording = Instant::now();
        let recorded = shared
            .ledger
            .finish(&c.key, &c.digest, c.revision, &outcome.json)
            .await;
        metrics::phase(d.kind, metrics::Phase::Record, recording);
        match recorded {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(subject = %outcome.subject, "could not record the result, request will come back to record it: {e}");
                false
            }
        }
    };
    let publish = async {
        let publishing = Instant::now();
        let published = results::publish(
            &shared.js,
            shared.node.identity(),
            &outcome,
            msg_id,
            &d.trace,
        )
        .await;
        metrics::phase(d.kind, metrics::Phase::Publish, publishing);
        published
    };
    let (recorded, published) = tokio::join!(record, publish);
    if let Err(e) = published {
        tracing::warn!(subject = %outcome.subject, "result not published, request will be redelivered: {e}");
        retry(msg, last, Duration::from_secs(1)).await;
        return false;
    }
    if !recorded {
        // The ledger keeps the result in memory; the copy that comes back
        // records it and is answered with it (deduplicated by `msg_id`).
        retry(msg, last, IN_PROGRESS_RETRY).await;
        return false;
    }
    if let Err(e) = msg.ack().await {
        tracing::warn!("ack failed: {e}");
    }
    true
}

/// Lets JetStream deliver `msg` again after `after`, unless this was its
/// last delivery (`requests.max_deliver`): then it is terminated, and logged.
async fn retry(msg: &jetstream::Message, last: bool, after: Duration) {
    if last {
        tracing::error!(subject = %msg.subject, "request delivered the maximum number of times (requests.max_deliver): terminated");
        let _ = msg.ack_with(AckKind::Term).await;
        return;
    }
    let _ = msg.ack_with(AckKind::Nak(Some(after))).await;
}

/// Serves a request: `Ok(None)` when it is served elsewhere right now or the
/// ledger cannot be asked (it comes back), `Err` only if no result can be
/// encoded at all.
async fn serve(shared: &Shared, raw: &[u8], d: &Delivery) -> Result<Option<Served>, ServeError> {
    let request = match Request::parse(d.kind, raw, &shared.config) {
        Ok(r) => r,
        Err(e) => {
            let ids = hints(raw, d, shared.config.max_request_bytes);
            let id = if d.kind == Kind::Sign {
                &ids.tx_id
            } else {
                &ids.wallet_id
            };
            if !e.ids_verified() {
                // Its ids could be anyone's: the error goes out without them,
                // where no waiter listens.
                tracing::warn!(claimed_id = %id, code = %e.code(), "unverified {} request refused, answered without its ids: {e}", name(d.kind));
                return unverified(d, &e.into()).map(Some);
            }
            tracing::warn!(id = %id, code = %e.code(), "{} request refused: {e}", name(d.kind));
            return refusal(d, &ids, &e.into()).map(|mut s| {
                s.audit.wallet_id = Some(ids.wallet_id.clone()).filter(|w| !w.is_empty());
                s.audit.tx_id = Some(ids.tx_id.clone()).filter(|t| !t.is_empty());
                Some(s)
            });
        }
    };
    let trail = Trail::new(d.trace.clone());
    let about = |s: Served| Some(s.about(shared, &request, &trail));
    let ids = ResultIds::of(&request);
    let (key, digest) = ledger::entry(&request);
    let alive = |n: &str| shared.is_ready(n);
    let claiming = Instant::now();
    let (claim, facts) = tokio::join!(
        shared.ledger.claim(&key, &digest, alive),
        coordinate::key_facts(shared, &request)
    );
    metrics::phase(d.kind, metrics::Phase::Claim, claiming);
    let id = request.id();
    let revision = match (claim, d.kind) {
        (
            Ok(Claim::Fresh {
                revision,
                taken_from,
            }),
            _,
        ) => {
            if let Some(from) = taken_from {
                tracing::warn!(id = %id, from = %from, "took over {} request {id}: {from} claimed it and is gone", name(d.kind));
            }
            revision
        }
        (Ok(Claim::Done(json)), Kind::Sign) => {
            tracing::info!(tx_id = %id, "repeated signing request: stored result returned");
            let mut s = served(d, &ids, json.into_bytes(), None);
            s.status = Status::Repeated;
            return Ok(about(s));
        }
        (Ok(Claim::Done(_)) | Ok(Claim::Conflict), Kind::Keygen) => {
            return refusal(d, &ids, &Refused::KeyExists(id.to_string()).into()).map(about)
        }
        (Ok(Claim::Conflict), Kind::Sign) => {
            return refusal(d, &ids, &Refused::Conflict.into()).map(about)
        }
        (Ok(Claim::InProgress), _) => {
            tracing::info!(id = %id, "{} request already being served elsewhere", name(d.kind));
            return Ok(None);
        }
        (Err(e), _) => match ledger_unavailable(e, d, id) {
            Some(e) => return refusal(d, &ids, &e).map(about),
            None => return Ok(None),
        },
    };
    if let Some(stale) = d.stale {
        // Claimed only to learn that it was never served: give the claim back.
        shared.ledger.release(&key, revision).await;
        tracing::warn!(id = %id, age_s = stale.age.as_secs(), "stale {} request not started", name(d.kind));
        return refusal(d, &ids, &Refused::Stale(stale).into()).map(about);
    }
    match coordinate::serve(shared, &request, raw, facts, false, &trail).await {
        Ok(json) => {
            let claim = Claimed {
                key: key.clone(),
                digest: digest.clone(),
                revision,
            };
            Ok(about(served(d, &ids, json, Some(claim))))
        }
        Err(e) => {
            // A failure is not recorded: the client may ask again.
            shared.ledger.release(&key, revision).await;
            refusal(d, &ids, &e).map(about)
        }
    }
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Keygen => "keygen",
        Kind::Sign => "signing",
    }
}

fn served(d: &Delivery, ids: &ResultIds, json: Vec<u8>, claim: Option<Claimed>) -> Served {
    Served {
        outcome: Outcome {
            subject: results::subject(d.kind, d.client_id.as_deref(), ids),
            json,
        },
        claim,
        status: Status::Success,
        audit: AuditEvent::bare(d.kind.as_str(), Role::Coordinator, &d.trace),
    }
}

/// The error result for a request that ends without its own result.
fn refusal(d: &Delivery, ids: &ResultIds, e: &ServeError) -> Result<Served, ServeError> {
    let json = results::error(d.kind, ids, e.code(), e.to_string())?;
    let mut s = served(d, ids, json, None);
    s.status = Status::Error(e.code());
    Ok(s)
}

/// The error result of a request whose initiator signature did not verify:
/// no ids, on a subject no client's waiter listens on.
fn unverified(d: &Delivery, e: &ServeError) -> Result<Served, ServeError> {
    let json = results::error(d.kind, &ResultIds::default(), e.code(), e.to_string())?;
    Ok(Served {
        outcome: Outcome {
            subject: results::unverified_subject(d.kind).to_string(),
            json,
        },
        claim: None,
        status: Status::Unverified(e.code()),
        audit: AuditEvent::bare(d.kind.as_str(), Role::Coordinator, &d.trace),
    })
}

/// The ids of a refused request, for its error result and log line. Read
/// only for a refused request, in one parse, and not at all from a request
/// over the size limit (it is not parsed for anything else either).
fn hints(raw: &[u8], d: &Delivery, max_bytes: usize) -> ResultIds {
    let json: Option<serde_json::Value> = (raw.len() <= max_bytes)
        .then(|| serde_json::from_slice(raw).ok())
        .flatten();
    let get =
        |name: &str| -> Option<String> { json.as_ref()?.get(name)?.as_str().map(str::to_string) };
    // The last subject token names the request, unless it is mpcium's literal `*`.
    let from_subject = d
        .subject
        .rsplit('.')
        .next()
        .filter(|t| *t != "*" && !t.is_empty())
        .map(str::to_string);
    match d.kind {
        Kind::Keygen => ResultIds {
            wallet_id: get("wallet_id").or(from_subject).unwrap_or_default(),
            ..Default::default()
        },
        Kind::Sign => ResultIds {
            wallet_id: get("wallet_id").unwrap_or_default(),
            tx_id: get("tx_id").or(from_subject).unwrap_or_default(),
            network_internal_code: get("network_internal_code").unwrap_or_default(),
        },
    }
}

/// What to answer when the ledger could not be asked about request `id`.
/// `None`: nothing yet. The ledger's stream is electing a leader, or NATS is
/// away; the request stays in JetStream and comes back (until it is stale).
/// On the request's last delivery, the error is its answer.
fn ledger_unavailable(e: RequestError, d: &Delivery, id: &str) -> Option<ServeError> {
    match d.stale {
        Some(stale) => Some(Refused::Stale(stale).into()),
        None if e.is_transient() && !d.last => {
            tracing::warn!(
                id,
                "request ledger unavailable, request will be retried: {e}"
            );
            None
        }
        None => Some(Unavailable::Ledger(e).into()),
    }
}
