//! What an operator sees of a real cluster (three `tessera start` processes,
//! nats-server, Consul), one cluster for all of it:
//!
//! - `/metrics` on each node's health listener: across a keygen, a signature
//!   and three refused requests (three error codes), the request counters
//!   move by exactly what happened, sessions and phases are counted, and
//!   `promtool check metrics` accepts every node's output;
//! - the audit log: every player of a request writes a line with the same
//!   trace id (the client's, when it sent one) that its log lines carry;
//!   `tessera audit verify` passes on every node's file, and names the line
//!   after one that was edited.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tessera_testkit::wait::{wait_for, POLL};
use tessera_types::wire::ResultType;
use tessera_types::ErrorCode;

use common::queue::RawClient;
use common::raw::{self, RawSigner, SignFields};
use common::{check, ClusterOptions, ProcCluster};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const WAIT: Duration = Duration::from_secs(60);
const WALLET: &str = "obs-wallet";
const TX: &str = "obs-tx-1";
const CLIENT_TRACE: &str = "obs-trace-1";

/// One scrape: `name{label="value",...}` (labels sorted) -> value.
type Series = BTreeMap<String, f64>;

fn parse(text: &str) -> Series {
    let mut out = Series::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (key, value) = line.rsplit_once(' ').expect("sample line");
        let key = match key.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => key.to_string(),
        };
        out.insert(key, value.parse().expect("sample value"));
    }
    out
}

async fn scrape(cluster: &ProcCluster, i: usize) -> String {
    let url = format!("http://127.0.0.1:{}/metrics", cluster.health_port(i));
    let r = reqwest::get(&url).await.expect("/metrics answers");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().await.unwrap()
}

/// Every node's series summed (a request is counted by the node that pulled it).
async fn cluster_series(cluster: &ProcCluster, nodes: usize) -> Series {
    let mut sum = Series::new();
    for i in 0..nodes {
        for (k, v) in parse(&scrape(cluster, i).await) {
            *sum.entry(k).or_default() += v;
        }
    }
    sum
}

