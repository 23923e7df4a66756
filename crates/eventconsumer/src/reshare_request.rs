//! Checking a reshare request (mpcium's `ResharingMessage`) as `request`
//! checks keygen and signing, in the same order: size, JSON, the initiator's
//! signature over `signing_bytes()` (before anything of the request is
//! believed), ids and threshold (`validate()`), Tessera's optional
//! `tessera_replace` and the signature that covers it, and last the
//! authorizers' approvals (of the initiator-signed bytes, `initiator_id` =
//! the wallet id, as mpcium does).
//!
//! `tessera_replace` names holders whose share is to be repaired. Handing an
//! index to a new holder while the old one may still exist lowers the
//! effective threshold, so the instruction must come from the initiator
//! (docs/design/key-lifecycle.md §2.3): a list without a valid
//! `tessera_replace_signature` is refused, and so is a signature without a
//! list (the list was stripped), both with `ERROR_INVALID_INITIATOR_SIGNATURE`
//! as for `tessera_session`.

use sha2::{Digest, Sha256};
use tessera_types::wire::{KeyType, ResharingMessage};
use tessera_types::{NodeId, SessionId, Threshold, WalletId};

use crate::config::ConsumerConfig;
use crate::request::{check_authorizers, check_initiator, check_size, InvalidRequest};

/// A reshare request that passed every check, parsed once.
#[derive(Clone, Debug)]
pub struct Reshare {
    /// The request as sent (and signed).
    pub message: ResharingMessage,
    pub wallet: WalletId,
    pub session_id: SessionId,
    pub key_type: KeyType,
    /// The holders after the reshare, in request order, no duplicates.
    pub nodes: Vec<NodeId>,
    /// mpcium's `t` asked for: t+1 sign.
    pub new_threshold: Threshold,
    /// `tessera_replace`, signed by the initiator; empty when absent.
    pub replace: Vec<NodeId>,
    /// For the ledger: SHA-256 of what the initiator signed, as
    /// `ledger::digest` / `ledger::digest_of` compute it (hex-encode it to
    /// compare): of `signing_bytes()` alone without a replace list, else of
    /// `signing_bytes()` and `replace_signing_bytes()`, each length-prefixed.
    /// A copy with the list stripped or changed is another payload.
    pub digest: [u8; 32],
}

impl Reshare {
    /// Checks `raw` as a reshare request: size, JSON, fields, signatures.
    pub fn parse(raw: &[u8], config: &ConsumerConfig) -> Result<Self, InvalidRequest> {
        let message = reshare(raw, config)?;
        Ok(Reshare {
            wallet: message.parse_wallet_id()?,
            session_id: message.parse_session_id()?,
            key_type: message.key_type,
            nodes: message.parse_node_ids()?,
            new_threshold: message.new_threshold,
            replace: message.parse_replace()?,
            digest: digest(&message),
            message,
        })
    }

    /// The ledger key's ids (the session id names a reshare) and the signed
    /// parts: `signing_bytes()`, and `replace_signing_bytes()` when there is
    /// a replace list (the same shape as `Request::signed_parts`).
    pub fn signed_parts(&self) -> (Vec<&str>, Vec<u8>, Option<Vec<u8>>) {
        (
            vec![&self.message.session_id],
            self.message.signing_bytes(),
            has_replace(&self.message).then(|| self.message.replace_signing_bytes()),
        )
    }
}

fn has_replace(m: &ResharingMessage) -> bool {
    !m.replace.is_empty()
}

