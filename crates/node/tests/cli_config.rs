//! `tessera config check` and the fatal start-up error, through the built
//! binary, with no NATS or Consul anywhere: `config check` must pass or fail
//! on the config and its files alone (NATS and Consul point at closed ports),
//! print the values a node would use with paths but no secret, and exit
//! non-zero with the error a node would stop with. With `log.format: json`,
//! `tessera start`'s fatal error is one JSON log line with its code.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const STORAGE_KEY: [u8; 32] = [0x5a; 32];

/// A node's files: an identity, a private storage key file, a config.
struct Files {
    root: tempfile::TempDir,
    initiator: String,
}

impl Files {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let ids = root.path().join("peers");
        std::fs::create_dir(&ids).unwrap();
        for id in ["node0", "node1", "node2"] {
            let out = Command::new(BIN)
                .args(["identity", "generate", "--node-id", id, "--out"])
                .arg(root.path().join(format!("{id}.key")))
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            std::fs::rename(
                root.path().join(format!("{id}.key.pub.json")),
                ids.join(format!("{id}.pub.json")),
            )
            .unwrap();
        }
        let key = root.path().join("storage.key");
        std::fs::write(&key, STORAGE_KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = Command::new(BIN)
            .args(["initiator", "generate", "--kind", "ed25519", "--out"])
            .arg(root.path().join("initiator.json"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let initiator = text(&out.stdout).trim().to_string();
        Self { root, initiator }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// A config for node0; `extra` is appended (later keys are rejected as
    /// duplicates by YAML, so tests change values through the environment).
    fn config(&self, extra: &str) -> PathBuf {
        let yaml = format!(
            "node_id: node0\n\
             threshold: 1\n\
             nats:\n  url: nats://127.0.0.1:1\n\
             consul:\n  addr: http://127.0.0.1:1\n\
             storage:\n  dir: {dir}\n  key_file: {key}\n\
             identity:\n  file: {id}\n\
             peers:\n  dir: {peers}\n\
             initiator:\n  kind: ed25519\n  public_key: \"{pk}\"\n\
             health:\n  listen: 127.0.0.1:0\n{extra}",
            dir = self.path("data").display(),
            key = self.path("storage.key").display(),
            id = self.path("node0.key").display(),
            peers = self.path("peers").display(),
            pk = self.initiator,
        );
        let path = self.path("config.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

fn run(args: &[&str], config: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .expect("tessera runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_check_passes_prints_what_the_node_would_use_and_starts_nothing() {
    let f = Files::new();
    let config = f.config("");
    let out = run(
        &["config", "check"],
        &config,
        &[("TESSERA_LOG_LEVEL", "debug")],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("config OK"), "{stdout}");
    assert!(stdout.contains("node0"), "{stdout}");
    assert!(stdout.contains("any 2 of the 3 nodes sign"), "{stdout}");
    assert!(stdout.contains("node0, node1, node2"), "{stdout}");
    // Paths, with the environment override applied ...
    assert!(
        stdout.contains(&f.path("storage.key").display().to_string()),
        "{stdout}"
    );
    assert!(stdout.contains("level debug"), "{stdout}");
    assert!(stdout.contains("created at start"), "{stdout}");
    // ... never the secret, and nothing created: no store directory.
    assert!(!stdout.contains(&hex_of(&STORAGE_KEY)), "{stdout}");
    assert!(!f.path("data").exists(), "config check created storage.dir");
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn config_check_fails_with_the_error_a_node_would_stop_with() {
    let f = Files::new();
    let config = f.config("");
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("TESSERA_THRESHOLD", "3")], "t=3 needs at least 4 nodes"),
        (
            &[("TESSERA_IDENTITY_FILE", "/nonexistent/node0.key")],
            "identity: cannot load identity.file /nonexistent/node0.key",
        ),
        (
            &[("TESSERA_NODE_ID", "node1")],
            "is for node0, but node_id is node1",
        ),
        (
            &[
                ("TESSERA_CONSUL_ADDR", "https://127.0.0.1:1"),
                ("TESSERA_CONSUL_TLS_CA_FILE", "/nonexistent/ca.pem"),
            ],
            "consul: consul tls.ca_file /nonexistent/ca.pem",
        ),
    ];
    for (env, expected) in cases {
        let out = run(&["config", "check"], &config, env);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success(),
            "{env:?} passed: {}",
            text(&out.stdout)
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
    // A storage key file others may read is refused, as `start` refuses it.
    std::fs::set_permissions(
        f.path("storage.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = run(&["config", "check"], &config, &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("storage"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn with_json_logs_the_fatal_start_up_error_is_a_json_line_with_its_code() {
    let f = Files::new();
    let config = f.config("log:\n  format: json\n");
    // The config parses (so the log format is known) but is invalid.
    let out = run(&["start"], &config, &[("TESSERA_THRESHOLD", "0")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().expect("an error line");
    let line: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not a JSON line ({e}): {stderr}"));
    assert_eq!(line["level"], "ERROR", "{last}");
    assert_eq!(line["code"], "ERROR_INVALID_CONFIGURATION", "{last}");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("config key `threshold`"),
        "{last}"
    );
    // Every line on stderr is JSON, none is plain text.
    for l in stderr.lines() {
        assert!(serde_json::from_str::<serde_json::Value>(l).is_ok(), "{l}");
    }
    // Text logs keep the plain `error:` line.
    let config = f.config("");
    let out = run(&["start"], &config, &[("TESSERA_THRESHOLD", "0")]);
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
}
