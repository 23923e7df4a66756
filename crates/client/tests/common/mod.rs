//! Shared helpers: a nats-server per test, clients, and a stand-in for the
//! node side (reading requests, publishing results) with the raw NATS client.
#![allow(dead_code)]

use std::future::IntoFuture;
use std::time::Duration;

use futures::StreamExt;
use tessera_client::{Client, ClientConfig};
use tessera_security::{InitiatorKeyKind, InitiatorSigner};
use tessera_testkit::wait::{self, wait_until, POLL};
use tessera_testkit::Nats;
use tessera_transport::async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use tessera_transport::async_nats::{self, HeaderMap};
use tessera_transport::mpc;

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

pub fn config(nats: &Nats, kind: InitiatorKeyKind, client_id: Option<&str>) -> ClientConfig {
    let mut c =
        ClientConfig::new(nats.url(), InitiatorSigner::generate(kind)).with_result_timeout(WAIT);
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
    /// idempotency key, waiting for the stream's ack.
    pub async fn publish_result(&self, subject: String, msg_id: &str, json: Vec<u8>) {
        let mut headers = HeaderMap::new();
        headers.insert(mpc::MSG_ID_HEADER, msg_id);
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
