//! Keygen over the network: join, run the protocol, agree on the result with
//! every player, and only then store the share and the key's metadata; then
//! wait (briefly) until every player says it stored its share too.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tessera_session::ecdsa::EcdsaKeygen;
use tessera_session::eddsa::EddsaKeygen;
use tessera_session::{KeyShare, RoundProtocol, Session};
use tessera_types::{
    KeyType, NodeId, PublicIdentity, SessionConfig, SessionId, Threshold, WalletId,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::compute::Compute;
use crate::error::SessionError;
use crate::keys;
use crate::meta::{Operation, SessionMeta};
use crate::report::Reporter;
use crate::runtime::{Inner, SessionHooks};
use crate::session_loop::SessionLoop;
use tessera_storage::KeyMetadata;

/// One keygen: a new key of `key_type` for `wallet_id`, shared by `participants`.
#[derive(Clone, Debug)]
pub struct KeygenRequest {
    pub session_id: SessionId,
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    pub participants: Vec<NodeId>,
    pub threshold: Threshold,
    /// Keys given with the session for participants this node has no
    /// configuration for (a tenant's device); a configured key wins.
    pub dynamic_keys: BTreeMap<NodeId, PublicIdentity>,
}

pub(crate) async fn keygen(
    node: &Inner,
    req: KeygenRequest,
    reporter: Reporter,
    cancel: CancellationToken,
    trace: Option<tessera_types::TraceId>,
) -> Result<KeyMetadata, SessionError> {
    let hooks = SessionHooks {
        reporter,
        cancel,
        deadline: Instant::now() + node.options.keygen_deadline,
        trace,
    };
    let me = node.identity.node_id().clone();
    let config = SessionConfig::new(
        req.session_id.clone(),
        req.participants.clone(),
        req.threshold,
    )
    .map_err(|e| SessionError::Config {
        session_id: req.session_id.clone(),
        detail: e.to_string(),
    })?;
    if !config.is_player(&me) {
        return Err(SessionError::Config {
            session_id: req.session_id.clone(),
            detail: format!("{me} is not a participant"),
        });
    }
    let (wallet, key_type) = (req.wallet_id.clone(), req.key_type);
    let exists = node
        .with_store(move |s| s.get_metadata(&wallet, key_type))
        .await?;
    if exists.is_some() {
        return Err(SessionError::KeyExists {
            wallet: req.wallet_id.to_string(),
            key_type: req.key_type.to_string(),
        });
    }
    let identities = keys::resolve(
        node,
        &config.session_id,
        config.players(),
        &req.dynamic_keys,
    )?;
    let meta = SessionMeta::new(
        Operation::Keygen,
        &config,
        req.key_type,
        &req.wallet_id,
        &identities,
    );
    let peers = keys::peers_of(&identities, &me);
    let mut io = node.open_session(&config, peers, meta, hooks).await?;
    match keygen_on(&mut io, &config, &me, req.key_type).await {
        Ok(share) => {
            let info = share.info();
            let meta = KeyMetadata {
                wallet_id: req.wallet_id.clone(),
                key_type: req.key_type,
                participants: identities,
                threshold: req.threshold,
                public_key: info.public_key.clone(),
                chain_code: Some(info.chain_code),
                created_at_unix: now_unix(),
                share_version: 0,
            };
            let bytes = share.to_bytes();
            drop(share);
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(e) => {
                    let e = SessionError::Internal(e.to_string());
                    io.abort(&e).await;
                    return Err(e);
                }
            };
            let stored = meta.clone();
            let version = match node.with_store(move |s| s.put_key(&stored, &bytes)).await {
                Ok(version) => version,
                Err(e) => {
                    io.abort(&e).await;
                    return Err(e);
                }
            };
            // The coordinator publishes the keygen result when this returns, so a
            // client that signs at once finds the key on every player rather
            // than on the fastest ones.
            io.await_stored(STORED_WAIT).await;
            io.close().await;
            Ok(KeyMetadata {
                share_version: version,
                ..meta
            })
        }
        Err(e) => {
            io.abort(&e).await;
            Err(e)
        }
    }
}

async fn keygen_on(
    io: &mut SessionLoop,
    config: &SessionConfig,
    me: &NodeId,
    key_type: KeyType,
) -> Result<KeyShare, SessionError> {
    let protocol_err = |abort| SessionError::Protocol {
        session_id: config.session_id.clone(),
        abort,
    };
    io.barrier().await?;
    let share = match key_type {
        KeyType::Secp256k1 => {
            let p = EcdsaKeygen::new(config.clone(), me.clone()).map_err(protocol_err)?;
            KeyShare::Ecdsa(
                io.run_protocol(session(config, me, p)?, Compute::Blocking)
                    .await?,
            )
        }
        KeyType::Ed25519 => {
            let p = EddsaKeygen::new(config.clone(), me.clone()).map_err(protocol_err)?;
            KeyShare::Eddsa(
                io.run_protocol(session(config, me, p)?, Compute::Blocking)
                    .await?,
            )
        }
    };
    let info = share.info();
    let mut h = Sha256::new();
    h.update(&info.public_key);
    h.update(info.chain_code);
    io.confirm_keygen(h.finalize().into()).await?;
    Ok(share)
}

/// How long a node that stored its share waits for its peers to say they
/// stored theirs.
const STORED_WAIT: Duration = Duration::from_secs(2);

pub(crate) fn session<P: RoundProtocol>(
    config: &SessionConfig,
    me: &NodeId,
    protocol: P,
) -> Result<Session<P>, SessionError> {
    Session::new(
        config.session_id.clone(),
        config.players().to_vec(),
        me.clone(),
        protocol,
    )
    .map_err(|abort| SessionError::Protocol {
        session_id: config.session_id.clone(),
        abort,
    })
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
