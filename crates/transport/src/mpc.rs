//! mpcium's client interface on JetStream: stream names, request and result
//! subjects, durable consumer names, and creating the streams. Clients and nodes
//! both use this module, so the two sides cannot disagree on a name.
//!
//! Clients may create these streams first, with their own settings (the
//! TypeScript client does). A stream that already exists is used as it is,
//! whatever its settings (a warning names the differences); only a missing
//! one is created, with ours ([`StreamSettings`]).

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::TransportError;

/// Keygen requests: `mpc.keygen_request.<wallet_id>`.
pub const KEYGEN_STREAM: &str = "mpc-keygen";
pub const KEYGEN_REQUESTS: &str = "mpc.keygen_request.*";
/// Signing requests: `mpc.signing_request.<tx_id>`.
pub const SIGNING_STREAM: &str = "mpc-signing";
pub const SIGNING_REQUESTS: &str = "mpc.signing_request.*";
/// Reshare requests: `mpc.reshare_request.<session_id>` (Tessera's durable
/// entry; mpcium's clients publish on core NATS [`MPCIUM_RESHARE_SUBJECT`]).
pub const RESHARE_STREAM: &str = "mpc-reshare";
pub const RESHARE_REQUESTS: &str = "mpc.reshare_request.*";
/// mpcium's reshare request subject: core NATS, no JetStream. Nodes subscribe
/// in the queue group [`RESHARE_QUEUE_GROUP`] (one node receives each request)
/// and republish it to [`reshare_request`].
pub const MPCIUM_RESHARE_SUBJECT: &str = "mpc:reshare";
/// The nodes' queue group on [`MPCIUM_RESHARE_SUBJECT`].
pub const RESHARE_QUEUE_GROUP: &str = "tessera_reshare";
/// Results of all three operations.
pub const RESULT_STREAM: &str = "mpc";
pub const RESULT_SUBJECTS: [&str; 3] = [
    "mpc.mpc_keygen_result.>",
    "mpc.mpc_signing_result.>",
    "mpc.mpc_reshare_result.>",
];
/// Optional request header naming the client whose result subjects to use.
pub const CLIENT_ID_HEADER: &str = "ClientID";
/// JetStream's idempotency header: results are published once per request.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// The node that published a result event (its node id).
pub const RESULT_NODE_HEADER: &str = "Tessera-Node";
/// That node's Ed25519 signature over the result (128 lowercase hex digits):
/// `tessera_security::statement` with `Domain::Result` and the parts
/// subject, `Nats-Msg-Id`, payload.
pub const RESULT_SIGNATURE_HEADER: &str = "Tessera-Signature";
/// The request's trace id (`tessera_types::trace`): optional on a request (the
/// node makes one when it is absent or invalid), always on a result. Not signed:
/// it only ties log and audit lines together.
pub const TRACE_ID_HEADER: &str = "Tessera-Trace-Id";
/// How long the result stream remembers message ids (our streams only).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Durable consumers the nodes share (one request goes to one node).
pub const KEYGEN_CONSUMER: &str = "mpc_keygen_request";
pub const SIGNING_CONSUMER: &str = "mpc_signing_request";
pub const RESHARE_CONSUMER: &str = "mpc_reshare_request";

pub fn keygen_request(wallet_id: &str) -> String {
    format!("mpc.keygen_request.{wallet_id}")
}

pub fn signing_request(tx_id: &str) -> String {
    format!("mpc.signing_request.{tx_id}")
}

/// `mpc.reshare_request.<session_id>`
pub fn reshare_request(session_id: &str) -> String {
    format!("mpc.reshare_request.{session_id}")
}

fn scoped(base: &str, client_id: Option<&str>) -> String {
    match client_id {
        Some(c) => format!("{base}.{c}"),
        None => base.to_string(),
    }
}

/// `mpc.mpc_keygen_result[.<client_id>].<wallet_id>`
pub fn keygen_result(client_id: Option<&str>, wallet_id: &str) -> String {
    format!("{}.{wallet_id}", scoped("mpc.mpc_keygen_result", client_id))
}

/// `mpc.mpc_signing_result[.<client_id>].complete`
pub fn signing_result(client_id: Option<&str>) -> String {
    format!("{}.complete", scoped("mpc.mpc_signing_result", client_id))
}

