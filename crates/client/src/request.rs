//! Building signed requests: the initiator signs, then each authorizer approves.
//!
//! The bytes signed are defined in `tessera_types::wire` (mpcium's formats);
//! this module only fills the messages in. A signing request with a
//! non-empty derivation path also carries `tessera_path_signature`, the
//! initiator's signature over [`SignTxMessage::path_signing_bytes`]: mpcium's
//! signature does not cover the path, and Tessera nodes refuse a path that no
//! signature covers. A request with a session configuration (`tessera_session`)
//! likewise carries `tessera_session_signature`, the initiator's signature
//! over `session_signing_bytes()`. Authorizers approve the mpcium signed bytes
//! only (their payload is mpcium's), so the path and the session are covered
//! by the initiator alone.

use tessera_security::InitiatorSigner;
use tessera_types::wire::{InitiatorMessage, SessionSpec};
use tessera_types::{
    AuthorizerSignature, GenerateKeyMessage, KeyType, ResharingMessage, SignTxMessage, Threshold,
};

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
    /// Tessera's session configuration (session id, players, dynamic keys);
    /// `None` or empty: none is sent, as by an mpcium client.
    pub session: Option<SessionSpec>,
}

/// A keygen request for `wallet_id`, signed by `initiator` and approved by
/// every authorizer.
pub fn signed_keygen_message(
    initiator: &InitiatorSigner,
    authorizers: &[(String, InitiatorSigner)],
    wallet_id: &str,
) -> GenerateKeyMessage {
    signed_keygen_message_in_session(initiator, authorizers, wallet_id, SessionSpec::default())
}

/// Like [`signed_keygen_message`], with `session` as `tessera_session` and the
/// initiator's signature over it; an empty `session` is not sent.
pub fn signed_keygen_message_in_session(
    initiator: &InitiatorSigner,
    authorizers: &[(String, InitiatorSigner)],
    wallet_id: &str,
    session: SessionSpec,
) -> GenerateKeyMessage {
    let mut msg = GenerateKeyMessage {
        wallet_id: wallet_id.to_string(),
        signature: Vec::new(),
        authorizer_signatures: None,
        session: non_empty(Some(session)),
        session_signature: None,
    };
    msg.signature = initiator.sign(&msg.signing_bytes());
    if msg.session.is_some() {
        msg.session_signature = Some(initiator.sign(&msg.session_signing_bytes()));
    }
    msg.authorizer_signatures = approvals(&msg, authorizers);
    msg
}

/// A signing request, signed by `initiator` (also over the path and over the
/// session configuration, when there are any) and approved by every
/// authorizer. An empty path is sent as `null`, an empty session not at all.
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
        session: non_empty(req.session),
        session_signature: None,
    };
    msg.signature = initiator.sign(&msg.signing_bytes());
    if msg.has_derivation_path() {
        msg.path_signature = Some(initiator.sign(&msg.path_signing_bytes()));
    }
    if msg.session.is_some() {
        msg.session_signature = Some(initiator.sign(&msg.session_signing_bytes()));
    }
    msg.authorizer_signatures = approvals(&msg, authorizers);
    msg
}

/// What to reshare: a wallet's key of one type, moved to a node set and a
/// threshold. With the same nodes and threshold it is a refresh (new shares,
/// same key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReshareRequest {
    pub wallet_id: String,
    pub key_type: KeyType,
    /// The nodes that hold the key afterwards.
    pub node_ids: Vec<String>,
    /// mpcium's `t` of the new key: **t+1** of `node_ids` are needed to sign.
    pub new_threshold: u16,
    /// The request's id, its result is matched by it (one subject token:
    /// `mpc.reshare_request.<session_id>`). `None`: a fresh one
    /// ([`crate::new_session_id`]).
    pub session_id: Option<String>,
    /// Nodes of `node_ids` whose share is lost and is made anew (Tessera's
    /// `tessera_replace`, signed by the initiator). Empty: none sent.
    pub replace: Vec<String>,
}

/// A reshare request with session id `session_id`, signed by `initiator` over
/// [`ResharingMessage::signing_bytes`] and approved by every authorizer.
/// The replace list is not part of it: see [`reshare_json`].
pub fn signed_reshare_message(
    initiator: &InitiatorSigner,
    authorizers: &[(String, InitiatorSigner)],
    req: &ReshareRequest,
    session_id: &str,
) -> ResharingMessage {
    let mut msg = ResharingMessage {
        session_id: session_id.to_string(),
        node_ids: req.node_ids.clone(),
        new_threshold: Threshold(req.new_threshold),
        key_type: req.key_type,
        wallet_id: req.wallet_id.clone(),
        signature: Vec::new(),
        authorizer_signatures: None,
        replace: Vec::new(),
        replace_signature: None,
    };
    msg.signature = initiator.sign(&msg.signing_bytes());
    msg.authorizer_signatures = approvals(&msg, authorizers);
    msg
}

