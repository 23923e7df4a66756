//! A node's runtime: its identity, NATS transport, share store, ban list, peer
//! directory and (optionally) registry, and the sessions it runs. Cheap to clone.
//!
//! Bans: no session starts with a banned player (checked when a session is
//! started, which is also how a proposal is joined), and a session that ends
//! with a ban-worthy culprit (DKLs23 `BanCounterparty`, proven equivocation)
//! bans it before its error is reported.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use tessera_registry::Registry;
use tessera_security::NodeIdentity;
use tessera_storage::{BanList, BanRecord, Store};
use tessera_transport::Transport;
use tessera_types::{NodeId, PublicIdentity, SessionId, TraceId};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::directory::Directory;
use crate::error::{Culprits, SessionError};
use crate::keygen::{keygen, KeygenRequest};
use crate::lifecycle::{lifecycle, LifecycleRequest, Prepared};
use crate::options::RunnerOptions;
use crate::report::Reporter;
use crate::running::RunningSession;
use crate::runtime::Inner;
use crate::sign::{sign, SignRequest, Signature};

pub use tessera_storage::KeyMetadata;

#[derive(Clone, Debug)]
pub struct Node {
    inner: Arc<Inner>,
}

impl Node {
    pub fn new(
        identity: Arc<NodeIdentity>,
        transport: Transport,
        store: Store,
        directory: Directory,
        registry: Option<Registry>,
        options: RunnerOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                identity,
                transport,
                bans: BanList::new(store.path().parent().unwrap_or(std::path::Path::new("."))),
                store,
                directory,
                registry,
                options,
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
        }
    }

    pub fn node_id(&self) -> &NodeId {
        self.inner.identity.node_id()
    }

    /// This node's identity (its private keys stay inside; used to sign proposals).
    pub fn identity(&self) -> &NodeIdentity {
        &self.inner.identity
    }

    pub fn public_identity(&self) -> PublicIdentity {
        self.inner.identity.public()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// This node's ban list (`<storage.dir>/bans/`).
    pub fn bans(&self) -> &BanList {
        &self.inner.bans
    }

    /// The banned parties, for planning. A ban list that cannot be read gives
    /// none here (logged); starting a session then fails closed.
    pub fn banned(&self) -> BTreeSet<NodeId> {
        self.inner.bans.banned().unwrap_or_else(|e| {
            tracing::error!(code = %e.code(), "{e}");
            BTreeSet::new()
        })
    }

    pub fn is_banned(&self, party: &NodeId) -> bool {
        self.banned().contains(party)
    }

    /// `Ok` when none of `players` is banned here; else a typed error naming
    /// the first banned one (or why the ban list cannot be read).
    pub fn check_not_banned(&self, players: &[NodeId]) -> Result<(), SessionError> {
        match self.inner.bans.first_banned(players) {
            Ok(None) => Ok(()),
            Ok(Some(r)) => Err(SessionError::Banned {
                reason: ban_reason(&r),
                party: r.party,
            }),
            Err(e) => Err(SessionError::BanList(e)),
        }
    }

    pub fn registry(&self) -> Option<&Registry> {
        self.inner.registry.as_ref()
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// The runner's timeouts (deadlines bound how long a caller waits on a session).
    pub fn options(&self) -> &RunnerOptions {
        &self.inner.options
    }

    /// Starts a keygen in the background.
    pub fn start_keygen(&self, request: KeygenRequest) -> RunningSession<KeyMetadata> {
        self.start_keygen_traced(request, None)
    }

    /// Starts a keygen in the background; its joins carry the request's `trace`.
    pub fn start_keygen_traced(
        &self,
        request: KeygenRequest,
        trace: Option<TraceId>,
    ) -> RunningSession<KeyMetadata> {
        let sid = request.session_id.clone();
        let allowed = self.check_not_banned(&request.participants);
        self.spawn(sid, "keygen", move |inner, reporter, cancel| async move {
            allowed?;
            keygen(&inner, request, reporter, cancel, trace).await
        })
    }

    /// Starts a signing in the background.
    pub fn start_sign(&self, request: SignRequest) -> RunningSession<Signature> {
        self.start_sign_traced(request, None)
    }

    /// Starts a signing in the background; its joins carry the request's `trace`.
    pub fn start_sign_traced(
        &self,
        request: SignRequest,
        trace: Option<TraceId>,
    ) -> RunningSession<Signature> {
        let sid = request.session_id.clone();
        let allowed = self.check_not_banned(&request.signers);
        self.spawn(sid, "signing", move |inner, reporter, cancel| async move {
            allowed?;
            sign(&inner, request, reporter, cancel, trace).await
        })
    }

    /// Starts a refresh or replace in the background: it ends with the new
    /// epoch stored as pending on every player ([`Prepared`]); the caller
    /// decides whether it is promoted.
    pub fn start_lifecycle_traced(
        &self,
        request: LifecycleRequest,
        trace: Option<TraceId>,
    ) -> RunningSession<Prepared> {
        let sid = request.session_id.clone();
        let players: Vec<NodeId> = request.committee.iter().map(|(n, _)| n.clone()).collect();
        let allowed = self.check_not_banned(&players);
        self.spawn(
            sid,
            "lifecycle",
            move |inner, reporter, cancel| async move {
                allowed?;
                lifecycle(&inner, request, reporter, cancel, trace).await
            },
        )
    }

    /// Runs one session operation as a tracked task; its error, if any, is the
    /// last (fatal) report on the session's error channel. The session has its
    /// own cancellation token under the node's, so it can be cancelled alone.
    fn spawn<T, F, Fut>(&self, sid: SessionId, op: &'static str, f: F) -> RunningSession<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>, Reporter, CancellationToken) -> Fut,
        Fut: Future<Output = Result<T, SessionError>> + Send + 'static,
    {
        let (reporter, reports) =
            Reporter::channel(self.inner.identity.node_id().clone(), sid.clone());
        let cancel = self.inner.cancel.child_token();
        let fut = f(self.inner.clone(), reporter.clone(), cancel.clone());
        let session_id = sid.clone();
        let inner = self.inner.clone();
        let in_flight = crate::metrics::InFlight::new(op);
        // The session's log lines carry the caller's span (the request's trace id).
        let task = self
            .inner
            .tracker
            .spawn(tracing::Instrument::in_current_span(async move {
                let result = fut.await;
                in_flight.ended(result.as_ref().err().map(SessionError::code));
                if let Err(e) = &result {
                    let culprits = e.culprits();
                    if !culprits.ban.is_empty() {
                        record_bans(&inner, &session_id, e, &culprits).await;
                    }
                    reporter.report(e, true);
                }
                tracing::info!(%session_id, op, ok = result.is_ok(), "session ended");
                result
            }));
        RunningSession::new(sid, reports, task, cancel)
    }

    pub async fn keygen(&self, request: KeygenRequest) -> Result<KeyMetadata, SessionError> {
        self.start_keygen(request).wait().await
    }

    pub async fn sign(&self, request: SignRequest) -> Result<Signature, SessionError> {
        self.start_sign(request).wait().await
    }

    /// Stops: in-flight sessions abort (telling their peers), then readiness is
    /// given up so the other nodes see this one leave at once.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        if let Some(r) = &self.inner.registry {
            r.shutdown().await;
        }
    }
}

