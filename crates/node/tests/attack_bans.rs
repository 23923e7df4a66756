//! Cheating DKLs23 parties are banned for good; blame is acted on only with
//! proof. Three `tessera start` processes (debug builds, so the runner's
//! fault variables work), a real nats-server and a real Consul, one cluster
//! for both scenarios:
//!
//! 1. node0 corrupts its OT data (`TESSERA_FAULT_DKLS_CHEAT`): each honest
//!    node that signs with it gets a DKLs23 `BanCounterparty` abort and bans
//!    it (`tessera bans list`), across a restart; requests that need node0
//!    fail with `ERROR_PARTY_BANNED` naming it, signing without it works, and
//!    `tessera bans clear node0` lifts the ban.
//! 2. node0 aborts sessions falsely accusing the other signer
//!    (`TESSERA_FAULT_FALSE_BLAME`): the accused node is not left out of the
//!    retry, which signs, and nobody bans anyone.

mod common;

use std::time::Duration;

use sha2::{Digest, Sha256};
use tessera_client::request::{signed_keygen_message, signed_sign_message};
use tessera_client::{KeyType, SignRequest};
use tessera_security::InitiatorSigner;
use tessera_testkit::wait::{poll_until, POLL};
use tessera_types::wire::{KeygenResultEvent, ResultType, SessionSpec, SigningResultEvent};
use tessera_types::ErrorCode;

use common::check;
use common::queue::RawClient;
use common::raw::RawSigner;
use common::{ClusterOptions, ProcCluster};

const RESULT_WAIT: Duration = Duration::from_secs(60);
const CHEAT: &str = "TESSERA_FAULT_DKLS_CHEAT";
const FALSE_BLAME: &str = "TESSERA_FAULT_FALSE_BLAME";

struct Env {
    cluster: ProcCluster,
    client: RawClient,
    initiator: InitiatorSigner,
    wallet: KeygenResultEvent,
}

impl Env {
    fn ecdsa_key(&self) -> &[u8] {
        self.wallet.ecdsa_pub_key.as_deref().expect("ecdsa key")
    }

    async fn keygen(&mut self, wallet: &str) -> KeygenResultEvent {
        let m = signed_keygen_message(&self.initiator, &[], wallet);
        self.client
            .publish_keygen(wallet, m.to_json().unwrap())
            .await;
        let ev = self
            .client
            .next_keygen(RESULT_WAIT)
            .await
            .expect("keygen result");
        assert_eq!(ev.wallet_id, wallet, "{ev:?}");
        ev
    }