fn digest(m: &ResharingMessage) -> [u8; 32] {
    let signed = m.signing_bytes();
    if !has_replace(m) {
        return Sha256::digest(&signed).into();
    }
    let replace = m.replace_signing_bytes();
    let mut h = Sha256::new();
    for part in [&signed, &replace] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// `tessera_replace` changes who gets a share, so the initiator must have
/// signed it; a signature without the list means the list was stripped.
fn check_replace(m: &ResharingMessage, config: &ConsumerConfig) -> Result<(), InvalidRequest> {
    if !has_replace(m) {
        if m.replace_signature.is_some() {
            return Err(InvalidRequest::ReplaceStripped);
        }
        return Ok(());
    }
    let sig = m
        .replace_signature
        .as_deref()
        .ok_or(InvalidRequest::UnauthenticatedReplace)?;
    config
        .initiator
        .verify(&m.replace_signing_bytes(), sig)
        .map_err(|_| InvalidRequest::UnauthenticatedReplace)
}

/// A reshare request that passed every check.
pub fn reshare(raw: &[u8], config: &ConsumerConfig) -> Result<ResharingMessage, InvalidRequest> {
    check_size(raw, config)?;
    let m = ResharingMessage::from_json(raw).map_err(InvalidRequest::Unreadable)?;
    check_initiator(&m, config)?;
    m.validate()?;
    check_replace(&m, config)?;
    check_authorizers(&m, config)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};
    use tessera_security::InitiatorKey;
    use tessera_types::wire::{authorizer_payload, AuthorizerSignature};
    use tessera_types::ErrorCode;

    use super::*;
    use crate::config::AuthorizerPolicy;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn config(initiator: &SigningKey) -> ConsumerConfig {
        let nodes = vec![NodeId::new("node0").unwrap(), NodeId::new("node1").unwrap()];
        ConsumerConfig::new(
            InitiatorKey::Ed25519(initiator.verifying_key()),
            Threshold(1),
            nodes,
        )
    }

    fn sign(k: &SigningKey, bytes: &[u8]) -> Vec<u8> {
        k.sign(bytes).to_bytes().to_vec()
    }

    /// A 2-of-3 refresh of w-1's secp256k1 key, signed; with `replace`, the
    /// list signed too.
    fn request(k: &SigningKey, replace: &[&str]) -> ResharingMessage {
        let mut m = ResharingMessage {
            session_id: "s-1".into(),
            node_ids: vec!["node0".into(), "node1".into(), "node2".into()],
            new_threshold: Threshold(1),
            key_type: KeyType::Secp256k1,
            wallet_id: "w-1".into(),
            signature: Vec::new(),
            authorizer_signatures: None,
            replace: replace.iter().map(|s| s.to_string()).collect(),
            replace_signature: None,
        };
        m.signature = sign(k, &m.signing_bytes());
        if !replace.is_empty() {
            m.replace_signature = Some(sign(k, &m.replace_signing_bytes()));
        }
        m
    }

    fn raw(m: &ResharingMessage) -> Vec<u8> {
        m.to_json().unwrap()
    }

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn a_signed_request_passes_with_its_fields_parsed() {
        let k = key(7);
        let r = Reshare::parse(&raw(&request(&k, &[])), &config(&k)).unwrap();
        assert_eq!(r.wallet.as_str(), "w-1");
        assert_eq!(r.session_id.as_str(), "s-1");
        assert_eq!(r.key_type, KeyType::Secp256k1);
        assert_eq!(r.nodes, vec![id("node0"), id("node1"), id("node2")]);
        assert_eq!(r.new_threshold, Threshold(1));
        assert!(r.replace.is_empty());
        let expected: [u8; 32] = Sha256::digest(r.message.signing_bytes()).into();
        assert_eq!(r.digest, expected);
        assert_eq!(
            hex::encode(r.digest),
            crate::ledger::digest(&r.message.signing_bytes())
        );

        let r = Reshare::parse(&raw(&request(&k, &["node2"])), &config(&k)).unwrap();
        assert_eq!(r.replace, vec![id("node2")]);
        let (ids, signed, replace) = r.signed_parts();
        assert_eq!(ids, vec!["s-1"]);
        assert_eq!(
            hex::encode(r.digest),
            crate::ledger::digest_of(&[&signed, &replace.unwrap()])
        );
        // The replace list is part of the payload.
        let plain = Reshare::parse(&raw(&request(&k, &[])), &config(&k)).unwrap();
        assert_ne!(plain.digest, r.digest);
    }

    #[test]
    fn mpcium_json_without_the_extension_parses() {
        let k = key(7);
        let mut m: ResharingMessage = serde_json::from_str(
            r#"{"session_id":"s-1","node_ids":["node0","node1","node2"],"new_threshold":1,"key_type":"ed25519","wallet_id":"w-1"}"#,
        )
        .unwrap();
        m.signature = sign(&k, &m.signing_bytes());
        let json = raw(&m);
        assert!(!String::from_utf8_lossy(&json).contains("tessera"));
        let r = Reshare::parse(&json, &config(&k)).unwrap();
        assert_eq!(r.key_type, KeyType::Ed25519);
        assert!(r.replace.is_empty());
    }

    #[test]
    fn tampered_node_ids_fail_the_initiator_signature() {
        let k = key(7);
        let mut m = request(&k, &[]);
        m.node_ids.push("node3".into());
        let e = Reshare::parse(&raw(&m), &config(&k)).unwrap_err();
        assert!(matches!(e, InvalidRequest::InitiatorSignature(_)), "{e}");
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        assert!(!e.ids_verified());
        // Signed by someone else.
        let e = Reshare::parse(&raw(&request(&key(8), &[])), &config(&k)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        // Unsigned (mpcium's omitempty signature).
        let mut m = request(&k, &[]);
        m.signature.clear();
        let e = Reshare::parse(&raw(&m), &config(&k)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
    }

    #[test]
    fn replace_must_be_signed_and_cannot_be_stripped() {
        let k = key(7);
        let c = config(&k);
        // The list without a signature.
        let mut m = request(&k, &["node2"]);
        m.replace_signature = None;
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::UnauthenticatedReplace), "{e}");
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        assert!(e.ids_verified());
        // The list changed after signing.
        let mut m = request(&k, &["node2"]);
        m.replace = vec!["node1".into()];
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::UnauthenticatedReplace), "{e}");
        // The list signed by someone else.
        let mut m = request(&k, &["node2"]);
        m.replace_signature = Some(sign(&key(8), &m.replace_signing_bytes()));
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::UnauthenticatedReplace), "{e}");
        // The request signature is no replace signature (domain label).
        let mut m = request(&k, &["node2"]);
        m.replace_signature = Some(m.signature.clone());
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::UnauthenticatedReplace), "{e}");
        // The list stripped, its signature left.
        let mut m = request(&k, &["node2"]);
        m.replace.clear();
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::ReplaceStripped), "{e}");
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        // A duplicate in the list is a validation error, found before the signature.
        let m = request(&k, &["node2", "node2"]);
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MsgValidation);
    }

    #[test]
    fn size_json_threshold_and_authorizers_are_checked_as_for_keygen() {
        let k = key(7);
        let mut c = config(&k);
        let ok = raw(&request(&k, &[]));
        c.max_request_bytes = ok.len() - 1;
        assert_eq!(
            Reshare::parse(&ok, &c).unwrap_err().code(),
            ErrorCode::PayloadTooLarge
        );
        let c = config(&k);
        let e = Reshare::parse(b"{not json", &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnmarshalFailure);
        // Signed, but t+1 > n.
        let mut m = request(&k, &[]);
        m.new_threshold = Threshold(3);
        m.signature = sign(&k, &m.signing_bytes());
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidThreshold);
        assert!(e.ids_verified());

        let auth = key(9);
        let mut c = config(&k);
        c.authorizers = Some(AuthorizerPolicy {
            required: vec![("auth-a".into(), InitiatorKey::Ed25519(auth.verifying_key()))],
        });
        let e = Reshare::parse(&ok, &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MissingAuthorizerSignature);
        let mut m = request(&k, &["node2"]);
        let payload = authorizer_payload(&m.wallet_id, &m.signing_bytes(), &m.signature);
        m.authorizer_signatures = Some(vec![AuthorizerSignature {
            authorizer_id: "auth-a".into(),
            signature: sign(&auth, &payload),
        }]);
        assert!(Reshare::parse(&raw(&m), &c).is_ok());
        m.authorizer_signatures.as_mut().unwrap()[0].signature = sign(&key(10), &payload);
        let e = Reshare::parse(&raw(&m), &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidAuthorizerSignature);
    }
}
