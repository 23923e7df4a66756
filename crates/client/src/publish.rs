//! Publishing one request: JetStream stores it exactly once even when the
//! connection drops or NATS restarts meanwhile.
//!
//! Each call gets a fresh random `Nats-Msg-Id`; retries of that call reuse it,
//! so JetStream's duplicate window drops a copy whose first ack was lost. A new
//! call (the application asking again) gets a new id and is a new message,
//! which the nodes answer from their stored result.

use std::time::Duration;

use backon::Retryable;
use tessera_transport::async_nats::jetstream::context::{PublishError, PublishErrorKind};
use tessera_transport::async_nats::jetstream::Context;
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::backoff;
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

/// Publishes `payload` to `subject` until JetStream acks it or `within` has
/// passed: pauses from [`BACKOFF_MIN`] to [`BACKOFF_MAX`] ([`backoff::jittered`]),
/// and no attempt whose pause would end at or after the deadline.
pub(crate) async fn publish(
    js: &Context,
    subject: &str,
    client_id: Option<&str>,
    payload: Vec<u8>,
    within: Duration,
) -> Result<(), ClientError> {
    let msg_id = new_msg_id();
    let deadline = Instant::now() + within;
    let payload = &payload;
    let attempt = || {
        let mut headers = HeaderMap::new();
        if let Some(cid) = client_id {
            headers.insert(mpc::CLIENT_ID_HEADER, cid);
        }
        headers.insert(mpc::MSG_ID_HEADER, msg_id.as_str());
        async move {
            js.publish_with_headers(subject.to_string(), headers, payload.clone().into())
                .await?
                .await
        }
    };
    attempt
        .retry(backoff::jittered(BACKOFF_MIN, BACKOFF_MAX))
        .when(retryable)
        .adjust(|_, pause| before(deadline, pause))
        .notify(|err, _| tracing::debug!(%subject, "publish failed, retrying: {err}"))
        .await
        .map(drop)
        .map_err(|err| ClientError::Publish {
            subject: subject.to_string(),
            reason: err.to_string(),
        })
}

/// The result stream's last sequence: a request published after this call
/// is answered by a result with a greater sequence (see `routing`). Retries
/// like [`publish`] for up to `within`.
pub(crate) async fn result_stream_position(
    js: &Context,
    within: Duration,
) -> Result<u64, ClientError> {
    let deadline = Instant::now() + within;
    let attempt = || async move {
        let stream = js.get_stream(mpc::RESULT_STREAM).await?;
        Ok::<u64, tessera_transport::async_nats::jetstream::context::GetStreamError>(
            stream.cached_info().state.last_sequence,
        )
    };
    attempt
        .retry(backoff::jittered(BACKOFF_MIN, BACKOFF_MAX))
        .adjust(|_, pause| before(deadline, pause))
        .notify(|err, _| tracing::debug!("result stream lookup failed, retrying: {err}"))
        .await
        .map_err(|err| ClientError::ResultStream {
            reason: err.to_string(),
        })
}

/// `pause`, if it ends before `deadline` (for backon's `adjust`: `None` stops
/// retrying with the last error).
pub(crate) fn before(deadline: Instant, pause: Option<Duration>) -> Option<Duration> {
    pause.filter(|p| Instant::now() + *p < deadline)
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
    fn no_pause_ends_at_or_after_the_deadline() {
        let hour = Duration::from_secs(3600);
        let deadline = Instant::now() + hour;
        assert_eq!(before(deadline, Some(hour / 2)), Some(hour / 2));
        assert_eq!(before(deadline, Some(hour)), None);
        assert_eq!(before(deadline, None), None);
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
