//! What `keygen`, `sign` and `reshare` return: the result event as the cluster sent it,
//! with typed accessors.
//!
//! An error result is data, not an `Err`: `keygen` and `sign` return `Ok` for
//! every answer the cluster gives, so callers can see its error code (and
//! `is_timeout`). [`KeygenResult::into_result`] and
//! [`SigningResult::into_result`] turn an error answer into
//! [`ClientError::Remote`] for callers who only want success.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use tessera_types::{
    ErrorCode, KeyType, KeygenResultEvent, ResharingResultEvent, ResultType, SigningResultEvent,
};

use crate::ClientError;

/// The answer to a keygen request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeygenResult {
    pub event: KeygenResultEvent,
}

impl KeygenResult {
    pub fn new(event: KeygenResultEvent) -> Self {
        Self { event }
    }

    pub fn wallet_id(&self) -> &str {
        &self.event.wallet_id
    }

    pub fn is_success(&self) -> bool {
        self.event.result_type == ResultType::Success
    }

    /// The node's error code and reason, for an error result.
    pub fn error(&self) -> Option<(ErrorCode, &str)> {
        error_of(
            self.event.result_type,
            self.event.error_code,
            &self.event.error_reason,
        )
    }

    /// The secp256k1 master key, SEC1 compressed, from the event's 64-byte
    /// X‖Y. `None` when absent or not a point on the curve.
    pub fn ecdsa_public_key_sec1(&self) -> Option<[u8; 33]> {
        let xy = self.event.ecdsa_pub_key.as_deref()?;
        if xy.len() != 64 {
            return None;
        }
        let mut uncompressed = [0u8; 65];
        uncompressed[0] = 0x04;
        uncompressed[1..].copy_from_slice(xy);
        let key = k256::PublicKey::from_sec1_bytes(&uncompressed).ok()?;
        key.to_encoded_point(true).as_bytes().try_into().ok()
    }

    /// The secp256k1 key's chain code (Tessera's `tessera_ecdsa_chain_code`),
    /// needed to derive child keys offline with [`crate::derive::ecdsa_child_public_key`].
    pub fn ecdsa_chain_code(&self) -> Option<[u8; 32]> {
        self.event.ecdsa_chain_code.as_deref()?.try_into().ok()
    }

    /// The Ed25519 master key (32 bytes). `None` when absent or mis-sized.
    pub fn eddsa_public_key(&self) -> Option<[u8; 32]> {
        self.event.eddsa_pub_key.as_deref()?.try_into().ok()
    }

    /// `Ok(self)` for a success, [`ClientError::Remote`] for an error result.
    pub fn into_result(self) -> Result<Self, ClientError> {
        match self.error() {
            None => Ok(self),
            Some((code, reason)) => Err(remote("keygen", code, reason)),
        }
    }

    pub fn into_event(self) -> KeygenResultEvent {
        self.event
    }
}

/// An ECDSA signature from a signing result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcdsaSignature {
    pub r: [u8; 32],
    pub s: [u8; 32],
    /// The recovery id (0 to 3).
    pub recovery_id: u8,
}

impl EcdsaSignature {
    /// r‖s, 64 bytes.
    pub fn to_compact(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }
}

/// The answer to a signing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningResult {
    pub event: SigningResultEvent,
}

impl SigningResult {
    pub fn new(event: SigningResultEvent) -> Self {
        Self { event }
    }

    pub fn tx_id(&self) -> &str {
        &self.event.tx_id
    }

    pub fn is_success(&self) -> bool {
        self.event.result_type == ResultType::Success
    }

    /// The node gave up waiting (a session or retry timeout).
    pub fn is_timeout(&self) -> bool {
        self.event.is_timeout
    }

    /// The node's error code and reason, for an error result.
    pub fn error(&self) -> Option<(ErrorCode, &str)> {
        error_of(
            self.event.result_type,
            self.event.error_code,
            &self.event.error_reason,
        )
    }

    /// r, s and the recovery id, when all three are present and well-sized.
    pub fn ecdsa_signature(&self) -> Option<EcdsaSignature> {
        ecdsa_parts(&self.event)
    }

    /// The 64-byte Ed25519 signature, when present.
    pub fn ed25519_signature(&self) -> Option<[u8; 64]> {
        self.event.signature.as_deref()?.try_into().ok()
    }

    /// `Ok(self)` for a success, [`ClientError::Remote`] for an error result.
    pub fn into_result(self) -> Result<Self, ClientError> {
        match self.error() {
            None => Ok(self),
            Some((code, reason)) => Err(remote("signing", code, reason)),
        }
    }

    pub fn into_event(self) -> SigningResultEvent {
        self.event
    }
}

/// The answer to a reshare (or refresh) request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReshareResult {
    /// The request's session id (the result subject's last token).
    pub session_id: String,
    pub event: ResharingResultEvent,
}

impl ReshareResult {
    pub fn new(session_id: impl Into<String>, event: ResharingResultEvent) -> Self {
        Self {
            session_id: session_id.into(),
            event,
        }
    }

    pub fn wallet_id(&self) -> &str {
        &self.event.wallet_id
    }

    pub fn key_type(&self) -> KeyType {
        self.event.key_type
    }

    pub fn is_success(&self) -> bool {
        self.event.result_type == ResultType::Success
    }

