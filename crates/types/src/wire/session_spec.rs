//! `tessera_session`: Tessera's optional addition to keygen and signing
//! requests, after the session configuration of the Sepior/Blockdaemon TSM.
//!
//! ```json
//! "tessera_session": {
//!   "session_id": "5f0c...",
//!   "players": ["device-7", "node0"],
//!   "dynamic_public_keys": {"device-7": {"signing_key": "<hex>", "agreement_key": "<hex>"}},
//!   "threshold": 1
//! },
//! "tessera_session_signature": "<base64>"
//! ```
//!
//! Every part is optional and old clients omit the whole object. `session_id`
//! names the protocol run, so a party outside the cluster (a tenant's device)
//! can join it; `players` is the subset of parties to use; `dynamic_public_keys`
//! gives identity keys of players that are not in the nodes' configuration (a
//! node's static key always wins); `threshold` overrides the cluster's `t` for
//! a new key. All of it changes who takes part, so the initiator signs it:
//! `tessera_session_signature` over [`session_signing_bytes`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::go_json::GoObject;
use super::key_type::MAX_CLIENT_SESSION_ID_LEN;
use crate::identity::{hex32, PublicIdentity};
use crate::ids::{NodeId, SessionId};
use crate::session_config::MAX_PARTIES;

/// A player's identity keys as given with a session (hex, like identity documents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicKey {
    /// Ed25519 verifying key.
    #[serde(with = "hex32")]
    pub signing_key: [u8; 32],
    /// X25519 public key.
    #[serde(with = "hex32")]
    pub agreement_key: [u8; 32],
}

impl DynamicKey {
    pub fn of(identity: &PublicIdentity) -> Self {
        Self {
            signing_key: identity.signing_key,
            agreement_key: identity.agreement_key,
        }
    }

    /// The identity of `player` with these keys.
    pub fn identity(&self, player: NodeId) -> PublicIdentity {
        PublicIdentity {
            node_id: player,
            signing_key: self.signing_key,
            agreement_key: self.agreement_key,
        }
    }

    /// `"<signing hex>:<agreement hex>"`, the form signed bytes use.
    pub fn to_hex_pair(&self) -> String {
        format!("{}:{}", hex(&self.signing_key), hex(&self.agreement_key))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `tessera_session` object. Ids stay strings, as sent and signed;
/// [`SessionSpec::check`] validates them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dynamic_public_keys: BTreeMap<String, DynamicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u16>,
}

/// A [`SessionSpec`] whose ids are valid: what nodes act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckedSession {
    pub session_id: Option<SessionId>,
    /// Sorted, unique; `None` when the request does not name players.
    pub players: Option<Vec<NodeId>>,
    pub dynamic_public_keys: BTreeMap<NodeId, DynamicKey>,
    pub threshold: Option<u16>,
}

impl CheckedSession {
    /// The dynamic keys as identities.
    pub fn dynamic_identities(&self) -> BTreeMap<NodeId, PublicIdentity> {
        self.dynamic_public_keys
            .iter()
            .map(|(p, k)| (p.clone(), k.identity(p.clone())))
            .collect()
    }
}

/// Why a `tessera_session` object is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionSpecError {
    #[error("tessera_session.session_id: {0}")]
    SessionId(crate::ids::IdError),
    #[error("tessera_session.players: {0}")]
    Player(crate::ids::IdError),
    #[error("tessera_session.players lists {0} twice")]
    DuplicatePlayer(String),
    #[error("tessera_session.players must name between 2 and {MAX_PARTIES} players, got {0}")]
    PlayerCount(usize),
    #[error("tessera_session.dynamic_public_keys names {0}, which is not among the players")]
    KeyForNonPlayer(String),
    #[error("tessera_session.threshold must be at least 1")]
    ZeroThreshold,
}

