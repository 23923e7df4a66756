//! `make run`'s script end to end: nats-server, Consul and three `tessera start`
//! processes, then keygen and three signatures through the `tessera` client
//! commands, each verified locally (k256 / ed25519-dalek), then the device
//! example (`examples/tenant_device.rs`) against that cluster, and a clean stop.

use std::process::Command;

#[test]
fn run_once_creates_a_wallet_and_verifies_three_signatures() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let state = tempfile::tempdir().unwrap();
    // Cargo builds the package's examples before its tests: the test binary is
    // in target/<profile>/deps, the example in target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("tenant_device");
    assert!(example.exists(), "{} is not built", example.display());
    let out = Command::new("timeout")
        .arg("300")
        .arg(format!("{root}/scripts/run-cluster.sh"))
        .env("RUN_ONCE", "1")
        .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_RUN_STATE", state.path())
        .env("TESSERA_EXAMPLE_BIN", &example)
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
    // The device example: a 2-of-3 wallet of a device, node0 and node1, and a
    // signature per curve by the device and a server, each side's verified.
    assert!(
        stdout.contains("device and servers agree on the wallet's keys"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("verified: VALID (k256)").count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("verified: VALID (ed25519-dalek)").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("stopping the cluster"), "{stdout}");
    // Each node's log is in its own file too (the failure message points there),
    // unprefixed, and the same lines reach the script's stdout.
    for i in 0..3 {
        let log = std::fs::read_to_string(state.path().join(format!("node{i}.log")))
            .unwrap_or_else(|e| panic!("node{i}.log: {e}"));
        let first = log
            .lines()
            .next()
            .unwrap_or_else(|| panic!("node{i}.log is empty"));
        assert!(
            stdout.contains(&format!("[node{i}] {first}")),
            "node{i}.log: {first}\n{stdout}"
        );
    }
    // The initiator key as mpcium's clients read it: the hex seed of the key
    // whose public half the nodes were configured with.
    let seed = std::fs::read_to_string(state.path().join("initiator.seed.hex")).unwrap();
    let seed: [u8; 32] = hex::decode(seed.trim()).unwrap().try_into().unwrap();
    let public = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .as_bytes(),
    );
    assert!(
        stdout.contains(&format!("initiator public key {public}")),
        "{public} not in\n{stdout}"
    );
}
