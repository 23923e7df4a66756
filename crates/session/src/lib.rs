//! Sans-IO threshold protocol sessions: one party's side of a keygen, a
//! signing or a share refresh, for ECDSA secp256k1 (DKLs23) and EdDSA Ed25519 (FROST).
//!
//! A [`Session`] takes authenticated messages in and returns messages to send;
//! it never touches the network or the clock. The node's runner owns I/O and
//! deadlines (it asks [`Session::waiting_for`] whom it is still waiting for).
//!
//! Modules:
//! - [`session`]: the generic driver (message checks, buffering, echo broadcast).
//! - [`round`]: the contract between the driver and one protocol.
//! - [`message`]: the protocol message.
//! - [`echo`]: broadcast-consistency digests.
//! - [`error`]: rejections (message dropped) and aborts (session over).
//! - [`ecdsa`], [`eddsa`]: keygen, signing, refresh and replace, and their key shares.
//! - `lifecycle`: the checks every refresh makes (same threshold, every holder).
//! - [`replace_plan`]: who repairs and who is repaired in a replace, and its preconditions.
//! - [`replace_error`], [`repair_failure`]: why a replace was refused, why a repair produced no share.
//! - [`share`]: the versioned key-share format.
//! - [`epoch_digest`]: the digest of a share's public data at its epoch (holders compare it).
//! - [`share_info`]: what every share has in common (`ShareInfo`, decode errors).
//! - [`derive`]: non-hardened child keys from public data.
//! - [`verify`]: independent signature verification.
//! - [`simulator`]: an in-memory network of parties with injectable faults.
//!
//! Threshold semantics follow mpcium: `t` means `t + 1` signers.

pub(crate) mod codec;
pub mod derive;
pub mod ecdsa;
pub mod echo;
pub mod eddsa;
pub mod epoch_digest;
pub mod error;
pub(crate) mod lifecycle;
pub mod message;
pub mod parties;
pub mod repair_failure;
pub mod replace_error;
pub mod replace_plan;
pub mod round;
pub mod session;
pub mod share;
pub mod share_info;
pub mod simulator;
pub mod verify;

pub use derive::DerivationPath;
pub use error::{Abort, AbortBlame, HandleError, Rejection};
pub use message::ProtocolMessage;
pub use replace_plan::{ReplaceError, ReplacePlan, ReplaceRole, TargetKey};
pub use round::RoundProtocol;
pub use session::{Session, Status};
pub use share::{KeyShare, ShareInfo};
