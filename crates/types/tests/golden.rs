//! Golden tests: the exact JSON of every request and result event, and the
//! exact bytes initiators and authorizers sign. Expected strings are written by
//! hand from Go's `encoding/json` rules (see `src/wire/mod.rs`), never produced
//! by the code under test.

use tessera_types::wire::{
    authorizer_payload, AuthorizerSignature, GenerateKeyMessage, InitiatorMessage, KeyType,
    KeygenResultEvent, ResharingMessage, ResharingResultEvent, SignTxMessage, SigningIds,
    SigningResultEvent,
};
use tessera_types::{ErrorCode, Threshold};

macro_rules! golden {
    ($name:literal) => {
        include_str!(concat!("golden/", $name)).trim_end()
    };
}

fn json<E>(r: Result<Vec<u8>, E>) -> String
where
    E: std::fmt::Debug,
{
    String::from_utf8(r.unwrap()).unwrap()
}

fn auth(id: &str, sig: &[u8]) -> AuthorizerSignature {
    AuthorizerSignature {
        authorizer_id: id.into(),
        signature: sig.to_vec(),
    }
}

fn keygen() -> GenerateKeyMessage {
    GenerateKeyMessage {
        wallet_id: "wallet-1".into(),
        signature: b"sig".to_vec(),
        authorizer_signatures: None,
        session: None,
        session_signature: None,
    }
}

fn sign_secp() -> SignTxMessage {
    SignTxMessage {
        key_type: KeyType::Secp256k1,
        wallet_id: "wallet-1".into(),
        network_internal_code: "eth-mainnet".into(),
        tx_id: "tx-1".into(),
        tx: vec![0; 32],
        signature: b"sig".to_vec(),
        derivation_path: None,
        authorizer_signatures: None,
        path_signature: None,
        session: None,
        session_signature: None,
    }
}

fn sign_ed_path() -> SignTxMessage {
    SignTxMessage {
        key_type: KeyType::Ed25519,
        network_internal_code: "sol-mainnet".into(),
        tx_id: "tx-2".into(),
        tx: b"hi".to_vec(),
        derivation_path: Some(vec![44, 501, 0]),
        authorizer_signatures: Some(vec![auth("auth-a", &[1, 2, 3]), auth("auth-b", &[])]),
        ..sign_secp()
    }
}

fn reshare() -> ResharingMessage {
    ResharingMessage {
        session_id: "s-1".into(),
        node_ids: vec!["node0".into(), "node1".into(), "node2".into()],
        new_threshold: Threshold(1),
        key_type: KeyType::Secp256k1,
        wallet_id: "wallet-1".into(),
        signature: b"sig".to_vec(),
        authorizer_signatures: None,
        replace: Vec::new(),
        replace_signature: None,
    }
}

// ---- requests: exact JSON, and the golden files parse back to the same value ----

#[test]
fn request_json_is_pinned() {
    let with_auth = GenerateKeyMessage {
        authorizer_signatures: Some(vec![auth("auth-a", &[1, 2, 3])]),
        ..keygen()
    };
    let unsigned = ResharingMessage {
        node_ids: vec![],
        new_threshold: Threshold(0),
        key_type: KeyType::Ed25519,
        signature: vec![],
        ..reshare()
    };
    assert_eq!(json(keygen().to_json()), golden!("keygen_request.json"));
    assert_eq!(
        json(with_auth.to_json()),
        golden!("keygen_request_authorized.json")
    );
    assert_eq!(json(sign_secp().to_json()), golden!("sign_request.json"));
    assert_eq!(
        json(sign_ed_path().to_json()),
        golden!("sign_request_path.json")
    );
    assert_eq!(json(reshare().to_json()), golden!("reshare_request.json"));
    assert_eq!(
        json(unsigned.to_json()),
        golden!("reshare_request_unsigned.json")
    );

    let parse_k = |f: &str| GenerateKeyMessage::from_json(f.as_bytes()).unwrap();
    let parse_s = |f: &str| SignTxMessage::from_json(f.as_bytes()).unwrap();
    let parse_r = |f: &str| ResharingMessage::from_json(f.as_bytes()).unwrap();
    assert_eq!(parse_k(golden!("keygen_request.json")), keygen());
    assert_eq!(
        parse_k(golden!("keygen_request_authorized.json")),
        with_auth
    );
    assert_eq!(parse_s(golden!("sign_request.json")), sign_secp());
    assert_eq!(parse_s(golden!("sign_request_path.json")), sign_ed_path());
    assert_eq!(parse_r(golden!("reshare_request.json")), reshare());
    assert_eq!(parse_r(golden!("reshare_request_unsigned.json")), unsigned);
}

