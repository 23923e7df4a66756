//! This node's part of a request's sessions, started in the runner: one
//! signing session, or a keygen's two (one per curve). The coordinator and
//! every player start them the same way from the same checked request; the
//! two operations differ only here, as data.

use std::collections::BTreeMap;

use tessera_runner::{KeyMetadata, KeygenRequest, Node, RunningSession, SignRequest, Signature};
use tessera_session::derive::DerivationPath;
use tessera_types::wire::{keygen_session_id, KeyType};
use tessera_types::{NodeId, PublicIdentity, SessionId, Threshold, TraceId};

use crate::error::ServeError;
use crate::request::Request;
use crate::results::{self, ResultIds};

/// The sessions of one request, running in the background.
pub(crate) enum Running {
    Keygen {
        wallet_id: String,
        ecdsa: RunningSession<KeyMetadata>,
        eddsa: RunningSession<KeyMetadata>,
    },
    Sign {
        ids: ResultIds,
        session: RunningSession<Signature>,
    },
}

/// Where a request's sessions run: the request's trace id, and for signing
/// the key epoch the coordinator signs at (`None`: each player's active one).
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub(crate) trace: &'a TraceId,
    pub(crate) epoch: Option<u64>,
}

/// Starts this node's part: loads the share (signing, at the coordinator's
/// epoch when the proposal names one), opens the sessions'
/// links and begins the join barrier, which waits for every player. The
/// joins carry the request's `trace` (for players that have no proposal: devices).
pub(crate) fn start(
    node: &Node,
    request: &Request,
    session_id: &SessionId,
    players: Vec<NodeId>,
    threshold: Threshold,
    dynamic_keys: BTreeMap<NodeId, PublicIdentity>,
    at: At<'_>,
) -> Result<Running, ServeError> {
    let At { trace, epoch } = at;
    // Before anything is joined: a proposal with a banned player is refused
    // with the ban's code (the runner would refuse the session too).
    node.check_not_banned(&players)?;
    match request {
        Request::Keygen(k) => {
            let one = |key_type| -> Result<KeygenRequest, ServeError> {
                // Session ids are bounded where they enter (client requests,
                // proposals) with room for this suffix.
                let session_id = keygen_session_id(session_id, key_type)
                    .map_err(|e| ServeError::Bug(format!("keygen session id: {e}")))?;
                Ok(KeygenRequest {
                    session_id,
                    wallet_id: k.wallet.clone(),
                    key_type,
                    participants: players.clone(),
                    threshold,
                    dynamic_keys: dynamic_keys.clone(),
                })
            };
            let (ecdsa, eddsa) = (one(KeyType::Secp256k1)?, one(KeyType::Ed25519)?);
            Ok(Running::Keygen {
                wallet_id: k.message.wallet_id.clone(),
                ecdsa: node.start_keygen_traced(ecdsa, Some(trace.clone())),
                eddsa: node.start_keygen_traced(eddsa, Some(trace.clone())),
            })
        }
        Request::Sign(s) => {
            let m = &s.message;
            let session = node.start_sign_traced(
                SignRequest {
                    session_id: session_id.clone(),
                    wallet_id: s.wallet.clone(),
                    key_type: m.key_type,
                    signers: players,
                    message: m.tx.clone(),
                    path: DerivationPath::new(m.derivation_path.clone().unwrap_or_default()),
                    dynamic_keys,
                    epoch,
                },
                Some(trace.clone()),
            );
            Ok(Running::Sign {
                ids: ResultIds::of(request),
                session,
            })
        }
    }
}

impl Running {
    /// Waits for the sessions; the success result's JSON.
    pub(crate) async fn result(self) -> Result<Vec<u8>, ServeError> {
        match self {
            Running::Keygen {
                wallet_id,
                ecdsa,
                eddsa,
            } => {
                let (ecdsa, eddsa) = tokio::join!(ecdsa.wait(), eddsa.wait());
                results::keygen_success(&wallet_id, &ecdsa?, &eddsa?)
            }
            Running::Sign { ids, session } => {
                results::signing_success(&ids, &session.wait().await?)
            }
        }
    }

    /// Ends the sessions before they sign (a player refused to join); the
    /// players that accepted are told.
    pub(crate) async fn cancel(self) {
        match self {
            Running::Keygen { ecdsa, eddsa, .. } => {
                let _ = tokio::join!(ecdsa.cancel(), eddsa.cancel());
            }
            Running::Sign { session, .. } => {
                let _ = session.cancel().await;
            }
        }
    }
}
