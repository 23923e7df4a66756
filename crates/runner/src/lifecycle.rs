//! A lifecycle session over the network: a refresh of a key's shares by all
//! its holders, or a replace (repair of some indices for new holders, then the
//! refresh by the new committee). Each player joins at the epoch it holds (the
//! barrier names a stale player), runs the protocol, stores its new share as
//! the key's *pending* epoch, and only then tells the others the epoch digest
//! (`KeygenDone`). When every player's digest arrived and matched, every
//! player has stored the same new epoch: the session returns [`Prepared`].
//!
//! Nothing is committed here. The pending epoch is promoted (or discarded) by
//! the caller once the operation is decided for all players, so a player that
//! fails late can never leave the others committed without it: the decision,
//! not this session, is what every player follows. Until then, and until the
//! old epoch is erased, signing goes on with the old epoch.

use std::collections::BTreeMap;

use tessera_session::ecdsa::{EcdsaRefresh, EcdsaReplace};
use tessera_session::eddsa::{EddsaRefresh, EddsaReplace};
use tessera_session::parties::Parties;
use tessera_session::{Abort, KeyShare, ReplacePlan, ReplaceRole, TargetKey};
use tessera_storage::KeyMetadata;
use tessera_types::{
    KeyType, NodeId, PublicIdentity, SessionConfig, SessionId, Threshold, TraceId, WalletId,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::compute::Compute;
use crate::error::SessionError;
use crate::keygen::session;
use crate::keys;
use crate::meta::{Operation, SessionMeta};
use crate::report::Reporter;
use crate::runtime::{Inner, SessionHooks};
use crate::session_loop::SessionLoop;

/// One refresh or replace of `wallet_id`'s `key_type` key.
#[derive(Clone, Debug)]
pub struct LifecycleRequest {
    pub session_id: SessionId,
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    /// The holders after the operation, each with its party index.
    pub committee: Vec<(NodeId, u8)>,
    /// Members that get a repaired share for their index; empty for a refresh
    /// (then the committee must be exactly the key's holders).
    pub targets: Vec<NodeId>,
    /// Holders left out of the committee (they are not players): a replace
    /// without targets removes them (FROST), a move hands their index on.
    pub removed: Vec<NodeId>,
    /// The epoch the helpers hold now (the coordinator's active epoch).
    pub from_epoch: u64,
    /// The key's public key, as the signed request's coordinator knows it (a
    /// target has no share to read it from).
    pub public_key: Vec<u8>,
    pub threshold: Threshold,
}

impl LifecycleRequest {
    /// `"refresh"` or `"replace"`: the operation players compare in the barrier.
    pub fn kind(&self) -> &'static str {
        if self.targets.is_empty() && self.removed.is_empty() {
            "refresh"
        } else {
            "replace"
        }
    }
}

/// Every player stored the same new epoch as pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub epoch: u64,
    /// The epoch digest every player computed (`KeyShare::epoch_digest`).
    pub digest: [u8; 32],
    /// The key's metadata at the new epoch (holders and their identities).
    pub metadata: KeyMetadata,
}

pub(crate) async fn lifecycle(
    node: &Inner,
    req: LifecycleRequest,
    reporter: Reporter,
    cancel: CancellationToken,
    trace: Option<TraceId>,
) -> Result<Prepared, SessionError> {
    let hooks = SessionHooks {
        reporter,
        cancel,
        deadline: Instant::now() + node.options.keygen_deadline,
        trace,
    };
    let me = node.identity.node_id().clone();
    let sid = req.session_id.clone();
    let config_err = |detail: String| SessionError::Config {
        session_id: sid.clone(),
        detail,
    };
    let players: Vec<NodeId> = req.committee.iter().map(|(n, _)| n.clone()).collect();
    let config = SessionConfig::new(sid.clone(), players, req.threshold)
        .map_err(|e| config_err(e.to_string()))?;
    if !config.is_player(&me) {
        return Err(config_err(format!("{me} is not in the new committee")));
    }
    let identities = keys::resolve(node, &sid, config.players(), &BTreeMap::new())?;
    let held = if req.targets.contains(&me) {
        None
    } else {
        let (meta, share) =
            crate::held::load(node, &req.wallet_id, req.key_type, Some(req.from_epoch)).await?;
        check_holders(&config, &meta.participants, &identities, &req.targets)?;
        Some((meta.created_at_unix, share))
    };
    let epoch = held
        .as_ref()
        .map_or(req.from_epoch, |(_, share)| share.info().epoch);
    let created_at_unix = held
        .as_ref()
        .map_or_else(crate::keygen::now_unix, |(at, _)| *at);
    let meta = SessionMeta::new(
        Operation::Lifecycle { kind: req.kind() },
        &config,
        req.key_type,
        &req.wallet_id,
        &identities,
    )
    .with_epoch(epoch);
    let peers = keys::peers_of(&identities, &me);
    let mut io = node.open_session(&config, peers, meta, hooks).await?;
    let outcome = async {
        io.barrier().await?;
        let share = run(&mut io, &config, &me, &req, held.map(|(_, s)| s)).await?;
        let metadata = KeyMetadata {
            wallet_id: req.wallet_id.clone(),
            key_type: req.key_type,
            participants: identities.clone(),
            threshold: req.threshold,
            public_key: share.info().public_key.clone(),
            chain_code: Some(share.info().chain_code),
            created_at_unix,
            share_version: 0,
        };
        let internal = |e: String| SessionError::Internal(format!("session {sid}: {e}"));
        let digest = share.epoch_digest().map_err(|e| internal(e.to_string()))?;
        let epoch = share.info().epoch;
        let bytes = share.to_bytes().map_err(|e| internal(e.to_string()))?;
        drop(share);
        let (stored, s) = (metadata.clone(), sid.clone());
        let version = node
            .with_store(move |st| st.put_pending(&stored, epoch, &s, digest, &bytes))
            .await?;
        crate::fault::exit_in_lifecycle(&me);
        // Said only after the pending epoch is on disk: a player that has every
        // digest knows every player stored the new epoch.
        io.confirm_keygen(digest).await?;
        Ok(Prepared {
            epoch,
            digest,
            metadata: KeyMetadata {
                share_version: version,
                ..metadata
            },
        })
    }
    .await;
    match outcome {
        Ok(prepared) => {
            io.finish().await;
            node.close_in_background(io);
            Ok(prepared)
        }
        Err(e) => {
            io.abort(&e).await;
            Err(e)
        }
    }
}

