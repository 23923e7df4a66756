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
//! 5. run (`OtherRun`, `RunNotBound`): an honest envelope bound to another run
//!    of this session id; or one bound to a run while this node has not fixed
//!    its run id yet ([`Opener::bind_run`]), which the caller holds and opens
//!    again after binding. Envelopes of the join barrier ([`RunTag::Joining`])
//!    pass: which nonce is this run's is the runner's judgement (it needs the
//!    join frames), see `docs/protocols.md`.
//! 6. receiver (`WrongReceiver`): an honest p2p envelope for another node.
//! 7. replay (`Replayed`): before decrypting, to skip the work; the window is
//!    only updated after step 8 succeeds, so rejected envelopes never burn a seq.
//!    One window per sender for the bound run, and one per sender and nonce in
//!    the join barrier (a few nonces per sender), so the seqs of a join recorded
//!    in another run never shadow this run's.
//! 8. decryption (`DecryptionFailed`): last, as it needs the authenticated
//!    header for its associated data.
//!
//! So an envelope re-signed by an outsider fails at 2 or 3, an honest one sent
//! to the wrong node at 6, one replayed into another session at 4, one from
//! another run of this session at 5, and one replayed into the same run
//! (whatever round) at 7: seqs are per sender, not per round.
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
use crate::peer_keys::{expand_p2p_key, shared_secret, Direction, PeerKey, PeerKeyError};
use crate::replay::{ReplayWindow, RunId, RunNonce, RunTag};
use crate::secret::{Secret, SecretBytes};

/// Join-barrier nonces per sender with their own replay window; older ones are
/// forgotten (a join is idempotent, so forgetting only costs a duplicate).
const JOINING_WINDOWS: usize = 4;

/// An opened envelope: the authenticated header and the plaintext payload.
#[derive(Debug)]
pub struct Opened {
    pub header: EnvelopeHeader,
    /// Zeroized on drop: p2p payloads carry secret protocol values.
    pub payload: SecretBytes,
}

struct Peer {
    key: PeerKey,
    /// X25519 with this peer; the per-run keys are expanded from it.
    shared: Secret<[u8; 32]>,
    /// Key for this peer's envelopes to this node in the bound run.
    bound_inbound: Option<Secret<[u8; 32]>>,
    bound_window: ReplayWindow,
    /// Replay windows of the join barrier, per nonce, newest last.
    joining: Vec<(RunNonce, ReplayWindow)>,
}

impl Peer {
    fn window(&mut self, tag: &RunTag) -> &mut ReplayWindow {
        match tag {
            RunTag::Bound(_) => &mut self.bound_window,
            RunTag::Joining(nonce) => {
                let i = match self.joining.iter().position(|(n, _)| n == nonce) {
                    Some(i) => i,
                    None => {
                        if self.joining.len() >= JOINING_WINDOWS {
                            self.joining.remove(0);
                        }
                        self.joining.push((*nonce, ReplayWindow::default()));
                        self.joining.len() - 1
                    }
                };
                &mut self.joining[i].1
            }
        }
    }
}

/// Verifies and opens the envelopes this node receives in one run of a session.
pub struct Opener {
    me: PublicIdentity,
    session_id: SessionId,
    /// This run's id, once every player's join is in.
    run: Option<RunId>,
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
            let shared = shared_secret(identity, &public)?;
            let peer = Peer {
                key: PeerKey::new(public)?,
                shared,
                bound_inbound: None,
                bound_window: ReplayWindow::default(),
                joining: Vec::new(),
            };
            map.insert(node_id, peer);
        }
        Ok(Self {
            me: identity.public(),
            session_id,
            run: None,
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

    /// This run's id, once bound.
    pub fn run(&self) -> Option<&RunId> {
        self.run.as_ref()
    }

    /// Fixes this run's id: from now on envelopes bound to it open and those
    /// bound to any other are `OtherRun`. Binding again to another id is a
    /// caller bug; the first binding stays.
    pub fn bind_run(&mut self, run: RunId) -> Result<(), PeerKeyError> {
        if self.run.is_some() {
            return Ok(());
        }
        let tag = RunTag::Bound(run);
        for peer in self.peers.values_mut() {
            peer.bound_inbound = Some(expand_p2p_key(
                &peer.shared,
                &self.me,
                peer.key.public(),
                &self.session_id,
                &tag,
                Direction::FromPeer,
            )?);
        }
        self.run = Some(run);
        Ok(())
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
        match (&header.run, &self.run) {
            (RunTag::Joining(_), _) => {}
            (RunTag::Bound(r), Some(mine)) if r == mine => {}
            (RunTag::Bound(_), Some(_)) => return Err(EnvelopeError::OtherRun { sender }),
            (RunTag::Bound(_), None) => return Err(EnvelopeError::RunNotBound { sender }),
        }
        if header
            .receiver
            .as_ref()
            .is_some_and(|r| *r != self.me.node_id)
        {
            return Err(EnvelopeError::WrongReceiver { sender });
        }
        let seq = header.seq;
        if !peer.window(&header.run).is_fresh(seq) {
            return Err(EnvelopeError::Replayed { sender, seq });
        }
        let payload = if header.is_broadcast() {
            SecretBytes::from_slice(env.body())
        } else {
            let joining;
            let key = match (&header.run, &peer.bound_inbound) {
                (RunTag::Bound(_), Some(key)) => key,
                (RunTag::Joining(_), _) | (RunTag::Bound(_), None) => {
                    joining = expand_p2p_key(
                        &peer.shared,
                        &self.me,
                        peer.key.public(),
                        &self.session_id,
                        &header.run,
                        Direction::FromPeer,
                    )
                    .map_err(|_| EnvelopeError::DecryptionFailed {
                        sender: sender.clone(),
                    })?;
                    &joining
                }
            };
            decrypt(key, env.body(), &aad(env.header_bytes()))
                .map(SecretBytes::new)
                .ok_or(EnvelopeError::DecryptionFailed { sender })?
        };
        peer.window(&header.run).record(seq);
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
            .field("me", &self.me.node_id)
            .field("session_id", &self.session_id)
            .field("run", &self.run)
            .field("peers", &peers)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "opener_tests.rs"]
mod tests;