/// The JSON to publish for `msg`: the message as mpcium writes it, plus,
/// when `replace` is not empty, `tessera_replace` (the node ids) and
/// `tessera_replace_signature` (the initiator's signature over
/// [`ResharingMessage::replace_signing_bytes`]) after mpcium's fields, which
/// keep their order and bytes.
pub fn reshare_json(
    initiator: &InitiatorSigner,
    msg: &ResharingMessage,
    replace: &[String],
) -> Result<Vec<u8>, ClientError> {
    let mut msg = msg.clone();
    msg.replace = replace.to_vec();
    msg.replace_signature = None;
    if !replace.is_empty() {
        msg.replace_signature = Some(initiator.sign(&msg.replace_signing_bytes()));
    }
    Ok(msg.to_json()?)
}

/// An empty session configuration is no configuration: nothing to send or sign.
fn non_empty(session: Option<SessionSpec>) -> Option<SessionSpec> {
    session.filter(|s| !s.is_empty())
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
    use tessera_types::wire::DynamicKey;

    fn request(path: Option<Vec<u32>>) -> SignRequest {
        SignRequest {
            key_type: KeyType::Ed25519,
            wallet_id: "w1".into(),
            tx_id: "t1".into(),
            tx: b"hello".to_vec(),
            network_internal_code: "sol".into(),
            derivation_path: path,
            session: None,
        }
    }

    fn spec() -> SessionSpec {
        SessionSpec {
            session_id: Some("5f0c".into()),
            players: Some(vec!["device-7".into(), "node0".into()]),
            dynamic_public_keys: [(
                "device-7".to_string(),
                DynamicKey {
                    signing_key: [7; 32],
                    agreement_key: [8; 32],
                },
            )]
            .into(),
            threshold: Some(1),
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
    fn no_session_no_session_fields() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        for session in [None, Some(SessionSpec::default())] {
            let msg = signed_sign_message(
                &init,
                &[],
                SignRequest {
                    session,
                    ..request(None)
                },
            );
            assert!(msg.session.is_none() && msg.session_signature.is_none());
            let json = String::from_utf8(msg.to_json().unwrap()).unwrap();
            assert!(!json.contains("tessera_session"), "{json}");
        }
        let keygen = signed_keygen_message_in_session(&init, &[], "w1", SessionSpec::default());
        assert_eq!(keygen, signed_keygen_message(&init, &[], "w1"));
        assert!(!String::from_utf8(keygen.to_json().unwrap())
            .unwrap()
            .contains("tessera_session"));
    }

    #[test]
    fn sign_session_signature_covers_the_session() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::P256);
        let auth = vec![(
            "ops".to_string(),
            InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
        )];
        let req = SignRequest {
            session: Some(spec()),
            ..request(Some(vec![1, 2]))
        };
        let msg = signed_sign_message(&init, &auth, req);
        assert_eq!(msg.session, Some(spec()));
        let key = init.public();
        let sig = msg.session_signature.clone().unwrap();
        key.verify(&msg.session_signing_bytes(), &sig).unwrap();
        // mpcium's signature, the path signature and approvals are unchanged.
        key.verify(&msg.signing_bytes(), &msg.signature).unwrap();
        key.verify(
            &msg.path_signing_bytes(),
            msg.path_signature.as_deref().unwrap(),
        )
        .unwrap();
        auth[0]
            .1
            .public()
            .verify(
                &msg.authorizer_payload(),
                &msg.authorizer_signatures.as_ref().unwrap()[0].signature,
            )
            .unwrap();
        // It travels in the JSON and survives a round trip.
        let back = SignTxMessage::from_json(&msg.to_json().unwrap()).unwrap();
        assert_eq!(back, msg);
        assert!(back.validate().is_ok());

        let mut tampered = msg.clone();
        tampered.session.as_mut().unwrap().players = Some(vec!["device-7".into(), "node1".into()]);
        assert!(key.verify(&tampered.session_signing_bytes(), &sig).is_err());
        let mut moved = msg;
        moved.derivation_path = Some(vec![1, 3]);
        assert!(key.verify(&moved.session_signing_bytes(), &sig).is_err());
    }

    #[test]
    fn keygen_session_signature_covers_the_session() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let msg = signed_keygen_message_in_session(&init, &[], "w1", spec());
        let key = init.public();
        key.verify(b"w1", &msg.signature).unwrap();
        let sig = msg.session_signature.clone().unwrap();
        key.verify(&msg.session_signing_bytes(), &sig).unwrap();
        let json = String::from_utf8(msg.to_json().unwrap()).unwrap();
        assert!(
            json.contains(r#""tessera_session":{"session_id":"5f0c""#),
            "{json}"
        );
        assert!(json.contains(r#""tessera_session_signature":""#), "{json}");

        let mut tampered = msg.clone();
        tampered.session.as_mut().unwrap().players = Some(vec!["node0".into(), "node1".into()]);
        assert!(key.verify(&tampered.session_signing_bytes(), &sig).is_err());
        let mut other_wallet = msg;
        other_wallet.wallet_id = "w2".into();
        assert!(key
            .verify(&other_wallet.session_signing_bytes(), &sig)
            .is_err());
    }

    fn reshare_request(replace: &[&str]) -> ReshareRequest {
        ReshareRequest {
            wallet_id: "w1".into(),
            key_type: KeyType::Ed25519,
            node_ids: vec!["node0".into(), "node1".into(), "node2".into()],
            new_threshold: 1,
            session_id: None,
            replace: replace.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn dalek_key(init: &InitiatorSigner) -> ed25519_dalek::VerifyingKey {
        let bytes: [u8; 32] = init.public().to_bytes().try_into().unwrap();
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn reshare_is_signed_over_mpciums_bytes_and_approved() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let auth = vec![(
            "ops".to_string(),
            InitiatorSigner::generate(InitiatorKeyKind::Ed25519),
        )];
        let msg = signed_reshare_message(&init, &auth, &reshare_request(&[]), "s1");
        assert_eq!(msg.session_id, "s1");
        assert_eq!(msg.new_threshold, Threshold(1));
        assert!(msg.validate().is_ok());
        let sig = ed25519_dalek::Signature::from_slice(&msg.signature).unwrap();
        dalek_key(&init)
            .verify_strict(&msg.signing_bytes(), &sig)
            .unwrap();
        assert_eq!(
            String::from_utf8(msg.signing_bytes()).unwrap(),
            r#"{"session_id":"s1","node_ids":["node0","node1","node2"],"new_threshold":1,"key_type":"ed25519","wallet_id":"w1"}"#
        );
        auth[0]
            .1
            .public()
            .verify(
                &msg.authorizer_payload(),
                &msg.authorizer_signatures.as_ref().unwrap()[0].signature,
            )
            .unwrap();
        // Without a replace list the JSON is the message's own.
        let json = reshare_json(&init, &msg, &[]).unwrap();
        assert_eq!(json, msg.to_json().unwrap());
        assert!(!String::from_utf8(json).unwrap().contains("tessera_replace"));
        let mut moved = msg;
        moved.node_ids.pop();
        assert!(dalek_key(&init)
            .verify_strict(&moved.signing_bytes(), &sig)
            .is_err());
    }

    #[test]
    fn a_replace_list_is_added_and_signed_by_the_initiator() {
        let init = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let req = reshare_request(&["node2"]);
        let msg = signed_reshare_message(&init, &[], &req, "s1");
        let json = reshare_json(&init, &msg, &req.replace).unwrap();
        let sent = ResharingMessage::from_json(&json).unwrap();
        assert!(String::from_utf8(sent.replace_signing_bytes())
            .unwrap()
            .ends_with(
                r#"{"session_id":"s1","wallet_id":"w1","key_type":"ed25519","replace":["node2"]}"#
            ));
        let text = String::from_utf8(json.clone()).unwrap();
        // mpcium's fields first, as mpcium writes them; ours last.
        let own = String::from_utf8(msg.to_json().unwrap()).unwrap();
        assert!(text.starts_with(own.trim_end_matches('}')), "{text}");
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["tessera_replace"], serde_json::json!(["node2"]));
        let sig = sent.replace_signature.clone().unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        dalek_key(&init)
            .verify_strict(&sent.replace_signing_bytes(), &sig)
            .unwrap();
        // The initiator signature over mpcium's bytes holds.
        init.public()
            .verify(&sent.signing_bytes(), &sent.signature)
            .unwrap();
        // The signature covers the list.
        let mut other = sent.clone();
        other.replace = vec!["node1".to_string()];
        assert!(dalek_key(&init)
            .verify_strict(&other.replace_signing_bytes(), &sig)
            .is_err());
    }

    #[test]
    fn subject_tokens() {
        assert!(is_subject_token("wallet-1_A"));
        for bad in ["", "a.b", "a b", "*", "a>", "a\u{0}"] {
            assert!(!is_subject_token(bad), "{bad:?}");
        }
    }
}