    /// Signs `tx_id`'s digest with `key_type`, by `players` when given.
    async fn sign(
        &mut self,
        tx_id: &str,
        key_type: KeyType,
        players: Option<&[&str]>,
    ) -> (Vec<u8>, SigningResultEvent) {
        let tx = match key_type {
            KeyType::Secp256k1 => Sha256::digest(tx_id.as_bytes()).to_vec(),
            KeyType::Ed25519 => format!("message {tx_id}").into_bytes(),
        };
        let session = players.map(|p| SessionSpec {
            players: Some(p.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        });
        let req = SignRequest {
            key_type,
            wallet_id: "wallet-b".into(),
            tx_id: tx_id.into(),
            tx: tx.clone(),
            network_internal_code: "bans-net".into(),
            derivation_path: None,
            session,
        };
        let m = signed_sign_message(&self.initiator, &[], req);
        self.client.publish_sign(tx_id, m.to_json().unwrap()).await;
        let ev = self
            .client
            .next_signing(RESULT_WAIT)
            .await
            .unwrap_or_else(|| panic!("no result for {tx_id}"));
        assert_eq!(ev.tx_id, tx_id, "{ev:?}");
        (tx, ev)
    }

    /// `tessera bans <args>` on node `i`: (success, stdout, stderr).
    fn bans(&self, i: usize, args: &[&str]) -> (bool, String, String) {
        let mut all = vec!["bans"];
        all.extend_from_slice(args);
        let out = self.cluster.cli(i, &all);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ban_list(&self, i: usize) -> String {
        let (ok, out, err) = self.bans(i, &["list"]);
        assert!(ok, "tessera bans list on node{i} failed: {err}");
        out
    }

    /// Restarts node `i` (with the cluster's current environment).
    async fn restart(&mut self, i: usize) {
        self.cluster.terminate(i);
        self.cluster.restart(i);
        self.cluster.wait_all_ready().await;
    }
}

fn banned_line<'a>(list: &'a str, party: &str) -> Option<&'a str> {
    list.lines().find(|l| l.split('\t').next() == Some(party))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cheaters_are_banned_for_good_and_false_accusations_change_nothing() {
    let key = RawSigner::ed25519();
    let mut options = ClusterOptions::new(key.initiator_config());
    options.env = vec![(CHEAT.into(), "node0".into())];
    let cluster = ProcCluster::start(options).await;
    let mut client = RawClient::connect(&cluster.nats_url(), None).await;
    let initiator = InitiatorSigner::from_secret_bytes(key.sdk_kind(), &key.secret()).unwrap();
    let m = signed_keygen_message(&initiator, &[], "wallet-b");
    client
        .publish_keygen("wallet-b", m.to_json().unwrap())
        .await;
    let wallet = client
        .next_keygen(RESULT_WAIT)
        .await
        .expect("keygen result");
    assert_eq!(wallet.result_type, ResultType::Success, "{wallet:?}");
    let mut env = Env {
        cluster,
        client,
        initiator,
        wallet,
    };
    cheater_is_banned(&mut env).await;
    false_accusations(&mut env).await;
}

/// Scenario 1 (node0 cheats in DKLs23's OT).
async fn cheater_is_banned(env: &mut Env) {
    // node0 signs with node1, then with node2: each honest node proves the
    // cheat itself and bans node0.
    for (tx_id, honest) in [("cheat-1", 1), ("cheat-2", 2)] {
        let peer = format!("node{honest}");
        let (_, ev) = env
            .sign(tx_id, KeyType::Secp256k1, Some(&["node0", &peer]))
            .await;
        assert_eq!(ev.result_type, ResultType::Error, "{tx_id}: {ev:?}");
        let banned = poll_until(Duration::from_secs(10), POLL, || {
            banned_line(&env.ban_list(honest), "node0").is_some()
        })
        .await;
        assert!(
            banned,
            "node{honest} did not ban node0: {}",
            env.ban_list(honest)
        );
    }
    for i in [1, 2] {
        let list = env.ban_list(i);
        let line = banned_line(&list, "node0").unwrap();
        println!("node{i} bans: {line}");
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "party, reason, session, time: {line}");
        assert!(
            fields[1].contains("protocol check failed") && fields[1].contains("node0"),
            "{line}"
        );
        assert!(!fields[2].is_empty() && fields[2] != "-", "{line}");
        assert!(fields[3].ends_with('Z'), "an RFC 3339 time: {line}");
        assert!(
            env.cluster.log(i).contains("banned node0 for good"),
            "node{i} logged no ban"
        );
    }
    // The cheater itself has only its peers' claims: it bans nobody.
    assert_eq!(env.ban_list(0), "no banned parties\n");

    // The ban survives a restart of an honest node.
    env.restart(1).await;
    assert!(banned_line(&env.ban_list(1), "node0").is_some());

    // Requests that need node0 are refused with the ban's code, naming it.
    let (_, ev) = env
        .sign("needs-node0", KeyType::Secp256k1, Some(&["node0", "node1"]))
        .await;
    assert_eq!(ev.result_type, ResultType::Error, "{ev:?}");
    assert_eq!(ev.error_code, Some(ErrorCode::PartyBanned), "{ev:?}");
    assert!(ev.error_reason.contains("node0"), "{ev:?}");
    let kg = env.keygen("wallet-after-ban").await;
    assert_eq!(kg.result_type, ResultType::Error, "{kg:?}");
    assert_eq!(kg.error_code, Some(ErrorCode::PartyBanned), "{kg:?}");
    assert!(kg.error_reason.contains("node0"), "{kg:?}");

