//! What a runner puts inside a sealed envelope. The envelope proves who sent it;
//! the frame says what it is. Protocol frames travel on the session's subjects,
//! join and abort frames on the peers' control subjects (they reach a peer that
//! has not opened the session yet; joins are signed, not encrypted), heartbeats, departures and keygen
//! confirmations on the session's broadcast subject.

use serde::{Deserialize, Serialize};
use tessera_security::RunNonce;
use tessera_types::{ErrorCode, NodeId, TraceId};

use crate::meta::SessionMeta;

/// Envelope `round` used for frames that are not protocol messages.
pub const CONTROL_ROUND: u16 = u16::MAX;

/// A join: the sender's view of the session, and the run nonces it has seen
/// from the other players. Its own nonce for this run is in the envelope header
/// (`RunTag::Joining`). A join that echoes the receiver's nonce was made after
/// the receiver's join of this run, so it cannot be a recording of another run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub meta: SessionMeta,
    pub echo: Vec<(NodeId, RunNonce)>,
    /// The trace id of the request the session serves, when the sender knows
    /// it. Encoded after the frame (see [`Frame::to_bytes`]): a node of the
    /// previous release reads the join without it.
    #[serde(skip)]
    pub trace: Option<TraceId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// "My subscriptions for this session are live on the server, and this is
    /// the session as I see it." Sent signed but not encrypted, so a player
    /// that holds a different agreement key for us can still read and compare.
    Join(Join),
    /// One protocol message (`ProtocolMessage::to_bytes`).
    Protocol(Vec<u8>),
    /// "I am still here"; sent while a session runs so a dead peer is noticed.
    Heartbeat,
    /// The sender finished the protocol and leaves; its silence from now on is
    /// expected. In keygen it is sent once the sender stored its share.
    Finished,
    /// Keygen finished on the sender with this digest of the public key and chain code.
    KeygenDone { digest: [u8; 32] },
    /// The sender gave up on the session. `blamed` is its claim, not a proof.
    Abort {
        code: ErrorCode,
        blamed: Vec<NodeId>,
        reason: String,
    },
}

impl Frame {
    /// The frame's encoding; a join's trace id follows it.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data into a Vec cannot fail.
        let mut bytes = postcard::to_allocvec(self).unwrap_or_default();
        if let Frame::Join(Join { trace: Some(t), .. }) = self {
            bytes.extend(postcard::to_allocvec(t).unwrap_or_default());
        }
        bytes
    }

    /// Decodes a frame; a join's trailing trace id is read when present and
    /// valid (it only names log lines).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (mut frame, rest) = postcard::take_from_bytes::<Frame>(bytes).ok()?;
        if let Frame::Join(join) = &mut frame {
            join.trace = postcard::from_bytes(rest).ok();
        }
        Some(frame)
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Join(_) => "join",
            Frame::Protocol(_) => "protocol",
            Frame::Heartbeat => "heartbeat",
            Frame::Finished => "finished",
            Frame::KeygenDone { .. } => "keygen-done",
            Frame::Abort { .. } => "abort",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_none() {
        let frames = [
            Frame::Join(Join::default()),
            Frame::Join(Join {
                meta: SessionMeta::default(),
                echo: vec![(NodeId::new("node-b").unwrap(), RunNonce([7; 32]))],
                trace: None,
            }),
            Frame::Join(Join {
                trace: Some(TraceId::new("trace-7").unwrap()),
                ..Join::default()
            }),
            Frame::Protocol(vec![1, 2, 3]),
            Frame::Heartbeat,
            Frame::Finished,
            Frame::KeygenDone { digest: [9; 32] },
            Frame::Abort {
                code: ErrorCode::PeerUnavailable,
                blamed: vec![NodeId::new("node-c").unwrap()],
                reason: "peer silent".into(),
            },
        ];
        for f in frames {
            assert_eq!(Frame::from_bytes(&f.to_bytes()), Some(f));
        }
        assert_eq!(Frame::from_bytes(&[0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn the_previous_release_reads_a_join_with_a_trace_and_this_one_reads_its_joins() {
        let traced = Frame::Join(Join {
            trace: Some(TraceId::new("trace-7").unwrap()),
            ..Join::default()
        });
        // The previous release decodes the frame alone and ignores what follows.
        let bytes = traced.to_bytes();
        let old: Frame = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(old, Frame::Join(Join::default()));
        // A join of the previous release has no trace id.
        let previous = postcard::to_allocvec(&old).unwrap();
        assert_eq!(Frame::from_bytes(&previous), Some(old));
    }
}
