//! Building signed requests: the initiator signs, then each authorizer approves.
//!
//! The bytes signed are defined in `tessera_types::wire` (mpcium's formats);
//! this module only fills the messages in. A signing request with a
//! non-empty derivation path also carries `tessera_path_signature`, the
//! initiator's signature over [`SignTxMessage::path_signing_bytes`]: mpcium's
//! signature does not cover the path, and Tessera nodes refuse a path that no
//! signature covers. Authorizers approve the mpcium signed bytes only (their
//! payload is mpcium's), so the path is covered by the initiator alone.

use tessera_security::InitiatorSigner;
use tessera_types::wire::InitiatorMessage;
use tessera_types::{AuthorizerSignature, GenerateKeyMessage, KeyType, SignTxMessage};

use crate::ClientError;

/// What to sign, and with which key of which wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignRequest {
    pub key_type: KeyType,
    pub wallet_id: String,
    /// The client's id for this transaction; its result is matched by it.
    /// Must be one subject token (it becomes `mpc.signing_request.<tx_id>`).
    pub tx_id: String,
    /// secp256k1: the 32-byte digest. ed25519: the message itself.
    pub tx: Vec<u8>,
    /// The client's chain code (mpcium's `network_internal_code`); echoed back.
    pub network_internal_code: String,
    /// Sign with the non-hardened child key at this path; `None` or empty: the
    /// wallet's master key.
    pub derivation_path: Option<Vec<u32>>,
}

/// A keygen request for `wallet_id`, signed by `initiator` and approved by
/// every authorizer.
pub fn signed_keygen_message(
    initiator: &InitiatorSigner,
    authorizers: &[(String, InitiatorSigner)],
    wallet_id: &str,
) -> GenerateKeyMessage {
    let mut msg = GenerateKeyMessage {
        wallet_id: wallet_id.to_string(),
        signature: Vec::new(),
        authorizer_signatures: None,
        session: None,
        session_signature: None,
    };
    msg.signature = initiator.sign(&msg.signing_bytes());
    msg.authorizer_signatures = approvals(&msg, authorizers);
    msg
}

/// A signing request, signed by `initiator` (also over the path, when there
/// is one) and approved by every authorizer. An empty path is sent as `null`.
pub fn signed_sign_message(
    initiator: &InitiatorSigner,
    authorizers: &[(String, InitiatorSigner)],
    req: SignRequest,
) -> SignTxMessage {
    let mut msg = SignTxMessage {
        key_type: req.key_type,
        wallet_id: req.wallet_id,
        network_internal_code: req.network_internal_code,
        tx_id: req.tx_id,
        tx: req.tx,
        signature: Vec::new(),
        derivation_path: req.derivation_path.filter(|p| !p.is_empty()),
        authorizer_signatures: None,
        path_signature: None,
        session: None,
        session_signature: None,
    };
    msg.signature = initiator.sign(&msg.signing_bytes());
    if msg.has_derivation_path() {
        msg.path_signature = Some(initiator.sign(&msg.path_signing_bytes()));
    }
    msg.authorizer_signatures = approvals(&msg, authorizers);
    msg
}

/// Go's `omitempty`: no authorizers means no field, not an empty list.
fn approvals<M: InitiatorMessage>(
    msg: &M,
    authorizers: &[(String, InitiatorSigner)],
) -> Option<Vec<AuthorizerSignature>> {
    if authorizers.is_empty() {
        return None;
    }
    let payload = msg.authorizer_payload();
    Some(
        authorizers
            .iter()
            .map(|(id, key)| AuthorizerSignature {
                authorizer_id: id.clone(),
                signature: key.sign(&payload),
            })
            .collect(),
    )
}

/// `true` when `s` can be one NATS subject token.
pub fn is_subject_token(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>'))
}

/// Refuses an id that would not make a one-token subject suffix.
pub(crate) fn require_token(field: &'static str, value: &str) -> Result<(), ClientError> {
    if is_subject_token(value) {
        Ok(())
    } else {
        Err(ClientError::SubjectToken { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_security::InitiatorKeyKind;

    fn request(path: Option<Vec<u32>>) -> SignRequest {
        SignRequest {
            key_type: KeyType::Ed25519,
            wallet_id: "w1".into(),
            tx_id: "t1".into(),
            tx: b"hello".to_vec(),
            network_internal_code: "sol".into(),
            derivation_path: path,
        }
    }

    #[test]
    fn keygen_is_signed_and_approved() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::P256);
        let auth = vec![(
            "ops".to_string(),
            InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
        )];
        let msg = signed_keygen_message(&init, &auth, "w1");
        init.public().verify(b"w1", &msg.signature).unwrap();
        let approvals = msg.authorizer_signatures.as_ref().unwrap();
        assert_eq!(approvals[0].authorizer_id, "ops");
        auth[0]
            .1
            .public()
            .verify(&msg.authorizer_payload(), &approvals[0].signature)
            .unwrap();
        let plain = signed_keygen_message(&init, &[], "w1");
        assert!(plain.authorizer_signatures.is_none());
    }

    #[test]
    fn path_signature_only_with_a_path() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        for path in [None, Some(vec![])] {
            let msg = signed_sign_message(&init, &[], request(path));
            assert!(msg.path_signature.is_none());
            assert!(msg.derivation_path.is_none());
        }
        let msg = signed_sign_message(&init, &[], request(Some(vec![44, 0, 1])));
        init.public()
            .verify(&msg.signing_bytes(), &msg.signature)
            .unwrap();
        init.public()
            .verify(
                &msg.path_signing_bytes(),
                msg.path_signature.as_deref().unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn subject_tokens() {
        assert!(is_subject_token("wallet-1_A"));
        for bad in ["", "a.b", "a b", "*", "a>", "a\u{0}"] {
            assert!(!is_subject_token(bad), "{bad:?}");
        }
    }
}
