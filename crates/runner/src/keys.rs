//! Whose public keys a session uses. A player's key comes from this node's
//! configuration (the directory) when it is there: a static key always wins
//! over one given with the session, and a difference is logged. A player the
//! configuration does not know (a tenant's device) needs a dynamic key, given
//! with the session or registered for its session id; without one the session
//! fails before it opens, naming the player.

use std::collections::BTreeMap;

use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::error::SessionError;
use crate::node::Inner;

/// Every player's identity (this node's own included), in player order.
pub(crate) fn resolve(
    node: &Inner,
    session_id: &SessionId,
    players: &[NodeId],
    dynamic: &BTreeMap<NodeId, PublicIdentity>,
) -> Result<Vec<PublicIdentity>, SessionError> {
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
        let identity = match (fixed, given) {
            (Some(fixed), Some(given)) => {
                if fixed != given {
                    tracing::warn!(
                        %session_id,
                        player = %p,
                        "static public key of {p} overrides the different dynamic key given for session {session_id}"
                    );
                }
                fixed
            }
            (Some(fixed), None) => fixed,
            (None, Some(given)) => given,
            (None, None) => {
                return Err(SessionError::DynamicKeyMissing {
                    session_id: session_id.clone(),
                    player: p.clone(),
                })
            }
        };
        out.push(identity);
    }
    Ok(out)
}

/// The identities of the players other than this node.
pub(crate) fn peers_of(identities: &[PublicIdentity], me: &NodeId) -> Vec<PublicIdentity> {
    identities
        .iter()
        .filter(|i| i.node_id != *me)
        .cloned()
        .collect()
}
