//! Key shares and their versioned byte format.
//!
//! A share is what one participant keeps after keygen: public metadata
//! ([`ShareInfo`]) plus its secret protocol state. Bytes layout:
//!
//! ```text
//! "TSKS" | format version | scheme (1 = ECDSA/DKLs23, 2 = EdDSA/FROST) | postcard body
//! ```
//!
//! Version 1 bodies start with `ShareInfo` without an epoch; version 2 adds the
//! epoch. A share at epoch 0 is still written as version 1, so the previous
//! release reads every share that was never refreshed; both versions are read.
//!
//! The body holds secrets: callers seal it at rest (`tessera-security`) and the
//! returned buffer zeroizes on drop.

use zeroize::Zeroizing;

use crate::ecdsa::EcdsaKeyShare;
use crate::eddsa::EddsaKeyShare;
use crate::share_info::format_version;
pub use crate::share_info::{ShareDecodeError, ShareEncodeError, ShareInfo};

const MAGIC: &[u8; 4] = b"TSKS";
/// Newest share format version (written for shares at epoch > 0).
pub const SHARE_FORMAT_VERSION: u8 = 2;

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
        let version = format_version(self.info());
        let (scheme, body) = match self {
            KeyShare::Ecdsa(s) => (1u8, s.body_bytes(version)?),
            KeyShare::Eddsa(s) => (2u8, s.body_bytes(version)?),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(6 + body.len()));
        out.extend_from_slice(MAGIC);
        out.push(version);
        out.push(scheme);
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareDecodeError> {
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(ShareDecodeError::BadMagic);
        }
        let version = bytes[4];
        if !(1..=SHARE_FORMAT_VERSION).contains(&version) {
            return Err(ShareDecodeError::UnsupportedVersion(version));
        }
        match bytes[5] {
            1 => EcdsaKeyShare::from_body(&bytes[6..], version).map(KeyShare::Ecdsa),
            2 => EddsaKeyShare::from_body(&bytes[6..], version).map(KeyShare::Eddsa),
            other => Err(ShareDecodeError::UnknownScheme(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use tessera_types::{NodeId, SessionConfig, SessionId, Threshold};

    use super::*;
    use crate::ecdsa::EcdsaKeygen;
    use crate::eddsa::EddsaKeygen;
    use crate::simulator::{run, sessions, Faults};

    /// `ShareInfo` exactly as format version 1 (the previous release) declared it.
    #[derive(Serialize)]
    struct ReleasedShareInfo {
        participants: Vec<NodeId>,
        threshold: Threshold,
        me: NodeId,
        public_key: Vec<u8>,
        chain_code: [u8; 32],
    }

    fn released_info(i: &ShareInfo) -> ReleasedShareInfo {
        ReleasedShareInfo {
            participants: i.participants.clone(),
            threshold: i.threshold,
            me: i.me.clone(),
            public_key: i.public_key.clone(),
            chain_code: i.chain_code,
        }
    }

    /// "TSKS" | 1 | scheme | body, as the previous release wrote it.
    fn released_bytes(scheme: u8, body: Vec<u8>) -> Vec<u8> {
        let mut out = b"TSKS".to_vec();
        out.extend([1, scheme]);
        out.extend(body);
        out
    }

    fn config() -> SessionConfig {
        let ids: Vec<NodeId> = (0..3)
            .map(|i| NodeId::new(format!("n{i}")).unwrap())
            .collect();
        SessionConfig::new(SessionId::new("share-v1").unwrap(), ids, Threshold(1)).unwrap()
    }

    #[test]
    fn released_v1_shares_decode_at_epoch_0_and_epoch_0_is_still_written_as_v1() {
        let c = config();
        let e = run(
            sessions(&c, |me| EcdsaKeygen::new(c.clone(), me.clone())).unwrap(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap();
        let d = run(
            sessions(&c, |me| EddsaKeygen::new(c.clone(), me.clone())).unwrap(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap();
        let (e, d) = (
            e.into_values().next().unwrap(),
            d.into_values().next().unwrap(),
        );

        let old_e = released_bytes(
            1,
            postcard::to_allocvec(&(released_info(&e.info), &e.party)).unwrap(),
        );
        let kp = d.key_package.serialize().unwrap();
        let pp = d.public_package.serialize().unwrap();
        let old_d = released_bytes(
            2,
            postcard::to_allocvec(&(released_info(&d.info), &kp, &pp)).unwrap(),
        );
        let KeyShare::Ecdsa(got_e) = KeyShare::from_bytes(&old_e).unwrap() else {
            panic!("scheme changed");
        };
        let KeyShare::Eddsa(got_d) = KeyShare::from_bytes(&old_d).unwrap() else {
            panic!("scheme changed");
        };
        assert_eq!((got_e.info.epoch, got_d.info.epoch), (0, 0));
        assert_eq!(got_e.info, e.info);
        assert_eq!(got_d.info, d.info);
        assert_eq!(got_d.key_package, d.key_package);
        // An epoch-0 share is written byte for byte as the previous release did.
        assert_eq!(*KeyShare::Ecdsa(e.clone()).to_bytes().unwrap(), old_e);
        assert_eq!(*KeyShare::Eddsa(d.clone()).to_bytes().unwrap(), old_d);

        // Epoch 1 needs version 2, which round-trips; unknown versions are refused.
        let mut moved = d.clone();
        moved.info.epoch = 1;
        let v2 = KeyShare::Eddsa(moved).to_bytes().unwrap();
        assert_eq!(v2[4], 2);
        assert_eq!(KeyShare::from_bytes(&v2).unwrap().info().epoch, 1);
        let mut v3 = v2.to_vec();
        v3[4] = 3;
        assert_eq!(
            KeyShare::from_bytes(&v3).unwrap_err(),
            ShareDecodeError::UnsupportedVersion(3)
        );
    }
}