    // Signing that can do without node0 works (whoever pulls it), verified with k256.
    for n in 0..2 {
        let tx_id = format!("without-node0-{n}");
        let (digest, ev) = env.sign(&tx_id, KeyType::Secp256k1, None).await;
        assert_eq!(ev.result_type, ResultType::Success, "{tx_id}: {ev:?}");
        check::ecdsa(env.ecdsa_key(), digest.as_slice().try_into().unwrap(), &ev);
    }

    // The operator lifts the ban (node0 fixed: restarted without the fault).
    let (ok, _, err) = env.bans(1, &["clear", "node7"]);
    assert!(!ok && err.contains("node7 is not banned"), "{err}");
    env.cluster.set_env(CHEAT, None);
    env.restart(0).await;
    for i in [1, 2] {
        let (ok, out, err) = env.bans(i, &["clear", "node0"]);
        assert!(ok, "clear on node{i}: {err}");
        assert!(out.starts_with("cleared node0\t"), "{out}");
        assert!(err.contains("operator cleared the ban of node0"), "{err}");
        assert_eq!(env.ban_list(i), "no banned parties\n");
    }
    let (digest, ev) = env
        .sign("node0-again", KeyType::Secp256k1, Some(&["node0", "node1"]))
        .await;
    assert_eq!(ev.result_type, ResultType::Success, "{ev:?}");
    check::ecdsa(env.ecdsa_key(), digest.as_slice().try_into().unwrap(), &ev);
}

/// Scenario 2 (node0 falsely accuses the other signer). Sessions are pairs
/// (t = 1) and the node that pulls a request signs with the first other ready
/// node, so node0 plays the first session of every request. A request node0
/// pulls itself is its own business; one an honest node pulls must be
/// retried with the accused node (the coordinator itself) and signed.
async fn false_accusations(env: &mut Env) {
    env.cluster.set_env(FALSE_BLAME, Some("node0"));
    env.restart(0).await;
    let mut retried = false;
    for n in 0..6 {
        let tx_id = format!("accused-{n}");
        let (msg, ev) = env.sign(&tx_id, KeyType::Ed25519, None).await;
        let retry = (1..3).find_map(|i| {
            let log = env.cluster.log(i);
            let line = log
                .lines()
                .find(|l| l.contains("retrying without") && l.contains(&tx_id))?
                .to_string();
            Some((i, line))
        });
        let Some((coordinator, line)) = retry else {
            // node0 pulled it: its own sessions fail; nothing to check.
            assert_eq!(ev.result_type, ResultType::Error, "{tx_id}: {ev:?}");
            continue;
        };
        let me = format!("NodeId(\"node{coordinator}\")");
        assert_eq!(
            ev.result_type,
            ResultType::Success,
            "{tx_id}: {ev:?}\n{line}"
        );
        check::ed25519(
            env.wallet.eddsa_pub_key.as_deref().expect("eddsa key"),
            &msg,
            &ev,
        );
        println!("node{coordinator}: {line}");
        // Only the accuser is left out; the accused signs in the retry.
        assert!(
            line.contains("retrying without [NodeId(\"node0\")]"),
            "{line}"
        );
        // The list right after "with players" (fields follow the message).
        let players = line
            .split("with players")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default();
        assert!(
            players.contains(&me),
            "accused node{coordinator} left out: {line}"
        );
        assert!(line.contains(&format!("claimed=[{me}]")), "{line}");
        assert!(
            env.cluster
                .log(coordinator)
                .contains("its claim only, logged and not acted on"),
            "the claim was not logged"
        );
        retried = true;
        break;
    }
    assert!(retried, "no honest node pulled any of the requests");
    for i in 0..3 {
        assert_eq!(
            env.ban_list(i),
            "no banned parties\n",
            "node{i} banned someone"
        );
    }
}
