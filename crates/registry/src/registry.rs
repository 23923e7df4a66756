//! `Registry`: the cloneable handle a node (or an observer) holds.
//!
//! Two tasks own the mutable state: the readiness task (this node's session and
//! ready key, `readiness`) and the watcher (the ready view,
//! `watcher`). The handle reads the view through a `watch` channel and
//! stops the tasks through `CancellationToken`s: on [`Registry::shutdown`] the
//! readiness task first (it destroys the session so the key goes at once), then
//! the watcher. Dropping the last handle without `shutdown` cancels both the same
//! way, in the background.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use tessera_types::{NodeId, PublicIdentity};

use crate::config::RegistryConfig;
use crate::consul::ConsulClient;
use crate::error::RegistryError;
use crate::keys::KeyLayout;
use crate::peers;
use crate::readiness::Publisher;
use crate::view::ReadyView;
use crate::watcher;

/// Handle to a running registry. Clones share the same tasks.
#[derive(Clone, Debug)]
pub struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node_id: NodeId,
    ttl: Duration,
    publishing: bool,
    client: ConsulClient,
    keys: KeyLayout,
    view: watch::Receiver<ReadyView>,
    root: CancellationToken,
    publisher_cancel: CancellationToken,
    watcher_cancel: CancellationToken,
    tasks: Mutex<Tasks>,
}

#[derive(Debug, Default)]
struct Tasks {
    publisher: Option<JoinHandle<()>>,
    watcher: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

impl Registry {
    /// Connects to Consul, publishes this node's ready key (unless
    /// `publish_ready` is false), reads the ready set once and starts the
    /// renewal and watcher tasks. Fails if Consul cannot be reached, or if the
    /// ready key stays held by another live session (another process with the
    /// same node id) for the takeover timeout.
    pub async fn start(config: RegistryConfig) -> Result<Registry, RegistryError> {
        config.validate()?;
        let keys = KeyLayout::new(&config.prefix)?;
        let client = ConsulClient::new(
            &config.consul_addr,
            config.token.clone(),
            &config.tls,
            config.request_timeout,
        )?;
        let publisher = if config.publish_ready {
            Some(Publisher::establish(&client, &config, &keys).await?)
        } else {
            None
        };
        let (view, index) = match watcher::initial(&client, &keys).await {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(p) = publisher {
                    p.destroy().await;
                }
                return Err(e);
            }
        };
        let (tx, rx) = watch::channel(view);
        let root = CancellationToken::new();
        let publisher_cancel = root.child_token();
        let watcher_cancel = root.child_token();
        let tasks = Tasks {
            publisher: publisher.map(|p| tokio::spawn(p.run(rx.clone(), publisher_cancel.clone()))),
            watcher: Some(tokio::spawn(watcher::run(
                client.clone(),
                keys.clone(),
                config.watch_wait(),
                index,
                tx,
                watcher_cancel.clone(),
            ))),
        };
        Ok(Registry {
            inner: Arc::new(Inner {
                node_id: config.node_id,
                ttl: config.ttl,
                publishing: config.publish_ready,
                client,
                keys,
                view: rx,
                root,
                publisher_cancel,
                watcher_cancel,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    pub fn node_id(&self) -> &NodeId {
        &self.inner.node_id
    }

    /// The session TTL; also the natural `max_age` for [`Registry::is_fresh`].
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// Whether this handle publishes a ready key (false in watcher-only mode).
    pub fn is_publishing(&self) -> bool {
        self.inner.publishing
    }

    /// The Consul client, for other keys under the cluster prefix.
    pub fn consul(&self) -> &ConsulClient {
        &self.inner.client
    }

    pub fn keys(&self) -> &KeyLayout {
        &self.inner.keys
    }

    /// A copy of the current view.
    pub fn view(&self) -> ReadyView {
        self.inner.view.borrow().clone()
    }

    /// A receiver of the view. `changed()` fires when the node set changes or
    /// Consul answers again after an outage; `fresh_at` advances without waking
    /// it, so read freshness at decision time ([`ReadyView::is_fresh`]).
    pub fn subscribe(&self) -> watch::Receiver<ReadyView> {
        self.inner.view.clone()
    }

    pub fn ready_nodes(&self) -> BTreeSet<NodeId> {
        self.inner.view.borrow().nodes.clone()
    }

    pub fn is_ready(&self, node: &NodeId) -> bool {
        self.inner.view.borrow().contains(node)
    }

    /// mpcium's `AreMajorityReady`: at least **`t + 1`** nodes are ready, where
    /// `t` is the threshold (`t + 1` parties sign); not a majority of `n`.
    pub fn are_majority_ready(&self, t: u16) -> bool {
        self.inner.view.borrow().are_majority_ready(t)
    }

    /// The `participants` that are ready, in the given order.
    pub fn ready_among(&self, participants: &[NodeId]) -> Vec<NodeId> {
        self.inner.view.borrow().ready_among(participants)
    }

    /// Time since Consul last answered the watcher (`None`: never).
    pub fn view_age(&self) -> Option<Duration> {
        self.inner.view.borrow().age()
    }

    /// True if Consul answered within `max_age`.
    pub fn is_fresh(&self, max_age: Duration) -> bool {
        self.inner.view.borrow().is_fresh(max_age)
    }

    /// The check before a new session: the view is at most one TTL old and at
    /// least `t + 1` nodes are ready.
    pub fn check_quorum(&self, t: u16) -> Result<(), RegistryError> {
        self.inner.view.borrow().check_quorum(t, self.inner.ttl)
    }

    /// Waits until `pred` holds for the view (checked now and on each
    /// notification, see [`Registry::subscribe`]); `None` on timeout or if the
    /// watcher has stopped.
    pub async fn wait_until(
        &self,
        mut pred: impl FnMut(&ReadyView) -> bool,
        timeout: Duration,
    ) -> Option<ReadyView> {
        let mut rx = self.subscribe();
        let wait = async move {
            loop {
                {
                    let view = rx.borrow_and_update();
                    if pred(&view) {
                        return Some(view.clone());
                    }
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// Publishes this node's (or any node's) public identity as a hint for peers.
    pub async fn register_peer(&self, identity: &PublicIdentity) -> Result<(), RegistryError> {
        peers::register_peer(&self.inner.client, &self.inner.keys, identity).await
    }

    /// Identities published in Consul: hints only (see [`crate::peers`]).
    pub async fn peers(&self) -> Result<Vec<PublicIdentity>, RegistryError> {
        peers::list_peers(&self.inner.client, &self.inner.keys).await
    }

    /// Stops renewing and destroys the session (the ready key goes at once),
    /// then stops the watcher. The last view stays readable. Idempotent.
    pub async fn shutdown(&self) {
        let mut tasks = self.inner.tasks.lock().await;
        self.inner.publisher_cancel.cancel();
        if let Some(task) = tasks.publisher.take() {
            let _ = task.await;
        }
        self.inner.watcher_cancel.cancel();
        if let Some(task) = tasks.watcher.take() {
            let _ = task.await;
        }
    }

    /// What peers see when the process is killed: both tasks stop at once and
    /// the session is **not** destroyed, so the ready key stays until Consul
    /// invalidates the session (up to 2×TTL after the last renewal). For tests
    /// and fault drills.
    pub async fn abandon(&self) {
        let mut tasks = self.inner.tasks.lock().await;
        for task in [tasks.publisher.take(), tasks.watcher.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
            let _ = task.await;
        }
    }
}
