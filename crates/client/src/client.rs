//! `Client`: one NATS connection, two result pumps, and the request calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tessera_security::{InitiatorKey, InitiatorSigner};
use tessera_transport::async_nats;
use tessera_transport::async_nats::jetstream::{self, kv, Context};
use tessera_transport::mpc;
use tessera_types::wire::SessionSpec;
use tessera_types::{
    GenerateKeyMessage, KeyType, KeygenResultEvent, PublicIdentity, ResharingMessage,
    ResharingResultEvent, SignTxMessage, SigningResultEvent,
};
use tokio::sync::OnceCell;

use crate::consumer::{ResultConsumer, ResultEvent};
use crate::pump::{self, PumpSpec, ResultRouter};
use crate::request::{self, require_token, ReshareRequest, SignRequest};
use crate::result::{KeygenResult, ReshareResult, SigningResult};
use crate::trust::{self, Counters, RejectedResults, ResultCheck};
use crate::{ClientConfig, ClientError};

/// Where the result stream stood just before a request was published: only a
/// result stored after it (a greater stream sequence) can answer that
/// request. [`Client::publish_keygen`] and [`Client::publish_sign`] return it;
/// a process that stores it with the request's id can hand it to
/// [`Client::await_keygen_since`] / [`Client::await_signing_since`] after a
/// restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestMark(u64);

impl RequestMark {
    /// The result stream's (`mpc`) last sequence number at the time.
    pub fn sequence(self) -> u64 {
        self.0
    }

    /// A mark from a stored sequence number.
    pub fn from_sequence(sequence: u64) -> Self {
        Self(sequence)
    }
}

/// A connection to a Tessera (or mpcium) cluster's JetStream interface.
///
/// Cheap to clone; clones share the connection and the result pumps, which
/// stop when the last clone is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    nats: async_nats::Client,
    js: Context,
    client_id: Option<String>,
    initiator: InitiatorSigner,
    authorizers: Vec<(String, InitiatorSigner)>,
    result_timeout: Duration,
    publish_timeout: Duration,
    keygen: ResultRouter<KeygenResultEvent>,
    signing: ResultRouter<SigningResultEvent>,
    /// The reshare result pump, started on the first reshare request (a
    /// client that never reshares creates no reshare result consumer).
    reshare: OnceCell<ResultRouter<ResharingResultEvent>>,
    reshare_spec: PumpSpec,
    /// Results refused by any pump.
    rejected: Arc<Counters>,
    /// The tenant key bucket, opened on the first registration.
    tenant_keys: OnceCell<kv::Store>,
    streams: mpc::StreamSettings,
}

