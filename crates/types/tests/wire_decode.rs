//! How requests and results are read: unknown fields, missing and null
//! fields, bad base64, and the typed checks that follow parsing.

use tessera_types::wire::{
    GenerateKeyMessage, KeyType, KeygenResultEvent, ResharingMessage, SignTxMessage,
    SigningResultEvent, WireError,
};
use tessera_types::{ErrorCode, IdError};

const SIGN: &str = r#"{"key_type":"secp256k1","wallet_id":"wallet-1","network_internal_code":"eth","tx_id":"tx-1","tx":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","signature":"c2ln","derivation_path":null}"#;

fn sign(json: &str) -> Result<SignTxMessage, WireError> {
    SignTxMessage::from_json(json.as_bytes())
}

fn is_decode(r: Result<impl std::fmt::Debug, WireError>) -> bool {
    match r {
        Err(e @ WireError::Decode(_)) => e.code() == ErrorCode::UnmarshalFailure,
        _ => false,
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let extra = SIGN.replace(
        r#""tx_id":"#,
        r#""session_id":"s-9","players":["node0","node1"],"dynamic_public_keys":{"dev":{"k":1}},"protocol":"frost","tx_id":"#,
    );
    assert_eq!(sign(&extra).unwrap(), sign(SIGN).unwrap());
    let kg = r#"{"wallet_id":"w","ecdsa_protocol":"cggmp21","signature":"c2ln","future":[1,{"a":null}]}"#;
    assert_eq!(
        GenerateKeyMessage::from_json(kg.as_bytes())
            .unwrap()
            .wallet_id,
        "w"
    );
}

#[test]
fn optional_fields_may_be_missing() {
    // The TypeScript client omits an unset derivation path.
    let ts = SIGN.replace(r#","derivation_path":null"#, "");
    let m = sign(&ts).unwrap();
    assert_eq!(m.derivation_path, None);
    assert_eq!(m.authorizer_signatures, None);
    let r = r#"{"session_id":"s","node_ids":["a","b"],"new_threshold":1,"key_type":"ed25519","wallet_id":"w"}"#;
    assert!(ResharingMessage::from_json(r.as_bytes())
        .unwrap()
        .signature
        .is_empty());
}

#[test]
fn missing_or_null_required_fields_fail() {
    let fields = [
        ("key_type", r#""secp256k1""#),
        ("wallet_id", r#""wallet-1""#),
        ("network_internal_code", r#""eth""#),
        ("tx_id", r#""tx-1""#),
        ("tx", r#""AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=""#),
        ("signature", r#""c2ln""#),
    ];
    for (name, value) in fields {
        let field = format!(r#""{name}":{value}"#);
        assert!(SIGN.contains(&field), "{field}");
        let missing = SIGN.replace(&format!("{field},"), "");
        assert!(is_decode(sign(&missing)), "missing {name} accepted");
        let null = SIGN.replace(&field, &format!(r#""{name}":null"#));
        assert!(is_decode(sign(&null)), "null {name} accepted");
    }
    assert!(is_decode(GenerateKeyMessage::from_json(
        br#"{"wallet_id":"w"}"#
    )));
    assert!(is_decode(GenerateKeyMessage::from_json(
        br#"{"signature":"c2ln"}"#
    )));
}

#[test]
fn non_base64_byte_fields_fail() {
    for bad in ["not base64!", "c2ln=", "c2l", "c2l-", "c2l_"] {
        let m = SIGN.replace(r#""signature":"c2ln""#, &format!(r#""signature":"{bad}""#));
        assert!(is_decode(sign(&m)), "signature {bad:?} accepted");
        let m = SIGN.replace(r#""tx":"AAAA"#, &format!(r#""tx":"{bad}AAAA"#));
        assert!(is_decode(sign(&m)), "tx {bad:?} accepted");
    }
    let num = SIGN.replace(r#""signature":"c2ln""#, r#""signature":[1,2]"#);
    assert!(is_decode(sign(&num)));
    let auth = r#"{"wallet_id":"w","signature":"c2ln","authorizer_signatures":[{"authorizer_id":"a","signature":"%%%"}]}"#;
    assert!(is_decode(GenerateKeyMessage::from_json(auth.as_bytes())));
    let ev = r#"{"wallet_id":"w","ecdsa_pub_key":"???","result_type":"success"}"#;
    assert!(is_decode(KeygenResultEvent::from_json(ev.as_bytes())));
}

#[test]
fn other_malformed_requests_fail() {
    let unknown = sign(&SIGN.replace("secp256k1", "p256")).unwrap_err();
    assert!(
        matches!(&unknown, WireError::UnknownKeyType { found } if found == "p256"),
        "{unknown:?}"
    );
    assert_eq!(unknown.code(), ErrorCode::InvalidSessionType);
    assert!(is_decode(sign(&SIGN.replace("null", "[-1]"))));
    assert!(is_decode(sign(&SIGN.replace("null", "[4294967296]"))));
    // Duplicate keys: Go keeps the last, which would let two parsers disagree.
    let dup = SIGN.replace(r#""tx_id":"tx-1""#, r#""tx_id":"tx-1","tx_id":"tx-2""#);
    assert!(is_decode(sign(&dup)));
    assert!(is_decode(sign("")));
    assert!(is_decode(sign("[]")));
    assert!(is_decode(GenerateKeyMessage::from_json(
        b"{\"wallet_id\":\"\xff\",\"signature\":\"\"}"
    )));
}

#[test]
fn ids_are_checked_with_typed_errors() {
    let ok = sign(SIGN).unwrap();
    assert!(ok.validate().is_ok());
    assert_eq!(ok.parse_tx_id().unwrap().as_str(), "tx-1");

    let bad = SignTxMessage {
        wallet_id: "w\u{1}".into(),
        ..ok.clone()
    };
    let err = bad.validate().unwrap_err();
    assert!(matches!(
        err,
        WireError::InvalidId {
            field: "wallet_id",
            source: IdError::BadCharacter { .. }
        }
    ));
    assert_eq!(err.code(), ErrorCode::MsgValidation);
    let empty_tx = SignTxMessage {
        tx_id: String::new(),
        ..ok.clone()
    };
    assert!(matches!(
        empty_tx.validate(),
        Err(WireError::InvalidId { field: "tx_id", .. })
    ));

    let kg = GenerateKeyMessage::from_json(br#"{"wallet_id":"","signature":""}"#).unwrap();
    assert!(matches!(
        kg.validate(),
        Err(WireError::InvalidId {
            field: "wallet_id",
            ..
        })
    ));
}

#[test]
fn sign_requests_are_checked() {
    let ok = sign(SIGN).unwrap();
    let short = SignTxMessage {
        tx: vec![0; 31],
        ..ok.clone()
    };
    assert!(matches!(
        short.validate(),
        Err(WireError::DigestLength { got: 31 })
    ));
    let ed = SignTxMessage {
        key_type: KeyType::Ed25519,
        ..short
    };
    assert!(
        ed.validate().is_ok(),
        "ed25519 signs messages of any length"
    );

    let hardened = SignTxMessage {
        derivation_path: Some(vec![44, 0x8000_0000]),
        ..ok.clone()
    };
    let err = hardened.validate().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidDerivationPath);
    let deep = SignTxMessage {
        derivation_path: Some(vec![0; 256]),
        ..ok.clone()
    };
    assert!(matches!(
        deep.validate(),
        Err(WireError::DerivationPath { .. })
    ));
    let max = SignTxMessage {
        derivation_path: Some(vec![0x7fff_ffff; 255]),
        ..ok
    };
    assert!(max.validate().is_ok());
}

#[test]
fn reshare_requests_are_checked() {
    let base = r#"{"session_id":"s-1","node_ids":["a","b","c"],"new_threshold":1,"key_type":"ed25519","wallet_id":"w"}"#;
    let ok = ResharingMessage::from_json(base.as_bytes()).unwrap();
    assert!(ok.validate().is_ok());
    assert_eq!(ok.parse_node_ids().unwrap().len(), 3);

    let too_high = ResharingMessage {
        new_threshold: tessera_types::Threshold(3),
        ..ok.clone()
    };
    assert_eq!(
        too_high.validate().unwrap_err().code(),
        ErrorCode::InvalidThreshold
    );
    let dup = ResharingMessage {
        node_ids: vec!["a".into(), "b".into(), "a".into()],
        ..ok.clone()
    };
    assert_eq!(dup.validate().unwrap_err().code(), ErrorCode::MsgValidation);
    let bad_node = ResharingMessage {
        node_ids: vec!["a".into(), "b.c".into()],
        ..ok.clone()
    };
    assert!(matches!(
        bad_node.validate(),
        Err(WireError::InvalidId {
            field: "node_ids",
            ..
        })
    ));
    let bad_session = ResharingMessage {
        session_id: "s>1".into(),
        ..ok
    };
    assert!(matches!(
        bad_session.validate(),
        Err(WireError::InvalidId {
            field: "session_id",
            ..
        })
    ));
    assert!(is_decode(ResharingMessage::from_json(
        base.replace("1,", "-1,").as_bytes()
    )));
}

#[test]
fn results_read_go_zero_values_and_absences_alike() {
    // As an older or newer mpcium node might write them.
    let ev = r#"{"result_type":"success","error_code":null,"error_reason":null,"is_timeout":null,"wallet_id":"w","tx_id":"t","r":null,"signature":"AQID","cggmp21":"x"}"#;
    let e = SigningResultEvent::from_json(ev.as_bytes()).unwrap();
    assert_eq!(e.error_code, None);
    assert_eq!(e.error_reason, "");
    assert!(!e.is_timeout);
    assert_eq!(e.network_internal_code, "");
    assert_eq!(e.s, None);
    assert_eq!(e.signature.as_deref(), Some(&[1u8, 2, 3][..]));

    let future = r#"{"result_type":"error","error_code":"ERROR_FROM_THE_FUTURE"}"#;
    let k = KeygenResultEvent::from_json(future.as_bytes()).unwrap();
    assert_eq!(k.error_code, Some(ErrorCode::Unknown));
    assert!(is_decode(KeygenResultEvent::from_json(
        br#"{"result_type":"done"}"#
    )));
    assert!(is_decode(KeygenResultEvent::from_json(
        br#"{"wallet_id":"w"}"#
    )));
}
