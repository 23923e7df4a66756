//! Shared helpers: a nats-server per test, clients, and a stand-in for the
//! node side (reading requests, publishing results) with the raw NATS client.
#![allow(dead_code)]

use std::future::IntoFuture;
use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use tessera_client::{Client, ClientConfig};
use tessera_security::statement::{self, Domain};
use tessera_security::{InitiatorKeyKind, InitiatorSigner, NodeIdentity};
use tessera_testkit::wait::{self, wait_until, POLL};
use tessera_testkit::Nats;
use tessera_transport::async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use tessera_transport::async_nats::{self, HeaderMap};
use tessera_transport::mpc;
use tessera_types::NodeId;

/// Upper bound for anything that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long we wait for a result that must not arrive.
pub const QUIET: Duration = Duration::from_millis(400);
/// How long a call must keep waiting (not fail) while NATS is down.
pub const OUTAGE: Duration = Duration::from_millis(1500);

pub async fn within<F: IntoFuture>(what: &str, f: F) -> F::Output {
    wait::within(WAIT, what, f).await
}

pub async fn nats() -> Nats {
    within("nats-server start", Nats::start())
        .await
        .expect("start nats-server")
}

/// The node identity the stand-in node signs results with; every test
/// client trusts it.
pub fn node_identity() -> &'static NodeIdentity {
    static ID: OnceLock<NodeIdentity> = OnceLock::new();
    ID.get_or_init(|| NodeIdentity::generate(NodeId::new("node0").unwrap()))
}

/// A result's headers as a node writes them: message id, node, signature.
pub fn signed_headers(
    identity: &NodeIdentity,
    subject: &str,
    msg_id: &str,
    json: &[u8],
) -> HeaderMap {
    let sig = statement::sign(
        identity,
        Domain::Result,
        &[subject.as_bytes(), msg_id.as_bytes(), json],
    );
    let mut headers = HeaderMap::new();
    headers.insert(mpc::MSG_ID_HEADER, msg_id);
    headers.insert(mpc::RESULT_NODE_HEADER, identity.node_id().as_str());
    headers.insert(mpc::RESULT_SIGNATURE_HEADER, hex::encode(sig).as_str());
    headers
}

pub fn config(nats: &Nats, kind: InitiatorKeyKind, client_id: Option<&str>) -> ClientConfig {
    let mut c = ClientConfig::new(nats.url(), InitiatorSigner::generate(kind))
        .with_result_timeout(WAIT)
        .with_cluster_identities([node_identity().public()]);
    c.client_id = client_id.map(str::to_string);
    c
}

pub async fn connect(config: ClientConfig) -> Client {
    within("client connect", Client::connect(config))
        .await
        .expect("client connect")
}

/// Plays the node: a plain NATS connection.
pub struct Node {
    pub nats: async_nats::Client,
    pub js: async_nats::jetstream::Context,
}

impl Node {
    pub async fn connect(server: &Nats) -> Self {
        let nats = within("node connect", async_nats::connect(server.url()))
            .await
            .expect("node connect");
        let js = async_nats::jetstream::new(nats.clone());
        Self { nats, js }
    }

    /// Reads the requests of one stream as a node does: a durable pull
    /// consumer (a core subscription could miss a request published before
    /// the server registered it).
    pub async fn requests(&self, stream: &str) -> Requests {
        let consumer: PullConsumer = within(
            "request consumer",
            self.js.create_consumer_on_stream(
                pull::Config {
                    durable_name: Some("test-node".into()),
                    ack_policy: AckPolicy::Explicit,
                    ..Default::default()
                },
                stream,
            ),
        )
        .await
        .expect("request consumer");
        Requests(consumer.messages().await.expect("request stream"))
    }

    /// Publishes a result the way a node does: through JetStream, with an
    /// idempotency key and the node's signature, waiting for the stream's ack.
    pub async fn publish_result(&self, subject: String, msg_id: &str, json: Vec<u8>) {
        let headers = signed_headers(node_identity(), &subject, msg_id, &json);
        self.publish_raw_result(subject, headers, json).await;
    }

    /// Publishes a result with exactly `headers` (forgeries).
    pub async fn publish_raw_result(&self, subject: String, headers: HeaderMap, json: Vec<u8>) {
        let ack = within(
            "publish result",
            self.js.publish_with_headers(subject, headers, json.into()),
        )
        .await
        .expect("publish result");
        within("result ack", ack).await.expect("result stored");
    }

    /// Waits until every message of the result stream has been consumed
    /// (work-queue retention deletes acked messages).
    pub async fn result_stream_drained(&self) {
        let drained = wait_until(WAIT, POLL, || async move {
            let info = self
                .js
                .get_stream(mpc::RESULT_STREAM)
                .await
                .unwrap()
                .get_info()
                .await
                .unwrap();
            info.state.messages == 0
        })
        .await;
        assert!(drained, "result stream drained timed out");
    }
}

/// Requests pulled from a request stream.
pub struct Requests(pull::Stream);

/// The next request, acked.
pub async fn next_request(requests: &mut Requests) -> async_nats::Message {
    let msg = within("request", requests.0.next())
        .await
        .expect("request stream ended")
        .expect("request");
    within("request ack", msg.ack()).await.expect("ack request");
    msg.into()
}
