//! Signing over the network: load this node's share, check the players against
//! the key's stored participants, run the protocol, verify the signature with an
//! independent library, return it.

use std::collections::BTreeMap;

use tessera_session::derive::DerivationPath;
use tessera_session::ecdsa::{EcdsaSign, EcdsaSignature};
use tessera_session::eddsa::{EddsaSign, EddsaSignature};
use tessera_session::{Abort, KeyShare};
use tessera_types::{KeyType, NodeId, PublicIdentity, SessionConfig, SessionId, WalletId};

use tessera_transport::SessionLink;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::compute::Compute;
use crate::error::SessionError;
use crate::keygen::session;
use crate::keys;
use crate::meta::{Operation, SessionMeta};
use crate::report::Reporter;
use crate::runtime::{Inner, SessionHooks};
use tessera_storage::KeyMetadata;

/// One signing: `signers` (t+1 participants of the key for ECDSA, at least t+1
/// for EdDSA) sign `message` (a 32-byte digest for secp256k1) under the key's
/// child at `path` (empty: the master key).
#[derive(Clone, Debug)]
pub struct SignRequest {
    pub session_id: SessionId,
    pub wallet_id: WalletId,
    pub key_type: KeyType,
    pub signers: Vec<NodeId>,
    pub message: Vec<u8>,
    pub path: DerivationPath,
    /// Keys given with the session for signers this node has no configuration
    /// for (a tenant's device); a configured key wins. Each must match the
    /// key stored with the wallet.
    pub dynamic_keys: BTreeMap<NodeId, PublicIdentity>,
    /// The key epoch to sign at (the coordinator's active one); `None`: this
    /// node's active epoch. A share kept from an older epoch (until it is
    /// erased) signs with players that have not moved on yet.
    pub epoch: Option<u64>,
}

/// A verified signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    Ecdsa(EcdsaSignature),
    Eddsa(EddsaSignature),
}

impl Signature {
    /// The key the signature verifies under (the child key for a path).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            Signature::Ecdsa(s) => s.public_key.clone(),
            Signature::Eddsa(s) => s.public_key.to_vec(),
        }
    }
}

pub(crate) async fn sign(
    node: &Inner,
    req: SignRequest,
    reporter: Reporter,
    cancel: CancellationToken,
    trace: Option<tessera_types::TraceId>,
) -> Result<Signature, SessionError> {
    let started = Instant::now();
    let hooks = SessionHooks {
        reporter,
        cancel,
        deadline: started + node.options.sign_deadline,
        trace,
    };
    let sid = req.session_id.clone();
    let me = node.identity.node_id().clone();
    let (config, share, link, meta) = prepare(node, &req, &me).await?;
    let mut io = node.session_loop(link, &config, meta, hooks);
    let opened = started.elapsed();
    let protocol_err = |abort: Abort| SessionError::Protocol {
        session_id: sid.clone(),
        abort,
    };
    let mut joined = opened;
    let outcome = async {
        match share {
            KeyShare::Ecdsa(share) => {
                let mut p = EcdsaSign::new(&config, share, &req.message, &req.path)
                    .map_err(protocol_err)?;
                crate::fault::ecdsa_sign(&me, &mut p);
                let s = session(&config, &me, p)?;
                io.barrier().await?;
                joined = started.elapsed();
                crate::fault::false_blame(&sid, &me, config.players())?;
                // The session verified it with k256 before returning it
                // (`tessera_session::verify`); checking again here cost a
                // second verification per signature (docs/performance.md).
                let sig = io.run_protocol(s, Compute::Blocking).await?;
                Ok(Signature::Ecdsa(sig))
            }
            KeyShare::Eddsa(share) => {
                let p = EddsaSign::new(&config, &share, &req.message, &req.path)
                    .map_err(protocol_err)?;
                drop(share);
                let s = session(&config, &me, p)?;
                io.barrier().await?;
                joined = started.elapsed();
                crate::fault::false_blame(&sid, &me, config.players())?;
                // FROST rounds take well under a millisecond: a trip through the
                // blocking pool would cost more than the computation.
                // Verified with ed25519-dalek by the session, as above.
                let sig = io.run_protocol(s, Compute::Inline).await?;
                Ok(Signature::Eddsa(sig))
            }
        }
    }
    .await;
    tracing::debug!(
        session_id = %sid,
        opened_us = opened.as_micros() as u64,
        joined_us = joined.as_micros() as u64,
        done_us = started.elapsed().as_micros() as u64,
        "signing phases"
    );
    match outcome {
        Ok(sig) => {
            // Peers still finishing should not take our silence for a crash.
            io.finish().await;
            node.close_in_background(io);
            Ok(sig)
        }
        Err(e) => {
            io.abort(&e).await;
            Err(e)
        }
    }
}

