//! Tenant keys: the public identity of a player no node is configured with (a
//! user's device), given with the request (`tessera_session.dynamic_public_keys`)
//! or registered by the client for one session id in the tenant key bucket
//! (`TenantKeyRegistration`, see `tessera_transport::mpc::tenant_keys`).
//!
//! Every node resolves these keys itself, checking the initiator's signature on
//! each registration and that it names this session id and this player: a key
//! registered for one session does not let its tenant into another.

use std::collections::BTreeMap;

use futures::StreamExt;
use tessera_security::InitiatorKey;
use tessera_transport::async_nats::jetstream::kv;
use tessera_transport::mpc;
use tessera_types::wire::{CheckedSession, TenantKeyRegistration};
use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::error::{ServeError, Unavailable};
use crate::refused::Refused;
use crate::request::Request;
use crate::shared::Shared;

/// A registration from the bucket, checked: signed by the initiator, for this
/// session id and player.
fn checked(
    bytes: &[u8],
    session_id: &SessionId,
    player: &NodeId,
    initiator: &InitiatorKey,
) -> Result<PublicIdentity, String> {
    let r = TenantKeyRegistration::from_json(bytes).map_err(|e| e.to_string())?;
    let (sid, p) = r.ids().map_err(|e| e.to_string())?;
    if sid != *session_id || p != *player {
        return Err(format!("entry is for session {sid}, player {p}"));
    }
    initiator
        .verify(&r.signing_bytes(), &r.signature)
        .map_err(|e| format!("initiator signature: {e}"))?;
    r.identity().map_err(|e| e.to_string())
}

/// Whether a player without a key fails the request (keygen), or is left to
/// the runner, which uses the identity stored with the wallet (signing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    Fails,
    UsesStored,
}

impl Missing {
    pub(crate) fn for_request(request: &Request) -> Self {
        match request {
            Request::Keygen(_) => Missing::Fails,
            Request::Sign(_) => Missing::UsesStored,
        }
    }
}

/// The dynamic keys for a session of `players`: the request's keys for every
/// player that has one (a node's configured key still wins, see the runner),
/// and for each player this node has no configuration for and the request no
/// key, the key registered for the session id. A player left without one
/// fails a keygen, named; a signing uses the key stored at keygen.
pub(crate) async fn dynamic_keys(
    shared: &Shared,
    session: &CheckedSession,
    session_id: &SessionId,
    players: &[NodeId],
    missing_key: Missing,
) -> Result<BTreeMap<NodeId, PublicIdentity>, ServeError> {
    let mut keys = session.dynamic_identities();
    for p in players {
        if p == shared.me() || shared.node.directory().get(p).is_some() || keys.contains_key(p) {
            continue;
        }
        let missing = |why: String| Refused::DynamicKeyMissing {
            player: p.clone(),
            why,
        };
        let entry = mpc::tenant_key_entry(session_id.as_str(), p.as_str());
        let bytes = match shared.tenant_keys.get(&entry).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) if missing_key == Missing::UsesStored => continue,
            Ok(None) => {
                return Err(missing(format!("none is registered for session {session_id}")).into())
            }
            // An outage is not a missing key: the client may simply ask again.
            Err(e) => {
                return Err(Unavailable::TenantKeys {
                    player: p.clone(),
                    session_id: session_id.clone(),
                    reason: e.to_string(),
                }
                .into())
            }
        };
        match checked(&bytes, session_id, p, &shared.config.initiator) {
            Ok(identity) => {
                tracing::info!(%session_id, player = %p, "using the tenant public key registered for session {session_id}");
                keys.insert(p.clone(), identity);
            }
            Err(e) => {
                tracing::warn!(%session_id, player = %p, "tenant key registration refused: {e}");
                return Err(missing(format!(
                    "the one registered for session {session_id} is invalid ({e})"
                ))
                .into());
            }
        }
    }
    Ok(keys)
}

/// Logs each registration as it arrives, so an operator can see that the key
/// for a session id reached this node: "tenant public key for session S
/// registered". Runs until the watch ends.
pub(crate) async fn log_registrations(store: kv::Store, initiator: InitiatorKey, me: NodeId) {
    let mut watch = match store.watch_all().await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(node_id = %me, "cannot watch the tenant key bucket: {e}");
            return;
        }
    };
    while let Some(entry) = watch.next().await {
        let Ok(entry) = entry else { continue };
        if entry.operation != kv::Operation::Put {
            continue;
        }
        let Ok(r) = TenantKeyRegistration::from_json(&entry.value) else {
            tracing::warn!(node_id = %me, key = %entry.key, "unreadable tenant key registration");
            continue;
        };
        let expected = mpc::tenant_key_entry(&r.session_id, &r.player);
        let valid = expected == entry.key
            && r.ids().is_ok()
            && initiator.verify(&r.signing_bytes(), &r.signature).is_ok();
        if valid {
            tracing::info!(node_id = %me, session_id = %r.session_id, player = %r.player, "tenant public key for session {} registered", r.session_id);
        } else {
            tracing::warn!(node_id = %me, session_id = %r.session_id, player = %r.player, "tenant key registration for session {} refused: bad signature or entry key", r.session_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_security::{InitiatorKeyKind, InitiatorSigner, NodeIdentity};
    use tessera_types::wire::DynamicKey;

    fn registration(signer: &InitiatorSigner, sid: &str, player: &NodeIdentity) -> Vec<u8> {
        let key = DynamicKey::of(&player.public());
        let mut r = TenantKeyRegistration {
            session_id: sid.into(),
            player: player.node_id().to_string(),
            signing_key: key.signing_key,
            agreement_key: key.agreement_key,
            signature: Vec::new(),
        };
        r.signature = signer.sign(&r.signing_bytes());
        r.to_json().unwrap()
    }

    #[test]
    fn a_registration_counts_only_for_its_session_player_and_initiator() {
        let signer = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let device = NodeIdentity::generate(NodeId::new("device-1").unwrap());
        let bytes = registration(&signer, "s1", &device);
        let s1 = SessionId::new("s1").unwrap();
        let me = device.node_id().clone();
        assert_eq!(
            checked(&bytes, &s1, &me, &signer.public()).unwrap(),
            device.public()
        );
        let s2 = SessionId::new("s2").unwrap();
        assert!(checked(&bytes, &s2, &me, &signer.public())
            .unwrap_err()
            .contains("session s1"));
        let other = NodeId::new("device-2").unwrap();
        assert!(checked(&bytes, &s1, &other, &signer.public()).is_err());
        let stranger = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        assert!(checked(&bytes, &s1, &me, &stranger.public())
            .unwrap_err()
            .contains("signature"));
        assert!(checked(b"{}", &s1, &me, &signer.public()).is_err());
    }
}
