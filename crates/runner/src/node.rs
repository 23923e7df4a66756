//! A node's runtime: its identity, NATS transport, share store, peer directory
//! and (optionally) registry, and the sessions it runs. Cheap to clone.

use std::future::Future;
use std::sync::Arc;

use tessera_registry::Registry;
use tessera_security::NodeIdentity;
use tessera_storage::Store;
use tessera_transport::Transport;
use tessera_types::{NodeId, PublicIdentity, SessionId};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::directory::Directory;
use crate::error::SessionError;
use crate::keygen::{keygen, KeygenRequest};
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
        let sid = request.session_id.clone();
        self.spawn(sid, "keygen", move |inner, reporter, cancel| async move {
            keygen(&inner, request, reporter, cancel).await
        })
    }

    /// Starts a signing in the background.
    pub fn start_sign(&self, request: SignRequest) -> RunningSession<Signature> {
        let sid = request.session_id.clone();
        self.spawn(sid, "signing", move |inner, reporter, cancel| async move {
            sign(&inner, request, reporter, cancel).await
        })
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
        let task = self.inner.tracker.spawn(async move {
            let result = fut.await;
            if let Err(e) = &result {
                reporter.report(e, true);
            }
            tracing::info!(%session_id, op, ok = result.is_ok(), "session ended");
            result
        });
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
