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

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_types::{KeyType, NodeId, PublicIdentity, SessionConfig, WalletId};

/// Field name prefix of a player's public keys.
const KEY_FIELD: &str = "public key of ";

/// One field of the session's metadata. Its `Display` text is the field's name,
/// which is also what travels in the join frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaField {
    Operation,
    KeyType,
    Threshold,
    Wallet,
    Players,
    /// The epoch of the key each player's share belongs to (signing and
    /// lifecycle sessions). Its value is the epoch itself, not a digest, so a
    /// difference can say who is behind.
    Epoch,
    /// The signing and agreement keys of one player.
    PlayerKey(NodeId),
    Message,
    DerivationPath,
    /// A field this build does not know (a peer running another version): its name as sent.
    Other(String),
}

impl MetaField {
    /// The field a name in a join frame stands for.
    fn from_name(name: &str) -> Self {
        let fixed = [
            MetaField::Operation,
            MetaField::KeyType,
            MetaField::Threshold,
            MetaField::Wallet,
            MetaField::Players,
            MetaField::Epoch,
            MetaField::Message,
            MetaField::DerivationPath,
        ];
        if let Some(f) = fixed.into_iter().find(|f| f.to_string() == name) {
            return f;
        }
        match name.strip_prefix(KEY_FIELD).map(NodeId::new) {
            Some(Ok(player)) => MetaField::PlayerKey(player),
            _ => MetaField::Other(name.to_string()),
        }
    }
}

impl fmt::Display for MetaField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaField::Operation => f.write_str("operation"),
            MetaField::KeyType => f.write_str("key type"),
            MetaField::Threshold => f.write_str("threshold"),
            MetaField::Wallet => f.write_str("wallet"),
            MetaField::Players => f.write_str("players"),
            MetaField::Epoch => f.write_str("key epoch"),
            MetaField::PlayerKey(player) => write!(f, "{KEY_FIELD}{player}"),
            MetaField::Message => f.write_str("message"),
            MetaField::DerivationPath => f.write_str("derivation path"),
            MetaField::Other(name) => f.write_str(name),
        }
    }
}

/// One field: its name (a [`MetaField`]'s text) and the digest of its value.
type Field = (String, [u8; 32]);

/// What one player believes the session is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    fields: Vec<Field>,
}

/// What is being done, for [`SessionMeta::new`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operation<'a> {
    Keygen,
    Sign {
        message: &'a [u8],
        path: &'a [u32],
    },
    /// A refresh or a replace (`kind`) of an existing key.
    Lifecycle {
        kind: &'static str,
    },
}