impl SessionSpec {
    /// `true` when the request carries no session configuration (an mpcium request).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Validates ids, the player list and that dynamic keys belong to players.
    pub fn check(&self) -> Result<CheckedSession, SessionSpecError> {
        let session_id = self
            .session_id
            .as_ref()
            .map(|s| {
                if s.len() > MAX_CLIENT_SESSION_ID_LEN {
                    return Err(SessionSpecError::SessionId(crate::ids::IdError::TooLong {
                        kind: "session id",
                        max: MAX_CLIENT_SESSION_ID_LEN,
                    }));
                }
                SessionId::new(s.as_str()).map_err(SessionSpecError::SessionId)
            })
            .transpose()?;
        let players = match &self.players {
            None => None,
            Some(list) => {
                let mut seen = BTreeSet::new();
                for p in list {
                    let id = NodeId::new(p.as_str()).map_err(SessionSpecError::Player)?;
                    if !seen.insert(id) {
                        return Err(SessionSpecError::DuplicatePlayer(p.clone()));
                    }
                }
                if seen.len() < 2 || seen.len() > MAX_PARTIES {
                    return Err(SessionSpecError::PlayerCount(seen.len()));
                }
                Some(seen.into_iter().collect::<Vec<_>>())
            }
        };
        let mut keys = BTreeMap::new();
        for (p, key) in &self.dynamic_public_keys {
            let id = NodeId::new(p.as_str()).map_err(SessionSpecError::Player)?;
            if players.as_ref().is_some_and(|list| !list.contains(&id)) {
                return Err(SessionSpecError::KeyForNonPlayer(p.clone()));
            }
            keys.insert(id, key.clone());
        }
        if self.threshold == Some(0) {
            return Err(SessionSpecError::ZeroThreshold);
        }
        Ok(CheckedSession {
            session_id,
            players,
            dynamic_public_keys: keys,
            threshold: self.threshold,
        })
    }

    /// Appends the session's fields to signed bytes: `"session_id"` (`""` when
    /// unset), `"players"` (as sent, `[]` when unset), `"dynamic_public_keys"`
    /// as `["<player>:<signing hex>:<agreement hex>", ...]` in player order,
    /// `"threshold"` (`0` when unset).
    pub(crate) fn append_to(&self, object: GoObject) -> GoObject {
        let keys: Vec<String> = self
            .dynamic_public_keys
            .iter()
            .map(|(p, k)| format!("{p}:{}", k.to_hex_pair()))
            .collect();
        object
            .string("session_id", self.session_id.as_deref().unwrap_or_default())
            .strings("players", self.players.as_deref().unwrap_or_default())
            .strings("dynamic_public_keys", &keys)
            .uint("threshold", u64::from(self.threshold.unwrap_or(0)))
    }
}

/// A request's optional `tessera_session`, checked; the default when absent.
pub(crate) fn checked(spec: Option<&SessionSpec>) -> Result<CheckedSession, super::WireError> {
    spec.map_or(Ok(CheckedSession::default()), SessionSpec::check)
        .map_err(super::WireError::Session)
}

/// `true` when there is nothing to serialize (serde's `skip_serializing_if`).
pub(crate) fn no_session(spec: &Option<SessionSpec>) -> bool {
    spec.as_ref().is_none_or(SessionSpec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> DynamicKey {
        DynamicKey {
            signing_key: [b; 32],
            agreement_key: [b + 1; 32],
        }
    }

    #[test]
    fn checks_players_and_keys() {
        let spec = SessionSpec {
            session_id: Some("s-1".into()),
            players: Some(vec!["node0".into(), "device-7".into()]),
            dynamic_public_keys: [("device-7".to_string(), key(3))].into(),
            threshold: Some(1),
        };
        let c = spec.check().unwrap();
        assert_eq!(c.players.unwrap()[0].as_str(), "device-7");
        assert_eq!(c.dynamic_public_keys.len(), 1);

        let dup = SessionSpec {
            players: Some(vec!["a".into(), "a".into()]),
            ..Default::default()
        };
        assert_eq!(
            dup.check(),
            Err(SessionSpecError::DuplicatePlayer("a".into()))
        );
        let stranger = SessionSpec {
            players: Some(vec!["a".into(), "b".into()]),
            dynamic_public_keys: [("c".to_string(), key(1))].into(),
            ..Default::default()
        };
        assert_eq!(
            stranger.check(),
            Err(SessionSpecError::KeyForNonPlayer("c".into()))
        );
        let one = SessionSpec {
            players: Some(vec!["a".into()]),
            ..Default::default()
        };
        assert_eq!(one.check(), Err(SessionSpecError::PlayerCount(1)));
        let bad_sid = SessionSpec {
            session_id: Some("a.b".into()),
            ..Default::default()
        };
        assert!(matches!(
            bad_sid.check(),
            Err(SessionSpecError::SessionId(_))
        ));
        assert!(SessionSpec::default().is_empty());
    }

    #[test]
    fn signed_bytes_are_fixed() {
        let spec = SessionSpec {
            session_id: Some("s".into()),
            players: Some(vec!["b".into(), "a".into()]),
            dynamic_public_keys: [("a".to_string(), key(0))].into(),
            threshold: None,
        };
        let bytes = spec.append_to(GoObject::new()).finish();
        let expected = format!(
            "{{\"session_id\":\"s\",\"players\":[\"b\",\"a\"],\"dynamic_public_keys\":[\"a:{}:{}\"],\"threshold\":0}}",
            "00".repeat(32),
            "01".repeat(32)
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }
}