/// `mpc.mpc_reshare_result[.<client_id>].<session_id>`
pub fn reshare_result(client_id: Option<&str>, session_id: &str) -> String {
    format!(
        "{}.{session_id}",
        scoped("mpc.mpc_reshare_result", client_id)
    )
}

/// Error results of requests whose initiator signature did not verify (their
/// ids could be anyone's): no client subject has this shape (keygen result
/// subjects have one or two tokens after the prefix, signing ones end in
/// `complete`), so no waiter receives them; operators can watch them.
pub const UNVERIFIED_KEYGEN_RESULT: &str = "mpc.mpc_keygen_result.unverified.request.refused";
pub const UNVERIFIED_SIGNING_RESULT: &str = "mpc.mpc_signing_result.unverified.refused";
/// As above for reshare requests. Reshare result subjects have one or two
/// tokens after the prefix (`<session_id>` or `<client_id>.<session_id>`; ids
/// hold no `.`), so this one has three: `unverified.refused` alone would be
/// the result subject of client `unverified`, session `refused`.
pub const UNVERIFIED_RESHARE_RESULT: &str = "mpc.mpc_reshare_result.unverified.request.refused";

/// The durable consumer a client reads its keygen results from.
pub fn keygen_result_consumer(client_id: Option<&str>) -> String {
    consumer("mpc_keygen_result", client_id)
}

/// The durable consumer a client reads its signing results from.
pub fn signing_result_consumer(client_id: Option<&str>) -> String {
    consumer("mpc_signing_result", client_id)
}

/// The durable consumer a client reads its reshare results from.
pub fn reshare_result_consumer(client_id: Option<&str>) -> String {
    consumer("mpc_reshare_result", client_id)
}

/// As mpcium's Go client names them: `-`, `:`, `.` and spaces in the
/// ClientID become `_` (the result subjects keep the ClientID as it is).
fn consumer(base: &str, client_id: Option<&str>) -> String {
    match client_id {
        Some(c) => {
            let c: String = c
                .chars()
                .map(|ch| {
                    if matches!(ch, '-' | ':' | '.' | ' ') {
                        '_'
                    } else {
                        ch
                    }
                })
                .collect();
            format!("{base}_{c}")
        }
        None => base.to_string(),
    }
}

/// `true` when `id` can be a `ClientID`: one subject token.
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>'))
}

/// Limits and replication of the streams and buckets Tessera creates. The
/// defaults are mpcium's (request streams: limits retention, 7 days, 100 MB),
/// with one replica; a NATS cluster should use 3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSettings {
    /// Replicas of every stream and KV bucket (1 to 5; at most the cluster's servers).
    pub replicas: usize,
    /// How long a request stays in its stream. Requests are kept after they
    /// are acked (limits retention, as mpcium's nodes create these streams).
    pub request_max_age: Duration,
    /// Size cap of each request stream; the oldest requests go first.
    pub request_max_bytes: i64,
    /// Size cap of the result stream.
    pub result_max_bytes: i64,
    /// How long the request ledger remembers a request: a repeat within this
    /// time is answered from the ledger.
    pub ledger_max_age: Duration,
    /// Size cap of the request ledger bucket.
    pub ledger_max_bytes: i64,
    /// Size cap of the tenant key bucket (entries live [`TENANT_KEY_MAX_AGE`]).
    pub tenant_keys_max_bytes: i64,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            request_max_age: REQUEST_MAX_AGE,
            request_max_bytes: REQUEST_MAX_BYTES,
            result_max_bytes: REQUEST_MAX_BYTES,
            ledger_max_age: REQUEST_MAX_AGE,
            ledger_max_bytes: 256 * 1024 * 1024,
            tenant_keys_max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// mpcium's request stream age limit (its Go client sets the same).
pub const REQUEST_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// mpcium's request stream size limit.
pub const REQUEST_MAX_BYTES: i64 = 100_000_000;

