//! Publishing one request: JetStream stores it exactly once even when the
//! connection drops or NATS restarts meanwhile.
//!
//! Each call gets a fresh random `Nats-Msg-Id`; retries of that call reuse it,
//! so JetStream's duplicate window drops a copy whose first ack was lost. A new
//! call (the application asking again) gets a new id and is a new message,
//! which the nodes answer from their stored result.

use std::time::Duration;

use tessera_transport::async_nats::jetstream::context::{PublishError, PublishErrorKind};
use tessera_transport::async_nats::jetstream::Context;
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tokio::time::Instant;

use crate::ClientError;

pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A random message id: 16 bytes, hex.
pub(crate) fn new_msg_id() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// Whether another attempt can succeed: not for a message the server can
/// never take, or a failed expectation.
fn retryable(e: &PublishError) -> bool {
    !matches!(
        e.kind(),
        PublishErrorKind::MaxPayloadExceeded
            | PublishErrorKind::WrongLastMessageId
            | PublishErrorKind::WrongLastSequence
    )
}

/// Publishes `payload` to `subject` until JetStream acks it or `within` has passed.
pub(crate) async fn publish(
    js: &Context,
    subject: &str,
    client_id: Option<&str>,
    payload: Vec<u8>,
    within: Duration,
) -> Result<(), ClientError> {
    let msg_id = new_msg_id();
    let deadline = Instant::now() + within;
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut headers = HeaderMap::new();
        if let Some(cid) = client_id {
            headers.insert(mpc::CLIENT_ID_HEADER, cid);
        }
        headers.insert(mpc::MSG_ID_HEADER, msg_id.as_str());
        let attempt = async {
            js.publish_with_headers(subject.to_string(), headers, payload.clone().into())
                .await?
                .await
        };
        let err = match attempt.await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if !retryable(&err) || Instant::now() + backoff >= deadline {
            return Err(ClientError::Publish {
                subject: subject.to_string(),
                reason: err.to_string(),
            });
        }
        tracing::debug!(%subject, "publish failed, retrying: {err}");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_fresh_per_call() {
        let (a, b) = (new_msg_id(), new_msg_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn only_errors_that_can_pass_are_retried() {
        let e = |k| PublishError::new(k);
        assert!(retryable(&e(PublishErrorKind::TimedOut)));
        assert!(retryable(&e(PublishErrorKind::BrokenPipe)));
        assert!(retryable(&e(PublishErrorKind::StreamNotFound)));
        assert!(!retryable(&e(PublishErrorKind::MaxPayloadExceeded)));
    }
}
