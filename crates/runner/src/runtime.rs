//! What a node's sessions share (`Inner`, behind `Node`): identity, transport,
//! share store, peer directory, registry and options, and the steps every
//! session takes with them (open its link and context, close it, use the store).
//! Keygen and signing use it; `Node` owns it. A module of its own, so the
//! session kinds and the node do not import each other.

use std::sync::Arc;

use tessera_registry::Registry;
use tessera_security::NodeIdentity;
use tessera_storage::{BanList, Store};
use tessera_transport::{SessionLink, Transport};
use tessera_types::{PublicIdentity, SessionConfig, SessionId, TraceId};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::Connection;
use crate::directory::Directory;
use crate::error::SessionError;
use crate::meta::SessionMeta;
use crate::options::RunnerOptions;
use crate::report::Reporter;
use crate::session_loop::SessionLoop;

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) identity: Arc<NodeIdentity>,
    pub(crate) transport: Transport,
    pub(crate) store: Store,
    /// Parties this node never plays with again (beside the store's file).
    pub(crate) bans: BanList,
    pub(crate) directory: Directory,
    pub(crate) registry: Option<Registry>,
    pub(crate) options: RunnerOptions,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

/// What a session needs from its caller besides the request.
pub(crate) struct SessionHooks {
    pub(crate) reporter: Reporter,
    pub(crate) cancel: CancellationToken,
    /// The session's overall deadline.
    pub(crate) deadline: Instant,
    /// The request's trace id, sent with this node's joins.
    pub(crate) trace: Option<TraceId>,
}

impl Inner {
    /// Opens the transport link of a session with `peers`.
    pub(crate) async fn open_link(
        &self,
        session_id: &SessionId,
        peers: Vec<PublicIdentity>,
    ) -> Result<SessionLink, SessionError> {
        self.transport
            .open(session_id.clone(), peers)
            .await
            .map_err(|source| SessionError::Transport {
                session_id: session_id.clone(),
                source,
            })
    }

    /// The session loop for `config` over an open link: a fresh connection
    /// state machine with this node's view of the session (`meta`).
    pub(crate) fn session_loop(
        &self,
        link: SessionLink,
        config: &SessionConfig,
        meta: SessionMeta,
        hooks: SessionHooks,
    ) -> SessionLoop {
        let conn = Connection::new(
            config.session_id.clone(),
            self.identity.node_id(),
            config.players(),
            self.options.clone(),
            hooks.deadline.into_std(),
            meta,
            *link.run_nonce(),
        )
        .with_trace(hooks.trace.clone());
        let ready = self.registry.as_ref().map(Registry::subscribe);
        SessionLoop::new(link, conn, hooks.reporter, hooks.cancel, ready)
    }

    /// Opens the transport link for `config` and starts its session loop.
    pub(crate) async fn open_session(
        &self,
        config: &SessionConfig,
        peers: Vec<PublicIdentity>,
        meta: SessionMeta,
        hooks: SessionHooks,
    ) -> Result<SessionLoop, SessionError> {
        let link = self.open_link(&config.session_id, peers).await?;
        Ok(self.session_loop(link, config, meta, hooks))
    }

    /// Closes a finished session's link without making the caller wait for the
    /// server to confirm it (node shutdown still waits for it).
    pub(crate) fn close_in_background(&self, session: SessionLoop) {
        self.tracker.spawn(session.close());
    }

    /// Runs a blocking store call off the async threads.
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, tessera_storage::StorageError> + Send + 'static,
    ) -> Result<T, SessionError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| SessionError::Internal(format!("storage task: {e}")))?
            .map_err(SessionError::Storage)
    }
}