impl StreamSettings {
    /// The four streams: request streams as mpcium's nodes create them, so
    /// mpcium's Go client's `CreateOrUpdateStream` with its own settings
    /// succeeds (the reshare request stream, Tessera's own, has the same
    /// settings as the signing one); the result stream with work-queue retention and a long
    /// duplicate window (results are published once per request).
    pub fn stream_configs(&self) -> [stream::Config; 4] {
        let request = |name: &str, subject: &str| stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            max_age: self.request_max_age,
            max_bytes: self.request_max_bytes,
            num_replicas: self.replicas,
            ..Default::default()
        };
        [
            request(KEYGEN_STREAM, KEYGEN_REQUESTS),
            request(SIGNING_STREAM, SIGNING_REQUESTS),
            request(RESHARE_STREAM, RESHARE_REQUESTS),
            stream::Config {
                name: RESULT_STREAM.to_string(),
                subjects: RESULT_SUBJECTS.iter().map(|s| s.to_string()).collect(),
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                max_bytes: self.result_max_bytes,
                duplicate_window: DUPLICATE_WINDOW,
                num_replicas: self.replicas,
                ..Default::default()
            },
        ]
    }

    /// Checks the settings an operator can get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.replicas) {
            return Err("replicas must be between 1 and 5".into());
        }
        let sizes = [
            self.request_max_bytes,
            self.result_max_bytes,
            self.ledger_max_bytes,
            self.tenant_keys_max_bytes,
        ];
        if sizes.iter().any(|b| *b <= 0) {
            return Err("size caps must be positive".into());
        }
        if self.request_max_age.is_zero() || self.ledger_max_age.is_zero() {
            return Err("ages must be positive".into());
        }
        Ok(())
    }
}

/// Makes sure the four streams exist. Existing ones are used as they are
/// (clients may create them first, with their own settings), with one
/// warning line naming what differs from ours.
/// Safe to call from several nodes and clients at once.
pub async fn ensure_streams(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<(), TransportError> {
    for config in settings.stream_configs() {
        let name = config.name.clone();
        let mut last = None;
        // Two creators racing: the loser's create fails, its next lookup finds the stream.
        for _ in 0..3 {
            match js.get_or_create_stream(config.clone()).await {
                Ok(stream) => {
                    last = None;
                    // The lookup's answer already holds the settings: no second round trip.
                    warn_if_different(&config, &stream.cached_info().config);
                    break;
                }
                Err(e) => last = Some(e.to_string()),
            }
        }
        if let Some(reason) = last {
            return Err(TransportError::Stream { name, reason });
        }
    }
    Ok(())
}

/// The settings of `actual` that differ from `wanted`, as `name: ours -> theirs`.
pub fn differences(wanted: &stream::Config, actual: &stream::Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            out.push(format!("{what} {theirs} (ours: {ours})"));
        }
    };
    cmp(
        "retention",
        format!("{:?}", wanted.retention),
        format!("{:?}", actual.retention),
    );
    cmp(
        "max_age",
        format!("{:?}", wanted.max_age),
        format!("{:?}", actual.max_age),
    );
    cmp(
        "max_bytes",
        wanted.max_bytes.to_string(),
        actual.max_bytes.to_string(),
    );
    cmp(
        "replicas",
        wanted.num_replicas.max(1).to_string(),
        actual.num_replicas.max(1).to_string(),
    );
    out
}

fn warn_if_different(wanted: &stream::Config, actual: &stream::Config) {
    let diff = differences(wanted, actual);
    if !diff.is_empty() {
        tracing::warn!(
            stream = %wanted.name,
            "existing stream has other settings; used as it is: {}",
            diff.join(", ")
        );
    }
}

/// Opens a KV bucket, creating it with `config` if missing (several callers may race).
pub async fn key_value(
    js: &jetstream::Context,
    config: jetstream::kv::Config,
) -> Result<jetstream::kv::Store, TransportError> {
    let mut last = String::new();
    for _ in 0..3 {
        if let Ok(store) = js.get_key_value(&config.bucket).await {
            return Ok(store);
        }
        match js.create_key_value(config.clone()).await {
            Ok(store) => return Ok(store),
            Err(e) => last = e.to_string(),
        }
    }
    Err(TransportError::Stream {
        name: config.bucket,
        reason: last,
    })
}

/// The JetStream KV bucket where clients register tenant (device) keys per
/// session id (`TenantKeyRegistration` JSON). Entries expire after
/// [`TENANT_KEY_MAX_AGE`]; nodes check each entry's initiator signature.
pub const TENANT_KEYS_BUCKET: &str = "mpc-tenant-keys";

