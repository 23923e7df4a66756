use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use tessera_security::NodeIdentity;

use super::*;

const SUBJECT: &str = "mpc.mpc_signing_result.app.complete";
const MSG_ID: &str = "result:sign:app:tx-1";
const PAYLOAD: &[u8] = br#"{"result_type":"success","tx_id":"tx-1"}"#;

fn node(name: &str) -> NodeIdentity {
    NodeIdentity::generate(NodeId::new(name).unwrap())
}

/// The headers a node puts on a result (as `eventconsumer::results::signed_headers`
/// does, through the same `statement::sign`).
fn node_headers(identity: &NodeIdentity, subject: &str, msg_id: &str, payload: &[u8]) -> HeaderMap {
    let sig = statement::sign(
        identity,
        Domain::Result,
        &[subject.as_bytes(), msg_id.as_bytes(), payload],
    );
    let mut h = HeaderMap::new();
    h.insert(mpc::MSG_ID_HEADER, msg_id);
    h.insert(mpc::RESULT_NODE_HEADER, identity.node_id().as_str());
    h.insert(mpc::RESULT_SIGNATURE_HEADER, hex::encode(sig).as_str());
    h
}

fn check_for(ids: &[&NodeIdentity], accept_unsigned: bool) -> ResultCheck {
    let publics: Vec<PublicIdentity> = ids.iter().map(|i| i.public()).collect();
    ResultCheck::new(by_node(&publics).unwrap(), accept_unsigned)
}

