//! Client JSON read from JetStream: the three requests and the result events.
//!
//! Every input goes to every parser. For whatever parses: `validate` and the
//! signed bytes must not panic, the signed bytes must be JSON that says what the
//! message says, and a message must survive `to_json` then `from_json` unchanged
//! (up to an empty `authorizer_signatures`, which Go's `omitempty` drops).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera_types::wire::b64;
use tessera_types::{
    AuthorizerSignature, GenerateKeyMessage, InitiatorMessage, KeygenResultEvent, ResharingMessage,
    ResharingResultEvent, SignTxMessage, SigningResultEvent,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SignTxMessage::from_json(data) {
        sign_request(m);
    }
    if let Ok(m) = GenerateKeyMessage::from_json(data) {
        keygen_request(m);
    }
    if let Ok(m) = ResharingMessage::from_json(data) {
        reshare_request(m);
    }
    if let Ok(e) = KeygenResultEvent::from_json(data) {
        let again = KeygenResultEvent::from_json(&e.to_json().unwrap()).unwrap();
        assert_eq!(again, e, "keygen result does not round-trip");
    }
    if let Ok(e) = SigningResultEvent::from_json(data) {
        let again = SigningResultEvent::from_json(&e.to_json().unwrap()).unwrap();
        assert_eq!(again, e, "signing result does not round-trip");
    }
    if let Ok(e) = ResharingResultEvent::from_json(data) {
        let again = ResharingResultEvent::from_json(&e.to_json().unwrap()).unwrap();
        assert_eq!(again, e, "resharing result does not round-trip");
    }
});

fn sign_request(m: SignTxMessage) {
    let _ = m.validate();
    let _ = m.has_derivation_path();
    let signed = json_object(&m.signing_bytes());
    assert_eq!(signed.len(), 5);
    assert_eq!(signed["key_type"], m.key_type.as_str());
    assert_eq!(signed["wallet_id"], m.wallet_id.as_str());
    assert_eq!(
        signed["network_internal_code"],
        m.network_internal_code.as_str()
    );
    assert_eq!(signed["tx_id"], m.tx_id.as_str());
    assert_eq!(signed["tx"], b64::encode(&m.tx).as_str());
    let path_signed = json_object(&m.path_signing_bytes());
    let path: Vec<u32> = serde_json::from_value(path_signed["derivation_path"].clone()).unwrap();
    assert_eq!(path, m.derivation_path.clone().unwrap_or_default());
    let _ = m.authorizer_payload();

    let again = SignTxMessage::from_json(&m.to_json().unwrap()).expect("re-encoded request");
    assert_eq!(
        normal_sign(again),
        normal_sign(m),
        "sign request round-trip"
    );
}

fn keygen_request(m: GenerateKeyMessage) {
    let _ = m.validate();
    assert_eq!(m.signing_bytes(), m.wallet_id.as_bytes());
    let _ = m.authorizer_payload();

    let again = GenerateKeyMessage::from_json(&m.to_json().unwrap()).expect("re-encoded request");
    let (mut a, mut b) = (again, m);
    normal_authorizers(&mut a.authorizer_signatures);
    normal_authorizers(&mut b.authorizer_signatures);
    assert_eq!(a, b, "keygen request round-trip");
}

fn reshare_request(m: ResharingMessage) {
    let _ = m.validate();
    let signed = json_object(&m.signing_bytes());
    assert_eq!(signed.len(), 5);
    assert_eq!(signed["session_id"], m.session_id.as_str());
    assert_eq!(signed["node_ids"], Value::from(m.node_ids.clone()));
    assert_eq!(signed["new_threshold"], m.new_threshold.0);
    assert_eq!(signed["wallet_id"], m.wallet_id.as_str());
    let _ = m.authorizer_payload();

    let again = ResharingMessage::from_json(&m.to_json().unwrap()).expect("re-encoded request");
    let (mut a, mut b) = (again, m);
    normal_authorizers(&mut a.authorizer_signatures);
    normal_authorizers(&mut b.authorizer_signatures);
    assert_eq!(a, b, "reshare request round-trip");
}

/// The signed bytes are Go's compact JSON of an object; read them back.
fn json_object(bytes: &[u8]) -> serde_json::Map<String, Value> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        other => panic!("signed bytes are not a JSON object: {other:?}"),
    }
}

fn normal_sign(mut m: SignTxMessage) -> SignTxMessage {
    normal_authorizers(&mut m.authorizer_signatures);
    m
}

/// `Some([])` is written as nothing (Go's `omitempty`) and reads back as `None`.
fn normal_authorizers(list: &mut Option<Vec<AuthorizerSignature>>) {
    if list.as_ref().is_some_and(Vec::is_empty) {
        *list = None;
    }
}
