use ed25519_dalek::Signer as _;

use super::*;

const MSG: &[u8] = br#"{"key_type":"secp256k1","wallet_id":"w1","network_internal_code":"eth","tx_id":"t1","tx":"AAAA"}"#;

#[test]
fn rfc8032_test_vector_1() {
    let key = InitiatorKey::from_hex(
        InitiatorKeyKind::Ed25519,
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    )
    .unwrap();
    let sig = hex::decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    )
    .unwrap();
    key.verify(b"", &sig).unwrap();
    assert_eq!(
        key.verify(b"x", &sig),
        Err(SignatureError::Invalid {
            kind: InitiatorKeyKind::Ed25519
        })
    );
    let signer = InitiatorSigner::from_secret_bytes(
        InitiatorKeyKind::Ed25519,
        &hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap(),
    )
    .unwrap();
    assert_eq!(signer.public(), key);
    assert_eq!(signer.sign(b""), sig);
}

#[test]
fn ed25519_signatures_from_dalek_directly() {
    let sk = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let hex_pk = hex::encode(sk.verifying_key().to_bytes());
    let key = InitiatorKey::from_hex(
        InitiatorKeyKind::Ed25519,
        &format!("  {}\n", hex_pk.to_uppercase()),
    )
    .unwrap();
    let sig = sk.sign(MSG).to_bytes();
    key.verify(MSG, &sig).unwrap();
    let mut bad = sig;
    bad[10] ^= 1;
    assert!(key.verify(MSG, &bad).is_err());
    assert!(matches!(
        key.verify(MSG, &sig[..63]),
        Err(SignatureError::Malformed { .. })
    ));
    assert_eq!(key.to_hex(), hex_pk);
}

#[test]
fn p256_signatures_from_the_p256_crate_directly() {
    let sk = p256::ecdsa::SigningKey::random(&mut OsRng);
    let spki = sk.verifying_key().to_public_key_der().unwrap();
    let key =
        InitiatorKey::from_hex(InitiatorKeyKind::P256, &hex::encode(spki.as_bytes())).unwrap();
    let sig: p256::ecdsa::Signature = sk.sign(MSG);
    let der = sig.to_der();
    key.verify(MSG, der.as_bytes()).unwrap();
    assert!(matches!(
        key.verify(b"other", der.as_bytes()),
        Err(SignatureError::Invalid {
            kind: InitiatorKeyKind::P256
        })
    ));
    // Raw r||s is not what mpcium clients send.
    assert!(matches!(
        key.verify(MSG, &sig.to_bytes()),
        Err(SignatureError::Malformed { .. })
    ));
    assert_eq!(key.to_bytes(), spki.as_bytes());
}

#[test]
fn p256_accepts_high_s_like_go() {
    let sk = p256::ecdsa::SigningKey::random(&mut OsRng);
    let key = InitiatorKey::P256(*sk.verifying_key());
    let sig: p256::ecdsa::Signature = sk.sign(MSG);
    let (r, s) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r, -s).unwrap();
    // One of the two is high-S; both must verify.
    assert!(sig.normalize_s().is_some() || flipped.normalize_s().is_some());
    key.verify(MSG, flipped.to_der().as_bytes()).unwrap();
    key.verify(MSG, sig.to_der().as_bytes()).unwrap();
}

#[test]
fn parses_an_spki_key_as_published_in_mpcium_docs() {
    let hex_key = "3059301306072a8648ce3d020106082a8648ce3d030107034200042b7539fc51123c3ba53c71e244be71d2d3138cbed4909fa259b924b56c92148cadd410cf98b789269d7f672c3ba978e99fc1f01c87daee97292d3666357738fd";
    let key = InitiatorKey::from_hex(InitiatorKeyKind::P256, hex_key).unwrap();
    assert_eq!(key.kind(), InitiatorKeyKind::P256);
    assert_eq!(key.to_hex(), hex_key);
}

#[test]
fn signer_round_trips_for_both_kinds() {
    for kind in [InitiatorKeyKind::Ed25519, InitiatorKeyKind::P256] {
        let signer = InitiatorSigner::generate(kind);
        assert_eq!(signer.kind(), kind);
        let sig = signer.sign(MSG);
        let key = InitiatorKey::from_hex(kind, &signer.public().to_hex()).unwrap();
        key.verify(MSG, &sig).unwrap();
        let again =
            InitiatorSigner::from_secret_bytes(kind, signer.secret_bytes().as_slice()).unwrap();
        assert_eq!(again.public(), key);
        let other = InitiatorSigner::generate(kind);
        assert!(other.public().verify(MSG, &sig).is_err());
        let dbg = format!("{signer:?}");
        assert!(
            dbg.contains("<redacted>")
                && !dbg.contains(&hex::encode(signer.secret_bytes().as_slice()))
        );
    }
}

#[test]
fn bad_keys_are_rejected() {
    use InitiatorKeyKind::*;
    assert_eq!(
        InitiatorKey::from_hex(Ed25519, "zz").unwrap_err(),
        InitiatorKeyError::BadHex
    );
    assert!(matches!(
        InitiatorKey::from_hex(Ed25519, "abcd"),
        Err(InitiatorKeyError::BadLength {
            expected: 32,
            found: 2,
            ..
        })
    ));
    // The identity point has small order.
    let identity = format!("01{}", "00".repeat(31));
    assert_eq!(
        InitiatorKey::from_hex(Ed25519, &identity).unwrap_err(),
        InitiatorKeyError::WeakKey
    );
    // An Ed25519 key is not an SPKI document, and a P-256 SPKI is not 32 bytes.
    let ed = InitiatorSigner::generate(Ed25519).public().to_hex();
    assert!(matches!(
        InitiatorKey::from_hex(P256, &ed),
        Err(InitiatorKeyError::InvalidKey { .. })
    ));
    let p = InitiatorSigner::generate(P256).public().to_hex();
    assert!(matches!(
        InitiatorKey::from_hex(Ed25519, &p),
        Err(InitiatorKeyError::BadLength { .. })
    ));
    assert_eq!(
        InitiatorKeyError::BadHex.code(),
        ErrorCode::InvalidConfiguration
    );
    assert!(InitiatorSigner::from_secret_bytes(P256, &[0u8; 32]).is_err());
    assert!(InitiatorSigner::from_secret_bytes(Ed25519, &[0u8; 31]).is_err());
}

#[test]
fn garbage_signatures_never_panic() {
    for kind in [InitiatorKeyKind::Ed25519, InitiatorKeyKind::P256] {
        let key = InitiatorSigner::generate(kind).public();
        for len in [0usize, 1, 8, 63, 64, 65, 70, 72, 200] {
            for fill in [0u8, 0x30, 0xff] {
                let err = key.verify(MSG, &vec![fill; len]).unwrap_err();
                assert_eq!(err.code(), ErrorCode::InvalidInitiatorSignature);
            }
        }
    }
}

#[test]
fn kinds_parse_like_mpcium_config() {
    assert_eq!(
        "ed25519".parse::<InitiatorKeyKind>().unwrap(),
        InitiatorKeyKind::Ed25519
    );
    assert_eq!(
        "p256".parse::<InitiatorKeyKind>().unwrap(),
        InitiatorKeyKind::P256
    );
    assert!("rsa".parse::<InitiatorKeyKind>().is_err());
    assert_eq!(
        serde_json::to_string(&InitiatorKeyKind::P256).unwrap(),
        "\"p256\""
    );
}
