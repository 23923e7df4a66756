//! Publishing raw requests and reading the result stream the way an mpcium
//! client does: JetStream publish (with an optional `ClientID` header) and a
//! durable pull consumer per result kind, named and filtered as mpcium names them.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use tessera_transport::async_nats::jetstream::{self, consumer::pull};
use tessera_transport::async_nats::{self, HeaderMap};
use tessera_transport::mpc;
use tessera_types::wire::{KeygenResultEvent, SigningResultEvent};

/// A raw JetStream client with an optional `ClientID`.
pub struct RawClient {
    js: jetstream::Context,
    client_id: Option<String>,
    keygen: pull::Stream,
    signing: pull::Stream,
    /// Subjects a publish to was refused at least once (NATS down, say).
    refused: Mutex<HashSet<String>>,
}

impl RawClient {
    /// Connects, and creates (or reuses) this client's two result consumers.
    pub async fn connect(nats_url: &str, client_id: Option<&str>) -> Self {
        Self::connect_with(&tessera_transport::NatsAccess::new(nats_url), client_id).await
    }

    /// [`RawClient::connect`] with a credential and TLS (a locked cluster's client).
    pub async fn connect_with(
        access: &tessera_transport::NatsAccess,
        client_id: Option<&str>,
    ) -> Self {
        let options = access
            .apply(async_nats::ConnectOptions::new())
            .expect("client credential files");
        let nc = options
            .connect(access.addrs().expect("nats urls"))
            .await
            .expect("nats connects");
        let js = jetstream::new(nc);
        mpc::ensure_streams(&js, &mpc::StreamSettings::default())
            .await
            .expect("streams exist");
        let keygen = consumer(
            &js,
            mpc::keygen_result_consumer(client_id),
            mpc::keygen_result(client_id, "*"),
        )
        .await;
        let signing = consumer(
            &js,
            mpc::signing_result_consumer(client_id),
            mpc::signing_result(client_id),
        )
        .await;
        Self {
            js,
            client_id: client_id.map(str::to_string),
            keygen,
            signing,
            refused: Mutex::default(),
        }
    }

    /// How many subjects a publish was refused on at least once.
    pub fn refused_subjects(&self) -> usize {
        self.refused.lock().unwrap().len()
    }

    /// How long ago the newest message of request stream `stream` was stored,
    /// by JetStream's own timestamp (what a node measures a request's age by).
    pub async fn newest_request_age(&self, stream: &str) -> Duration {
        let info = self
            .js
            .get_stream(stream)
            .await
            .expect("request stream")
            .get_info()
            .await
            .expect("request stream info");
        let stored = info.state.last_timestamp.unix_timestamp_nanos();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        Duration::from_nanos((now - stored).max(0) as u64)
    }

    /// Publishes until JetStream acks (retrying through a NATS outage for up
    /// to a minute); one random `Nats-Msg-Id` per call, so it is stored once.
    async fn publish(&self, subject: String, json: Vec<u8>) {
        self.publish_with(subject, json, None).await
    }

    /// [`Self::publish`] with a `Tessera-Trace-Id` header when `trace` is given.
    async fn publish_with(&self, subject: String, json: Vec<u8>, trace: Option<&str>) {
        let msg_id = format!("{:032x}", rand::random::<u128>());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let mut headers = HeaderMap::new();
            if let Some(id) = &self.client_id {
                headers.insert(mpc::CLIENT_ID_HEADER, id.as_str());
            }
            headers.insert(mpc::MSG_ID_HEADER, msg_id.as_str());
            if let Some(t) = trace {
                headers.insert(mpc::TRACE_ID_HEADER, t);
            }
            let attempt = async {
                self.js
                    .publish_with_headers(subject.clone(), headers, json.clone().into())
                    .await?
                    .await
            };
            match attempt.await {
                Ok(_) => return,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    self.refused.lock().unwrap().insert(subject.clone());
                    note_retry(&subject, &e);
                    // Back-off between retries, not a wait for an event.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("JetStream did not store {subject}: {e}"),
            }
        }
    }

    pub async fn publish_keygen(&self, wallet: &str, json: Vec<u8>) {
        self.publish(mpc::keygen_request(wallet), json).await;
    }

    pub async fn publish_sign(&self, tx_id: &str, json: Vec<u8>) {
        self.publish(mpc::signing_request(tx_id), json).await;
    }

    /// A signing request with the client's own trace id.
    pub async fn publish_sign_traced(&self, tx_id: &str, json: Vec<u8>, trace: &str) {
        self.publish_with(mpc::signing_request(tx_id), json, Some(trace))
            .await;
    }

    /// The next keygen result on this client's consumer, acked.
    pub async fn next_keygen(&mut self, within: Duration) -> Option<KeygenResultEvent> {
        let m = tokio::time::timeout(within, self.keygen.next())
            .await
            .ok()??;
        let m = m.expect("result message");
        m.ack().await.expect("ack");
        Some(KeygenResultEvent::from_json(&m.payload).expect("keygen result decodes"))
    }

    /// The next signing result on this client's consumer, acked, with its headers.
    pub async fn next_signing_with_headers(
        &mut self,
        within: Duration,
    ) -> Option<(HeaderMap, SigningResultEvent)> {
        let m = tokio::time::timeout(within, self.signing.next())
            .await
            .ok()??;
        let m = m.expect("result message");
        m.ack().await.expect("ack");
        let ev = SigningResultEvent::from_json(&m.payload).expect("signing result decodes");
        Some((m.headers.clone().unwrap_or_default(), ev))
    }

    /// The next signing result on this client's consumer, acked.
    pub async fn next_signing(&mut self, within: Duration) -> Option<SigningResultEvent> {
        let m = tokio::time::timeout(within, self.signing.next())
            .await
            .ok()??;
        let m = m.expect("result message");
        m.ack().await.expect("ack");
        Some(SigningResultEvent::from_json(&m.payload).expect("signing result decodes"))
    }

    /// The next signing result with its stream sequence (one per published
    /// result, however often it is delivered). Pull errors of a NATS cluster
    /// electing a leader are skipped; an ack lost the same way means the
    /// result is delivered again, with the same sequence.
    pub async fn next_signing_seq(
        &mut self,
        within: Duration,
    ) -> Option<(u64, SigningResultEvent)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = tokio::time::timeout_at(deadline, self.signing.next())
                .await
                .ok()??;
            let Ok(m) = m else { continue };
            let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
            let _ = m.ack().await;
            return Some((
                seq,
                SigningResultEvent::from_json(&m.payload).expect("signing result decodes"),
            ));
        }
    }
}

fn note_retry(subject: &str, e: &dyn std::fmt::Display) {
    eprintln!("publish to {subject} failed, retrying: {e}");
}

async fn consumer(js: &jetstream::Context, name: String, filter: String) -> pull::Stream {
    js.create_consumer_on_stream(
        pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: filter,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        },
        mpc::RESULT_STREAM,
    )
    .await
    .expect("result consumer")
    .messages()
    .await
    .expect("result messages")
}