fn field(name: MetaField, value: [u8; 32]) -> Field {
    (name.to_string(), value)
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
            Operation::Lifecycle { kind } => kind,
        };
        let players: Vec<&[u8]> = config
            .players()
            .iter()
            .map(|p| p.as_str().as_bytes())
            .collect();
        let mut fields = vec![
            field(MetaField::Operation, digest(&[name.as_bytes()])),
            field(MetaField::KeyType, digest(&[key_type.as_str().as_bytes()])),
            field(
                MetaField::Threshold,
                digest(&[&config.threshold.0.to_be_bytes()]),
            ),
            field(MetaField::Wallet, digest(&[wallet.as_str().as_bytes()])),
            field(MetaField::Players, digest(&players)),
        ];
        for p in config.players() {
            let keys = identities
                .iter()
                .find(|i| i.node_id == *p)
                .map(|i| digest(&[&i.signing_key, &i.agreement_key]))
                .unwrap_or_default();
            fields.push(field(MetaField::PlayerKey(p.clone()), keys));
        }
        if let Operation::Sign { message, path } = operation {
            let path: Vec<u8> = path.iter().flat_map(|i| i.to_be_bytes()).collect();
            fields.push(field(MetaField::Message, digest(&[message])));
            fields.push(field(MetaField::DerivationPath, digest(&[&path])));
        }
        Self { fields }
    }

    /// This view with the key epoch of the share this player uses, right
    /// after the players (so it is the field named when only epochs differ).
    /// Epoch 0 (a key never refreshed) adds no field: such sessions look as
    /// they did before epochs existed, so nodes of the previous release still
    /// sign with this one during a rolling upgrade.
    pub(crate) fn with_epoch(mut self, epoch: u64) -> Self {
        if epoch == 0 {
            return self;
        }
        let mut value = [0u8; 32];
        value[..8].copy_from_slice(&epoch.to_be_bytes());
        let at = self
            .fields
            .iter()
            .position(|(n, _)| *n == MetaField::Players.to_string())
            .map_or(self.fields.len(), |i| i + 1);
        self.fields.insert(at, field(MetaField::Epoch, value));
        self
    }

    /// The key epoch in this view (0 without the field).
    pub(crate) fn epoch(&self) -> u64 {
        let name = MetaField::Epoch.to_string();
        let Some((_, value)) = self.fields.iter().find(|(n, _)| *n == name) else {
            return 0;
        };
        let mut epoch = [0u8; 8];
        epoch.copy_from_slice(&value[..8]);
        u64::from_be_bytes(epoch)
    }

    /// The first field on which `other` differs from this view.
    pub(crate) fn first_difference(&self, other: &SessionMeta) -> Option<MetaField> {
        for (name, value) in &self.fields {
            match other.fields.iter().find(|(n, _)| n == name) {
                Some((_, v)) if v == value => {}
                _ => return Some(MetaField::from_name(name)),
            }
        }
        other
            .fields
            .iter()
            .find(|(n, _)| !self.fields.iter().any(|(m, _)| m == n))
            .map(|(n, _)| MetaField::from_name(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_types::{SessionId, Threshold};

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
        let diff = base.first_difference(&other_key);
        assert_eq!(diff, Some(MetaField::PlayerKey(NodeId::new("b").unwrap())));
        assert_eq!(diff.unwrap().to_string(), "public key of b");
        let other_msg = SessionMeta::new(
            sign(b"x"),
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&other_msg), Some(MetaField::Message));
        let keygen = SessionMeta::new(
            Operation::Keygen,
            &config(&["a", "b"], 1),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&keygen), Some(MetaField::Operation));
        let more = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b", "c"], 1),
            KeyType::Ed25519,
            &w,
            &[id("a", 1), id("b", 2), id("c", 3)],
        );
        assert_eq!(base.first_difference(&more), Some(MetaField::Players));
        let t2 = SessionMeta::new(
            sign(b"m"),
            &config(&["a", "b"], 2).clone(),
            KeyType::Ed25519,
            &w,
            &ids,
        );
        assert_eq!(base.first_difference(&t2), Some(MetaField::Threshold));
    }

    #[test]
    fn only_the_epoch_differs_and_it_reads_back() {
        let w = WalletId::new("w").unwrap();
        let ids = [id("a", 1), id("b", 2)];
        let sign = Operation::Sign {
            message: b"m",
            path: &[],
        };
        let view = |e: u64| {
            SessionMeta::new(sign, &config(&["a", "b"], 1), KeyType::Ed25519, &w, &ids)
                .with_epoch(e)
        };
        assert_eq!(view(3).epoch(), 3);
        assert_eq!(view(3).first_difference(&view(3)), None);
        assert_eq!(view(3).first_difference(&view(4)), Some(MetaField::Epoch));
        // Epoch 0 is the view a node of the previous release sends.
        let old = SessionMeta::new(sign, &config(&["a", "b"], 1), KeyType::Ed25519, &w, &ids);
        assert_eq!(view(0), old);
        assert_eq!(old.epoch(), 0);
        assert_eq!(view(1).first_difference(&old), Some(MetaField::Epoch));
    }

    #[test]
    fn field_names_are_the_texts_on_the_wire() {
        let b = NodeId::new("b").unwrap();
        let fields = [
            (MetaField::Operation, "operation"),
            (MetaField::KeyType, "key type"),
            (MetaField::Threshold, "threshold"),
            (MetaField::Wallet, "wallet"),
            (MetaField::Players, "players"),
            (MetaField::Epoch, "key epoch"),
            (MetaField::PlayerKey(b), "public key of b"),
            (MetaField::Message, "message"),
            (MetaField::DerivationPath, "derivation path"),
            (MetaField::Other("colour".into()), "colour"),
        ];
        for (field, name) in fields {
            assert_eq!(field.to_string(), name);
            assert_eq!(MetaField::from_name(name), field);
        }
    }
}
