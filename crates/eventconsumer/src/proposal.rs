//! A session proposal: the node that pulled a request asks each player to join a
//! session for it. The proposal is signed with the coordinator's node key and
//! carries the client's request as the client sent it, so each player checks the
//! client's signature itself; the coordinator's word is not enough.

use serde::{Deserialize, Serialize};
use tessera_security::{NodeIdentity, PeerKey};
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId, TraceId};

pub use crate::lifecycle_spec::LifecycleSpec;

/// Proposals older than this (or this far in the future) are refused: a
/// captured proposal cannot be replayed later.
pub const MAX_AGE_SECS: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    Keygen,
    Sign,
    /// "Serve this keygen request for me": the node that pulled it is not
    /// among the players the request names (see `delegate`).
    DelegateKeygen,
    /// "Serve this signing request for me", likewise.
    DelegateSign,
    /// A refresh or replace of a key (a reshare request); the proposal
    /// carries the plan ([`LifecycleSpec`]). Appended last: earlier variants
    /// keep their encoding.
    Lifecycle,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub session_id: SessionId,
    pub operation: Operation,
    pub coordinator: NodeId,
    pub players: Vec<NodeId>,
    /// The client's request JSON, byte for byte.
    pub request: Vec<u8>,
    pub issued_at_unix: u64,
    /// The request's trace id. Encoded after the other fields (see [`seal`]),
    /// so a node of the previous release still reads the proposal.
    #[serde(skip)]
    pub trace_id: Option<TraceId>,
    /// A lifecycle proposal's plan, encoded after the trace id (which it needs).
    #[serde(skip)]
    pub lifecycle: Option<LifecycleSpec>,
    /// A signing proposal's key epoch (the coordinator's active one), which
    /// players sign at; encoded after the trace id too.
    #[serde(skip)]
    pub epoch: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    body: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error("unreadable proposal")]
    Malformed,
    #[error("proposal from {0}, which is not a known peer")]
    UnknownCoordinator(NodeId),
    #[error("proposal signature from {0} does not verify")]
    BadSignature(NodeId),
    #[error("proposal is {0} s old")]
    Stale(u64),
    #[error("this node is not a player of the proposed session")]
    NotAPlayer,
    #[error("proposed session id is longer than {max} bytes")]
    SessionIdTooLong { max: usize },
}

impl ProposalError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ProposalError::Malformed => ErrorCode::MessageFormat,
            ProposalError::UnknownCoordinator(_) => ErrorCode::ParticipantNotFound,
            ProposalError::BadSignature(_) => ErrorCode::MessageVerification,
            ProposalError::Stale(_) => ErrorCode::SessionStale,
            ProposalError::NotAPlayer => ErrorCode::ParticipantNotFound,
            ProposalError::SessionIdTooLong { .. } => ErrorCode::MsgValidation,
        }
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What names a proposal: SHA-256 of its sealed bytes as sent. Replies are
/// signed over it, and players remember it so a replay is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProposalId(pub [u8; 32]);

impl ProposalId {
    pub fn of(sealed: &[u8]) -> Self {
        ProposalId(
            sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), sealed))
                .into(),
        )
    }
}

impl std::fmt::Display for ProposalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0[..8]))
    }
}

/// Signs and encodes a proposal. A lifecycle plan and an epoch are only sent with a trace id.
/// The signed body is the proposal's fields, then its trace id when it has one.
pub fn seal(identity: &NodeIdentity, proposal: &Proposal) -> Result<Vec<u8>, postcard::Error> {
    let mut body = postcard::to_allocvec(proposal)?;
    if let Some(trace) = &proposal.trace_id {
        body.extend(postcard::to_allocvec(trace)?);
        if proposal.lifecycle.is_some() || proposal.epoch.is_some() {
            body.extend(postcard::to_allocvec(&(
                &proposal.lifecycle,
                proposal.epoch,
            ))?);
        }
    }
    let signature = identity.sign(&signing_input(&body)).to_vec();
    postcard::to_allocvec(&Signed { body, signature })
}

fn signing_input(body: &[u8]) -> Vec<u8> {
    let mut m = b"tessera/proposal/v1\0".to_vec();
    m.extend_from_slice(body);
    m
}

