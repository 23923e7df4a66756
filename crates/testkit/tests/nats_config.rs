//! The shipped example configuration (`deploy/nats/nats-server.conf`) is valid
//! for nats-server, and its client and tenant blocks are the templates rendered
//! as the README says (the same rendering the harness uses).

use std::process::Command;

use tessera_testkit::nats_perms::{self, block_of};
use tessera_testkit::{tools, TestCa};

#[test]
fn the_examples_blocks_are_the_rendered_templates() {
    let example = nats_perms::read("nats-server.conf").unwrap();
    let client = nats_perms::read("client.conf.template").unwrap();
    let tenant = nats_perms::read("tenant.conf.template").unwrap();
    assert_eq!(
        block_of(&example, "CLIENT_BILLING = {").expect("client block"),
        nats_perms::client_block(&client, "BILLING", Some("billing-eu")).unwrap()
    );
    assert_eq!(
        block_of(&example, "TENANT_DEVICE7 = {").expect("tenant block"),
        nats_perms::tenant_block(&tenant, "DEVICE7", "device-7").unwrap()
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    let mut ca = TestCa::new("example ca").unwrap();
    let server = ca.server("nats-0", &["nats-0.nats"]).unwrap();
    std::fs::copy(&server.cert, tls.join("server.pem")).unwrap();
    std::fs::copy(&server.key, tls.join("server-key.pem")).unwrap();
    std::fs::copy(ca.ca_file(), tls.join("ca.pem")).unwrap();
    let example = nats_perms::read("nats-server.conf")
        .unwrap()
        .replace("/etc/nats/tls/", &format!("{}/", tls.display()))
        .replace(
            "/data/jetstream",
            &dir.path().join("js").display().to_string(),
        );
    let conf = dir.path().join("nats-server.conf");
    std::fs::write(&conf, example).unwrap();
    std::fs::write(
        dir.path().join("permissions.conf"),
        nats_perms::read("permissions.conf").unwrap(),
    )
    .unwrap();
    let mut cmd = Command::new(tools::find("nats-server").unwrap());
    cmd.arg("-t").arg("-c").arg(&conf);
    cmd.env("TESSERA_NATS_SERVER_NAME", "nats-0");
    for var in [
        "TESSERA_NODE0_PASSWORD",
        "TESSERA_NODE1_PASSWORD",
        "TESSERA_NODE2_PASSWORD",
        "TESSERA_BILLING_PASSWORD",
        "TESSERA_DEVICE7_PASSWORD",
    ] {
        cmd.env(var, "\"example-only\"");
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("is valid"), "{text}");
    // A missing credential is an error, not an open door.
    let mut cmd = Command::new(tools::find("nats-server").unwrap());
    cmd.arg("-t").arg("-c").arg(&conf);
    cmd.env("TESSERA_NATS_SERVER_NAME", "nats-0");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
}
