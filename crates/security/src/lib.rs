//! Tessera's security layer: who a node is, how its messages are protected,
//! how client requests are authenticated and how secrets are kept at rest.
//!
//! - Node identity: an Ed25519 key that signs every message and an X25519 key
//!   that p2p payloads are encrypted to, stored in a 0600 file, optionally sealed
//!   with a passphrase.
//! - Envelopes: every protocol message is signed by its sender over a
//!   domain-separated encoding; p2p payloads are also encrypted with
//!   ChaCha20-Poly1305 under a per-session, per-direction key from HKDF(X25519).
//!   An [`Opener`] rejects anything that fails a check, naming the sender.
//! - Initiator signatures: mpcium's client formats (Ed25519, P-256 ECDSA).
//! - At rest: XChaCha20-Poly1305 records keyed by Argon2id or a key file.
//! - [`Secret<T>`]: zeroized on drop, `<redacted>` in `Debug` and `Display`.
//!
//! No async runtime, no network; the only I/O is reading and writing key files.
//!
//! Modules:
//! - [`secret`]: `Secret<T>` and `SecretBytes`.
//! - [`statement`]: signed statements outside sessions (results, ledger
//!   records, replies), domain-separated.
//! - [`identity`]: `NodeIdentity`, this node's private keys.
//! - [`identity_file`]: saving and loading identities and public documents.
//! - [`private_file`]: atomic 0600 writes, permission-checked reads.
//! - [`peer_keys`]: validated peer keys and p2p key derivation.
//! - [`envelope`]: the envelope header, wire format and `seal`.
//! - [`opener`]: `Opener`, the per-session checks on received envelopes.
//! - [`replay`]: the per-sender sliding replay window, and run nonces and ids
//!   (envelopes of another run of a session never verify).
//! - [`initiator`]: client request keys, signature checks and a signer.
//! - [`kdf`]: Argon2id parameters and derivation.
//! - [`at_rest`]: sealed records for key shares.
//! - [`error`]: `SecurityError`, wrapping every module's error.

mod agreed;
pub mod at_rest;
pub mod envelope;
pub mod error;
pub mod identity;
pub mod identity_file;
pub mod initiator;
pub mod kdf;
pub mod opener;
pub mod peer_keys;
pub mod private_file;
pub mod replay;
pub mod secret;
pub mod statement;

pub use at_rest::{AtRestError, AtRestKey};
pub use envelope::{seal, Envelope, EnvelopeError, EnvelopeHeader, SealError, MAX_ENVELOPE_LEN};
pub use error::SecurityError;
pub use identity::NodeIdentity;
pub use identity_file::{IdentityFileError, KeyProtection};
pub use initiator::{
    InitiatorKey, InitiatorKeyError, InitiatorKeyKind, InitiatorSigner, SignatureError,
};
pub use kdf::{KdfParams, Salt};
pub use opener::{Opened, Opener};
pub use peer_keys::{PeerKey, PeerKeyError};
pub use replay::{RunId, RunNonce, RunTag};
pub use secret::{Secret, SecretBytes};
pub use statement::{Domain, StatementError};