#[test]
fn empty_authorizer_list_is_omitted_like_go_omitempty() {
    let m = GenerateKeyMessage {
        authorizer_signatures: Some(vec![]),
        ..keygen()
    };
    assert_eq!(json(m.to_json()), golden!("keygen_request.json"));
}

// ---- signed bytes ----

#[test]
fn keygen_signs_raw_wallet_id_bytes() {
    assert_eq!(keygen().signing_bytes(), b"wallet-1");
    let odd = GenerateKeyMessage {
        wallet_id: "a<b>&c\u{2028}\"\\".into(),
        ..keygen()
    };
    // Raw UTF-8, no JSON and no escaping.
    assert_eq!(odd.signing_bytes(), b"a<b>&c\xe2\x80\xa8\"\\");
}

#[test]
fn sign_signing_bytes_plain() {
    let want = concat!(
        r#"{"key_type":"secp256k1","wallet_id":"wallet-1","network_internal_code":"eth-mainnet","#,
        r#""tx_id":"tx-1","tx":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#
    );
    assert_eq!(
        String::from_utf8(sign_secp().signing_bytes()).unwrap(),
        want
    );
    // The derivation path and authorizers are not part of mpcium's signed bytes.
    assert_eq!(
        sign_ed_path().signing_bytes(),
        concat!(
            r#"{"key_type":"ed25519","wallet_id":"wallet-1","network_internal_code":"sol-mainnet","#,
            r#""tx_id":"tx-2","tx":"aGk="}"#
        )
        .as_bytes()
    );
}

fn tricky_sign() -> SignTxMessage {
    SignTxMessage {
        key_type: KeyType::Ed25519,
        wallet_id: "a<b>&c".into(),
        network_internal_code: "net\"x\"\\y/z\u{2028}\u{2029}".into(),
        tx_id: "t\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é<>&".into(),
        tx: b"hi".to_vec(),
        ..sign_secp()
    }
}

/// What Go's json.Marshal writes for [`tricky_sign`]'s payload.
const TRICKY_SIGN_BYTES: &str = concat!(
    r#"{"key_type":"ed25519","wallet_id":"a\u003cb\u003e\u0026c","#,
    r#""network_internal_code":"net\"x\"\\y/z\u2028\u2029","#,
    r#""tx_id":"t\n\r\t\b\f\u0001\u001f"#,
    "\u{7f}é",
    r#"\u003c\u003e\u0026","tx":"aGk="}"#
);

#[test]
fn sign_signing_bytes_escape_like_go() {
    let got = String::from_utf8(tricky_sign().signing_bytes()).unwrap();
    assert_eq!(got, TRICKY_SIGN_BYTES);
}

#[test]
fn sign_signing_bytes_survive_a_go_client_round_trip() {
    // A Go client sends the same escapes in its request JSON; decoding and
    // re-encoding must give back exactly the bytes it signed.
    let request = concat!(
        r#"{"key_type":"ed25519","wallet_id":"a\u003cb\u003e\u0026c","#,
        r#""network_internal_code":"net\"x\"\\y/z\u2028\u2029","#,
        r#""tx_id":"t\n\r\t\b\f\u0001\u001f"#,
        "\u{7f}é",
        r#"\u003c\u003e\u0026","tx":"aGk=","signature":"c2ln","derivation_path":null}"#
    );
    let m = SignTxMessage::from_json(request.as_bytes()).unwrap();
    assert_eq!(m, tricky_sign());
    assert_eq!(m.signing_bytes(), TRICKY_SIGN_BYTES.as_bytes());
    // Our own request JSON is Go's too.
    assert_eq!(json(m.to_json()), request);
}

