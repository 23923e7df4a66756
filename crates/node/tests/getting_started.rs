//! docs/getting-started.md, section 2, followed literally: the `sh` blocks
//! between its `<!-- getting-started: begin` and `<!-- getting-started: end`
//! markers run in order in one bash, in a fresh copy of the repository, as a
//! new user would run them. Only what the doc lets a reader change differs:
//! the ports (free loopback ones), `BIN_DIR` (the `tessera` this test run
//! built, so the doc's own `cargo build` is skipped) and `PATH` (where
//! nats-server and consul are, as `scripts/install-tools.sh` would find them).
//! The run must reach a wallet and two signatures by three nodes that the CLI
//! reports VALID and that k256 / ed25519-dalek verify here independently.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tessera_testkit::signatures::{check_ecdsa, check_ed25519};
use tessera_testkit::wait::{poll_until, POLL};
use tessera_testkit::{ports, tools};

const DOC: &str = "docs/getting-started.md";
const BEGIN: &str = "<!-- getting-started: begin";
const END: &str = "<!-- getting-started: end";
/// The message the doc signs with both keys.
const MESSAGE: &[u8] = b"pay bob";
/// Keygen and two signatures by a debug build take seconds; this only bounds a hang.
const DEADLINE: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `sh` blocks between the markers, in order.
fn doc_steps(doc: &str) -> Vec<String> {
    let begin = doc.find(BEGIN).expect("the begin marker is in the doc");
    let end = doc.find(END).expect("the end marker is in the doc");
    assert!(begin < end, "begin marker after end marker");
    let mut steps = Vec::new();
    let mut block: Option<String> = None;
    for line in doc[begin..end].lines() {
        match (&mut block, line.trim_end()) {
            (None, "```sh") => block = Some(String::new()),
            (Some(b), "```") => {
                steps.push(std::mem::take(b));
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(block.is_none(), "an sh block is not closed");
    steps
}

/// A fresh copy of the repository's files: what a clone has (no build output,
/// no installed tools, no state).
fn copy_repo(from: &Path, to: &Path) {
    const SKIP: &[&str] = &[".git", "target", ".tools", ".state", ".local"];
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let ty = entry.file_type().unwrap();
        let dest = to.join(&name);
        if ty.is_dir() {
            std::fs::create_dir(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            if entry.file_name() == "target" {
                continue; // fuzz/target and the like: build output
            }
            std::fs::create_dir(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A free loopback port `p` such that `p + 1` and `p + 2` are free too (the
/// doc gives node `i` the health port `HEALTH_PORT + i`).
fn three_consecutive_ports() -> u16 {
    for _ in 0..50 {
        let p = ports::free_ports(1).unwrap()[0];
        if p > u16::MAX - 2 {
            continue;
        }
        let taken = (1..=2).any(|d| std::net::TcpListener::bind(("127.0.0.1", p + d)).is_err());
        if !taken {
            return p;
        }
    }
    panic!("no three consecutive free loopback ports");
}

/// The bash running the doc, in its own process group: everything the doc
/// starts in the background is stopped with it, even when a step fails.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// The value after `key` on the first line that starts with it.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} line in:\n{out}"))
        .trim()
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// One run of the doc's steps in a fresh copy of the repository.
struct Outcome {
    clone: tempfile::TempDir,
    /// `None`: still running at the deadline (then stopped).
    status: Option<std::process::ExitStatus>,
    out: String,
    err: String,
}

impl Outcome {
    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.clone.path().join(format!(".local/{name}.log")))
            .unwrap_or_default()
    }

    /// The last lines of every server's and node's log, for a failure message.
    fn logs(&self) -> String {
        ["nats", "consul", "node0", "node1", "node2"]
            .iter()
            .map(|n| {
                let log = self.log(n);
                // Consul's debug lines say little; the nodes' say why they wait.
                let lines = if *n == "consul" { 5 } else { 15 };
                let tail: Vec<&str> = log.lines().rev().take(lines).collect();
                format!(
                    "--- {n}.log (last lines)\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A port picked as free was taken before a server bound it.
    fn lost_a_port_race(&self) -> bool {
        let taken = |s: &str| s.to_ascii_lowercase().contains("address already in use");
        taken(&self.err)
            || ["nats", "consul", "node0", "node1", "node2"]
                .iter()
                .any(|n| taken(&self.log(n)))
    }
}

async fn run_doc(root: &Path, script: &str) -> Outcome {
    use std::os::unix::process::CommandExt;

    let clone = tempfile::tempdir().unwrap();
    copy_repo(root, clone.path());
    std::fs::write(clone.path().join(".getting-started.sh"), script).unwrap();

    let [nats, consul_http, consul_serf, consul_server]: [u16; 4] =
        ports::free_ports(4).unwrap().try_into().unwrap();
    let health = three_consecutive_ports();
    let tessera = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));
    // The servers where the project's setup put them (or wherever PATH has them).
    let mut path: Vec<PathBuf> = ["nats-server", "consul"]
        .iter()
        .map(|t| tools::find(t).unwrap().parent().unwrap().to_path_buf())
        .collect();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));

    let stdout_path = clone.path().join(".stdout");
    let stderr_path = clone.path().join(".stderr");
    let mut cmd = Command::new("bash");
    cmd.arg(".getting-started.sh")
        .current_dir(clone.path())
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("BIN_DIR", tessera.parent().unwrap())
        .env("NATS_PORT", nats.to_string())
        .env("CONSUL_HTTP_PORT", consul_http.to_string())
        .env("CONSUL_SERF_PORT", consul_serf.to_string())
        .env("CONSUL_SERVER_PORT", consul_server.to_string())
        .env("HEALTH_PORT", health.to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .process_group(0);
    // A reader's own TESSERA_* settings are not part of the doc.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(k);
        }
    }
    let mut run = Run(cmd.spawn().expect("bash runs"));
    let mut status = None;
    poll_until(DEADLINE, POLL * 5, || {
        status = run.0.try_wait().unwrap();
        status.is_some()
    })
    .await;
    // Stops whatever the doc left running (everything, if a step failed).
    drop(run);
    Outcome {
        out: std::fs::read_to_string(&stdout_path).unwrap(),
        err: std::fs::read_to_string(&stderr_path).unwrap(),
        clone,
        status,
    }
}

#[tokio::test]
async fn following_getting_started_by_hand_signs_with_three_nodes() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join(DOC)).unwrap();
    let steps = doc_steps(&doc);
    assert!(steps.len() >= 5, "too few steps found: {steps:?}");
    let script = format!("set -euo pipefail\n{}", steps.join("\n"));

    let mut run = run_doc(&root, &script).await;
    if !run.status.is_some_and(|s| s.success()) && run.lost_a_port_race() {
        run = run_doc(&root, &script).await; // once, with other free ports
    }
    let Outcome {
        status, out, err, ..
    } = &run;
    assert!(
        status.is_some(),
        "the doc's steps did not finish within {DEADLINE:?}\n{out}\n{err}\n{}",
        run.logs()
    );
    assert!(
        status.unwrap().success(),
        "a step of {DOC} failed ({status:?})\nstdout:\n{out}\nstderr:\n{err}\n{}",
        run.logs()
    );

    // Three nodes answered ready, and the CLI verified both signatures.
    assert_eq!(out.matches("\"ready\":true").count(), 3, "{out}");
    assert_eq!(out.matches("verified:  VALID").count(), 2, "{out}");

    // And they verify here, with other libraries, under the wallet's keys.
    let ecdsa_pk = hex::decode(field(out, "ecdsa_public_key:")).unwrap();
    let eddsa_pk = hex::decode(field(out, "eddsa_public_key:")).unwrap();
    let digest: [u8; 32] = Sha256::digest(MESSAGE).into();
    let recovery: u8 = field(out, "recovery:").parse().unwrap();
    check_ecdsa(
        &ecdsa_pk,
        &digest,
        hex32(field(out, "r:")),
        hex32(field(out, "s:")),
        Some(recovery),
    );
    let signature = hex::decode(field(out, "signature:")).unwrap();
    check_ed25519(&eddsa_pk, MESSAGE, &signature);

    // The doc's files: keys readable by their owner only, and the mpcium seed
    // file holding the initiator key the requests were signed with.
    let local = run.clone.path().join(".local");
    let key: serde_json::Value =
        serde_json::from_slice(&std::fs::read(local.join("initiator.key")).unwrap()).unwrap();
    let seed = std::fs::read_to_string(local.join("initiator.seed.hex")).unwrap();
    let from_seed = ed25519_dalek::SigningKey::from_bytes(&hex32(seed.trim())).verifying_key();
    assert_eq!(key["public_key"], hex::encode(from_seed.as_bytes()));
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "storage.key",
        "initiator.key",
        "initiator.seed.hex",
        "identities/node0.key",
    ] {
        let mode = std::fs::metadata(local.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f} has mode {mode:o}");
    }
}
