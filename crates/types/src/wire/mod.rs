//! The JSON that mpcium clients exchange with the cluster: requests, result
//! events, and the exact bytes an initiator or authorizer signs.
//!
//! Files:
//! - [`go_json`]: Go `encoding/json` string escaping, [`GoObject`], [`to_go_json`].
//! - [`b64`]: serde for byte fields (standard base64, as Go reads and writes `[]byte`).
//! - `go_zero`: how Go's zero values (`""`, `null`, `false`) appear in results.
//! - `key_type`, `result_type`: the `key_type` and `result_type` enums.
//! - `authorizer`: [`AuthorizerSignature`], the authorizer payload, [`InitiatorMessage`].
//! - `keygen_request`, `sign_request`, `reshare_request`: the three requests.
//! - `keygen_result`, `signing_result`, `resharing_result`: the three results.
//! - `session_spec`: `tessera_session`, the optional session configuration
//!   (session id, players, dynamic public keys) of keygen and signing requests.
//! - `tenant_registration`: [`TenantKeyRegistration`], a tenant's key for one session.
//! - `error`: [`WireError`] and its [`ErrorCode`](crate::ErrorCode).
//!
//! # Decisions, with the evidence behind them
//!
//! **Signed bytes** are built by hand with [`GoObject`], never with serde, so
//! key order and escaping cannot drift. Keygen signs the raw UTF-8 of
//! `wallet_id`; signing and reshare sign Go's compact JSON of their first five
//! fields; authorizers sign `{"initiator_id","initiator_raw","initiator_sig"}`
//! (mpcium `pkg/types/initiator_msg.go`: `Raw()` and `ComposeAuthorizerRaw`).
//!
//! **Escaping** follows Go's `encoding/json` `appendString` as of Go 1.22+
//! (`src/encoding/json/encode.go`): `<` `>` `&` as `\u003c` `\u003e` `\u0026`,
//! U+2028/U+2029 as `\u2028`/`\u2029`, `\b` `\f` `\n` `\r` `\t` as short escapes
//! (Go 1.22 changed `\b` and `\f` from `\u0008`/`\u000c`; mpcium's `go.mod`
//! declares go 1.26, so its Go client cannot be built with an older Go), other
//! control bytes as lowercase `\u00XX`, `/` and DEL unescaped. Result events go
//! through the same escaping ([`to_go_json`]), so they are byte-identical to
//! mpcium's. (The TypeScript client's `JSON.stringify` escapes none of `<>&`
//! or U+2028/9, so its signatures over such ids fail on mpcium too; plain ids
//! are the same bytes either way.)
//!
//! **Empty fields in results.** mpcium's `KeygenResultEvent`,
//! `SigningResultEvent` and `ResharingResultEvent` (`pkg/event/*.go`) tag no
//! field `omitempty`, so Go always writes every key: an unset string (including
//! `error_code`, a Go `string` type) as `""`, an unset `[]byte` as `null`, an
//! unset bool as `false`. We write exactly that: `Option<ErrorCode>::None` is
//! `""`, `Option<Vec<u8>>::None` is `null`. On input, `""`, `null` and a missing
//! key all mean unset, and an unknown code reads as `ERROR_UNKNOWN`.
//!
//! **Requests on input.** Unknown fields are ignored, as Go does, so Tessera can
//! add optional fields (always omitted when unset) without breaking old
//! clients. A field is required when every known client always writes it (Go
//! fields without `omitempty`); `derivation_path`, `authorizer_signatures` and
//! the reshare `signature` may be missing. Stricter than Go, on purpose: a
//! required field that is missing or `null` is an error (Go would use `""`),
//! duplicate keys are an error (Go keeps the last, which lets two parsers
//! disagree about what was signed), and keys match case-sensitively (Go folds
//! case). No known client produces any of these.
//!
//! **Ids** stay `String` on the wire structs so the JSON is exactly what was
//! sent and signed; `parse_*` and `validate` turn them into [`WalletId`],
//! [`TxId`], ... with a typed [`WireError`], never a panic.
//!
//! [`WalletId`]: crate::WalletId
//! [`TxId`]: crate::TxId

pub mod b64;
pub mod domain;
pub mod go_json;

mod authorizer;
mod error;
mod go_zero;
mod key_type;
mod keygen_request;
mod keygen_result;
mod reshare_request;
mod resharing_result;
mod result_type;
mod session_spec;
mod sign_request;
mod signing_result;
mod tenant_registration;

pub use authorizer::{authorizer_payload, AuthorizerSignature, InitiatorMessage};
pub use error::WireError;
pub use go_json::{to_go_json, GoObject};
pub use key_type::{keygen_session_id, KeyType, MAX_CLIENT_SESSION_ID_LEN};
pub use keygen_request::GenerateKeyMessage;
pub use keygen_result::KeygenResultEvent;
pub use reshare_request::ResharingMessage;
pub use resharing_result::ResharingResultEvent;
pub use result_type::ResultType;
pub use session_spec::{CheckedSession, DynamicKey, SessionSpec, SessionSpecError};
pub use sign_request::{SignTxMessage, MAX_DERIVATION_DEPTH};
pub use signing_result::{SigningIds, SigningResultEvent};
pub use tenant_registration::TenantKeyRegistration;
