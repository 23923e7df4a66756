//! The session's metadata as one player sees it, exchanged in the join
//! barrier before any protocol message: operation, key type, threshold,
//! wallet, players and each player's public keys, and for signing the message
//! and derivation path. Each field travels as a SHA-256 digest inside the join
//! frame, which the sender signs (the envelope), so a disagreement is named by
//! field and by player: "players differ", "public key of device-7 differs".
//!
//! Players resolve keys on their own (static configuration wins over a key
//! given with the session), so two players holding different keys for a third
//! see it here, before any secret-dependent message is sent.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_types::{KeyType, PublicIdentity, SessionConfig, WalletId};

/// Field name prefix of a player's public keys.
pub(crate) const KEY_FIELD: &str = "public key of ";

/// One field: its name and the digest of its value.
pub(crate) type Field = (String, [u8; 32]);

/// What one player believes the session is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    fields: Vec<Field>,
}

/// What is being done, for [`SessionMeta::new`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operation<'a> {
    Keygen,
    Sign { message: &'a [u8], path: &'a [u32] },
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

impl SessionMeta {
    /// `identities` are every player's (this node's included), as resolved here.
    pub(crate) fn new(
        operation: Operation<'_>,
        config: &SessionConfig,
        key_type: KeyType,
        wallet: &WalletId,
        identities: &[PublicIdentity],
    ) -> Self {
        let name = match operation {
            Operation::Keygen => "keygen",
            Operation::Sign { .. } => "sign",
        };
        let players: Vec<&[u8]> = config
            .players()
            .iter()
            .map(|p| p.as_str().as_bytes())
            .collect();
        let mut fields = vec![
            ("operation".to_string(), digest(&[name.as_bytes()])),
            (
                "key type".to_string(),
                digest(&[key_type.as_str().as_bytes()]),
            ),
            (
                "threshold".to_string(),
                digest(&[&config.threshold.0.to_be_bytes()]),
            ),
            ("wallet".to_string(), digest(&[wallet.as_str().as_bytes()])),
            ("players".to_string(), digest(&players)),
        ];
        for p in config.players() {
            let keys = identities
                .iter()
                .find(|i| i.node_id == *p)
                .map(|i| digest(&[&i.signing_key, &i.agreement_key]))
                .unwrap_or_default();
            fields.push((format!("{KEY_FIELD}{p}"), keys));
        }
        if let Operation::Sign { message, path } = operation {
            let path: Vec<u8> = path.iter().flat_map(|i| i.to_be_bytes()).collect();
            fields.push(("message".to_string(), digest(&[message])));
            fields.push(("derivation path".to_string(), digest(&[&path])));
        }
        Self { fields }
    }

    /// The first field on which `other` differs from this view, by name.
    pub(crate) fn first_difference(&self, other: &SessionMeta) -> Option<String> {
        for (name, value) in &self.fields {
            match other.fields.iter().find(|(n, _)| n == name) {
                Some((_, v)) if v == value => {}
                _ => return Some(name.clone()),
            }
        }
        other
            .fields
            .iter()
            .find(|(n, _)| !self.fields.iter().any(|(m, _)| m == n))
            .map(|(n, _)| n.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_types::{NodeId, SessionId, Threshold};

    fn id(name: &str, k: u8) -> PublicIdentity {
        PublicIdentity {
            node_id: NodeId::new(name).unwrap(),
            signing_key: [k; 32],
            agreement_key: [k; 32],
        }
    }

    fn config(players: &[&str], t: u16) -> SessionConfig {
        SessionConfig::new(
            SessionId::new("s").unwrap(),
            players.iter().map(|p| NodeId::new(*p).unwrap()),
            Threshold(t),
        )
        .unwrap()
    }

    #[test]
    fn names_the_first_field_that_differs() {
        let w = WalletId::new("w").unwrap();
        let ids = [id("a", 1), id("b", 2)];
        let sign = |m: &'static [u8]| Operation::Sign {
            message: m,
            path: &[],
        };
        let base = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&base.clone()), None);
        let other_key = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &[id("a", 1), id("b", 3)],
        );
        assert_eq!(
            base.first_difference(&other_key).as_deref(),
            Some("public key of b")
        );
        let other_msg = SessionMeta::new(
            sign(b"x"),
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(
            base.first_difference(&other_msg).as_deref(),
            Some("message")
        );
        let keygen = SessionMeta::new(
            Operation::Keygen,
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&keygen).as_deref(), Some("operation"));
        let more = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b", "c"], 1),
            KeyType::Ed25519,
            &w,
            &[id("a", 1), id("b", 2), id("c", 3)],
        );
        assert_eq!(base.first_difference(&more).as_deref(), Some("players"));
        let t2 = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b"], 2).clone(),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&t2).as_deref(), Some("threshold"));
    }
}
