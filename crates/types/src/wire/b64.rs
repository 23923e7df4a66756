//! Byte fields as Go's `encoding/json` reads and writes `[]byte`: standard
//! base64 with padding.
//!
//! Decoding matches Go's `base64.StdEncoding`: padding is required, non-zero
//! trailing bits are accepted, and `\r` / `\n` inside the text are skipped. Go
//! re-encodes what it decoded before checking a signature, so accepting these
//! spellings cannot change what gets verified.
//!
//! Use with `#[serde(with = "...")]`: [`bytes`] for `Vec<u8>`, [`opt_bytes`] for
//! `Option<Vec<u8>>`, where `None` is JSON `null` (Go's nil slice).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Standard base64 with padding, as Go writes `[]byte`.
pub fn encode(bytes: &[u8]) -> String {
    GO_STD.encode(bytes)
}

/// Decodes as Go's `base64.StdEncoding` does.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.contains(['\r', '\n']) {
        let cleaned: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        GO_STD.decode(cleaned)
    } else {
        GO_STD.decode(text)
    }
}

/// `Vec<u8>` as a base64 string; `null` is rejected.
pub mod bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode(&text).map_err(|e| D::Error::custom(format_args!("invalid base64: {e}")))
    }
}

/// `Option<Vec<u8>>` as a base64 string, or `null` for `None`.
pub mod opt_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::bytes")] Vec<u8>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(b)| b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        assert_eq!(decode("aGk=").unwrap(), b"hi");
        assert_eq!(decode("aG\r\nk=").unwrap(), b"hi");
        // Non-zero trailing bits: Go's StdEncoding is not Strict.
        assert_eq!(decode("aGl=").unwrap(), b"hi");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["aGk", "aGk=x", "a-k=", "a_k=", "aGk==", "!!!!"] {
            assert!(decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
