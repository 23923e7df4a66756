//! `Secret<T>`: a value that is wiped from memory when dropped and never shows
//! up in `Debug` or `Display` output, so a stray `{:?}` in a log line cannot leak it.
//!
//! Reading the value takes an explicit [`Secret::expose`], which makes every use
//! easy to find in review. `Secret` deliberately has no `PartialEq`: comparing
//! secrets with `==` is not constant-time.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Text printed in place of any secret.
pub const REDACTED: &str = "<redacted>";

/// A secret value: zeroized on drop, redacted in `Debug` and `Display`.
pub struct Secret<T: Zeroize>(T);

/// Secret bytes of any length: decrypted key shares, p2p payloads, passwords.
pub type SecretBytes = Secret<Vec<u8>>;

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`. The caller should not keep other copies of it.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret. Every call site is a place where the secret is used.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the secret, to fill it in place without a copy.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize + Default> Default for Secret<T> {
    fn default() -> Self {
        Self(T::default())
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Secret<Vec<u8>> {
    /// Copies `bytes` into a new secret buffer allocated at its final size, so
    /// no reallocation leaves an unwiped copy behind.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut v = Vec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Self(v)
    }

    /// `len` bytes from `rng`.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R, len: usize) -> Self {
        let mut v = vec![0u8; len];
        rng.fill_bytes(&mut v);
        Self(v)
    }

    /// The bytes, for passing to a parser or a cipher.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> Secret<[u8; N]> {
    /// `N` bytes from `rng`.
    pub fn random_array<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut a = [0u8; N];
        rng.fill_bytes(&mut a);
        let s = Self(a);
        a.zeroize();
        s
    }
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;

    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        let a: Secret<[u8; 4]> = Secret::new(*b"abcd");
        assert!(!format!("{a:?}").contains("97"));
    }

    #[test]
    fn expose_gives_the_value() {
        let mut s = SecretBytes::from_slice(&[1, 2, 3]);
        assert_eq!(s.as_slice(), &[1, 2, 3]);
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        s.expose_mut()[0] = 9;
        assert_eq!(s.expose(), &vec![9, 2, 3]);
        let c = s.clone();
        assert_eq!(c.as_slice(), s.as_slice());
    }

    #[test]
    fn zeroize_wipes_in_place() {
        // Drop calls `zeroize` on the inner value; check that it wipes a Vec and an array.
        let mut v = vec![7u8; 16];
        v.zeroize();
        assert!(v.is_empty());
        let mut a = [7u8; 16];
        a.zeroize();
        assert_eq!(a, [0u8; 16]);
    }

    #[test]
    fn random_values_differ() {
        let a: Secret<[u8; 32]> = Secret::random_array(&mut OsRng);
        let b: Secret<[u8; 32]> = Secret::random_array(&mut OsRng);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(SecretBytes::random(&mut OsRng, 5).len(), 5);
    }
}
