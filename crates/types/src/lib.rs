//! Tessera's shared vocabulary: identifiers, the per-session configuration,
//! the client-facing error codes and (in `wire`) the JSON events that mpcium
//! clients exchange with the cluster.
//!
//! This crate has no I/O and no async runtime; every other crate depends on it.
//!
//! Modules:
//! - [`backoff`]: capped, jittered exponential pauses between retries (backon).
//! - [`ids`]: wallet, transaction, session and node identifiers.
//! - [`identity`]: a party's public signing and agreement keys.
//! - [`session_config`]: who takes part in one protocol run, and with which threshold.
//! - [`error_code`]: the `ERROR_*` strings clients match on.
//! - [`trace`]: the trace id that ties one request's log lines together across nodes.
//! - [`wire`]: mpcium-compatible requests, result events and signed bytes.

pub mod backoff;
pub mod error_code;
pub mod identity;
pub mod ids;
pub mod session_config;
pub mod trace;
pub mod wire;

pub use error_code::ErrorCode;
pub use identity::PublicIdentity;
pub use ids::{IdError, NodeId, SessionId, TxId, WalletId};
pub use session_config::{SessionConfig, SessionConfigError, Threshold};
pub use trace::TraceId;
pub use wire::{
    AuthorizerSignature, GenerateKeyMessage, InitiatorMessage, KeyType, KeygenResultEvent,
    ResharingMessage, ResharingResultEvent, ResultType, SignTxMessage, SigningIds,
    SigningResultEvent, WireError,
};