    /// The node's error code and reason, for an error result.
    pub fn error(&self) -> Option<(ErrorCode, &str)> {
        error_of(
            self.event.result_type,
            self.event.error_code,
            &self.event.error_reason,
        )
    }

    /// The key's public key, unchanged by the reshare: secp256k1 X‖Y (64
    /// bytes), Ed25519 32 bytes. `None` for an error result.
    pub fn pub_key(&self) -> Option<&[u8]> {
        self.event.pub_key.as_deref()
    }

    /// `Ok(self)` for a success, [`ClientError::Remote`] for an error result.
    pub fn into_result(self) -> Result<Self, ClientError> {
        match self.error() {
            None => Ok(self),
            Some((code, reason)) => Err(remote("reshare", code, reason)),
        }
    }

    pub fn into_event(self) -> ResharingResultEvent {
        self.event
    }
}

/// r, s and recovery id of `event`, when all three are present and well-sized.
pub(crate) fn ecdsa_parts(event: &SigningResultEvent) -> Option<EcdsaSignature> {
    let r = event.r.as_deref()?.try_into().ok()?;
    let s = event.s.as_deref()?.try_into().ok()?;
    let [recovery_id] = event.signature_recovery.as_deref()? else {
        return None;
    };
    Some(EcdsaSignature {
        r,
        s,
        recovery_id: *recovery_id,
    })
}

fn error_of(
    result_type: ResultType,
    code: Option<ErrorCode>,
    reason: &str,
) -> Option<(ErrorCode, &str)> {
    match result_type {
        ResultType::Success => None,
        ResultType::Error => Some((code.unwrap_or(ErrorCode::Unknown), reason)),
    }
}

fn remote(what: &'static str, code: ErrorCode, reason: &str) -> ClientError {
    ClientError::Remote {
        what,
        code,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    use tessera_types::SigningIds;

    #[test]
    fn ecdsa_key_is_compressed_from_x_and_y() {
        let sk = k256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        let point = sk.public_key().to_encoded_point(false);
        let xy: [u8; 64] = point.as_bytes()[1..].try_into().unwrap();
        let r = KeygenResult::new(KeygenResultEvent::success("w", xy, [9u8; 32]));
        assert_eq!(
            r.ecdsa_public_key_sec1().unwrap().as_slice(),
            sk.public_key().to_encoded_point(true).as_bytes()
        );
        assert_eq!(r.eddsa_public_key(), Some([9u8; 32]));
        assert!(r.clone().into_result().is_ok());

        let mut bad = r.clone();
        bad.event.ecdsa_pub_key = Some(vec![1u8; 64]); // not on the curve
        assert_eq!(bad.ecdsa_public_key_sec1(), None);
        bad.event.ecdsa_pub_key = Some(vec![1u8; 33]);
        assert_eq!(bad.ecdsa_public_key_sec1(), None);
    }

    #[test]
    fn error_results_become_remote_errors_on_request() {
        let r = KeygenResult::new(KeygenResultEvent::error(
            "w",
            ErrorCode::NotMajority,
            "not enough nodes",
        ));
        assert_eq!(
            r.error(),
            Some((ErrorCode::NotMajority, "not enough nodes"))
        );
        let e = r.into_result().unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotMajority);

        let s = SigningResult::new(
            SigningResultEvent::error(SigningIds::default(), ErrorCode::SessionTimeout, "slow")
                .with_timeout(true),
        );
        assert!(s.is_timeout());
        assert_eq!(
            s.into_result().unwrap_err().code(),
            ErrorCode::SessionTimeout
        );
    }

    #[test]
    fn reshare_results_carry_the_key_or_the_error() {
        use tessera_types::Threshold;
        let ok = ReshareResult::new(
            "s1",
            ResharingResultEvent::success("w", Threshold(1), KeyType::Ed25519, vec![4; 32]),
        );
        assert_eq!(ok.pub_key(), Some(&[4u8; 32][..]));
        assert_eq!((ok.session_id.as_str(), ok.wallet_id()), ("s1", "w"));
        assert!(ok.is_success() && ok.clone().into_result().is_ok());
        let bad = ReshareResult::new(
            "s2",
            ResharingResultEvent::error(
                "w",
                Threshold(1),
                KeyType::Secp256k1,
                ErrorCode::NotMajority,
                "node2 is down",
            ),
        );
        assert_eq!(bad.pub_key(), None);
        let e = bad.into_result().unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotMajority);
        assert!(e.to_string().contains("node2 is down"), "{e}");
    }

    #[test]
    fn signature_accessors() {
        let ok = SigningResult::new(SigningResultEvent::ecdsa_success(
            SigningIds::default(),
            [1; 32],
            [2; 32],
            1,
        ));
        let sig = ok.ecdsa_signature().unwrap();
        assert_eq!((sig.r, sig.s, sig.recovery_id), ([1; 32], [2; 32], 1));
        assert_eq!(ok.ed25519_signature(), None);
        let ed = SigningResult::new(SigningResultEvent::eddsa_success(
            SigningIds::default(),
            [3; 64],
        ));
        assert_eq!(ed.ed25519_signature(), Some([3; 64]));
        assert_eq!(ed.ecdsa_signature(), None);
    }
}