/// The bytes exactly as docs/requests.md ("Checking a result's signature")
/// describes them, built by hand, not with `statement::signing_bytes`.
fn doc_bytes(subject: &str, msg_id: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = b"tessera/result/v1".to_vec();
    out.push(0x00);
    for part in [subject.as_bytes(), msg_id.as_bytes(), payload] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[test]
fn the_documented_bytes_verify_a_node_signed_result_with_ed25519_dalek() {
    let n = node("node0");
    let h = node_headers(&n, SUBJECT, MSG_ID, PAYLOAD);
    // What a non-Rust client sees: two headers, and the node's public document.
    let sig_hex = h.get(mpc::RESULT_SIGNATURE_HEADER).unwrap().as_str();
    assert_eq!(sig_hex.len(), 128);
    assert!(sig_hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(h.get(mpc::RESULT_NODE_HEADER).unwrap().as_str(), "node0");
    assert_eq!(mpc::RESULT_NODE_HEADER, "Tessera-Node");
    assert_eq!(mpc::RESULT_SIGNATURE_HEADER, "Tessera-Signature");
    assert_eq!(mpc::MSG_ID_HEADER, "Nats-Msg-Id");
    // `signing_key` of the node's `*.pub.json` document.
    let key: [u8; 32] = n.public().signing_key;
    let sig: [u8; 64] = hex::decode(sig_hex).unwrap().try_into().unwrap();
    let vk = VerifyingKey::from_bytes(&key).unwrap();
    vk.verify_strict(
        &doc_bytes(SUBJECT, MSG_ID, PAYLOAD),
        &Signature::from_bytes(&sig),
    )
    .expect("the documented bytes are what nodes sign");
    // The example in the doc: its exact bytes, prefix by prefix.
    let bytes = doc_bytes("s", "m", b"{}");
    assert_eq!(
        bytes,
        b"tessera/result/v1\x00\x00\x00\x00\x01s\x00\x00\x00\x01m\x00\x00\x00\x02{}".to_vec()
    );
    // And the SDK's own check accepts it.
    let check = check_for(&[&n], false);
    assert_eq!(
        check
            .check(SUBJECT, Some(&h), PAYLOAD)
            .unwrap()
            .signer
            .unwrap()
            .as_str(),
        "node0"
    );
}

#[test]
fn unsigned_strange_and_bad_results_are_rejected() {
    let (n0, n1) = (node("node0"), node("node1"));
    let check = check_for(&[&n0, &n1], false);
    let good = node_headers(&n1, SUBJECT, MSG_ID, PAYLOAD);
    assert!(check.check(SUBJECT, Some(&good), PAYLOAD).is_ok());

    // Unsigned: no headers at all, or only the message id.
    assert_eq!(
        check.check(SUBJECT, None, PAYLOAD),
        Err(Rejection::Unsigned)
    );
    let mut only_id = HeaderMap::new();
    only_id.insert(mpc::MSG_ID_HEADER, MSG_ID);
    assert_eq!(
        check.check(SUBJECT, Some(&only_id), PAYLOAD),
        Err(Rejection::Unsigned)
    );
    // A stranger under its own name, and a stranger under a node's name.
    let stranger = node("node7");
    let h = node_headers(&stranger, SUBJECT, MSG_ID, PAYLOAD);
    assert_eq!(
        check.check(SUBJECT, Some(&h), PAYLOAD),
        Err(Rejection::UnknownSigner)
    );
    let impostor = node("node0");
    let h = node_headers(&impostor, SUBJECT, MSG_ID, PAYLOAD);
    assert_eq!(
        check.check(SUBJECT, Some(&h), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    // A genuine signature moved to another subject, message id or payload.
    assert_eq!(
        check.check("mpc.mpc_signing_result.complete", Some(&good), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    let mut moved = good.clone();
    moved.insert(mpc::MSG_ID_HEADER, "other");
    assert_eq!(
        check.check(SUBJECT, Some(&moved), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        check.check(SUBJECT, Some(&good), b"{}"),
        Err(Rejection::BadSignature)
    );
    // Signed by node1, claimed by node0.
    let mut renamed = good.clone();
    renamed.insert(mpc::RESULT_NODE_HEADER, "node0");
    assert_eq!(
        check.check(SUBJECT, Some(&renamed), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    // Not hex, wrong length, no message id.
    for sig in ["zz".repeat(64), "ab".repeat(63), String::new()] {
        let mut h = good.clone();
        h.insert(mpc::RESULT_SIGNATURE_HEADER, sig.as_str());
        assert_eq!(
            check.check(SUBJECT, Some(&h), PAYLOAD),
            Err(Rejection::BadSignature)
        );
    }
    let mut no_id = HeaderMap::new();
    no_id.insert(mpc::RESULT_NODE_HEADER, "node1");
    no_id.insert(
        mpc::RESULT_SIGNATURE_HEADER,
        good.get(mpc::RESULT_SIGNATURE_HEADER).unwrap().as_str(),
    );
    assert_eq!(
        check.check(SUBJECT, Some(&no_id), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    // A plain ed25519-dalek key signing the right bytes, but not a node's key.
    let sk = SigningKey::from_bytes(&[9; 32]);
    let sig = sk.sign(&doc_bytes(SUBJECT, MSG_ID, PAYLOAD));
    let mut h = good.clone();
    h.insert(
        mpc::RESULT_SIGNATURE_HEADER,
        hex::encode(sig.to_bytes()).as_str(),
    );
    assert_eq!(
        check.check(SUBJECT, Some(&h), PAYLOAD),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn the_migration_opt_out_accepts_only_what_it_cannot_check() {
    let n0 = node("node0");
    let open = check_for(&[&n0], true);
    assert_eq!(
        open.check(SUBJECT, None, PAYLOAD),
        Ok(Accepted { signer: None })
    );
    // What names a configured node must still verify; a stranger is still refused.
    let impostor = node("node0");
    let h = node_headers(&impostor, SUBJECT, MSG_ID, PAYLOAD);
    assert_eq!(
        open.check(SUBJECT, Some(&h), PAYLOAD),
        Err(Rejection::BadSignature)
    );
    let h = node_headers(&node("node9"), SUBJECT, MSG_ID, PAYLOAD);
    assert_eq!(
        open.check(SUBJECT, Some(&h), PAYLOAD),
        Err(Rejection::UnknownSigner)
    );
    // Without any identity, there is nothing to check against.
    let blind = ResultCheck::new(BTreeMap::new(), true);
    assert!(blind.check(SUBJECT, Some(&h), PAYLOAD).is_ok());
}

#[test]
fn identities_load_from_a_directory_of_public_documents() {
    let dir = std::env::temp_dir().join(format!(
        "tessera-client-ids-{}",
        crate::publish::new_msg_id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (node("node1"), node("node0"));
    for n in [&a, &b] {
        let path = dir.join(format!("{}.key", n.node_id()));
        n.write_public_document(&path).unwrap();
    }
    std::fs::write(dir.join("README"), "not an identity").unwrap();
    let ids = read_identity_dir(&dir).unwrap();
    assert_eq!(ids, vec![b.public(), a.public()]);
    let one = read_identity_files([dir.join("node1.key.pub.json")]).unwrap();
    assert_eq!(one, vec![a.public()]);
    assert!(matches!(
        read_identity_files([dir.join("README")]),
        Err(ClientError::ClusterIdentity { .. })
    ));
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(matches!(
        read_identity_dir(&empty),
        Err(ClientError::ClusterIdentity { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    // The same id with two keys is refused; the same identity twice is fine.
    let other = node("node0");
    assert!(by_node(&[b.public(), b.public()]).is_ok());
    assert!(by_node(&[b.public(), other.public()]).is_err());
}

#[test]
fn counters_add_up() {
    let c = Counters::default();
    for r in [
        Rejection::Unsigned,
        Rejection::BadSignature,
        Rejection::BadSignature,
        Rejection::BeforeRequest,
    ] {
        c.count(&r);
    }
    let s = c.snapshot();
    assert_eq!((s.unsigned, s.bad_signature, s.before_request), (1, 2, 1));
    assert_eq!(s.total(), 4);
}
