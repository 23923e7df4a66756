//! Key shares and their versioned byte format.
//!
//! A share is what one participant keeps after keygen: public metadata
//! ([`ShareInfo`]) plus its secret protocol state. Bytes layout:
//!
//! ```text
//! "TSKS" | format version (1) | scheme (1 = ECDSA/DKLs23, 2 = EdDSA/FROST) | postcard body
//! ```
//!
//! The body holds secrets: callers seal it at rest (`tessera-security`) and the
//! returned buffer zeroizes on drop.

use zeroize::Zeroizing;

use crate::ecdsa::EcdsaKeyShare;
use crate::eddsa::EddsaKeyShare;
pub use crate::share_info::{ShareDecodeError, ShareEncodeError, ShareInfo};

const MAGIC: &[u8; 4] = b"TSKS";
/// Current share format version.
pub const SHARE_FORMAT_VERSION: u8 = 1;

/// Either kind of share.
#[derive(Debug)]
pub enum KeyShare {
    Ecdsa(EcdsaKeyShare),
    Eddsa(EddsaKeyShare),
}

impl KeyShare {
    pub fn info(&self) -> &ShareInfo {
        match self {
            KeyShare::Ecdsa(s) => &s.info,
            KeyShare::Eddsa(s) => &s.info,
        }
    }

    /// Serialises the share (secret) into the versioned format.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, ShareEncodeError> {
        let (scheme, body) = match self {
            KeyShare::Ecdsa(s) => (1u8, s.body_bytes()?),
            KeyShare::Eddsa(s) => (2u8, s.body_bytes()?),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(6 + body.len()));
        out.extend_from_slice(MAGIC);
        out.push(SHARE_FORMAT_VERSION);
        out.push(scheme);
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareDecodeError> {
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(ShareDecodeError::BadMagic);
        }
        if bytes[4] != SHARE_FORMAT_VERSION {
            return Err(ShareDecodeError::UnsupportedVersion(bytes[4]));
        }
        match bytes[5] {
            1 => EcdsaKeyShare::from_body(&bytes[6..]).map(KeyShare::Ecdsa),
            2 => EddsaKeyShare::from_body(&bytes[6..]).map(KeyShare::Eddsa),
            other => Err(ShareDecodeError::UnknownScheme(other)),
        }
    }
}
