//! `make run`'s script end to end: nats-server, Consul and three `tessera start`
//! processes, then keygen and three signatures through the `tessera` client
//! commands, each verified locally (k256 / ed25519-dalek), and a clean stop.

use std::process::Command;

#[test]
fn run_once_creates_a_wallet_and_verifies_three_signatures() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let state = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("300")
        .arg(format!("{root}/scripts/run-cluster.sh"))
        .env("RUN_ONCE", "1")
        .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_RUN_STATE", state.path())
        .output()
        .expect("run-cluster.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("three nodes ready"), "{stdout}");
    assert!(stdout.contains("ecdsa_public_key:"), "{stdout}");
    assert_eq!(stdout.matches("verified:  VALID").count(), 3, "{stdout}");
    assert!(stdout.contains("child key m/44/60/0/0/7"), "{stdout}");
    assert!(stdout.contains("stopping the cluster"), "{stdout}");
}