/// The protocol for this player: refresh (every holder brings its share) or
/// replace (helpers bring theirs, targets what the request says of the key).
async fn run(
    io: &mut SessionLoop,
    config: &SessionConfig,
    me: &NodeId,
    req: &LifecycleRequest,
    held: Option<KeyShare>,
) -> Result<KeyShare, SessionError> {
    let protocol_err = |abort: Abort| SessionError::Protocol {
        session_id: config.session_id.clone(),
        abort,
    };
    let blocking = Compute::Blocking;
    if req.kind() == "refresh" {
        return match held {
            Some(KeyShare::Ecdsa(s)) => {
                let p = EcdsaRefresh::new(config, s).map_err(protocol_err)?;
                Ok(KeyShare::Ecdsa(
                    io.run_protocol(session(config, me, p)?, blocking).await?,
                ))
            }
            Some(KeyShare::Eddsa(s)) => {
                let p = EddsaRefresh::new(config, &s).map_err(protocol_err)?;
                Ok(KeyShare::Eddsa(
                    io.run_protocol(session(config, me, p)?, blocking).await?,
                ))
            }
            None => Err(SessionError::Internal("a refresh has no targets".into())),
        };
    }
    let committee = Parties::from_pairs(req.committee.iter().cloned()).map_err(protocol_err)?;
    let plan = ReplacePlan {
        helpers: committee
            .ids()
            .iter()
            .filter(|n| !req.targets.contains(n))
            .cloned()
            .collect(),
        committee,
        targets: req.targets.clone(),
    };
    let target = TargetKey {
        me: me.clone(),
        public_key: req.public_key.clone(),
        threshold: req.threshold,
        epoch: req.from_epoch,
    };
    match (req.key_type, held) {
        (KeyType::Secp256k1, held) => {
            let role = match held {
                Some(KeyShare::Ecdsa(s)) => ReplaceRole::Helper(s),
                None => ReplaceRole::Target(target),
                Some(KeyShare::Eddsa(_)) => return Err(wrong_scheme(config)),
            };
            let p = EcdsaReplace::new(config, plan, role).map_err(protocol_err)?;
            Ok(KeyShare::Ecdsa(
                io.run_protocol(session(config, me, p)?, blocking).await?,
            ))
        }
        (KeyType::Ed25519, held) => {
            let role = match held {
                Some(KeyShare::Eddsa(s)) => ReplaceRole::Helper(s),
                None => ReplaceRole::Target(target),
                Some(KeyShare::Ecdsa(_)) => return Err(wrong_scheme(config)),
            };
            let p = EddsaReplace::new(config, plan, role).map_err(protocol_err)?;
            Ok(KeyShare::Eddsa(
                io.run_protocol(session(config, me, p)?, blocking).await?,
            ))
        }
    }
}

fn wrong_scheme(config: &SessionConfig) -> SessionError {
    SessionError::Internal(format!(
        "session {}: the stored share is of the other curve",
        config.session_id
    ))
}

/// Every player that keeps its share must be a holder of the key under the
/// identity stored with it (a changed identity needs a replace); targets get
/// their share under their configured identity.
fn check_holders(
    config: &SessionConfig,
    stored: &[PublicIdentity],
    identities: &[PublicIdentity],
    targets: &[NodeId],
) -> Result<(), SessionError> {
    for current in identities.iter().filter(|i| !targets.contains(&i.node_id)) {
        let held = stored
            .iter()
            .find(|i| i.node_id == current.node_id)
            .ok_or_else(|| SessionError::Protocol {
                session_id: config.session_id.clone(),
                abort: Abort::NotAParticipant(current.node_id.clone()),
            })?;
        if held != current {
            return Err(SessionError::PublicKeyMismatch {
                node: current.node_id.clone(),
            });
        }
    }
    Ok(())
}
