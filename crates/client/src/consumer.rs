//! The durable result consumers, and which results belong to this client.
//!
//! Names and filters are mpcium's client's, so a Tessera client and an mpcium
//! client with the same `ClientID` share one consumer instead of fighting over
//! its settings:
//!
//! | result  | consumer                          | filter                                  |
//! |---------|-----------------------------------|-----------------------------------------|
//! | keygen  | `mpc_keygen_result[_<cid>]`       | `mpc.mpc_keygen_result[.<cid>].*`       |
//! | signing | `mpc_signing_result[_<cid>]`      | `mpc.mpc_signing_result[.<cid>].complete` |
//!
//! The keygen filter ends in `*`, not `>`: without a client id, `>` would also
//! match every other client's scoped results (`mpc.mpc_keygen_result.<cid>.<w>`),
//! and on a work-queue stream the server refuses two consumers whose filters
//! overlap. The price: a wallet id must be one subject token (no `.`), which
//! the SDK checks before publishing. (Wallet ids may contain `.` in
//! `tessera_types`; such a keygen result lands on a subject no client filter
//! matches, with mpcium as with Tessera.)

use std::time::Duration;

use tessera_transport::async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use tessera_transport::async_nats::jetstream::Context;
use tessera_transport::mpc;
use tessera_types::{KeygenResultEvent, ResharingResultEvent, SigningResultEvent, WireError};

use crate::ClientError;

/// mpcium's consumer settings (`pkg/messaging/message_queue.go`).
const ACK_WAIT: Duration = Duration::from_secs(30);
const MAX_DELIVER: i64 = 3;
const MAX_ACK_PENDING: i64 = 1000;

/// One durable consumer on the result stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResultConsumer {
    pub name: String,
    pub filter: String,
}

impl ResultConsumer {
    pub fn keygen(client_id: Option<&str>) -> Self {
        Self {
            name: mpc::keygen_result_consumer(client_id),
            filter: mpc::keygen_result(client_id, "*"),
        }
    }

    pub fn signing(client_id: Option<&str>) -> Self {
        Self {
            name: mpc::signing_result_consumer(client_id),
            filter: mpc::signing_result(client_id),
        }
    }

    pub fn reshare(client_id: Option<&str>) -> Self {
        Self {
            name: mpc::reshare_result_consumer(client_id),
            filter: mpc::reshare_result(client_id, "*"),
        }
    }

    fn config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(self.name.clone()),
            name: Some(self.name.clone()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: MAX_DELIVER,
            max_ack_pending: MAX_ACK_PENDING,
            filter_subjects: vec![self.filter.clone()],
            ..Default::default()
        }
    }

    /// Creates the consumer, or updates an existing one to our settings.
    pub async fn ensure(&self, js: &Context) -> Result<PullConsumer, ClientError> {
        js.create_consumer_on_stream(self.config(), mpc::RESULT_STREAM)
            .await
            .map_err(|e| ClientError::Consumer {
                name: self.name.clone(),
                reason: e.to_string(),
            })
    }
}

/// A result event the pump can decode and route.
pub(crate) trait ResultEvent: Clone + Send + 'static {
    /// For errors and logs: `"keygen"`, `"signing"` or `"reshare"`.
    const KIND: &'static str;

    fn decode(payload: &[u8]) -> Result<Self, WireError>;

    /// The id waiters wait on, or `None` when the event on `subject` is not
    /// this client's (it is then acked and dropped).
    fn route(&self, subject: &str, client_id: Option<&str>) -> Option<String>;
}

impl ResultEvent for KeygenResultEvent {
    const KIND: &'static str = "keygen";

    fn decode(payload: &[u8]) -> Result<Self, WireError> {
        KeygenResultEvent::from_json(payload)
    }

    /// The subject must be `<prefix>.<one token>`; the id is the event's
    /// `wallet_id`, or that token when the event leaves it empty.
    fn route(&self, subject: &str, client_id: Option<&str>) -> Option<String> {
        let prefix = mpc::keygen_result(client_id, "");
        let token = subject.strip_prefix(&prefix)?;
        if token.is_empty() || token.contains('.') {
            return None;
        }
        if self.wallet_id.is_empty() {
            Some(token.to_string())
        } else {
            Some(self.wallet_id.clone())
        }
    }
}

impl ResultEvent for SigningResultEvent {
    const KIND: &'static str = "signing";

    fn decode(payload: &[u8]) -> Result<Self, WireError> {
        SigningResultEvent::from_json(payload)
    }

