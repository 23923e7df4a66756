//! Tessera's own signed statements outside sessions: result events, ledger
//! records and replies to proposals. Each is signed by a node's identity key
//! over a domain label and its length-prefixed parts:
//!
//! ```text
//! label || 0x00 || for each part: u32 big-endian length || part bytes
//! ```
//!
//! Every domain has its own label, distinct from the labels of envelopes
//! (`tessera/envelope/sig/v1`) and proposals (`tessera/proposal/v1`), so a
//! signature made for one purpose never verifies for another, and the length
//! prefixes keep two different lists of parts from encoding alike.

use tessera_types::{NodeId, PublicIdentity};

use crate::identity::NodeIdentity;
use crate::peer_keys::{BadNodeSignature, PeerKey};

/// What a signed statement is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A result event: subject, `Nats-Msg-Id`, payload.
    Result,
    /// A request ledger record: key, record body.
    Ledger,
    /// A player's reply to a proposal: proposal id, reply body.
    Reply,
    /// A node's ready record in Consul: the ready key, record body.
    Ready,
}

impl Domain {
    pub fn label(self) -> &'static str {
        match self {
            Domain::Result => "tessera/result/v1",
            Domain::Ledger => "tessera/ledger/v1",
            Domain::Reply => "tessera/reply/v1",
            Domain::Ready => "tessera/ready/v1",
        }
    }
}

/// The bytes a statement's signature covers.
pub fn signing_bytes(domain: Domain, parts: &[&[u8]]) -> Vec<u8> {
    let label = domain.label().as_bytes();
    let len = label.len() + 1 + parts.iter().map(|p| 4 + p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(label);
    out.push(0);
    for part in parts {
        // Parts are bounded by NATS's payload limit, far below 4 GiB.
        let n = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Signs a statement with this node's identity.
pub fn sign(identity: &NodeIdentity, domain: Domain, parts: &[&[u8]]) -> [u8; 64] {
    identity.sign(&signing_bytes(domain, parts))
}

/// Why a signed statement is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("unsigned {0}")]
    Unsigned(&'static str),
    #[error("{what} claims to be signed by {node}, which is not a known node")]
    UnknownSigner { what: &'static str, node: String },
    #[error("{what} signature by {node} does not verify")]
    BadSignature { what: &'static str, node: NodeId },
}

impl StatementError {
    pub fn code(&self) -> tessera_types::ErrorCode {
        match self {
            StatementError::Unsigned(_) => tessera_types::ErrorCode::MessageVerification,
            StatementError::UnknownSigner { .. } => tessera_types::ErrorCode::ParticipantNotFound,
            StatementError::BadSignature { .. } => tessera_types::ErrorCode::MessageVerification,
        }
    }
}

fn what(domain: Domain) -> &'static str {
    match domain {
        Domain::Result => "result",
        Domain::Ledger => "ledger record",
        Domain::Reply => "reply",
        Domain::Ready => "ready record",
    }
}

/// Checks that `node` signed the statement, with the identity `lookup` gives
/// for it (the caller's own configuration, never the network).
pub fn verify(
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
    node: &str,
    signature: &[u8],
    domain: Domain,
    parts: &[&[u8]],
) -> Result<NodeId, StatementError> {
    let unknown = || StatementError::UnknownSigner {
        what: what(domain),
        node: node.chars().take(64).collect(),
    };
    let id = NodeId::new(node).map_err(|_| unknown())?;
    let public = lookup(&id).ok_or_else(unknown)?;
    let key = PeerKey::new(public).map_err(|_| unknown())?;
    key.verify(&signing_bytes(domain, parts), signature)
        .map_err(
            |BadNodeSignature { node_id }| StatementError::BadSignature {
                what: what(domain),
                node: node_id,
            },
        )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, VerifyingKey};

    use super::*;

    fn node(name: &str) -> NodeIdentity {
        NodeIdentity::generate(NodeId::new(name).unwrap())
    }

    #[test]
    fn the_signed_bytes_are_label_zero_and_length_prefixed_parts() {
        assert_eq!(
            signing_bytes(Domain::Result, &[b"ab", b""]),
            b"tessera/result/v1\0\0\0\0\x02ab\0\0\0\0".to_vec()
        );
        // Moving a byte between parts changes the bytes.
        assert_ne!(
            signing_bytes(Domain::Reply, &[b"ab", b"c"]),
            signing_bytes(Domain::Reply, &[b"a", b"bc"])
        );
    }

    #[test]
    fn a_statement_verifies_with_ed25519_dalek_and_only_in_its_domain() {
        let a = node("node0");
        let sig = sign(&a, Domain::Result, &[b"subject", b"id", b"{}"]);
        // An independent check, as an mpcium client would do it.
        let vk = VerifyingKey::from_bytes(&a.public().signing_key).unwrap();
        let bytes = signing_bytes(Domain::Result, &[b"subject", b"id", b"{}"]);
        vk.verify_strict(&bytes, &Signature::from_bytes(&sig))
            .unwrap();
        let known = |n: &NodeId| (n.as_str() == "node0").then(|| a.public());
        let parts: [&[u8]; 3] = [b"subject", b"id", b"{}"];
        assert_eq!(
            verify(known, "node0", &sig, Domain::Result, &parts)
                .unwrap()
                .as_str(),
            "node0"
        );
        for domain in [Domain::Ledger, Domain::Reply, Domain::Ready] {
            assert!(matches!(
                verify(known, "node0", &sig, domain, &parts),
                Err(StatementError::BadSignature { .. })
            ));
        }
        let other: [&[u8]; 3] = [b"subject", b"id", b"{ }"];
        assert!(verify(known, "node0", &sig, Domain::Result, &other).is_err());
        // Signed by a stranger under a known name, or by an unknown name.
        let stranger = sign(&node("node0"), Domain::Result, &parts);
        assert!(matches!(
            verify(known, "node0", &stranger, Domain::Result, &parts),
            Err(StatementError::BadSignature { .. })
        ));
        assert!(matches!(
            verify(known, "node9", &sig, Domain::Result, &parts),
            Err(StatementError::UnknownSigner { .. })
        ));
        assert!(matches!(
            verify(known, "not a node id!", &sig, Domain::Result, &parts),
            Err(StatementError::UnknownSigner { .. })
        ));
        assert!(verify(known, "node0", b"short", Domain::Result, &parts).is_err());
    }
}