#[test]
fn reshare_signs_first_five_fields() {
    let want = concat!(
        r#"{"session_id":"s-1","node_ids":["node0","node1","node2"],"new_threshold":1,"#,
        r#""key_type":"secp256k1","wallet_id":"wallet-1"}"#
    );
    assert_eq!(reshare().signing_bytes(), want.as_bytes());
    let odd = ResharingMessage {
        node_ids: vec!["n<1>".into()],
        wallet_id: "w&1".into(),
        ..reshare()
    };
    let want = concat!(
        r#"{"session_id":"s-1","node_ids":["n\u003c1\u003e"],"new_threshold":1,"#,
        r#""key_type":"secp256k1","wallet_id":"w\u00261"}"#
    );
    assert_eq!(odd.signing_bytes(), want.as_bytes());
}

#[test]
fn authorizer_payloads() {
    let want =
        r#"{"initiator_id":"wallet-1","initiator_raw":"d2FsbGV0LTE=","initiator_sig":"c2ln"}"#;
    assert_eq!(keygen().authorizer_payload(), want.as_bytes());
    assert_eq!(
        authorizer_payload("wallet-1", b"wallet-1", b"sig"),
        want.as_bytes()
    );

    // Signing binds the tx id and the signed JSON, base64-encoded.
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.encode(TRICKY_SIGN_BYTES);
    let want = format!(
        r#"{{"initiator_id":"t\n\r\t\b\f\u0001\u001f{}\u003c\u003e\u0026","initiator_raw":"{raw}","initiator_sig":"c2ln"}}"#,
        "\u{7f}é"
    );
    assert_eq!(
        String::from_utf8(tricky_sign().authorizer_payload()).unwrap(),
        want
    );
    assert_eq!(tricky_sign().initiator_id(), tricky_sign().tx_id);
    assert_eq!(reshare().initiator_id(), "wallet-1");
}

// ---- result events ----

fn ids(wallet: &str, tx: &str, net: &str) -> SigningIds {
    SigningIds {
        wallet_id: wallet.into(),
        tx_id: tx.into(),
        network_internal_code: net.into(),
    }
}

fn events() -> Vec<(&'static str, String, String)> {
    let kg_ok = KeygenResultEvent::success("wallet-1", [1; 64], [2; 32]);
    let kg_err = KeygenResultEvent::error(
        "wallet-1",
        ErrorCode::PeerUnavailable,
        "peer node2 unavailable",
    );
    let sg_ecdsa = SigningResultEvent::ecdsa_success(
        ids("wallet-1", "tx-1", "eth-mainnet"),
        [3; 32],
        [4; 32],
        1,
    );
    let sg_eddsa =
        SigningResultEvent::eddsa_success(ids("wallet-1", "tx-2", "sol-mainnet"), [5; 64]);
    let sg_err = SigningResultEvent::error(
        SigningIds::from(&sign_secp()),
        ErrorCode::SessionTimeout,
        "session \"s<1>\" timed out & was aborted",
    )
    .with_timeout(true);
    let rs_ok =
        ResharingResultEvent::success("wallet-1", Threshold(2), KeyType::Ed25519, vec![6; 32]);
    let rs_err = ResharingResultEvent::error(
        "wallet-1",
        Threshold(2),
        KeyType::Secp256k1,
        ErrorCode::InvalidThreshold,
        "threshold too high",
    );
    vec![
        (
            "keygen_success.json",
            json(kg_ok.to_json()),
            golden!("keygen_success.json").into(),
        ),
        (
            "keygen_error.json",
            json(kg_err.to_json()),
            golden!("keygen_error.json").into(),
        ),
        (
            "signing_ecdsa_success.json",
            json(sg_ecdsa.to_json()),
            golden!("signing_ecdsa_success.json").into(),
        ),
        (
            "signing_eddsa_success.json",
            json(sg_eddsa.to_json()),
            golden!("signing_eddsa_success.json").into(),
        ),
        (
            "signing_error.json",
            json(sg_err.to_json()),
            golden!("signing_error.json").into(),
        ),
        (
            "resharing_success.json",
            json(rs_ok.to_json()),
            golden!("resharing_success.json").into(),
        ),
        (
            "resharing_error.json",
            json(rs_err.to_json()),
            golden!("resharing_error.json").into(),
        ),
    ]
}