/// How long a tenant key registration stays in the bucket.
pub const TENANT_KEY_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The bucket key of `player`'s registration for `session_id`: both hex-encoded
/// (ids may hold characters KV keys do not allow), joined by `.`.
pub fn tenant_key_entry(session_id: &str, player: &str) -> String {
    format!("{}.{}", hex::encode(session_id), hex::encode(player))
}

/// Opens the tenant key bucket, creating it if needed (several callers may race).
pub async fn tenant_keys(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<jetstream::kv::Store, TransportError> {
    key_value(
        js,
        jetstream::kv::Config {
            bucket: TENANT_KEYS_BUCKET.to_string(),
            history: 1,
            max_age: TENANT_KEY_MAX_AGE,
            max_bytes: settings.tenant_keys_max_bytes,
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            ..Default::default()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_streams_are_created_as_mpcium_creates_them() {
        let settings = StreamSettings::default();
        let [keygen, signing, reshare, results] = settings.stream_configs();
        assert_eq!(reshare.name, RESHARE_STREAM);
        assert_eq!(reshare.subjects, vec![RESHARE_REQUESTS.to_string()]);
        assert!(differences(&signing, &reshare).is_empty());
        for c in [&keygen, &signing, &reshare] {
            assert_eq!(c.retention, stream::RetentionPolicy::Limits);
            assert_eq!(c.max_age, Duration::from_secs(7 * 24 * 3600));
            assert_eq!(c.max_bytes, 100_000_000);
            assert_eq!(c.storage, stream::StorageType::File);
        }
        assert_eq!(results.retention, stream::RetentionPolicy::WorkQueue);
        let mut other = keygen.clone();
        other.retention = stream::RetentionPolicy::WorkQueue;
        other.num_replicas = 3;
        let diff = differences(&keygen, &other);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].starts_with("retention WorkQueue"), "{diff:?}");
        assert!(differences(&keygen, &keygen).is_empty());
        assert!(settings.validate().is_ok());
        let bad = StreamSettings {
            replicas: 0,
            ..settings
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn subjects_and_consumers_follow_mpcium() {
        assert_eq!(keygen_request("w1"), "mpc.keygen_request.w1");
        assert_eq!(signing_request("t1"), "mpc.signing_request.t1");
        assert_eq!(keygen_result(None, "w1"), "mpc.mpc_keygen_result.w1");
        assert_eq!(
            keygen_result(Some("c1"), "w1"),
            "mpc.mpc_keygen_result.c1.w1"
        );
        assert_eq!(signing_result(None), "mpc.mpc_signing_result.complete");
        assert_eq!(
            signing_result(Some("c1")),
            "mpc.mpc_signing_result.c1.complete"
        );
        assert_eq!(reshare_result(Some("c"), "s"), "mpc.mpc_reshare_result.c.s");
        assert_eq!(keygen_result_consumer(None), "mpc_keygen_result");
        assert_eq!(signing_result_consumer(Some("c1")), "mpc_signing_result_c1");
        assert_eq!(
            keygen_result_consumer(Some("app-1:eu")),
            "mpc_keygen_result_app_1_eu"
        );
        assert_eq!(
            signing_result(Some("app-1")),
            "mpc.mpc_signing_result.app-1.complete"
        );
        assert_eq!(reshare_request("s1"), "mpc.reshare_request.s1");
        assert_eq!(reshare_result(None, "s1"), "mpc.mpc_reshare_result.s1");
        assert_eq!(reshare_result_consumer(None), "mpc_reshare_result");
        assert_eq!(
            reshare_result_consumer(Some("app-1:eu")),
            "mpc_reshare_result_app_1_eu"
        );
        assert_eq!(RESHARE_CONSUMER, "mpc_reshare_request");
        assert_eq!(MPCIUM_RESHARE_SUBJECT, "mpc:reshare");
        // No client's reshare result subject (one or two tokens after the
        // prefix) is the unverified one.
        let prefix = "mpc.mpc_reshare_result.";
        let tail = UNVERIFIED_RESHARE_RESULT.strip_prefix(prefix).unwrap();
        assert_eq!(tail.split('.').count(), 3);
        assert_ne!(
            reshare_result(Some("unverified"), "refused"),
            UNVERIFIED_RESHARE_RESULT
        );
        assert!(valid_client_id("client-1"));
        for bad in ["", "a.b", "a*", ">", "a b"] {
            assert!(!valid_client_id(bad), "{bad}");
        }
    }
}
