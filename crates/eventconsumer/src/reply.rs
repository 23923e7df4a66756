//! A player's answer to a proposal or a delegation. The player signs it with
//! its node key over the proposal's id, so the asking node accepts only the
//! answer of the node it asked, to that very proposal: whoever else reads the
//! reply inbox cannot answer for it, and an answer to another proposal does
//! not fit.

use serde::{Deserialize, Serialize};
use tessera_security::statement::{self, Domain, StatementError};
use tessera_security::NodeIdentity;
use tessera_types::{ErrorCode, NodeId, PublicIdentity};

use crate::proposal::ProposalId;

/// What a player answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Joined,
    Refused {
        code: ErrorCode,
        reason: String,
    },
    /// A delegated request was served: the success result's JSON, or why not.
    Served {
        result: Result<Vec<u8>, RemoteError>,
    },
}

/// Why a delegated request failed, as the delegate answers it: its code and
/// reason, passed on to the client as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    pub code: ErrorCode,
    pub reason: String,
}

/// A reply as sent: the answering node, the postcard bytes of its [`Reply`]
/// and its signature over the proposal id and those bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    node: String,
    body: Vec<u8>,
    signature: Vec<u8>,
}

/// Why a reply is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("unreadable reply")]
    Malformed,
    #[error("reply from {found}, but {expected} was asked")]
    NotAsked { expected: NodeId, found: String },
    #[error("{0}")]
    Signature(StatementError),
}

impl ReplyError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ReplyError::Malformed => ErrorCode::MessageFormat,
            ReplyError::NotAsked { .. } => ErrorCode::MessageVerification,
            ReplyError::Signature(e) => e.code(),
        }
    }
}

/// Signs `reply` to the proposal `proposal` as this node.
pub fn seal(
    identity: &NodeIdentity,
    proposal: ProposalId,
    reply: &Reply,
) -> Result<Vec<u8>, postcard::Error> {
    let body = postcard::to_allocvec(reply)?;
    let signature = statement::sign(identity, Domain::Reply, &[&proposal.0, &body]).to_vec();
    postcard::to_allocvec(&Signed {
        node: identity.node_id().as_str().to_string(),
        body,
        signature,
    })
}

/// Opens a reply to `proposal` that must come from `from`, checked with the
/// identity `lookup` gives (this node's own configuration).
pub fn open(
    bytes: &[u8],
    from: &NodeId,
    proposal: ProposalId,
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
) -> Result<Reply, ReplyError> {
    let signed: Signed = postcard::from_bytes(bytes).map_err(|_| ReplyError::Malformed)?;
    if signed.node != from.as_str() {
        return Err(ReplyError::NotAsked {
            expected: from.clone(),
            found: signed.node.chars().take(64).collect(),
        });
    }
    statement::verify(
        lookup,
        &signed.node,
        &signed.signature,
        Domain::Reply,
        &[&proposal.0, &signed.body],
    )
    .map_err(ReplyError::Signature)?;
    postcard::from_bytes(&signed.body).map_err(|_| ReplyError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn a_reply_opens_only_from_the_node_asked_for_the_proposal_asked() {
        let b = NodeIdentity::generate(id("b"));
        let c = NodeIdentity::generate(id("c"));
        let known = |n: &NodeId| match n.as_str() {
            "b" => Some(b.public()),
            "c" => Some(c.public()),
            _ => None,
        };
        let p = ProposalId::of(b"proposal one");
        let served = Reply::Served {
            result: Ok(b"{}".to_vec()),
        };
        let bytes = seal(&b, p, &served).unwrap();
        assert_eq!(open(&bytes, &id("b"), p, known).unwrap(), served);
        // Another proposal's answer does not fit this one.
        let other = ProposalId::of(b"proposal two");
        assert!(matches!(
            open(&bytes, &id("b"), other, known),
            Err(ReplyError::Signature(StatementError::BadSignature { .. }))
        ));
        // A known node answering for the one asked.
        let by_c = seal(&c, p, &served).unwrap();
        let e = open(&by_c, &id("b"), p, known).unwrap_err();
        assert!(matches!(e, ReplyError::NotAsked { .. }), "{e}");
        // A stranger's key under b's name.
        let stranger = NodeIdentity::generate(id("b"));
        let e = open(&seal(&stranger, p, &served).unwrap(), &id("b"), p, known).unwrap_err();
        assert!(matches!(e, ReplyError::Signature(_)), "{e}");
        assert_eq!(e.code(), ErrorCode::MessageVerification);
        // An unsigned reply of the old format.
        let old = postcard::to_allocvec(&served).unwrap();
        assert!(open(&old, &id("b"), p, known).is_err());
        // A tampered body.
        let mut tampered = bytes.clone();
        let at = tampered.len() - 70;
        tampered[at] ^= 1;
        assert!(open(&tampered, &id("b"), p, known).is_err());
    }
}
