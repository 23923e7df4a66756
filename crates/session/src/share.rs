//! Key shares and their versioned byte format.
//!
//! A share is what one participant keeps after keygen: public metadata
//! ([`ShareInfo`]) plus its secret protocol state. Bytes layout:
//!
//! ```text
//! "TSKS" | format version | scheme (1 = ECDSA/DKLs23, 2 = EdDSA/FROST) | postcard body
//! ```
//!
//! Version 1 bodies start with `ShareInfo` without an epoch or indices;
//! version 2 adds the epoch; version 3 adds the party indices and, for ECDSA,
//! the group's public key package. Every share is written in the oldest
//! version that holds it (an epoch-0 EdDSA share is still version 1, so
//! older releases read what they can); all three versions are read.
//!
//! The body holds secrets: callers seal it at rest (`tessera-security`) and the
//! returned buffer zeroizes on drop.

use zeroize::Zeroizing;

use crate::ecdsa::EcdsaKeyShare;
use crate::eddsa::EddsaKeyShare;
pub use crate::share_info::{ShareDecodeError, ShareEncodeError, ShareInfo};

const MAGIC: &[u8; 4] = b"TSKS";
/// Newest share format version (written for shares with explicit indices or
/// an ECDSA public key package).
pub const SHARE_FORMAT_VERSION: u8 = 3;

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
        let (version, scheme, body) = match self {
            KeyShare::Ecdsa(s) => (s.format_version(), 1u8, s.body_bytes(s.format_version())?),
            KeyShare::Eddsa(s) => (s.format_version(), 2u8, s.body_bytes(s.format_version())?),
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
    fn released_v1_shares_decode_and_each_share_is_written_in_the_oldest_version_that_holds_it() {
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
        assert!(got_e.package.is_none(), "version 1 had no package");
        // An epoch-0 share with nothing new is written byte for byte as the
        // first release did.
        let mut bare = e.clone();
        bare.package = None;
        assert_eq!(*KeyShare::Ecdsa(bare).to_bytes().unwrap(), old_e);
        assert_eq!(*KeyShare::Eddsa(d.clone()).to_bytes().unwrap(), old_d);

        // Keygen keeps the ECDSA package, which needs version 3.
        let v3 = KeyShare::Ecdsa(e.clone()).to_bytes().unwrap();
        assert_eq!(v3[4], 3);
        let KeyShare::Ecdsa(back) = KeyShare::from_bytes(&v3).unwrap() else {
            panic!("scheme changed");
        };
        assert_eq!(back.info, e.info);
        assert_eq!(
            format!("{:?}", back.package),
            format!("{:?}", e.package),
            "package round trip"
        );

        // Epoch 1 needs version 2, which round-trips.
        let mut moved = d.clone();
        moved.info.epoch = 1;
        let v2 = KeyShare::Eddsa(moved).to_bytes().unwrap();
        assert_eq!(v2[4], 2);
        assert_eq!(KeyShare::from_bytes(&v2).unwrap().info().epoch, 1);

        // Indices that are not the sorted positions need version 3 too.
        let mut moved = d.clone();
        moved.info.indices = vec![1, 3, 2];
        let v3 = KeyShare::Eddsa(moved).to_bytes().unwrap();
        assert_eq!(v3[4], 3);
        assert_eq!(
            KeyShare::from_bytes(&v3).unwrap().info().indices,
            vec![1, 3, 2]
        );

        // Unknown versions are refused; so are indices that do not fit.
        let mut v4 = v2.to_vec();
        v4[4] = 4;
        assert_eq!(
            KeyShare::from_bytes(&v4).unwrap_err(),
            ShareDecodeError::UnsupportedVersion(4)
        );
        let mut bad = d.clone();
        bad.info.indices = vec![1, 1, 2];
        let bad = KeyShare::Eddsa(bad).to_bytes().unwrap();
        assert!(matches!(
            KeyShare::from_bytes(&bad),
            Err(ShareDecodeError::Corrupt(_))
        ));
    }
}