    fn route(&self, subject: &str, client_id: Option<&str>) -> Option<String> {
        (subject == mpc::signing_result(client_id) && !self.tx_id.is_empty())
            .then(|| self.tx_id.clone())
    }
}

impl ResultEvent for ResharingResultEvent {
    const KIND: &'static str = "reshare";

    fn decode(payload: &[u8]) -> Result<Self, WireError> {
        ResharingResultEvent::from_json(payload)
    }

    /// The subject must be `<prefix>.<one token>`: the session id (the event
    /// does not carry it).
    fn route(&self, subject: &str, client_id: Option<&str>) -> Option<String> {
        let prefix = mpc::reshare_result(client_id, "");
        let token = subject.strip_prefix(&prefix)?;
        (!token.is_empty() && !token.contains('.')).then(|| token.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_types::{ErrorCode, SigningIds};

    #[test]
    fn names_and_filters_follow_mpcium() {
        let k = ResultConsumer::keygen(None);
        assert_eq!(k.name, "mpc_keygen_result");
        assert_eq!(k.filter, "mpc.mpc_keygen_result.*");
        let k = ResultConsumer::keygen(Some("app"));
        assert_eq!(k.name, "mpc_keygen_result_app");
        assert_eq!(k.filter, "mpc.mpc_keygen_result.app.*");
        let s = ResultConsumer::signing(Some("app"));
        assert_eq!(s.name, "mpc_signing_result_app");
        assert_eq!(s.filter, "mpc.mpc_signing_result.app.complete");
        assert_eq!(
            ResultConsumer::signing(None).filter,
            "mpc.mpc_signing_result.complete"
        );
    }

    #[test]
    fn keygen_results_route_by_wallet_on_our_subjects_only() {
        let ev = KeygenResultEvent::error("w1", ErrorCode::Unknown, "x");
        assert_eq!(
            ev.route("mpc.mpc_keygen_result.w1", None).as_deref(),
            Some("w1")
        );
        assert_eq!(
            ev.route("mpc.mpc_keygen_result.app.w1", Some("app"))
                .as_deref(),
            Some("w1")
        );
        // Another client's scoped result is not ours, nor is a deeper subject.
        assert_eq!(ev.route("mpc.mpc_keygen_result.app.w1", None), None);
        assert_eq!(ev.route("mpc.mpc_keygen_result.w1", Some("app")), None);
        let unnamed = KeygenResultEvent::error("", ErrorCode::Unknown, "x");
        assert_eq!(
            unnamed.route("mpc.mpc_keygen_result.w9", None).as_deref(),
            Some("w9")
        );
    }

    #[test]
    fn reshare_results_route_by_session_id_on_our_subjects_only() {
        let r = ResultConsumer::reshare(Some("app-1"));
        assert_eq!(r.name, "mpc_reshare_result_app_1");
        assert_eq!(r.filter, "mpc.mpc_reshare_result.app-1.*");
        assert_eq!(
            ResultConsumer::reshare(None).filter,
            "mpc.mpc_reshare_result.*"
        );
        let ev = ResharingResultEvent::error(
            "w1",
            tessera_types::Threshold(1),
            tessera_types::KeyType::Ed25519,
            ErrorCode::Unknown,
            "x",
        );
        assert_eq!(
            ev.route("mpc.mpc_reshare_result.s1", None).as_deref(),
            Some("s1")
        );
        assert_eq!(
            ev.route("mpc.mpc_reshare_result.app.s1", Some("app"))
                .as_deref(),
            Some("s1")
        );
        assert_eq!(ev.route("mpc.mpc_reshare_result.app.s1", None), None);
        assert_eq!(ev.route("mpc.mpc_reshare_result.s1", Some("app")), None);
        assert_eq!(ev.route(mpc::UNVERIFIED_RESHARE_RESULT, None), None);
        assert_eq!(
            ev.route(mpc::UNVERIFIED_RESHARE_RESULT, Some("unverified")),
            None
        );
    }

    #[test]
    fn signing_results_route_by_tx_id() {
        let ids = SigningIds {
            tx_id: "t1".into(),
            ..Default::default()
        };
        let ev = SigningResultEvent::error(ids, ErrorCode::Unknown, "x");
        assert_eq!(
            ev.route("mpc.mpc_signing_result.complete", None).as_deref(),
            Some("t1")
        );
        assert_eq!(ev.route("mpc.mpc_signing_result.c.complete", None), None);
        let no_tx = SigningResultEvent::error(SigningIds::default(), ErrorCode::Unknown, "x");
        assert_eq!(no_tx.route("mpc.mpc_signing_result.complete", None), None);
    }
}
