//! Tenant key registration: a client vouches for a tenant's (a device's)
//! identity keys for one session, as the TSM's `RegisterTenantPublicKey` does.
//!
//! The initiator signs a [`TenantKeyRegistration`] and the client puts its
//! JSON into the nodes' tenant key bucket (`mpc-tenant-keys`, entries expire
//! after 24 h). Each node checks the initiator's signature itself and uses the
//! keys only for that session id, so a registration cannot be moved to
//! another session or player.

use std::time::Duration;

use backon::Retryable;
use tessera_security::InitiatorSigner;
use tessera_transport::async_nats::connection::State;
use tessera_transport::async_nats::jetstream::kv::{PutErrorKind, Store};
use tessera_transport::async_nats::jetstream::Context;
use tessera_transport::mpc;
use tessera_types::backoff;
use tessera_types::wire::TenantKeyRegistration;
use tessera_types::PublicIdentity;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::publish::{before, BACKOFF_MAX, BACKOFF_MIN};
use crate::session::check_session_id;
use crate::ClientError;

/// The registration of `identity` for `session_id`, signed by `initiator`.
pub fn signed_registration(
    initiator: &InitiatorSigner,
    session_id: &str,
    identity: &PublicIdentity,
) -> Result<TenantKeyRegistration, ClientError> {
    check_session_id(session_id)?;
    let mut reg = TenantKeyRegistration {
        session_id: session_id.to_string(),
        player: identity.node_id.as_str().to_string(),
        signing_key: identity.signing_key,
        agreement_key: identity.agreement_key,
        signature: Vec::new(),
    };
    reg.signature = initiator.sign(&reg.signing_bytes());
    Ok(reg)
}

/// Longest one attempt may take: a JetStream request sent just as the
/// connection drops is never answered, and would otherwise wait for the
/// connection's request timeout before the next attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Puts `reg` under `tenant_key_entry(session_id, player)`, opening the bucket
/// (once, through `bucket`) on first use, and retrying through lost
/// connections until `within` has passed (pauses as [`publish`](crate::publish)
/// makes them). Writing the same registration twice is harmless (the bucket
/// keeps one value per entry).
pub(crate) async fn put(
    js: &Context,
    bucket: &OnceCell<Store>,
    settings: &mpc::StreamSettings,
    reg: &TenantKeyRegistration,
    within: Duration,
) -> Result<(), ClientError> {
    let entry = mpc::tenant_key_entry(&reg.session_id, &reg.player);
    let payload = reg.to_json()?;
    let deadline = Instant::now() + within;
    let (entry_ref, payload) = (&entry, &payload);
    // Fails with (retryable, reason).
    let attempt = || async move {
        connected(js, deadline).await?;
        let put = async {
            let store = bucket
                .get_or_try_init(|| mpc::tenant_keys(js, settings))
                .await
                .map_err(|e| (true, e.to_string()))?;
            store
                .put(entry_ref, payload.clone().into())
                .await
                .map_err(|e| (e.kind() != PutErrorKind::InvalidKey, e.to_string()))
        };
        let attempt_deadline = deadline.min(Instant::now() + ATTEMPT_TIMEOUT);
        match tokio::time::timeout_at(attempt_deadline, put).await {
            Ok(r) => r.map(drop),
            Err(_) => Err((true, "no answer in time".to_string())),
        }
    };
    attempt
        .retry(backoff::jittered(BACKOFF_MIN, BACKOFF_MAX))
        .when(|(retryable, _)| *retryable)
        .adjust(|_, pause| before(deadline, pause))
        .notify(|(_, reason), _| {
            tracing::debug!(%entry, "tenant key registration failed, retrying: {reason}")
        })
        .await
        .map_err(|(_, reason)| ClientError::TenantKey { entry, reason })
}

/// Waits, checking every [`BACKOFF_MIN`], until `js` is connected: nothing is
/// sent while disconnected, it would only wait for a timeout. Fails for good
/// when the next check would come at or after `deadline`.
async fn connected(js: &Context, deadline: Instant) -> Result<(), (bool, String)> {
    while js.client().connection_state() != State::Connected {
        if Instant::now() + BACKOFF_MIN >= deadline {
            return Err((false, "not connected to nats".to_string()));
        }
        tokio::time::sleep(BACKOFF_MIN).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_security::InitiatorKeyKind;
    use tessera_types::NodeId;

    fn device() -> PublicIdentity {
        PublicIdentity {
            node_id: NodeId::new("device-7").unwrap(),
            signing_key: [7; 32],
            agreement_key: [8; 32],
        }
    }

    #[test]
    fn registration_is_signed_by_the_initiator() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::P256);
        let reg = signed_registration(&init, "s-1", &device()).unwrap();
        assert_eq!(
            (reg.session_id.as_str(), reg.player.as_str()),
            ("s-1", "device-7")
        );
        assert_eq!(reg.identity().unwrap(), device());
        init.public()
            .verify(&reg.signing_bytes(), &reg.signature)
            .unwrap();
        let moved = TenantKeyRegistration {
            session_id: "s-2".into(),
            ..reg
        };
        assert!(init
            .public()
            .verify(&moved.signing_bytes(), &moved.signature)
            .is_err());
    }

    #[test]
    fn invalid_session_ids_are_refused() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        for bad in ["", "a.b", "a b"] {
            assert!(matches!(
                signed_registration(&init, bad, &device()),
                Err(ClientError::InvalidSessionId(_))
            ));
        }
    }
}
