//! Password key derivation: Argon2id with explicit, bounded parameters.
//!
//! Argon2 is slow on purpose (about 0.1 s and 64 MiB per derivation with the
//! production parameters), so callers derive once and keep the key; see
//! [`crate::at_rest::AtRestKey`].

use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::{CryptoRng, RngCore};

use crate::secret::Secret;

/// Length of a password salt in bytes.
pub const SALT_LEN: usize = 16;

/// Largest memory cost accepted, in KiB (1 GiB). Parameters are read from record
/// headers, so a damaged header must not be able to ask for all of the machine's memory.
pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
/// Largest time cost accepted.
pub const MAX_T_COST: u32 = 16;
/// Largest parallelism accepted.
pub const MAX_P_COST: u32 = 16;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

/// Parameters outside what this crate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("argon2 parameters out of range (m={m_cost_kib} KiB, t={t_cost}, p={p_cost})")]
pub struct InvalidKdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    /// Production parameters: 64 MiB, 3 passes, 1 lane (the first recommended
    /// option of RFC 9106, section 4, scaled to 64 MiB for a node that also runs protocols).
    pub const PRODUCTION: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// Validated custom parameters.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, InvalidKdfParams> {
        let err = InvalidKdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        let in_range = (1..=MAX_P_COST).contains(&p_cost)
            && (1..=MAX_T_COST).contains(&t_cost)
            && m_cost_kib <= MAX_M_COST_KIB
            // Argon2 needs at least 8 KiB per lane.
            && m_cost_kib >= 8 * p_cost;
        if in_range {
            Ok(Self {
                m_cost_kib,
                t_cost,
                p_cost,
            })
        } else {
            Err(err)
        }
    }

    /// Cheap parameters (64 KiB, 1 pass) for tests only: they make a password
    /// easy to brute-force, so nothing outside tests should use them.
    pub fn insecure_for_tests() -> Self {
        Self {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

/// A password salt. Not secret, but unique per password-derived key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Salt([u8; SALT_LEN]);

impl Salt {
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut s = [0u8; SALT_LEN];
        rng.fill_bytes(&mut s);
        Self(s)
    }

    pub fn from_bytes(bytes: [u8; SALT_LEN]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; SALT_LEN] {
        &self.0
    }
}

/// Argon2 refused the inputs (it should not with validated parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("argon2 key derivation failed")]
pub struct KdfFailed;

/// Derives a 32-byte key from `password` with Argon2id v1.3.
pub fn derive_key(
    password: &[u8],
    salt: &Salt,
    params: &KdfParams,
) -> Result<Secret<[u8; 32]>, KdfFailed> {
    let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|_| KdfFailed)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut key = Secret::new([0u8; 32]);
    argon
        .hash_password_into(password, salt.as_bytes(), key.expose_mut())
        .map_err(|_| KdfFailed)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;

    use super::*;

    #[test]
    fn params_are_bounded() {
        assert!(KdfParams::new(64 * 1024, 3, 1).is_ok());
        assert!(KdfParams::new(MAX_M_COST_KIB + 1, 3, 1).is_err());
        assert!(KdfParams::new(64, 0, 1).is_err());
        assert!(KdfParams::new(64, 1, 0).is_err());
        assert!(KdfParams::new(8, 1, 2).is_err());
        assert!(KdfParams::new(64, MAX_T_COST + 1, 1).is_err());
        assert_eq!(KdfParams::default(), KdfParams::PRODUCTION);
    }

    #[test]
    fn derivation_depends_on_password_salt_and_params() {
        let p = KdfParams::insecure_for_tests();
        let s = Salt::random(&mut OsRng);
        let k1 = derive_key(b"pw", &s, &p).unwrap();
        assert_eq!(k1.expose(), derive_key(b"pw", &s, &p).unwrap().expose());
        assert_ne!(k1.expose(), derive_key(b"pw2", &s, &p).unwrap().expose());
        let s2 = Salt::random(&mut OsRng);
        assert_ne!(k1.expose(), derive_key(b"pw", &s2, &p).unwrap().expose());
        let p2 = KdfParams::new(64, 2, 1).unwrap();
        assert_ne!(k1.expose(), derive_key(b"pw", &s, &p2).unwrap().expose());
    }

    #[test]
    fn matches_argon2id_called_directly() {
        // The wrapper is Argon2id v1.3 with a 32-byte output and nothing else.
        let salt = Salt::from_bytes(*b"somesaltsomesalt");
        let k = derive_key(b"password", &salt, &KdfParams::insecure_for_tests()).unwrap();
        let mut out = [0u8; 32];
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, Some(32)).unwrap(),
        )
        .hash_password_into(b"password", b"somesaltsomesalt", &mut out)
        .unwrap();
        assert_eq!(k.expose(), &out);
    }
}
