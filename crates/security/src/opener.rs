//! Opening envelopes: one [`Opener`] per node per session.
//!
//! Check order, cheapest-safe first, and nothing trusted before it is signed:
//!
//! 1. size and structure (`TooLarge`, `Malformed`): before any work.
//! 2. known sender (`UnknownSender`): needed to pick the key; a map lookup.
//! 3. signature (`BadSignature`): from here on every header field is the
//!    sender's own words, so the checks below may blame the sender. Checking the
//!    session or receiver earlier would let anyone who rewrites a header get an
//!    honest node reported for it.
//! 4. session (`WrongSession`): an honest envelope from another session.
//! 5. receiver (`WrongReceiver`): an honest p2p envelope for another node.
//! 6. replay (`Replayed`): before decrypting, to skip the work; the window is
//!    only updated after step 7 succeeds, so rejected envelopes never burn a seq.
//! 7. decryption (`DecryptionFailed`): last, as it needs the authenticated
//!    header for its associated data.
//!
//! So an envelope re-signed by an outsider fails at 2 or 3, an honest one sent
//! to the wrong node at 5, one replayed into another session at 4, and one
//! replayed into the same session (whatever round) at 6: seqs are per sender,
//! not per round.
//!
//! This node's own id is never in the peer set: the transport drops its own
//! echoes before opening, and anything claiming to be from this node is `UnknownSender`.

use std::collections::HashMap;
use std::fmt;

use tessera_types::{NodeId, PublicIdentity, SessionId};

use crate::envelope::{
    aad, decrypt, signing_input, Envelope, EnvelopeError, EnvelopeHeader, MAX_ENVELOPE_LEN,
};
use crate::identity::NodeIdentity;
use crate::peer_keys::{p2p_key, Direction, PeerKey, PeerKeyError};
use crate::replay::ReplayWindow;
use crate::secret::{Secret, SecretBytes};

/// An opened envelope: the authenticated header and the plaintext payload.
#[derive(Debug)]
pub struct Opened {
    pub header: EnvelopeHeader,
    /// Zeroized on drop: p2p payloads carry secret protocol values.
    pub payload: SecretBytes,
}

struct Peer {
    key: PeerKey,
    /// Key for envelopes from this peer to this node, derived once.
    inbound: Secret<[u8; 32]>,
    window: ReplayWindow,
}

/// Verifies and opens the envelopes this node receives in one session.
pub struct Opener {
    me: NodeId,
    session_id: SessionId,
    peers: HashMap<NodeId, Peer>,
    max_len: usize,
}

impl Opener {
    /// `peers` are the session's players; this node's own entry, if present, is skipped.
    pub fn new(
        identity: &NodeIdentity,
        session_id: SessionId,
        peers: impl IntoIterator<Item = PublicIdentity>,
    ) -> Result<Self, PeerKeyError> {
        let mut map = HashMap::new();
        for public in peers {
            if &public.node_id == identity.node_id() {
                continue;
            }
            let node_id = public.node_id.clone();
            if map.contains_key(&node_id) {
                return Err(PeerKeyError::DuplicatePeer { node_id });
            }
            let inbound = p2p_key(identity, &public, &session_id, Direction::FromPeer)?;
            let peer = Peer {
                key: PeerKey::new(public)?,
                inbound,
                window: ReplayWindow::default(),
            };
            map.insert(node_id, peer);
        }
        Ok(Self {
            me: identity.node_id().clone(),
            session_id,
            peers: map,
            max_len: MAX_ENVELOPE_LEN,
        })
    }

    /// Lowers (or raises) the size limit from [`MAX_ENVELOPE_LEN`].
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    /// Whether `node` is an accepted sender in this session.
    pub fn is_peer(&self, node: &NodeId) -> bool {
        self.peers.contains_key(node)
    }

    /// Checks an envelope in the order the module documents and returns its payload.
    pub fn open(&mut self, bytes: &[u8]) -> Result<Opened, EnvelopeError> {
        let env = Envelope::from_bytes_with_limit(bytes, self.max_len)?;
        let sender = env.header().sender.clone();
        let Some(peer) = self.peers.get_mut(&sender) else {
            return Err(EnvelopeError::UnknownSender { sender });
        };
        if peer
            .key
            .verify(&signing_input(env.signed_bytes()), env.signature())
            .is_err()
        {
            return Err(EnvelopeError::BadSignature { sender });
        }
        let header = env.header();
        if header.session_id != self.session_id {
            return Err(EnvelopeError::WrongSession { sender });
        }
        if header.receiver.as_ref().is_some_and(|r| *r != self.me) {
            return Err(EnvelopeError::WrongReceiver { sender });
        }
        let seq = header.seq;
        if !peer.window.is_fresh(seq) {
            return Err(EnvelopeError::Replayed { sender, seq });
        }
        let payload = if header.is_broadcast() {
            SecretBytes::from_slice(env.body())
        } else {
            decrypt(&peer.inbound, env.body(), &aad(env.header_bytes()))
                .map(SecretBytes::new)
                .ok_or(EnvelopeError::DecryptionFailed { sender })?
        };
        peer.window.record(seq);
        Ok(Opened {
            header: env.header().clone(),
            payload,
        })
    }
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut peers: Vec<&NodeId> = self.peers.keys().collect();
        peers.sort();
        f.debug_struct("Opener")
            .field("me", &self.me)
            .field("session_id", &self.session_id)
            .field("peers", &peers)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "opener_tests.rs"]
mod tests;
