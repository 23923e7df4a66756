//! Sealed envelopes: how protocol messages travel between nodes.
//!
//! Wire format v2 (at most [`MAX_ENVELOPE_LEN`] bytes):
//!
//! ```text
//! 0x02 | postcard(EnvelopeHeader) | body | Ed25519 signature (64)
//! ```
//!
//! The body runs from the end of the header to the signature. A broadcast body
//! is the payload itself; a p2p body is `nonce (12) || ChaCha20-Poly1305(payload)`.
//!
//! The signature covers `"tessera/envelope/sig/v2" || every byte before it`:
//! exactly the bytes that get parsed, so no field and no encoding detail is
//! outside it. The AEAD's associated data is a label plus the encoded header
//! (session id, run tag, sender, receiver, round, seq), and its key is per
//! session, per run and per direction (see [`crate::peer_keys`]).
//!
//! v2 added the run tag (see [`crate::replay`]): an envelope names the run of
//! its session it belongs to, so one recorded in an earlier run under the same
//! session id never verifies in a later one. v1 envelopes are `Malformed`.
//!
//! AEAD nonces are random 96-bit. A nonce derived from seq would repeat if a
//! join-phase key were ever reused (it depends on the static keys, the session
//! id and the sender's run nonce only), and nonce reuse under
//! ChaCha20-Poly1305 leaks plaintext. With random nonces the chance of any
//! repeat under one key, which carries at most a few thousand messages, is
//! below 2^-70. The cost is 12 bytes per p2p message.
//!
//! Opening, with its check order, is in [`crate::opener`].

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use tessera_types::{ErrorCode, NodeId, PublicIdentity, SessionId};

use crate::identity::NodeIdentity;
use crate::peer_keys::{p2p_key, Direction, PeerKeyError};
use crate::replay::RunTag;
use crate::secret::Secret;

/// Envelope format version, the first byte on the wire.
pub const ENVELOPE_VERSION: u8 = 2;
/// Largest encoded envelope: NATS's default maximum payload, 1 MiB.
pub const MAX_ENVELOPE_LEN: usize = 1024 * 1024;
/// Length of the trailing signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a p2p nonce.
pub const NONCE_LEN: usize = 12;
/// Length of the AEAD tag.
pub const TAG_LEN: usize = 16;

pub(crate) const SIG_LABEL: &[u8] = b"tessera/envelope/sig/v2";
const AAD_LABEL: &[u8] = b"tessera/envelope/aad/v2";

/// Who sent a message, to whom, where in the protocol. Signed with the message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvelopeHeader {
    pub session_id: SessionId,
    /// Which run of the session: the sender's nonce in the join barrier, the run id after.
    pub run: RunTag,
    pub sender: NodeId,
    /// `None` for a broadcast to every player of the session.
    pub receiver: Option<NodeId>,
    pub round: u16,
    /// Per sender, per run; each value used once.
    pub seq: u64,
}

impl EnvelopeHeader {
    pub fn is_broadcast(&self) -> bool {
        self.receiver.is_none()
    }
}

/// Why an envelope was rejected. Every variant after decoding names the
/// sender the header claims (authenticated from `BadSignature` on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is malformed: {reason}")]
    Malformed { reason: &'static str },
    #[error("envelope of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("envelope from unknown sender {sender}")]
    UnknownSender { sender: NodeId },
    #[error("envelope from {sender} has a bad signature")]
    BadSignature { sender: NodeId },
    #[error("envelope from {sender} belongs to another session")]
    WrongSession { sender: NodeId },
    /// Signed by a player for this session id, but for another run of it
    /// (recorded and replayed, or a player whose view of the joins differs).
    /// Nobody is to blame for it.
    #[error("envelope from {sender} is from another run of the session")]
    OtherRun { sender: NodeId },
    /// Bound to a run while this node does not know the session's run id yet:
    /// to be held and opened once it does (see [`crate::opener::Opener::bind_run`]).
    #[error("envelope from {sender} is for a run not fixed here yet")]
    RunNotBound { sender: NodeId },
    #[error("envelope from {sender} is addressed to another node")]
    WrongReceiver { sender: NodeId },
    #[error("envelope from {sender} replays seq {seq}")]
    Replayed { sender: NodeId, seq: u64 },
    #[error("envelope from {sender} does not decrypt")]
    DecryptionFailed { sender: NodeId },
}