/// Resolves the signers' keys, then loads and checks the share while the
/// session's link opens with those keys. A signer with no configured or given
/// key (a tenant whose key was not passed again) gets the identity stored with
/// the wallet; then the link opens after the load. The keys used must be the
/// ones stored with the key; nothing is sent or read on the link before these
/// checks pass, and on any error it is closed.
async fn prepare(
    node: &Inner,
    req: &SignRequest,
    me: &NodeId,
) -> Result<(SessionConfig, KeyShare, SessionLink, SessionMeta), SessionError> {
    let sid = &req.session_id;
    let mut signers = req.signers.clone();
    signers.sort();
    signers.dedup();
    let known = keys::known(node, sid, &signers, &req.dynamic_keys);
    let complete: Option<Vec<PublicIdentity>> = known.iter().cloned().collect();
    let (loaded, early) = match &complete {
        Some(identities) => {
            let peers = keys::peers_of(identities, me);
            let (loaded, link) = tokio::join!(load(node, req), node.open_link(sid, peers));
            (loaded, Some(link))
        }
        None => (load(node, req).await, None),
    };
    let checked =
        loaded.and_then(|(meta, share)| {
            let config = SessionConfig::new(sid.clone(), req.signers.clone(), meta.threshold)
                .map_err(|e| SessionError::Config {
                    session_id: sid.clone(),
                    detail: e.to_string(),
                })?;
            let identities = match complete {
                Some(identities) => identities,
                None => from_stored(&config, known, &meta.participants)?,
            };
            check_signers(&config, &meta.participants, &identities, me)?;
            Ok((config, share, identities))
        });
    let (config, share, identities) = match checked {
        Ok(v) => v,
        Err(e) => {
            if let Some(Ok(link)) = early {
                link.close().await;
            }
            return Err(e);
        }
    };
    let link = match early {
        Some(link) => link?,
        None => node.open_link(sid, keys::peers_of(&identities, me)).await?,
    };
    let operation = Operation::Sign {
        message: &req.message,
        path: req.path.indices(),
    };
    let meta = SessionMeta::new(
        operation,
        &config,
        req.key_type,
        &req.wallet_id,
        &identities,
    )
    .with_epoch(share.info().epoch);
    Ok((config, share, link, meta))
}

/// Fills the signers this node has no key for with the identities stored with the key.
fn from_stored(
    config: &SessionConfig,
    known: Vec<Option<PublicIdentity>>,
    participants: &[PublicIdentity],
) -> Result<Vec<PublicIdentity>, SessionError> {
    known
        .into_iter()
        .zip(config.players())
        .map(|(identity, p)| match identity {
            Some(identity) => Ok(identity),
            None => participants
                .iter()
                .find(|i| i.node_id == *p)
                .cloned()
                .ok_or_else(|| SessionError::Protocol {
                    session_id: config.session_id.clone(),
                    abort: Abort::NotAParticipant(p.clone()),
                }),
        })
        .collect()
}

async fn load(node: &Inner, req: &SignRequest) -> Result<(KeyMetadata, KeyShare), SessionError> {
    crate::held::load(node, &req.wallet_id, req.key_type, req.epoch).await
}

/// Every signer must be a participant of the key, this node among them, and
/// the key this session uses for each (configured, or given with the session)
/// must be the one stored at keygen: a changed key is refused, not silently used.
fn check_signers(
    config: &SessionConfig,
    participants: &[PublicIdentity],
    identities: &[PublicIdentity],
    me: &NodeId,
) -> Result<(), SessionError> {
    if !config.is_player(me) {
        return Err(SessionError::Config {
            session_id: config.session_id.clone(),
            detail: format!("{me} is not among the signers"),
        });
    }
    for current in identities {
        let p = &current.node_id;
        let stored = participants
            .iter()
            .find(|i| i.node_id == *p)
            .ok_or_else(|| SessionError::Protocol {
                session_id: config.session_id.clone(),
                abort: Abort::NotAParticipant(p.clone()),
            })?;
        if current != stored {
            return Err(SessionError::PublicKeyMismatch { node: p.clone() });
        }
    }
    Ok(())
}
