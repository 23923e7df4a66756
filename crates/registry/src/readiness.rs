//! The readiness task: owns this node's Consul session and its hold on
//! `<prefix>/ready/<node_id>`.
//!
//! The session has the configured TTL, `Behavior = delete` and no lock delay.
//! The task renews it every TTL/2 and checks the key is still ours. If Consul no
//! longer knows the session (expired during an outage, agent state lost) it
//! creates a new one and takes the key again. On shutdown it destroys the
//! session, so the key goes at once. A crashed node renews nothing: Consul
//! invalidates its session up to **2×TTL** after the last renewal and deletes
//! the key then.

use std::sync::Arc;
use std::time::Duration;

use tessera_security::NodeIdentity;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use tessera_types::NodeId;

use crate::config::RegistryConfig;
use crate::consul::ConsulClient;
use crate::error::RegistryError;
use crate::keys::KeyLayout;
use crate::ready_record::{self, unix_now, ReadyRecord};
use crate::sessions::{ConsulSessionId, SessionBehavior};
use crate::view::ReadyView;

/// How often `start` retries a ready key held by another session.
const TAKEOVER_POLL: Duration = Duration::from_millis(250);

/// The state the readiness task owns.
#[derive(Debug)]
pub(crate) struct Publisher {
    client: ConsulClient,
    node_id: NodeId,
    key: String,
    /// Rewritten (renewal time, view age) and signed at every write.
    record: ReadyRecord,
    signer: Option<Arc<NodeIdentity>>,
    /// This node's ready view, once the watcher runs (for the view's age).
    view: Option<watch::Receiver<ReadyView>>,
    ttl: Duration,
    session: ConsulSessionId,
    /// Whether our session held the key at the last check.
    held: bool,
}

impl Publisher {
    /// Creates the session and takes the ready key. A key still held by another
    /// session (a crashed previous instance) is retried until the configured
    /// takeover timeout; after that the holder is taken to be alive.
    pub(crate) async fn establish(
        client: &ConsulClient,
        config: &RegistryConfig,
        keys: &KeyLayout,
    ) -> Result<Self, RegistryError> {
        let started_at = unix_now();
        let record = ReadyRecord {
            node_id: config.node_id.clone(),
            started_at,
            version: env!("CARGO_PKG_VERSION").to_string(),
            renewed_at: started_at,
            view_age_ms: None,
        };
        let key = keys.ready_key(&config.node_id);
        let session = client
            .session_create(&key, config.ttl, SessionBehavior::Delete)
            .await?;
        let mut publisher = Self {
            client: client.clone(),
            node_id: config.node_id.clone(),
            key,
            record,
            signer: config.signer.clone(),
            view: None,
            ttl: config.ttl,
            session,
            held: false,
        };
        match publisher
            .take_key(config.effective_takeover_timeout())
            .await
        {
            Ok(()) => Ok(publisher),
            Err(e) => {
                publisher.destroy().await;
                Err(e)
            }
        }
    }

    /// The ready key's value now: the record with this write's time and the
    /// view's age, signed by this node when it has an identity.
    fn value(&mut self) -> Vec<u8> {
        self.record.renewed_at = unix_now();
        self.record.view_age_ms = self
            .view
            .as_ref()
            .and_then(|v| v.borrow().age())
            .map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
        ready_record::seal(self.signer.as_deref(), &self.key, &self.record)
    }

    async fn take_key(&mut self, timeout: Duration) -> Result<(), RegistryError> {
        let deadline = Instant::now() + timeout;
        let mut renewed = Instant::now();
        let mut logged = false;
        loop {
            let value = self.value();
            if self
                .client
                .kv_acquire(&self.key, &value, &self.session)
                .await?
            {
                self.held = true;
                info!(node = %self.node_id, key = %self.key, "ready key acquired");
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(RegistryError::NodeIdInUse {
                    node_id: self.node_id.clone(),
                    key: self.key.clone(),
                });
            }
            if !logged {
                info!(node = %self.node_id, key = %self.key,
                    "ready key held by another session (a previous instance?); waiting for it to expire");
                logged = true;
            }
            // The wait can outlast our own TTL: keep our session alive meanwhile.
            if renewed.elapsed() >= self.ttl / 2 {
                self.renew_or_recreate().await?;
                renewed = Instant::now();
            }
            tokio::time::sleep(TAKEOVER_POLL).await;
        }
    }

    /// Renews the session; recreates it if Consul no longer knows it.
    async fn renew_or_recreate(&mut self) -> Result<(), RegistryError> {
        if self.client.session_renew(&self.session).await? {
            return Ok(());
        }
        warn!(node = %self.node_id, "consul session gone (expired or invalidated); creating a new one");
        self.held = false;
        self.session = self
            .client
            .session_create(&self.key, self.ttl, SessionBehavior::Delete)
            .await?;
        Ok(())
    }

    /// One renewal round: renew (or recreate) the session, then write the
    /// record again with it (the renewal time and view age move on; an
    /// acquire by the holding session only updates the value), which also
    /// takes the key back if it was deleted by hand.
    async fn tick(&mut self) -> Result<(), RegistryError> {
        self.renew_or_recreate().await?;
        let was_held = self.held;
        let value = self.value();
        self.held = self
            .client
            .kv_acquire(&self.key, &value, &self.session)
            .await?;
        match (was_held, self.held) {
            (true, true) => {}
            (false, true) => info!(node = %self.node_id, "ready key re-acquired"),
            (true, false) => warn!(node = %self.node_id, key = %self.key,
                "ready key lost to another session; is another process running with this node id?"),
            (false, false) => {
                debug!(node = %self.node_id, "ready key still held by another session")
            }
        }
        Ok(())
    }

    /// Destroys the session; with `Behavior = delete` the key goes at once.
    /// Best effort: if Consul is unreachable the session simply expires.
    pub(crate) async fn destroy(&self) {
        match self.client.session_destroy(&self.session).await {
            Ok(()) => info!(node = %self.node_id, "consul session destroyed; ready key removed"),
            Err(e) => warn!(node = %self.node_id, error = %e,
                "could not destroy the consul session; the ready key goes when it expires"),
        }
    }

    /// Renews until `cancel`, then destroys the session. `view` is this
    /// node's ready view, whose age each renewal publishes.
    pub(crate) async fn run(mut self, view: watch::Receiver<ReadyView>, cancel: CancellationToken) {
        self.view = Some(view);
        let period = self.ttl / 2;
        // After a failure retry sooner, so a short outage does not cost the session.
        let retry = (self.ttl / 4).min(Duration::from_secs(1));
        let mut delay = period;
        let mut failing = false;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            // Shutdown may cut a round short: a session created in it holds no
            // key until `self.session` names it, and then `destroy` removes it.
            let round = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                round = self.tick() => round,
            };
            delay = match round {
                Ok(()) => {
                    if std::mem::take(&mut failing) {
                        info!(node = %self.node_id, "session renewal works again");
                    }
                    period
                }
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        warn!(node = %self.node_id, error = %e, "session renewal failed; retrying");
                    } else {
                        debug!(node = %self.node_id, error = %e, "session renewal still failing");
                    }
                    retry
                }
            };
        }
        self.destroy().await;
    }
}