impl EnvelopeError {
    /// The sender named in the envelope, when it got far enough to have one.
    pub fn sender(&self) -> Option<&NodeId> {
        match self {
            EnvelopeError::Malformed { .. } | EnvelopeError::TooLarge { .. } => None,
            EnvelopeError::UnknownSender { sender }
            | EnvelopeError::BadSignature { sender }
            | EnvelopeError::WrongSession { sender }
            | EnvelopeError::OtherRun { sender }
            | EnvelopeError::RunNotBound { sender }
            | EnvelopeError::WrongReceiver { sender }
            | EnvelopeError::Replayed { sender, .. }
            | EnvelopeError::DecryptionFailed { sender } => Some(sender),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            EnvelopeError::Malformed { .. } => ErrorCode::MessageFormat,
            EnvelopeError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            EnvelopeError::UnknownSender { .. } => ErrorCode::MessageVerification,
            EnvelopeError::BadSignature { .. } => ErrorCode::MessageVerification,
            EnvelopeError::WrongSession { .. } => ErrorCode::MessageRouting,
            EnvelopeError::OtherRun { .. } => ErrorCode::MessageRouting,
            EnvelopeError::RunNotBound { .. } => ErrorCode::MessageRouting,
            EnvelopeError::WrongReceiver { .. } => ErrorCode::MessageRouting,
            EnvelopeError::Replayed { .. } => ErrorCode::MessageVerification,
            EnvelopeError::DecryptionFailed { .. } => ErrorCode::MessageVerification,
        }
    }
}

/// Why this node could not seal a message. All but `TooLarge` and `PeerKey` are caller bugs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("header sender {sender} is not this node")]
    SenderMismatch { sender: NodeId },
    #[error("receiver key does not match the header's receiver")]
    ReceiverMismatch,
    #[error("p2p envelope needs the receiver's public identity")]
    MissingReceiverKey,
    #[error("p2p envelope addressed to the sender itself")]
    SelfAddressed,
    #[error("envelope of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error(transparent)]
    PeerKey(#[from] PeerKeyError),
    #[error("envelope header cannot be encoded")]
    Encoding,
    #[error("payload cannot be encrypted")]
    Encryption,
}

impl SealError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SealError::SenderMismatch { .. }
            | SealError::ReceiverMismatch
            | SealError::MissingReceiverKey
            | SealError::SelfAddressed => ErrorCode::Internal,
            SealError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            SealError::PeerKey(e) => e.code(),
            SealError::Encoding => ErrorCode::MarshalFailure,
            SealError::Encryption => ErrorCode::Internal,
        }
    }
}

/// A signed (and for p2p, encrypted) protocol message.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    header: EnvelopeHeader,
    /// Offset of the body in `encoded`.
    body_start: usize,
    encoded: Vec<u8>,
}

impl Envelope {
    /// Decodes at most [`MAX_ENVELOPE_LEN`] bytes. Checks structure only; the
    /// signature and everything else is [`crate::opener::Opener`]'s job.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        Self::from_bytes_with_limit(bytes, MAX_ENVELOPE_LEN)
    }

    /// As [`Envelope::from_bytes`], with a caller-chosen size limit.
    pub fn from_bytes_with_limit(bytes: &[u8], max: usize) -> Result<Self, EnvelopeError> {
        if bytes.len() > max {
            return Err(EnvelopeError::TooLarge {
                len: bytes.len(),
                max,
            });
        }
        let malformed = |reason| EnvelopeError::Malformed { reason };
        let (&version, rest) = bytes.split_first().ok_or(malformed("empty"))?;
        if version != ENVELOPE_VERSION {
            return Err(malformed("unsupported version"));
        }
        let signed_rest_len = rest
            .len()
            .checked_sub(SIGNATURE_LEN)
            .ok_or(malformed("truncated"))?;
        let (header, body) = postcard::take_from_bytes::<EnvelopeHeader>(&rest[..signed_rest_len])
            .map_err(|_| malformed("bad header"))?;
        let body_start = bytes.len() - SIGNATURE_LEN - body.len();
        Ok(Self {
            header,
            body_start,
            encoded: bytes.to_vec(),
        })
    }

    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// The payload of a broadcast; `nonce || ciphertext` of a p2p message.
    pub fn body(&self) -> &[u8] {
        &self.encoded[self.body_start..self.encoded.len() - SIGNATURE_LEN]
    }

    pub fn signature(&self) -> &[u8] {
        &self.encoded[self.encoded.len() - SIGNATURE_LEN..]
    }

    /// The header exactly as encoded, for the AEAD's associated data.
    pub(crate) fn header_bytes(&self) -> &[u8] {
        &self.encoded[1..self.body_start]
    }

    /// Everything the signature covers, after the label.
    pub(crate) fn signed_bytes(&self) -> &[u8] {
        &self.encoded[..self.encoded.len() - SIGNATURE_LEN]
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoded.clone()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.encoded
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("header", &self.header)
            .field("body_len", &self.body().len())
            .finish_non_exhaustive()
    }
}

