//! End to end with three `tessera start` processes that require an authorizer's
//! approval: two clients with their own `ClientID`s see only their own results,
//! every request that cannot be served gets its precise error code within 2 s,
//! and with two nodes gone a request gets `ERROR_NOT_MAJORITY` at once.

mod common;

use std::time::{Duration, Instant};

use common::check;
use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{ClusterOptions, ProcCluster};
use sha2::{Digest, Sha256};
use tessera_types::wire::ResultType;
use tessera_types::ErrorCode;

const RESULT_WAIT: Duration = Duration::from_secs(60);
const ERROR_WAIT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_ids_are_separate_and_every_bad_request_gets_its_code_at_once() {
    let initiator = RawSigner::ed25519();
    let risk = RawSigner::p256();
    let mut options = ClusterOptions::new(initiator.initiator_config());
    options.authorizers = vec![risk.authorizer_config("risk")];
    options.locked = true;
    options.clients = vec!["alpha".into(), "beta".into()];
    let mut cluster = ProcCluster::start(options).await;
    let ok = [("risk", &risk)];

    // --- Two ClientIDs: each keygen and signing result reaches only its client.
    let mut alpha =
        RawClient::connect_with(&cluster.client_access(Some("alpha")), Some("alpha")).await;
    let mut beta =
        RawClient::connect_with(&cluster.client_access(Some("beta")), Some("beta")).await;
    alpha
        .publish_keygen("wallet-alpha", raw::keygen(&initiator, "wallet-alpha", &ok))
        .await;
    beta.publish_keygen("wallet-beta", raw::keygen(&initiator, "wallet-beta", &ok))
        .await;
    let kg_a = alpha
        .next_keygen(RESULT_WAIT)
        .await
        .expect("alpha's keygen");
    let kg_b = beta.next_keygen(RESULT_WAIT).await.expect("beta's keygen");
    assert_eq!(
        (kg_a.wallet_id.as_str(), kg_a.result_type),
        ("wallet-alpha", ResultType::Success),
        "{kg_a:?}"
    );
    assert_eq!(
        (kg_b.wallet_id.as_str(), kg_b.result_type),
        ("wallet-beta", ResultType::Success),
        "{kg_b:?}"
    );

    let digest: [u8; 32] = Sha256::digest(b"alpha pays").into();
    let f = SignFields {
        key_type: "secp256k1",
        wallet: "wallet-alpha",
        tx_id: "alpha-1",
        tx: &digest,
    };
    alpha
        .publish_sign("alpha-1", raw::sign(&initiator, &f, &ok))
        .await;
    let f = SignFields {
        key_type: "ed25519",
        wallet: "wallet-beta",
        tx_id: "beta-1",
        tx: b"beta pays",
    };
    beta.publish_sign("beta-1", raw::sign(&initiator, &f, &ok))
        .await;
    let ev_a = alpha
        .next_signing(RESULT_WAIT)
        .await
        .expect("alpha's signature");
    let ev_b = beta
        .next_signing(RESULT_WAIT)
        .await
        .expect("beta's signature");
    assert_eq!(
        (ev_a.tx_id.as_str(), ev_b.tx_id.as_str()),
        ("alpha-1", "beta-1")
    );
    check::ecdsa(kg_a.ecdsa_pub_key.as_ref().unwrap(), &digest, &ev_a);
    check::ed25519(kg_b.eddsa_pub_key.as_ref().unwrap(), b"beta pays", &ev_b);
    // Nothing else arrived for either client.
    let quiet = Duration::from_millis(500);
    assert!(
        alpha.next_keygen(quiet).await.is_none(),
        "alpha saw another keygen result"
    );
    assert!(
        beta.next_keygen(quiet).await.is_none(),
        "beta saw another keygen result"
    );
    assert!(
        alpha.next_signing(quiet).await.is_none(),
        "alpha saw another signing result"
    );
    assert!(
        beta.next_signing(quiet).await.is_none(),
        "beta saw another signing result"
    );

    // --- Requests that cannot be served: each gets one error result with its code, within 2 s.
    let sign =
        |key_type: &str, wallet: &str, tx_id: &str, tx: &[u8], approvals: &[(&str, &RawSigner)]| {
            raw::sign(
                &initiator,
                &SignFields {
                    key_type,
                    wallet,
                    tx_id,
                    tx,
                },
                approvals,
            )
        };
    let stranger = RawSigner::ed25519();
    let mut bad_sig = sign("secp256k1", "wallet-alpha", "bad-sig", &digest, &ok);
    let at = find(&bad_sig, br#""signature":""#) + 13;
    bad_sig[at] = if bad_sig[at] == b'A' { b'B' } else { b'A' };
    let mut no_sig = sign("ed25519", "wallet-alpha", "no-sig", b"m", &ok);
    let start = find(&no_sig, br#""signature":""#) + 13;
    let end = start + no_sig[start..].iter().position(|&b| b == b'"').unwrap();
    no_sig.drain(start..end);
    let wrong_key_type =
        String::from_utf8(sign("ed25519", "wallet-alpha", "wrong-key-type", b"m", &ok))
            .unwrap()
            .replace(r#""key_type":"ed25519""#, r#""key_type":"p256""#)
            .into_bytes();
    let forged_approval = raw::sign(
        &initiator,
        &SignFields {
            key_type: "ed25519",
            wallet: "wallet-alpha",
            tx_id: "bad-approval",
            tx: b"m",
        },
        &[("risk", &stranger)],
    );
    let conflict_digest: [u8; 32] = Sha256::digest(b"alpha pays twice").into();
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "not-json",
            b"{\"key_type\": \"secp256k1\", ".to_vec(),
            ErrorCode::UnmarshalFailure,
        ),
        ("bad-sig", bad_sig, ErrorCode::InvalidInitiatorSignature),
        ("no-sig", no_sig, ErrorCode::InvalidInitiatorSignature),
        (
            "stranger",
            raw::sign(
                &stranger,
                &SignFields {
                    key_type: "ed25519",
                    wallet: "wallet-alpha",
                    tx_id: "stranger",
                    tx: b"m",
                },
                &ok,
            ),
            ErrorCode::InvalidInitiatorSignature,
        ),
        (
            "no-approval",
            sign("ed25519", "wallet-alpha", "no-approval", b"m", &[]),
            ErrorCode::MissingAuthorizerSignature,
        ),
        (
            "bad-approval",
            forged_approval,
            ErrorCode::InvalidAuthorizerSignature,
        ),
        (
            "unknown-wallet",
            sign("ed25519", "wallet-nobody", "unknown-wallet", b"m", &ok),
            ErrorCode::KeyNotFound,
        ),
        (
            "wrong-key-type",
            wrong_key_type,
            ErrorCode::InvalidSessionType,
        ),
        (
            "short-digest",
            sign(
                "secp256k1",
                "wallet-alpha",
                "short-digest",
                &digest[..31],
                &ok,
            ),
            ErrorCode::MsgValidation,
        ),
        (
            "hardened",
            unsigned_path("hardened", &initiator, &[0x8000_002c], &ok),
            ErrorCode::InvalidDerivationPath,
        ),
        (
            "unsigned-path",
            unsigned_path("unsigned-path", &initiator, &[44, 60], &ok),
            ErrorCode::InvalidInitiatorSignature,
        ),
        (
            "too-big",
            oversized(&initiator, &ok),
            ErrorCode::PayloadTooLarge,
        ),
        (
            "alpha-1",
            sign(
                "secp256k1",
                "wallet-alpha",
                "alpha-1",
                &conflict_digest,
                &ok,
            ),
            ErrorCode::RequestConflict,
        ),
    ];
    // A request whose initiator signature cannot be verified could carry
    // anyone's tx id: its error result names no ids and goes where no
    // client's waiter listens; the node logs it with the id it claimed.
    let unverified = [
        "not-json",
        "bad-sig",
        "no-sig",
        "stranger",
        "wrong-key-type",
        "too-big",
    ];
    for (tx_id, json, code) in cases {
        let started = Instant::now();
        alpha.publish_sign(tx_id, json).await;
        if unverified.contains(&tx_id) {
            let logged = cluster
                .wait_for_log(ERROR_WAIT, |l| {
                    l.contains("unverified signing request refused")
                        && l.contains(&format!("claimed_id={tx_id} "))
                        && l.contains(code.as_str())
                })
                .await;
            assert!(
                logged.is_some(),
                "{tx_id}: not refused with {code} within {ERROR_WAIT:?}"
            );
            println!(
                "{tx_id}: {code} (unverified, no ids) after {:?}",
                started.elapsed()
            );
            continue;
        }
        let ev = alpha
            .next_signing(ERROR_WAIT)
            .await
            .unwrap_or_else(|| panic!("{tx_id}: no result within {ERROR_WAIT:?}"));
        let took = started.elapsed();
        assert_eq!(ev.result_type, ResultType::Error, "{tx_id}: {ev:?}");
        assert_eq!(ev.error_code, Some(code), "{tx_id}: {ev:?}");
        assert_eq!(ev.tx_id, tx_id);
        assert!(
            !ev.error_reason.is_empty(),
            "{tx_id}: an error result says why"
        );
        println!("{tx_id}: {code} after {took:?}");
    }
    // The bad ones left the cluster working, and each got exactly one result.
    assert!(
        alpha.next_signing(quiet).await.is_none(),
        "a bad request got two results"
    );
    let f = SignFields {
        key_type: "ed25519",
        wallet: "wallet-alpha",
        tx_id: "alpha-2",
        tx: b"still fine",
    };
    alpha
        .publish_sign("alpha-2", raw::sign(&initiator, &f, &ok))
        .await;
    let ev = alpha
        .next_signing(RESULT_WAIT)
        .await
        .expect("a good request after bad ones");
    check::ed25519(kg_a.eddsa_pub_key.as_ref().unwrap(), b"still fine", &ev);

    // Keygen: an existing wallet, and a keygen request without approval.
    let started = Instant::now();
    alpha
        .publish_keygen("wallet-alpha", raw::keygen(&initiator, "wallet-alpha", &ok))
        .await;
    let kg = alpha
        .next_keygen(ERROR_WAIT)
        .await
        .expect("keygen refusal in time");
    assert_eq!(kg.error_code, Some(ErrorCode::KeyAlreadyExists), "{kg:?}");
    println!(
        "existing wallet: KEY_ALREADY_EXISTS after {:?}",
        started.elapsed()
    );
    alpha
        .publish_keygen("wallet-gamma", raw::keygen(&initiator, "wallet-gamma", &[]))
        .await;
    let kg = alpha
        .next_keygen(ERROR_WAIT)
        .await
        .expect("keygen refusal in time");
    assert_eq!(
        kg.error_code,
        Some(ErrorCode::MissingAuthorizerSignature),
        "{kg:?}"
    );

    // --- No quorum: with two of three nodes stopped, t+1 = 2 cannot be met.
    cluster.terminate(1);
    cluster.terminate(2);
    cluster.wait_ready_nodes(0, 1).await;
    let started = Instant::now();
    let f = SignFields {
        key_type: "ed25519",
        wallet: "wallet-alpha",
        tx_id: "no-quorum",
        tx: b"m",
    };
    alpha
        .publish_sign("no-quorum", raw::sign(&initiator, &f, &ok))
        .await;
    let ev = alpha
        .next_signing(ERROR_WAIT)
        .await
        .expect("no-quorum result in time");
    assert_eq!(ev.error_code, Some(ErrorCode::NotMajority), "{ev:?}");
    println!("no quorum: NOT_MAJORITY after {:?}", started.elapsed());
}

/// A signing request whose `derivation_path` the initiator did not sign.
fn unsigned_path(
    tx_id: &str,
    initiator: &RawSigner,
    path: &[u32],
    ok: &[(&str, &RawSigner)],
) -> Vec<u8> {
    let f = SignFields {
        key_type: "ed25519",
        wallet: "wallet-alpha",
        tx_id,
        tx: b"m",
    };
    raw::sign_with_unsigned_path(initiator, &f, path, ok)
}

/// A validly signed request of 300 KiB: above the nodes' 256 KiB limit, below NATS's 1 MiB.
fn oversized(initiator: &RawSigner, ok: &[(&str, &RawSigner)]) -> Vec<u8> {
    let big = vec![7u8; 300 * 1024];
    raw::sign(
        initiator,
        &SignFields {
            key_type: "ed25519",
            wallet: "wallet-alpha",
            tx_id: "too-big",
            tx: &big,
        },
        ok,
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("field present")
}