#[test]
fn result_json_is_pinned() {
    for (name, got, want) in events() {
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn results_round_trip() {
    for (name, got, _) in events() {
        let b = got.as_bytes();
        let again = match name {
            n if n.starts_with("keygen") => {
                json(KeygenResultEvent::from_json(b).unwrap().to_json())
            }
            n if n.starts_with("signing") => {
                json(SigningResultEvent::from_json(b).unwrap().to_json())
            }
            _ => json(ResharingResultEvent::from_json(b).unwrap().to_json()),
        };
        assert_eq!(again, got, "{name}");
    }
    let e = SigningResultEvent::from_json(golden!("signing_error.json").as_bytes()).unwrap();
    assert_eq!(e.error_code, Some(ErrorCode::SessionTimeout));
    assert_eq!(e.error_reason, "session \"s<1>\" timed out & was aborted");
    assert!(e.is_timeout);
    let k = KeygenResultEvent::from_json(golden!("keygen_success.json").as_bytes()).unwrap();
    assert_eq!(k, KeygenResultEvent::success("wallet-1", [1; 64], [2; 32]));
    assert_eq!(k.error_code, None);
}

#[test]
fn path_signature_covers_the_derivation_path() {
    let mut m = sign_ed_path();
    assert_eq!(
        String::from_utf8(m.path_signing_bytes()).unwrap(),
        concat!(
            "tessera/path/v1\0",
            r#"{"key_type":"ed25519","wallet_id":"wallet-1","network_internal_code":"sol-mainnet","tx_id":"tx-2","tx":"aGk=","derivation_path":[44,501,0]}"#
        )
    );
    assert!(m.has_derivation_path());
    // Absent: nothing new on the wire, so mpcium clients see their own format.
    assert!(!String::from_utf8(m.to_json().unwrap())
        .unwrap()
        .contains("tessera_path_signature"));
    m.path_signature = Some(vec![9, 9]);
    let json = m.to_json().unwrap();
    assert!(String::from_utf8(json.clone())
        .unwrap()
        .contains(r#""tessera_path_signature":"CQk=""#));
    assert_eq!(SignTxMessage::from_json(&json).unwrap(), m);
    // A different path gives different signed bytes.
    let mut other = m.clone();
    other.derivation_path = Some(vec![44, 501, 1]);
    assert_ne!(other.path_signing_bytes(), m.path_signing_bytes());
    other.derivation_path = None;
    assert!(String::from_utf8(other.path_signing_bytes())
        .unwrap()
        .ends_with(r#""derivation_path":[]}"#));
    // The session signature's bytes have their own label: a path signature is
    // never a session signature, nor a request signature (those are JSON).
    assert!(m
        .session_signing_bytes()
        .starts_with(b"tessera/session/v1\0{"));
    assert!(m.signing_bytes().starts_with(b"{"));
}

/// A keygen wallet id that reads as JSON is refused: mpcium's keygen signature
/// covers the wallet id alone, so it would sign another request's JSON.
#[test]
fn a_wallet_id_that_reads_as_json_is_refused() {
    let mut k = keygen();
    k.wallet_id = r#"{"key_type":"ed25519","wallet_id":"w"}"#.replace(' ', "");
    let e = k.validate().unwrap_err();
    assert_eq!(e.code(), tessera_types::ErrorCode::MsgValidation, "{e}");
    assert!(k
        .session_signing_bytes()
        .starts_with(b"tessera/session/v1\0{"));
}

/// With a derivation path, an authorizer approves the path-signed bytes and
/// the path signature (an approval of the digest alone authorizes no child
/// key); without one, mpcium's payload as before.
#[test]
fn authorizers_approve_the_derivation_path() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut m = sign_ed_path();
    m.path_signature = Some(vec![7, 7]);
    let want = format!(
        r#"{{"initiator_id":"tx-2","initiator_raw":"{}","initiator_sig":"Bwc="}}"#,
        b64(&m.path_signing_bytes())
    );
    assert_eq!(String::from_utf8(m.authorizer_payload()).unwrap(), want);
    let mut other = m.clone();
    other.derivation_path = Some(vec![44, 501, 1]);
    assert_ne!(other.authorizer_payload(), m.authorizer_payload());
    let mut no_path = m.clone();
    no_path.derivation_path = None;
    assert_eq!(
        no_path.authorizer_payload(),
        authorizer_payload("tx-2", &no_path.signing_bytes(), &no_path.signature)
    );
}