impl Client {
    /// Connects, makes sure the four streams exist (existing ones are used as
    /// they are), and starts the keygen and signing result consumers (the
    /// reshare one starts with the first reshare request).
    ///
    /// Fails with [`ClientError::NoClusterIdentities`] when the configuration
    /// names no cluster identity and does not opt out of result signatures.
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        config.validate()?;
        let addrs = config.nats.addrs().map_err(ClientError::Nats)?;
        let name = match &config.client_id {
            Some(id) => format!("tessera-client-{id}"),
            None => "tessera-client".to_string(),
        };
        let nats = config
            .nats
            .apply(async_nats::ConnectOptions::new())
            .map_err(ClientError::Nats)?
            .name(name)
            .connect(addrs)
            .await
            .map_err(|source| ClientError::Connect { source })?;
        Self::with_connection(nats, config).await
    }

    /// Like [`Client::connect`], on a connection the caller already has;
    /// `config.nats` is ignored.
    pub async fn with_connection(
        nats: async_nats::Client,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        config.validate()?;
        let js = jetstream::new(nats.clone());
        mpc::ensure_streams(&js, &config.streams)
            .await
            .map_err(ClientError::Streams)?;
        let nodes = trust::by_node(&config.cluster_identities)?;
        if config.accept_unsigned_results {
            tracing::warn!(
                nodes = nodes.len(),
                "accept_unsigned_results is set: results without a node signature are accepted"
            );
        }
        let check = ResultCheck::new(nodes, config.accept_unsigned_results);
        let rejected = Arc::new(Counters::default());
        // Results stored before the client connected answer only a caller
        // who says which request they belong to (`await_*_since`).
        let floor = crate::publish::result_stream_position(&js, config.publish_timeout).await?;
        let cid = config.client_id.as_deref();
        let spec = |consumer| PumpSpec {
            consumer,
            client_id: config.client_id.clone(),
            unclaimed_capacity: config.unclaimed_capacity,
            unclaimed_ttl: config.unclaimed_ttl,
            check: check.clone(),
            counters: rejected.clone(),
            floor,
        };
        let keygen_spec = spec(ResultConsumer::keygen(cid));
        let signing_spec = spec(ResultConsumer::signing(cid));
        let reshare_spec = spec(ResultConsumer::reshare(cid));
        let keygen_consumer = keygen_spec.consumer.ensure(&js).await?;
        let signing_consumer = signing_spec.consumer.ensure(&js).await?;
        let keygen = pump::spawn(js.clone(), keygen_consumer, keygen_spec);
        let signing = pump::spawn(js.clone(), signing_consumer, signing_spec);
        Ok(Self {
            inner: Arc::new(Inner {
                nats,
                js,
                client_id: config.client_id,
                initiator: config.initiator,
                authorizers: config.authorizers,
                result_timeout: config.result_timeout,
                publish_timeout: config.publish_timeout,
                keygen,
                signing,
                reshare: OnceCell::new(),
                reshare_spec,
                rejected,
                tenant_keys: OnceCell::new(),
                streams: config.streams.clone(),
            }),
        })
    }

    /// Creates wallet `wallet_id` (one secp256k1 and one Ed25519 key) and waits
    /// for the result. An error answer from the cluster is `Ok` with
    /// [`KeygenResult::error`] set; use [`KeygenResult::into_result`] to turn it
    /// into an `Err`.
    pub async fn keygen(&self, wallet_id: &str) -> Result<KeygenResult, ClientError> {
        self.keygen_in_session(wallet_id, SessionSpec::default())
            .await
    }

    /// Like [`Client::keygen`], with a session configuration (`tessera_session`,
    /// signed by the initiator): the session id, the players, dynamic keys of
    /// players the nodes do not know (see [`Client::register_tenant_key`]) and
    /// the threshold. It is checked first as a node would; an empty `session`
    /// is not sent.
    pub async fn keygen_in_session(
        &self,
        wallet_id: &str,
        session: SessionSpec,
    ) -> Result<KeygenResult, ClientError> {
        require_token("wallet_id", wallet_id)?;
        let msg = self.keygen_message_in_session(wallet_id, session);
        msg.validate()?;
        let mark = self.mark(&self.inner.keygen, wallet_id).await?;
        let waiter = self.inner.keygen.register(wallet_id, Some(mark.0)).await?;
        self.publish(mpc::keygen_request(wallet_id), msg.to_json()?)
            .await?;
        waiter
            .wait(self.inner.result_timeout)
            .await
            .map(KeygenResult::new)
    }

    /// Asks for a signature and waits for the result. The request is checked
    /// first as a node would (ids, a 32-byte digest for secp256k1, a
    /// non-hardened path, the session configuration in
    /// [`SignRequest::session`]). An error answer is `Ok`, as for [`Client::keygen`].
    pub async fn sign(&self, req: SignRequest) -> Result<SigningResult, ClientError> {
        let msg = self.sign_message(req);
        msg.validate()?;
        require_token("tx_id", &msg.tx_id)?;
        let mark = self.mark(&self.inner.signing, &msg.tx_id).await?;
        let waiter = self
            .inner
            .signing
            .register(&msg.tx_id, Some(mark.0))
            .await?;
        self.publish(mpc::signing_request(&msg.tx_id), msg.to_json()?)
            .await?;
        waiter
            .wait(self.inner.result_timeout)
            .await
            .map(SigningResult::new)
    }

    /// Moves a wallet's key of one type to `req.node_ids` with threshold
    /// `req.new_threshold` (mpcium's `t`: t+1 sign), optionally making the
    /// shares of `req.replace` anew, and waits for the result. The request is
    /// checked first as a node would; its session id (`req.session_id`, or a
    /// fresh one) must be one subject token. It is published to
    /// `mpc.reshare_request.<session_id>`; the result, signed by a cluster
    /// node like keygen and signing results, is read from this client's
    /// reshare result consumer. An error answer is `Ok`, as for [`Client::keygen`]
    /// ([`ReshareResult::into_result`] turns it into an `Err`).
    pub async fn reshare(&self, req: ReshareRequest) -> Result<ReshareResult, ClientError> {
        let session_id = req
            .session_id
            .clone()
            .unwrap_or_else(crate::session::new_session_id);
        require_token("session_id", &session_id)?;
        let msg = self.reshare_message(&req, &session_id);
        msg.validate()?;
        for id in &req.replace {
            require_token("replace", id)?;
        }
        let json = request::reshare_json(&self.inner.initiator, &msg, &req.replace)?;
        let router = self.reshare_router().await?;
        let mark = self.mark(router, &session_id).await?;
        let waiter = router.register(&session_id, Some(mark.0)).await?;
        self.publish(mpc::reshare_request(&session_id), json)
            .await?;
        waiter
            .wait(self.inner.result_timeout)
            .await
            .map(|event| ReshareResult::new(session_id, event))
    }

    /// Refreshes a wallet's key of one type: a reshare to the same nodes and
    /// threshold (new shares, same public key), under a fresh session id.
    pub async fn refresh(
        &self,
        wallet_id: &str,
        key_type: KeyType,
        node_ids: Vec<String>,
        new_threshold: u16,
    ) -> Result<ReshareResult, ClientError> {
        self.reshare(ReshareRequest {
            wallet_id: wallet_id.to_string(),
            key_type,
            node_ids,
            new_threshold,
            session_id: None,
            replace: Vec::new(),
        })
        .await
    }

    /// A reshare request with session id `session_id`, signed with this
    /// client's keys (not published; `req.session_id` and `req.replace` are
    /// not used: see [`request::reshare_json`] for the replace list).
    pub fn reshare_message(&self, req: &ReshareRequest, session_id: &str) -> ResharingMessage {
        request::signed_reshare_message(
            &self.inner.initiator,
            &self.inner.authorizers,
            req,
            session_id,
        )
    }

    /// Waits for the reshare result of `session_id`; see [`Client::await_keygen`].
    pub async fn await_reshare(
        &self,
        session_id: &str,
        timeout: Duration,
    ) -> Result<ReshareResult, ClientError> {
        let waiter = self
            .reshare_router()
            .await?
            .register(session_id, None)
            .await?;
        waiter
            .wait(timeout)
            .await
            .map(|event| ReshareResult::new(session_id, event))
    }

    /// The reshare result pump, started (and its consumer created) on first use.
    async fn reshare_router(&self) -> Result<&ResultRouter<ResharingResultEvent>, ClientError> {
        self.inner
            .reshare
            .get_or_try_init(|| async {
                let spec = self.inner.reshare_spec.clone();
                let consumer = spec.consumer.ensure(&self.inner.js).await?;
                Ok(pump::spawn(self.inner.js.clone(), consumer, spec))
            })
            .await
    }

    /// A keygen request signed with this client's keys (not published).
    pub fn keygen_message(&self, wallet_id: &str) -> GenerateKeyMessage {
        request::signed_keygen_message(&self.inner.initiator, &self.inner.authorizers, wallet_id)
    }

    /// A keygen request with a session configuration, signed with this
    /// client's keys (not published).
    pub fn keygen_message_in_session(
        &self,
        wallet_id: &str,
        session: SessionSpec,
    ) -> GenerateKeyMessage {
        request::signed_keygen_message_in_session(
            &self.inner.initiator,
            &self.inner.authorizers,
            wallet_id,
            session,
        )
    }

    /// A signing request signed with this client's keys (not published).
    pub fn sign_message(&self, req: SignRequest) -> SignTxMessage {
        request::signed_sign_message(&self.inner.initiator, &self.inner.authorizers, req)
    }

    /// Publishes `msg` as it is to `mpc.keygen_request.<wallet_id>` and waits
    /// for JetStream to store it. Nothing but the subject token is checked.
    /// Call [`Client::await_keygen`] to get the result: from now on, results
    /// for this wallet stored before the returned mark are dropped.
    pub async fn publish_keygen(
        &self,
        msg: &GenerateKeyMessage,
    ) -> Result<RequestMark, ClientError> {
        require_token("wallet_id", &msg.wallet_id)?;
        let json = msg.to_json()?;
        let mark = self.mark(&self.inner.keygen, &msg.wallet_id).await?;
        self.publish(mpc::keygen_request(&msg.wallet_id), json)
            .await?;
        Ok(mark)
    }

    /// Publishes `msg` as it is to `mpc.signing_request.<tx_id>`; see
    /// [`Client::publish_keygen`]. Call [`Client::await_signing`] for the result.
    pub async fn publish_sign(&self, msg: &SignTxMessage) -> Result<RequestMark, ClientError> {
        require_token("tx_id", &msg.tx_id)?;
        let json = msg.to_json()?;
        let mark = self.mark(&self.inner.signing, &msg.tx_id).await?;
        self.publish(mpc::signing_request(&msg.tx_id), json).await?;
        Ok(mark)
    }

    /// Reads the result stream's position and tells the pump that a request
    /// for `id` follows: results for `id` stored up to here are older than it.
    async fn mark<E: ResultEvent>(
        &self,
        router: &ResultRouter<E>,
        id: &str,
    ) -> Result<RequestMark, ClientError> {
        let seq =
            crate::publish::result_stream_position(&self.inner.js, self.inner.publish_timeout)
                .await?;
        router.expect(id, seq).await?;
        Ok(RequestMark(seq))
    }

    /// Registers `identity` (a tenant's device, by its `node_id`) for session
    /// `session_id` on the nodes: a registration signed with the initiator key,
    /// put into the tenant key bucket, where it expires after 24 hours. Nodes
    /// use it only for that session id. Retries through lost connections for
    /// up to the publish timeout.
    pub async fn register_tenant_key(
        &self,
        session_id: &str,
        identity: &PublicIdentity,
    ) -> Result<(), ClientError> {
        let reg = crate::tenant::signed_registration(&self.inner.initiator, session_id, identity)?;
        crate::tenant::put(
            &self.inner.js,
            &self.inner.tenant_keys,
            &self.inner.streams,
            &reg,
            self.inner.publish_timeout,
        )
        .await?;
        tracing::debug!(%session_id, player = %identity.node_id, "tenant key registered");
        Ok(())
    }

    /// Waits for the keygen result of `wallet_id`; one that already arrived
    /// (and nobody took) is returned at once. Only a result signed by a
    /// cluster node and stored after this client's last request for the
    /// wallet (or, if it sent none, after it connected) is returned.
    pub async fn await_keygen(
        &self,
        wallet_id: &str,
        timeout: Duration,
    ) -> Result<KeygenResult, ClientError> {
        let waiter = self.inner.keygen.register(wallet_id, None).await?;
        waiter.wait(timeout).await.map(KeygenResult::new)
    }

    /// Like [`Client::await_keygen`], for a request published with `mark`
    /// (possibly by an earlier run of this process): a result stored after
    /// `mark` is returned even if it arrived before this client connected.
    pub async fn await_keygen_since(
        &self,
        wallet_id: &str,
        mark: RequestMark,
        timeout: Duration,
    ) -> Result<KeygenResult, ClientError> {
        let waiter = self.inner.keygen.register(wallet_id, Some(mark.0)).await?;
        waiter.wait(timeout).await.map(KeygenResult::new)
    }

    /// Waits for the signing result of `tx_id`; see [`Client::await_keygen`].
    pub async fn await_signing(
        &self,
        tx_id: &str,
        timeout: Duration,
    ) -> Result<SigningResult, ClientError> {
        let waiter = self.inner.signing.register(tx_id, None).await?;
        waiter.wait(timeout).await.map(SigningResult::new)
    }

    /// Waits for the signing result of `tx_id`; see [`Client::await_keygen_since`].
    pub async fn await_signing_since(
        &self,
        tx_id: &str,
        mark: RequestMark,
        timeout: Duration,
    ) -> Result<SigningResult, ClientError> {
        let waiter = self.inner.signing.register(tx_id, Some(mark.0)).await?;
        waiter.wait(timeout).await.map(SigningResult::new)
    }

    /// How many results this client has refused since it connected, by
    /// reason (unsigned, unknown signer, bad signature, older than the
    /// request). Each was acked, logged with a warning and dropped.
    pub fn rejected_results(&self) -> RejectedResults {
        self.inner.rejected.snapshot()
    }

    /// The `ClientID` this client sends, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The initiator's public key, as the nodes must be configured with it.
    pub fn initiator_key(&self) -> InitiatorKey {
        self.inner.initiator.public()
    }

    /// The underlying NATS connection (for example, to publish raw bytes).
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    /// The JetStream context on [`Client::nats`].
    pub fn jetstream(&self) -> &Context {
        &self.inner.js
    }

    /// Publishes through JetStream with the `ClientID` header, if configured,
    /// and waits for the stream's ack, retrying through disconnections for up
    /// to the configured publish timeout (see the `publish` module).
    async fn publish(&self, subject: String, payload: Vec<u8>) -> Result<(), ClientError> {
        crate::publish::publish(
            &self.inner.js,
            &subject,
            self.inner.client_id.as_deref(),
            payload,
            self.inner.publish_timeout,
        )
        .await?;
        tracing::debug!(%subject, "request published");
        Ok(())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.client_id)
            .field("initiator", &self.inner.initiator.public())
            .field("authorizers", &self.inner.authorizers.len())
            .field("result_timeout", &self.inner.result_timeout)
            .finish_non_exhaustive()
    }
}
