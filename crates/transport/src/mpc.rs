//! mpcium's client interface on JetStream: stream names, request and result
//! subjects, durable consumer names, and creating the streams. Clients and nodes
//! both use this module, so the two sides cannot disagree on a name.
//!
//! Clients may create these streams first, with their own settings (the
//! TypeScript client does). A stream that already exists is used as it is,
//! whatever its settings; only a missing one is created, with ours.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::TransportError;

/// Keygen requests: `mpc.keygen_request.<wallet_id>`.
pub const KEYGEN_STREAM: &str = "mpc-keygen";
pub const KEYGEN_REQUESTS: &str = "mpc.keygen_request.*";
/// Signing requests: `mpc.signing_request.<tx_id>`.
pub const SIGNING_STREAM: &str = "mpc-signing";
pub const SIGNING_REQUESTS: &str = "mpc.signing_request.*";
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
/// How long the result stream remembers message ids (our streams only).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Durable consumers the nodes share (one request goes to one node).
pub const KEYGEN_CONSUMER: &str = "mpc_keygen_request";
pub const SIGNING_CONSUMER: &str = "mpc_signing_request";

pub fn keygen_request(wallet_id: &str) -> String {
    format!("mpc.keygen_request.{wallet_id}")
}

pub fn signing_request(tx_id: &str) -> String {
    format!("mpc.signing_request.{tx_id}")
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

/// The durable consumer a client reads its keygen results from.
pub fn keygen_result_consumer(client_id: Option<&str>) -> String {
    consumer("mpc_keygen_result", client_id)
}

/// The durable consumer a client reads its signing results from.
pub fn signing_result_consumer(client_id: Option<&str>) -> String {
    consumer("mpc_signing_result", client_id)
}

fn consumer(base: &str, client_id: Option<&str>) -> String {
    match client_id {
        Some(c) => format!("{base}_{c}"),
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

/// The three streams with our settings: file storage, work-queue retention.
pub fn stream_configs() -> [stream::Config; 3] {
    let config = |name: &str, subjects: Vec<String>| stream::Config {
        name: name.to_string(),
        subjects,
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    };
    [
        config(KEYGEN_STREAM, vec![KEYGEN_REQUESTS.to_string()]),
        config(SIGNING_STREAM, vec![SIGNING_REQUESTS.to_string()]),
        config(
            RESULT_STREAM,
            RESULT_SUBJECTS.iter().map(|s| s.to_string()).collect(),
        ),
    ]
}

/// Makes sure the three streams exist; existing ones are left as they are.
/// Safe to call from several nodes and clients at once.
pub async fn ensure_streams(js: &jetstream::Context) -> Result<(), TransportError> {
    for config in stream_configs() {
        let name = config.name.clone();
        let mut last = None;
        // Two creators racing: the loser's create fails, its next lookup finds the stream.
        for _ in 0..3 {
            match js.get_or_create_stream(config.clone()).await {
                Ok(_) => {
                    last = None;
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
pub async fn tenant_keys(js: &jetstream::Context) -> Result<jetstream::kv::Store, TransportError> {
    let mut last = String::new();
    for _ in 0..3 {
        if let Ok(store) = js.get_key_value(TENANT_KEYS_BUCKET).await {
            return Ok(store);
        }
        let config = jetstream::kv::Config {
            bucket: TENANT_KEYS_BUCKET.to_string(),
            history: 1,
            max_age: TENANT_KEY_MAX_AGE,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        match js.create_key_value(config).await {
            Ok(store) => return Ok(store),
            Err(e) => last = e.to_string(),
        }
    }
    Err(TransportError::Stream {
        name: TENANT_KEYS_BUCKET.to_string(),
        reason: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(valid_client_id("client-1"));
        for bad in ["", "a.b", "a*", ">", "a b"] {
            assert!(!valid_client_id(bad), "{bad}");
        }
    }
}