/// A ban's reason with where it was proven, for error texts.
fn ban_reason(r: &BanRecord) -> String {
    if r.session_id.is_empty() {
        r.reason.clone()
    } else {
        format!("{} in session {}", r.reason, r.session_id)
    }
}

/// Bans `culprits.ban` for `error` (proven in `session_id`), now. A failure
/// to write is logged loudly; the session's error is reported either way.
async fn record_bans(
    inner: &Inner,
    session_id: &SessionId,
    error: &SessionError,
    culprits: &Culprits,
) {
    let now = SystemTime::now();
    let records: Vec<BanRecord> = culprits
        .ban
        .iter()
        .filter(|p| *p != inner.identity.node_id())
        .map(|p| BanRecord::new(p.clone(), error.to_string(), session_id.to_string(), now))
        .collect();
    let bans = inner.bans.clone();
    let written = tokio::task::spawn_blocking(move || {
        records
            .into_iter()
            .map(|r| (bans.ban(&r), r))
            .collect::<Vec<_>>()
    })
    .await;
    let Ok(written) = written else {
        tracing::error!(%session_id, "ban list task failed");
        return;
    };
    for (result, r) in written {
        match result {
            Ok(true) => {
                crate::metrics::banned();
                tracing::error!(
                %session_id, party = %r.party, code = %error.code(), reason = %r.reason,
                "banned {} for good: no session will run with it until an operator runs `tessera bans clear {}`",
                r.party, r.party
                )
            }
            Ok(false) => tracing::warn!(%session_id, party = %r.party, "already banned"),
            Err(e) => tracing::error!(
                %session_id, party = %r.party, code = %e.code(),
                "cannot record the ban of {}: {e}", r.party
            ),
        }
    }
}
