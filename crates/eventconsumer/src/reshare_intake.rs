//! Where reshare requests come in: the pull loop on the `mpc-reshare` stream's
//! shared durable consumer (one request goes to one node; `reshare` serves
//! it), and the bridge from mpcium's core NATS subject `mpc:reshare`.
//!
//! The bridge: every node subscribes to `mpc:reshare` in one queue group, so
//! each publish reaches one node, which only republishes the bytes (with the
//! `ClientID` header) to `mpc.reshare_request.<session_id>` and waits for
//! JetStream's ack. `Nats-Msg-Id` is `reshare-req:<client id>:<session id>`,
//! so a client that publishes twice gets one request. Core NATS is
//! at-most-once: a node that dies between the delivery and the ack loses that
//! request (the client times out); clients that need durability publish to
//! the stream themselves (the Tessera SDK does).

use std::sync::Arc;

use futures::StreamExt;
use tessera_transport::async_nats::{self, jetstream::consumer::pull, HeaderMap};
use tessera_transport::mpc;
use tokio_util::sync::CancellationToken;

use crate::error::RequestError;
use crate::intake::{pull_each, Pull};
use crate::shared::Shared;

/// Binds the reshare stream's durable consumer.
pub(crate) async fn messages(shared: &Shared) -> Result<pull::Stream, RequestError> {
    let concurrency = shared.config.keygen_concurrency;
    crate::intake::bind(
        shared,
        mpc::RESHARE_STREAM,
        mpc::RESHARE_CONSUMER,
        concurrency,
    )
    .await
}

/// Pulls reshare requests and serves each in a tracked task (sharing the
/// keygen permits: a lifecycle session costs about what a keygen does).
pub(crate) async fn pull_loop(
    shared: Arc<Shared>,
    messages: pull::Stream,
    cancel: CancellationToken,
) {
    let pull = Pull {
        permits: shared.keygen_permits.clone(),
        pool: "coordinate_reshare",
        what: "reshare",
    };
    pull_each(
        shared,
        messages,
        pull,
        cancel,
        |task, msg, trace| async move { crate::reshare::handle(&task, msg, trace).await },
    )
    .await
}

/// Subscribes to mpcium's `mpc:reshare` in the nodes' queue group.
pub(crate) async fn subscribe(shared: &Shared) -> Result<async_nats::Subscriber, RequestError> {
    shared
        .client
        .queue_subscribe(
            mpc::MPCIUM_RESHARE_SUBJECT,
            mpc::RESHARE_QUEUE_GROUP.to_string(),
        )
        .await
        .map_err(|e| RequestError::JetStream(format!("{}: {e}", mpc::MPCIUM_RESHARE_SUBJECT)))
}

/// Carries each core NATS reshare request into the stream.
pub(crate) async fn bridge(shared: Arc<Shared>, mut requests: async_nats::Subscriber) {
    while let Some(msg) = requests.next().await {
        let client_id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(mpc::CLIENT_ID_HEADER))
            .map(|v| v.as_str().to_string())
            .filter(|c| mpc::valid_client_id(c));
        let token = session_token(&msg.payload);
        let mut headers = HeaderMap::new();
        if let Some(c) = &client_id {
            headers.insert(mpc::CLIENT_ID_HEADER, c.as_str());
        }
        if let Some(h) = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(mpc::TRACE_ID_HEADER))
        {
            headers.insert(mpc::TRACE_ID_HEADER, h.as_str());
        }
        let msg_id = format!("reshare-req:{}:{token}", client_id.as_deref().unwrap_or(""));
        headers.insert(mpc::MSG_ID_HEADER, msg_id.as_str());
        let subject = mpc::reshare_request(&token);
        let sent = shared
            .js
            .publish_with_headers(subject.clone(), headers, msg.payload.clone())
            .await;
        let acked = match sent {
            Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match acked {
            Ok(()) => {
                tracing::info!(%subject, "mpc:reshare request carried into the reshare stream")
            }
            Err(e) => {
                tracing::error!(%subject, "mpc:reshare request lost: not stored in the reshare stream: {e}")
            }
        }
    }
}

/// The request's `session_id` when it can be a subject token; otherwise a
/// digest of the bytes (the request is refused later, by its checks).
fn session_token(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("session_id")?.as_str().map(str::to_string))
        .filter(|s| tessera_types::ids::check_subject_token("session_id", s).is_ok())
        .unwrap_or_else(|| format!("sha256-{}", crate::ledger::digest(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_session_id_names_the_subject_and_anything_else_a_digest() {
        assert_eq!(session_token(br#"{"session_id":"rs-1"}"#), "rs-1");
        for bad in [&br#"{"session_id":"a.b"}"#[..], b"{}", b"not json"] {
            let t = session_token(bad);
            assert!(t.starts_with("sha256-") && !t.contains('.'), "{t}");
        }
    }
}