fn delta(before: &Series, after: &Series, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

fn requests(kind: &str, outcome: &str, code: &str) -> String {
    format!(r#"tessera_requests_total{{code="{code}",kind="{kind}",outcome="{outcome}"}}"#)
}

/// Node `i`'s audit lines, parsed.
fn audit_lines(cluster: &ProcCluster, i: usize) -> Vec<Value> {
    let text = std::fs::read_to_string(audit_file(cluster, i)).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

fn audit_file(cluster: &ProcCluster, i: usize) -> std::path::PathBuf {
    cluster.data_dir(i).join("audit.jsonl")
}

fn audit_verify(file: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(file)
        .output()
        .expect("tessera runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_audit_log_and_trace_ids() {
    let key = RawSigner::ed25519();
    let options = ClusterOptions::new(key.initiator_config());
    let nodes = options.nodes;
    let cluster = ProcCluster::start(options).await;
    let mut client = RawClient::connect(&cluster.nats_url(), None).await;
    let before = cluster_series(&cluster, nodes).await;

    // One keygen and one signature (with the client's own trace id).
    client
        .publish_keygen(WALLET, raw::keygen(&key, WALLET, &[]))
        .await;
    let wallet = client.next_keygen(WAIT).await.expect("keygen result");
    assert_eq!(wallet.result_type, ResultType::Success, "{wallet:?}");
    let tx = b"pay carol";
    let fields = SignFields {
        key_type: "ed25519",
        wallet: WALLET,
        tx_id: TX,
        tx,
    };
    client
        .publish_sign_traced(TX, raw::sign(&key, &fields, &[]), CLIENT_TRACE)
        .await;
    let (headers, ev) = client
        .next_signing_with_headers(WAIT)
        .await
        .expect("signing result");
    check::ed25519(wallet.eddsa_pub_key.as_deref().unwrap(), tx, &ev);
    let header = headers.get(tessera_transport::mpc::TRACE_ID_HEADER);
    assert_eq!(
        header.map(|v| v.as_str()),
        Some(CLIENT_TRACE),
        "the result names the trace"
    );

    // Three refusals, three codes.
    client
        .publish_keygen(WALLET, raw::keygen(&key, WALLET, &[]))
        .await;
    let again = client.next_keygen(WAIT).await.expect("keygen result");
    assert_eq!(
        again.error_code,
        Some(ErrorCode::KeyAlreadyExists),
        "{again:?}"
    );
    let nobody = SignFields {
        key_type: "ed25519",
        wallet: "obs-nobody",
        tx_id: "obs-unknown",
        tx,
    };
    client
        .publish_sign("obs-unknown", raw::sign(&key, &nobody, &[]))
        .await;
    let unknown = client.next_signing(WAIT).await.expect("signing result");
    assert_eq!(
        unknown.error_code,
        Some(ErrorCode::KeyNotFound),
        "{unknown:?}"
    );
    // Signed by a stranger: answered where no client listens; seen in the metrics.
    let stranger = RawSigner::ed25519();
    let forged = SignFields {
        tx_id: "obs-forged",
        ..fields
    };
    client
        .publish_sign("obs-forged", raw::sign(&stranger, &forged, &[]))
        .await;
    let unverified = requests("sign", "unverified", "ERROR_INVALID_INITIATOR_SIGNATURE");
    let (cluster_ref, before_ref, unverified_ref) = (&cluster, &before, &unverified);
    let after = wait_for(WAIT, POLL, || async move {
        let now = cluster_series(cluster_ref, nodes).await;
        (delta(before_ref, &now, unverified_ref) >= 1.0).then_some(now)
    })
    .await
    .expect("the forged request was never counted");

    for (key, want) in [
        (requests("keygen", "success", "none"), 1.0),
        (requests("sign", "success", "none"), 1.0),
        (requests("keygen", "error", "ERROR_KEY_ALREADY_EXISTS"), 1.0),
        (requests("sign", "error", "ERROR_KEY_NOT_FOUND"), 1.0),
        (unverified.clone(), 1.0),
        // Every node ran both curves' keygen; two nodes signed.
        (
            r#"tessera_sessions_total{code="none",op="keygen",outcome="success"}"#.into(),
            2.0 * nodes as f64,
        ),
        (
            r#"tessera_sessions_total{code="none",op="signing",outcome="success"}"#.into(),
            2.0,
        ),
        (
            r#"tessera_request_duration_seconds_count{kind="sign",outcome="success"}"#.into(),
            1.0,
        ),
        (
            r#"tessera_request_phase_duration_seconds_count{kind="sign",phase="protocol"}"#.into(),
            1.0,
        ),
    ] {
        assert_eq!(delta(&before, &after, &key), want, "{key}");
    }
    let in_flight = r#"tessera_sessions_in_flight{op="signing"}"#;
    assert_eq!(after.get(in_flight).copied().unwrap_or(0.0), 0.0);
    let promtool = tessera_testkit::tools::find("promtool").expect("promtool (make setup)");
    for i in 0..nodes {
        let text = scrape(&cluster, i).await;
        let series = parse(&text);
        assert_eq!(
            series.get("tessera_peers_ready"),
            Some(&(nodes as f64)),
            "node{i}"
        );
        assert_eq!(series.get("tessera_nats_connected"), Some(&1.0), "node{i}");
        assert!(
            series.contains_key("process_resident_memory_bytes"),
            "node{i}"
        );
        assert!(
            !text.contains(TX) && !text.contains(WALLET),
            "no ids in labels"
        );
        let mut check = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool runs");
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics on node{i}: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The audit log: one trace id per request on every node that took part.
    let lines: Vec<Vec<Value>> = (0..nodes).map(|i| audit_lines(&cluster, i)).collect();
    let of = |i: usize, field: &str, id: &str| -> Vec<Value> {
        lines[i]
            .iter()
            .filter(|l| l[field] == id && l["outcome"] == "success")
            .cloned()
            .collect()
    };
    let signers: Vec<usize> = (0..nodes)
        .filter(|&i| !of(i, "tx_id", TX).is_empty())
        .collect();
    assert_eq!(signers.len(), 2, "two nodes signed {TX}: {lines:?}");
    for &i in &signers {
        let line = &of(i, "tx_id", TX)[0];
        assert_eq!(line["trace_id"], CLIENT_TRACE, "node{i}: {line}");
        assert_eq!(line["node"], format!("node{i}"));
        assert_eq!(line["key_type"], "ed25519");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(tx));
        assert_eq!(line["tx_sha256"], digest.as_str(), "{line}");
        assert_eq!(line["players"].as_array().map(Vec::len), Some(2), "{line}");
        assert!(line["initiator_key"]
            .as_str()
            .unwrap()
            .starts_with("ed25519:"));
        assert!(
            cluster.log(i).lines().any(|l| l.contains(CLIENT_TRACE)),
            "node{i}'s log lines carry the trace id"
        );
    }
    let roles: Vec<&str> = signers
        .iter()
        .map(|&i| of(i, "tx_id", TX)[0]["role"].as_str().unwrap().to_string())
        .map(|r| {
            if r == "coordinator" {
                "coordinator"
            } else {
                "player"
            }
        })
        .collect();
    assert!(
        roles.contains(&"coordinator") && roles.contains(&"player"),
        "{roles:?}"
    );
    // The keygen's trace id was made by the node that took it: the same on all.
    let keygen_traces: Vec<Value> = (0..nodes)
        .map(|i| {
            let l = of(i, "wallet_id", WALLET);
            let l = l.iter().find(|l| l["operation"] == "keygen").cloned();
            l.unwrap_or_else(|| panic!("node{i} has no keygen audit line"))["trace_id"].clone()
        })
        .collect();
    assert!(
        keygen_traces.windows(2).all(|w| w[0] == w[1]),
        "{keygen_traces:?}"
    );
    let trace = keygen_traces[0].as_str().unwrap();
    assert_eq!(trace.len(), 32, "{trace}");
    for i in 0..nodes {
        assert!(cluster.log(i).contains(trace), "node{i}'s log has {trace}");
    }

    // Every chain holds; an edited line is found.
    for i in 0..nodes {
        let (ok, out) = audit_verify(&audit_file(&cluster, i));
        assert!(ok, "node{i}: {out}");
        assert!(out.contains("audit chain intact"), "{out}");
    }
    let file = audit_file(&cluster, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut edited: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(
        edited.len() >= 2,
        "node0 wrote {} audit lines",
        edited.len()
    );
    edited[0] = edited[0].replacen("\"node0\"", "\"node7\"", 1);
    std::fs::write(&file, edited.join("\n") + "\n").unwrap();
    let (ok, out) = audit_verify(&file);
    assert!(!ok, "an edited chain must fail: {out}");
    assert!(
        out.contains("line 2"),
        "names the line after the edit: {out}"
    );
}