/// Decodes and checks a proposal for `me`: a known coordinator's signature, age,
/// and that `me` plays. `lookup` gives the identity this node holds for a peer.
pub fn open(
    bytes: &[u8],
    me: &NodeId,
    lookup: impl Fn(&NodeId) -> Option<PublicIdentity>,
) -> Result<Proposal, ProposalError> {
    let signed: Signed = postcard::from_bytes(bytes).map_err(|_| ProposalError::Malformed)?;
    let (mut proposal, rest): (Proposal, _) =
        postcard::take_from_bytes(&signed.body).map_err(|_| ProposalError::Malformed)?;
    // A proposal of the previous release has no trace id; a bad one is dropped
    // (it only names log lines), after the signature check below covers it.
    if let Ok((trace, rest)) = postcard::take_from_bytes(rest) {
        proposal.trace_id = Some(trace);
        if let Ok((lifecycle, epoch)) = postcard::from_bytes(rest) {
            proposal.lifecycle = lifecycle;
            proposal.epoch = epoch;
        }
    }
    let coordinator = proposal.coordinator.clone();
    let identity = lookup(&coordinator)
        .ok_or_else(|| ProposalError::UnknownCoordinator(coordinator.clone()))?;
    let key = PeerKey::new(identity)
        .map_err(|_| ProposalError::UnknownCoordinator(coordinator.clone()))?;
    key.verify(&signing_input(&signed.body), &signed.signature)
        .map_err(|_| ProposalError::BadSignature(coordinator.clone()))?;
    let now = now_unix();
    let age = now.abs_diff(proposal.issued_at_unix);
    if age > MAX_AGE_SECS {
        return Err(ProposalError::Stale(age));
    }
    if !proposal.players.contains(me) || !proposal.players.contains(&coordinator) {
        return Err(ProposalError::NotAPlayer);
    }
    // A keygen's two session ids add a suffix: leave room for it, as for ids from clients.
    let max = tessera_types::wire::MAX_CLIENT_SESSION_ID_LEN;
    if proposal.session_id.as_str().len() > max {
        return Err(ProposalError::SessionIdTooLong { max });
    }
    Ok(proposal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn sealed_proposals_open_only_for_players_from_known_signers() {
        let a = NodeIdentity::generate(id("a"));
        let b = NodeIdentity::generate(id("b"));
        let p = Proposal {
            session_id: SessionId::new("s1").unwrap(),
            operation: Operation::Sign,
            coordinator: id("a"),
            players: vec![id("a"), id("b")],
            request: b"{}".to_vec(),
            issued_at_unix: now_unix(),
            trace_id: None,
            lifecycle: None,
            epoch: None,
        };
        let bytes = seal(&a, &p).unwrap();
        let known = |n: &NodeId| (n == &id("a")).then(|| a.public());
        assert_eq!(open(&bytes, &id("b"), known).unwrap(), p);
        assert!(matches!(
            open(&bytes, &id("c"), known),
            Err(ProposalError::NotAPlayer)
        ));
        assert!(matches!(
            open(&bytes, &id("b"), |_| None),
            Err(ProposalError::UnknownCoordinator(_))
        ));
        // Signed by someone else under a's name.
        let forged = seal(&b, &p).unwrap();
        assert!(matches!(
            open(&forged, &id("b"), known),
            Err(ProposalError::BadSignature(_))
        ));
        let old = Proposal {
            issued_at_unix: now_unix() - 3600,
            ..p.clone()
        };
        assert!(matches!(
            open(&seal(&a, &old).unwrap(), &id("b"), known),
            Err(ProposalError::Stale(_))
        ));
        let mut tampered = bytes.clone();
        let n = tampered.len();
        tampered[n / 2] ^= 1;
        assert!(open(&tampered, &id("b"), known).is_err());
        assert!(matches!(
            open(b"junk", &id("b"), known),
            Err(ProposalError::Malformed)
        ));
        // A valid session id without room for a keygen's `-secp256k1` suffix is
        // refused with a typed error (deriving the keygen ids from it would fail).
        let long = Proposal {
            session_id: SessionId::new("s".repeat(tessera_types::ids::MAX_ID_LEN)).unwrap(),
            ..p.clone()
        };
        let e = open(&seal(&a, &long).unwrap(), &id("b"), known).unwrap_err();
        assert!(matches!(e, ProposalError::SessionIdTooLong { .. }), "{e}");
        assert_eq!(e.code(), ErrorCode::MsgValidation);
        assert!(tessera_types::wire::keygen_session_id(
            &long.session_id,
            tessera_types::KeyType::Secp256k1
        )
        .is_err());
        // A session id that is no subject token does not even decode.
        #[derive(Serialize)]
        struct Forged<'a> {
            session_id: &'a str,
            operation: Operation,
            coordinator: NodeId,
            players: Vec<NodeId>,
            request: Vec<u8>,
            issued_at_unix: u64,
        }
        let body = postcard::to_allocvec(&Forged {
            session_id: "a.b>",
            operation: Operation::Sign,
            coordinator: id("a"),
            players: vec![id("a"), id("b")],
            request: b"{}".to_vec(),
            issued_at_unix: now_unix(),
        })
        .unwrap();
        let signature = a.sign(&signing_input(&body)).to_vec();
        let forged = postcard::to_allocvec(&Signed { body, signature }).unwrap();
        assert!(matches!(
            open(&forged, &id("b"), known),
            Err(ProposalError::Malformed)
        ));
    }

    #[test]
    fn the_trace_id_rides_after_the_fields_the_previous_release_reads() {
        let a = NodeIdentity::generate(id("a"));
        let known = |n: &NodeId| (n == &id("a")).then(|| a.public());
        let p = Proposal {
            session_id: SessionId::new("s1").unwrap(),
            operation: Operation::Keygen,
            coordinator: id("a"),
            players: vec![id("a"), id("b")],
            request: b"{}".to_vec(),
            issued_at_unix: now_unix(),
            trace_id: Some(TraceId::new("trace-1").unwrap()),
            lifecycle: None,
            epoch: None,
        };
        let sealed = seal(&a, &p).unwrap();
        assert_eq!(open(&sealed, &id("b"), known).unwrap(), p);
        // The previous release decodes the same body without the trace id.
        let signed: Signed = postcard::from_bytes(&sealed).unwrap();
        let old: Proposal = postcard::from_bytes(&signed.body).unwrap();
        assert_eq!(
            old,
            Proposal {
                trace_id: None,
                lifecycle: None,
                epoch: None,
                ..p.clone()
            }
        );
        // And this release reads the previous release's proposals.
        let body = postcard::to_allocvec(&old).unwrap();
        let signature = a.sign(&signing_input(&body)).to_vec();
        let previous = postcard::to_allocvec(&Signed { body, signature }).unwrap();
        assert_eq!(open(&previous, &id("b"), known).unwrap(), old);
    }

    #[test]
    fn a_lifecycle_plan_rides_after_the_trace_id_and_is_signed() {
        let a = NodeIdentity::generate(id("a"));
        let known = |n: &NodeId| (n == &id("a")).then(|| a.public());
        let spec = LifecycleSpec {
            wallet_id: tessera_types::WalletId::new("w").unwrap(),
            key_type: tessera_types::wire::KeyType::Ed25519,
            committee: vec![(id("a"), 1), (id("b"), 2)],
            targets: vec![id("b")],
            removed: Vec::new(),
            from_epoch: 3,
            public_key: vec![7; 32],
            threshold: 1,
        };
        let p = Proposal {
            session_id: SessionId::new("s1").unwrap(),
            operation: Operation::Lifecycle,
            coordinator: id("a"),
            players: vec![id("a"), id("b")],
            request: b"{}".to_vec(),
            issued_at_unix: now_unix(),
            trace_id: Some(TraceId::new("trace-1").unwrap()),
            lifecycle: Some(spec),
            epoch: Some(4),
        };
        let sealed = seal(&a, &p).unwrap();
        assert_eq!(open(&sealed, &id("b"), known).unwrap(), p);
        // The plan is covered by the signature: changed bytes do not verify.
        let mut signed: Signed = postcard::from_bytes(&sealed).unwrap();
        let last = signed.body.len() - 2;
        signed.body[last] ^= 1;
        let tampered = postcard::to_allocvec(&signed).unwrap();
        assert!(matches!(
            open(&tampered, &id("b"), known),
            Err(ProposalError::BadSignature(_))
        ));
    }
}