/// Label, then the header as encoded: the AEAD's associated data.
pub(crate) fn aad(header_bytes: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 1 + header_bytes.len());
    aad.extend_from_slice(AAD_LABEL);
    aad.push(ENVELOPE_VERSION);
    aad.extend_from_slice(header_bytes);
    aad
}

/// Label, then the signed bytes: what the Ed25519 signature is over.
pub(crate) fn signing_input(signed_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIG_LABEL.len() + signed_bytes.len());
    m.extend_from_slice(SIG_LABEL);
    m.extend_from_slice(signed_bytes);
    m
}

/// Seals `payload` from `identity`. With `receiver_public` (which must match
/// `header.receiver`) the payload is encrypted to that node; without, it is a
/// broadcast and `header.receiver` must be `None`. Every envelope is signed.
pub fn seal(
    identity: &NodeIdentity,
    header: EnvelopeHeader,
    payload: &[u8],
    receiver_public: Option<&PublicIdentity>,
) -> Result<Envelope, SealError> {
    if &header.sender != identity.node_id() {
        return Err(SealError::SenderMismatch {
            sender: header.sender,
        });
    }
    match (&header.receiver, receiver_public) {
        (None, None) => {}
        (Some(r), Some(p)) if *r == p.node_id => {
            if r == identity.node_id() {
                return Err(SealError::SelfAddressed);
            }
        }
        (Some(_), None) => return Err(SealError::MissingReceiverKey),
        (Some(_), Some(_)) | (None, Some(_)) => return Err(SealError::ReceiverMismatch),
    }
    let header_bytes = postcard::to_allocvec(&header).map_err(|_| SealError::Encoding)?;
    let body_len = match receiver_public {
        Some(_) => NONCE_LEN + payload.len() + TAG_LEN,
        None => payload.len(),
    };
    let len = 1 + header_bytes.len() + body_len + SIGNATURE_LEN;
    if len > MAX_ENVELOPE_LEN {
        return Err(SealError::TooLarge {
            len,
            max: MAX_ENVELOPE_LEN,
        });
    }
    let mut encoded = Vec::with_capacity(len);
    encoded.push(ENVELOPE_VERSION);
    encoded.extend_from_slice(&header_bytes);
    let body_start = encoded.len();
    match receiver_public {
        None => encoded.extend_from_slice(payload),
        Some(receiver) => {
            let key = p2p_key(
                identity,
                receiver,
                &header.session_id,
                &header.run,
                Direction::ToPeer,
            )?;
            let mut nonce = [0u8; NONCE_LEN];
            OsRng.fill_bytes(&mut nonce);
            let ct = encrypt(&key, &nonce, &aad(&header_bytes), payload)?;
            encoded.extend_from_slice(&nonce);
            encoded.extend_from_slice(&ct);
        }
    }
    let sig = identity.sign(&signing_input(&encoded));
    encoded.extend_from_slice(&sig);
    Ok(Envelope {
        header,
        body_start,
        encoded,
    })
}

fn encrypt(
    key: &Secret<[u8; 32]>,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, SealError> {
    ChaCha20Poly1305::new(key.expose().into())
        .encrypt(&Nonce::from(*nonce), Payload { msg: payload, aad })
        .map_err(|_| SealError::Encryption)
}

/// Decrypts a p2p body; `None` if it is too short or fails authentication.
pub(crate) fn decrypt(key: &Secret<[u8; 32]>, body: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ct) = body.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    ChaCha20Poly1305::new(key.expose().into())
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .ok()
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
