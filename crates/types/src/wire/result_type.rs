//! The `result_type` field of every result event.

use serde::{Deserialize, Serialize};

/// Whether a result event carries a result or an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    /// `"success"`: the key or signature fields are set.
    Success,
    /// `"error"`: `error_code` and `error_reason` say why.
    Error,
}
