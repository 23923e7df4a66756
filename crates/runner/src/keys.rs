//! Whose public keys a session uses. A player's key comes from this node's
//! configuration (the directory) when it is there: a static key always wins
//! over one given with the session, and a difference is logged. A player the
//! configuration does not know (a tenant's device) needs a dynamic key, given
//! with the session or registered for its session id; without one a keygen
//! fails before it opens, naming the player, and a signing uses the key stored
//! with the wallet at keygen.

use std::collections::BTreeMap;

use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::error::SessionError;
use crate::runtime::Inner;

/// Every player's identity (this node's own included), in player order.
pub(crate) fn resolve(
    node: &Inner,
    session_id: &SessionId,
    players: &[NodeId],
    dynamic: &BTreeMap<NodeId, PublicIdentity>,
) -> Result<Vec<PublicIdentity>, SessionError> {
    known(node, session_id, players, dynamic)
        .into_iter()
        .zip(players)
        .map(|(identity, p)| {
            identity.ok_or_else(|| SessionError::DynamicKeyMissing {
                session_id: session_id.clone(),
                player: p.clone(),
            })
        })
        .collect()
}

/// Each player's identity where this node has one (configured or given with
/// the session), in player order; `None` for a player with neither.
pub(crate) fn known(
    node: &Inner,
    session_id: &SessionId,
    players: &[NodeId],
    dynamic: &BTreeMap<NodeId, PublicIdentity>,
) -> Vec<Option<PublicIdentity>> {
    let me = node.identity.node_id();
    let mut out = Vec::with_capacity(players.len());
    for p in players {
        let fixed = if p == me {
            Some(node.identity.public())
        } else {
            node.directory.get(p)
        };
        let given = dynamic.get(p).map(|k| PublicIdentity {
            node_id: p.clone(),
            ..k.clone()
        });
        out.push(match (fixed, given) {
            (Some(fixed), Some(given)) => {
                if fixed != given {
                    tracing::warn!(
                        %session_id,
                        player = %p,
                        "static public key of {p} overrides the different dynamic key given for session {session_id}"
                    );
                }
                Some(fixed)
            }
            (Some(fixed), None) => Some(fixed),
            (None, given) => given,
        });
    }
    out
}

/// The identities of the players other than this node.
pub(crate) fn peers_of(identities: &[PublicIdentity], me: &NodeId) -> Vec<PublicIdentity> {
    identities
        .iter()
        .filter(|i| i.node_id != *me)
        .cloned()
        .collect()
}
