//! Go's zero values in result events.
//!
//! mpcium's result structs have no `omitempty`, so `json.Marshal` always writes
//! every field: an unset string as `""`, an unset `[]byte` as `null`, `false`
//! for an unset bool. We write the same, and read `""`, `null` and a missing
//! field alike as "not set", so events from mpcium nodes and from us both parse.

use serde::{Deserialize, Deserializer, Serializer};

use crate::ErrorCode;

/// `Option<ErrorCode>` as Go's `string` field: `None` is `""`.
pub mod opt_error_code {
    use super::*;

    pub fn serialize<S: Serializer>(code: &Option<ErrorCode>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.map_or("", ErrorCode::as_str))
    }

    /// `""`, `null` and a missing field read as `None`; an unknown code reads
    /// as [`ErrorCode::Unknown`] (a newer node may send codes we lack).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCode>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        if s.is_empty() {
            return Ok(None);
        }
        Ok(Some(s.parse().unwrap_or(ErrorCode::Unknown)))
    }
}

/// A Go `string` field on input: `null` reads as `""`, as in Go.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A Go `bool` field on input: `null` reads as `false`, as in Go.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_default())
}
